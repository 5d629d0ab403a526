#!/usr/bin/env python3
"""Fetch libtorch 2.11.0 from PyPI's torch wheel into the per-user cache, once.

Why PyPI: pytorch.org is often unreachable from lab machines, but the package
registries are not. The torch wheel is a zip that holds a whole libtorch; we
keep only the libraries a CPU build of the workbench needs (see
../shared/docs/LIBTORCH.md) plus the headers torch-sys compiles against.

Safety: everything is unpacked into a temporary folder next to the target,
checked against the wheels' own RECORD hashes, and only then renamed into
place. A fetch that fails or is interrupted leaves nothing that a later run
would trust; the marker file is written last, inside the temporary folder,
before the atomic rename.

Usage: fetch_libtorch.py [--print-dir] [--link PATH]
  --print-dir   print the libtorch folder (fetching it first if needed)
  --link PATH   make PATH a symlink to the libtorch folder (used by .cargo/config.toml)
"""
import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

TORCH_VERSION = "2.11.0"
# Pin the exact files so every machine gets the same bytes, whatever its own Python is.
WHEELS = [
    {
        "req": "torch==2.11.0",
        "file": "torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "sha256": "7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a",
        "platform": "manylinux_2_28_x86_64",
    },
    {
        "req": "nvidia-cuda-runtime==13.0.96",
        "file": "nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        "sha256": "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548",
        "platform": "manylinux_2_17_x86_64",
    },
    {
        "req": "nvidia-cuda-cupti==13.0.85",
        "file": "nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl",
        "sha256": "4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8",
        "platform": "manylinux_2_25_x86_64",
    },
]
# wheel member -> path inside the libtorch folder
TORCH_LIBS = [
    "libtorch_cpu.so",
    "libc10.so",
    "libtorch.so",
    "libgomp.so.1",
    "libshm.so",
    "libtorch_global_deps.so",
]
CUDA_RUNTIME_LIBS = {
    "nvidia_cuda_runtime": "nvidia/cu13/lib/libcudart.so.13",
    "nvidia_cuda_cupti": "nvidia/cu13/lib/libcupti.so.13",
}
MARKER = "WORKBENCH_LIBTORCH_OK"


def cache_root():
    # Same folder the `directories` crate gives the workbench on Linux.
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "workbench")


def libtorch_dir():
    override = os.environ.get("WORKBENCH_LIBTORCH_DIR")
    if override:
        return os.path.abspath(override)
    return os.path.join(cache_root(), f"libtorch-{TORCH_VERSION}")


def say(msg):
    print(f"[libtorch] {msg}", file=sys.stderr, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_complete(folder):
    """A folder is trusted only if its marker exists and every file it lists has the listed size."""
    marker = os.path.join(folder, MARKER)
    if not os.path.isfile(marker):
        return False
    with open(marker) as f:
        lines = [line.split() for line in f.read().splitlines() if line and not line.startswith("#")]
    if not lines:
        return False
    for parts in lines:
        if len(parts) != 3:
            return False
        rel, size, _digest = parts
        path = os.path.join(folder, rel)
        if not os.path.isfile(path) or os.path.getsize(path) != int(size):
            return False
    return True


def download(wheel, dest):
    """pip download with the exact platform pinned, so the same wheel is fetched on every machine."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--platform", wheel["platform"], "--python-version", "3.11", "--implementation", "cp",
        "-d", dest, wheel["req"],
    ]
    say(f"downloading {wheel['req']} from PyPI ...")
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    path = os.path.join(dest, wheel["file"])
    if result.returncode != 0 or not os.path.isfile(path):
        sys.stderr.write(result.stdout[-3000:])
        raise SystemExit(
            f"[libtorch] error: could not download {wheel['req']} from PyPI. "
            "Check that pip can reach the package registry (pip config list), then run `make setup` again."
        )
    digest = sha256_file(path)
    if digest != wheel["sha256"]:
        raise SystemExit(
            f"[libtorch] error: {wheel['file']} has sha256 {digest}, expected {wheel['sha256']}. "
            "The download is corrupt or was tampered with; nothing was installed. Run `make setup` again."
        )
    return path


def record_hashes(zf):
    """The wheel's RECORD lists a urlsafe-base64 sha256 for every member."""
    name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
    table = {}
    for line in zf.read(name).decode().splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            table[parts[0]] = parts[1][len("sha256="):]
    return table


def extract_checked(zf, member, target, hashes):
    h = hashlib.sha256()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with zf.open(member) as src, open(target, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk)
            dst.write(chunk)
    expected = hashes.get(member)
    got = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
    if expected is None or got != expected:
        raise SystemExit(f"[libtorch] error: {member} does not match the wheel's RECORD; nothing was installed.")
    return h.hexdigest()


def fetch(final_dir):
    parent = os.path.dirname(final_dir)
    os.makedirs(parent, exist_ok=True)
    # Everything lives under one temporary folder beside the target, so that rename is atomic
    # and an interrupted fetch leaves only a `.partial-*` folder that is never trusted.
    work = tempfile.mkdtemp(prefix=f".libtorch-{TORCH_VERSION}.partial-", dir=parent)
    try:
        wheels_dir = os.path.join(work, "wheels")
        staged = os.path.join(work, "libtorch")
        os.makedirs(os.path.join(staged, "lib"))
        manifest = []
        for wheel in WHEELS:
            path = download(wheel, wheels_dir)
            say(f"unpacking {wheel['file']} ...")
            with zipfile.ZipFile(path) as zf:
                hashes = record_hashes(zf)
                if wheel["req"].startswith("torch=="):
                    members = [f"torch/lib/{lib}" for lib in TORCH_LIBS]
                    members += [n for n in zf.namelist() if n.startswith("torch/include/") and not n.endswith("/")]
                    members += ["torch/version.py"]
                    for member in members:
                        rel = member[len("torch/"):]
                        digest = extract_checked(zf, member, os.path.join(staged, rel), hashes)
                        manifest.append((rel, digest))
                else:
                    key = wheel["file"].split("-")[0]
                    member = CUDA_RUNTIME_LIBS[key]
                    rel = "lib/" + os.path.basename(member)
                    digest = extract_checked(zf, member, os.path.join(staged, rel), hashes)
                    manifest.append((rel, digest))
            os.remove(path)  # the wheels are large; only the unpacked libraries are kept
        with open(os.path.join(staged, "build-version"), "w") as f:
            f.write(TORCH_VERSION + "\n")
        with open(os.path.join(staged, MARKER), "w") as f:
            f.write(f"# libtorch {TORCH_VERSION} unpacked and verified by scripts/fetch_libtorch.py\n")
            for rel, digest in manifest:
                f.write(f"{rel} {os.path.getsize(os.path.join(staged, rel))} {digest}\n")
        if os.path.exists(final_dir):
            shutil.rmtree(final_dir)  # an untrusted leftover; it failed is_complete()
        os.rename(staged, final_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def clean_partials(parent):
    if not os.path.isdir(parent):
        return
    for name in os.listdir(parent):
        if name.startswith(f".libtorch-{TORCH_VERSION}.partial-"):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--print-dir", action="store_true")
    parser.add_argument("--link")
    args = parser.parse_args()

    folder = libtorch_dir()
    if is_complete(folder):
        say(f"using cached libtorch {TORCH_VERSION} at {folder}")
    else:
        if os.path.exists(folder):
            say(f"{folder} is incomplete or damaged; fetching it again")
        clean_partials(os.path.dirname(folder))
        fetch(folder)
        if not is_complete(folder):
            raise SystemExit(f"[libtorch] error: {folder} failed verification after unpacking")
        say(f"libtorch {TORCH_VERSION} ready at {folder}")

    if args.link:
        link = os.path.abspath(args.link)
        if os.path.islink(link) and os.readlink(link) == folder:
            pass
        else:
            if os.path.islink(link) or os.path.isfile(link):
                os.remove(link)
            elif os.path.isdir(link):
                raise SystemExit(f"[libtorch] error: {link} is a real folder; remove it so it can become a link")
            os.symlink(folder, link)
    if args.print_dir:
        print(folder)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("[libtorch] interrupted; nothing was installed. Run `make setup` again.")

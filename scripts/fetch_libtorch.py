#!/usr/bin/env python3
"""Fetch libtorch 2.11.0 from PyPI's wheels into the per-user cache, once: the CUDA build where an
NVIDIA driver new enough for CUDA 13.0 is present, the CPU build everywhere else.

Why PyPI: pytorch.org is often unreachable from lab machines, but the package registries are not.
The torch wheel is a zip that holds a whole libtorch (a CUDA 13.0 build); the CUDA libraries it
loads come in the `nvidia-*` wheels torch 2.11.0 requires on Linux x86-64 (see
../shared/docs/LIBTORCH.md):
  cpu   torch's CPU libraries, libcudart and libcupti (libtorch_cpu.so needs those two)  ~0.5 GB
  cuda  all of torch's libraries and of its nvidia-* wheels, in one lib/ folder          ~3.8 GB
Every library lands in lib/: libtorch's RPATH holds $ORIGIN, so libtorch_cuda.so (loaded at run
time by src/device/cuda_loader.rs) finds cuBLAS, cuDNN, NCCL ... beside it.

The choice (WORKBENCH_LIBTORCH=auto, the default): an NVIDIA driver is present when
/proc/driver/nvidia/version exists or libcuda.so.1 loads; CUDA 13.0 needs driver 580 or newer
(libcuda's cuDriverGetVersion >= 13000). WORKBENCH_LIBTORCH=cpu or =cuda overrides it.

Safety: each wheel is downloaded to <cache>/downloads/FILE.part (an interrupted download resumes
there with an HTTP Range request, or starts again when the server can't resume), checked against
its pinned sha256, then unpacked into a temporary folder beside the target, every member checked
against the wheel's own RECORD, and only then renamed into place. The marker file is written last,
inside the temporary folder, before the atomic rename: a fetch that fails or is interrupted leaves
nothing that a later run would trust.

Usage: fetch_libtorch.py [--plan] [--print-dir] [--link PATH]
  --plan        print the choice and what it would fetch (names, versions, sizes, hashes); fetch nothing
  --print-dir   print the libtorch folder (fetching it first if needed)
  --link PATH   make PATH a symlink to the libtorch folder (used by .cargo/config.toml)

Environment:
  WORKBENCH_LIBTORCH=auto|cpu|cuda   which build to fetch (auto: by the NVIDIA driver found)
  WORKBENCH_LIBTORCH_DIR=PATH        use this folder instead of the per-user cache
  WORKBENCH_PYPI_INDEX=URL           a PyPI mirror's simple index (default: PIP_INDEX_URL, pip's
                                     global.index-url, else PyPI itself)
  For tests: WORKBENCH_NVIDIA_PROC_VERSION=PATH (read instead of /proc/driver/nvidia/version) and
  WORKBENCH_LIBCUDA=PATH (loaded instead of libcuda.so.1; a path that does not exist: no driver).
"""
import argparse
import base64
import collections
import ctypes
import hashlib
import html.parser
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

TORCH_VERSION = "2.11.0"
CUDA_TAG = "cu130"
# CUDA 13.0 (what PyPI's torch 2.11.0 is built with) needs an NVIDIA driver >= 580 on Linux.
CUDA_NEEDED = (13, 0)
DRIVER_NEEDED = 580
PYPI_FILES = "https://files.pythonhosted.org/packages/"

Wheel = collections.namedtuple("Wheel", "name version file size sha256 url")

# The exact files, so every machine gets the same bytes whatever its own Python is. Taken from
# torch 2.11.0's METADATA (Requires-Dist, Linux) and cuda-toolkit 13.0.2's extras, each resolved to
# its manylinux x86-64 wheel; size and sha256 are PyPI's for that file. triton and cuda-bindings are
# Python-only and left out.
WHEELS = [
    Wheel("torch", "2.11.0", "torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl", 530604548,
          "7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a",
          "8c/8b/d7be22fbec9ffee6cff31a39f8750d4b3a65d349a286cf4aec74c2375662/torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
    Wheel("nvidia-cuda-runtime", "13.0.96", "nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", 2243632,
          "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548",
          "2e/24/d1558f3b68b1d26e706813b1d10aa1d785e4698c425af8db8edc3dced472/nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
    Wheel("nvidia-cuda-cupti", "13.0.85", "nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl", 10715597,
          "4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8",
          "33/6d/737d164b4837a9bbd202f5ae3078975f0525a55730fe871d8ed4e3b952b0/nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl"),
    Wheel("nvidia-cublas", "13.1.0.3", "nvidia_cublas-13.1.0.3-py3-none-manylinux_2_27_x86_64.whl", 423133236,
          "ee8722c1f0145ab246bccb9e452153b5e0515fd094c3678df50b2a0888b8b171",
          "e7/44/423ac00af4dd95a5aeb27207e2c0d9b7118702149bf4704c3ddb55bb7429/nvidia_cublas-13.1.0.3-py3-none-manylinux_2_27_x86_64.whl"),
    Wheel("nvidia-cuda-nvrtc", "13.0.88", "nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", 90215200,
          "ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575",
          "c3/68/483a78f5e8f31b08fb1bb671559968c0ca3a065ac7acabfc7cee55214fd6/nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl"),
    Wheel("nvidia-cufft", "12.0.0.61", "nvidia_cufft-12.0.0.61-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", 214085489,
          "6c44f692dce8fd5ffd3e3df134b6cdb9c2f72d99cf40b62c32dde45eea9ddad3",
          "a8/2f/7b57e29836ea8714f81e9898409196f47d772d5ddedddf1592eadb8ab743/nvidia_cufft-12.0.0.61-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
    Wheel("nvidia-cufile", "1.15.1.6", "nvidia_cufile-1.15.1.6-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", 1223672,
          "08a3ecefae5a01c7f5117351c64f17c7c62efa5fffdbe24fc7d298da19cd0b44",
          "3f/70/4f193de89a48b71714e74602ee14d04e4019ad36a5a9f20c425776e72cd6/nvidia_cufile-1.15.1.6-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
    Wheel("nvidia-curand", "10.4.0.35", "nvidia_curand-10.4.0.35-py3-none-manylinux_2_27_x86_64.whl", 59544258,
          "1aee33a5da6e1db083fe2b90082def8915f30f3248d5896bcec36a579d941bfc",
          "a5/9f/be0a41ca4a4917abf5cb9ae0daff1a6060cc5de950aec0396de9f3b52bc5/nvidia_curand-10.4.0.35-py3-none-manylinux_2_27_x86_64.whl"),
    Wheel("nvidia-cusolver", "12.0.4.66", "nvidia_cusolver-12.0.4.66-py3-none-manylinux_2_27_x86_64.whl", 200941980,
          "0a759da5dea5c0ea10fd307de75cdeb59e7ea4fcb8add0924859b944babf1112",
          "5f/67/cba3777620cdacb99102da4042883709c41c709f4b6323c10781a9c3aa34/nvidia_cusolver-12.0.4.66-py3-none-manylinux_2_27_x86_64.whl"),
    Wheel("nvidia-cusparse", "12.6.3.3", "nvidia_cusparse-12.6.3.3-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", 145942937,
          "2b3c89c88d01ee0e477cb7f82ef60a11a4bcd57b6b87c33f789350b59759360b",
          "fa/18/623c77619c31d62efd55302939756966f3ecc8d724a14dab2b75f1508850/nvidia_cusparse-12.6.3.3-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
    Wheel("nvidia-nvjitlink", "13.0.88", "nvidia_nvjitlink-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl", 40713933,
          "13a74f429e23b921c1109976abefacc69835f2f433ebd323d3946e11d804e47b",
          "56/7a/123e033aaff487c77107195fa5a2b8686795ca537935a24efae476c41f05/nvidia_nvjitlink-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl"),
    Wheel("nvidia-nvtx", "13.0.85", "nvidia_nvtx-13.0.85-py3-none-manylinux1_x86_64.manylinux_2_5_x86_64.whl", 148047,
          "4936d1d6780fbe68db454f5e72a42ff64d1fd6397df9f363ae786930fd5c1cd4",
          "c2/f3/d86c845465a2723ad7e1e5c36dcd75ddb82898b3f53be47ebd429fb2fa5d/nvidia_nvtx-13.0.85-py3-none-manylinux1_x86_64.manylinux_2_5_x86_64.whl"),
    Wheel("nvidia-cudnn-cu13", "9.19.0.56", "nvidia_cudnn_cu13-9.19.0.56-py3-none-manylinux_2_27_x86_64.whl", 366066321,
          "d20e1734305e9d68889a96e3f35094d733ff1f83932ebe462753973e53a572bf",
          "a3/22/0b4b932655d17a6da1b92fa92ab12844b053bb2ac2475e179ba6f043da1e/nvidia_cudnn_cu13-9.19.0.56-py3-none-manylinux_2_27_x86_64.whl"),
    Wheel("nvidia-cusparselt-cu13", "0.8.0", "nvidia_cusparselt_cu13-0.8.0-py3-none-manylinux2014_x86_64.whl", 169884119,
          "25e30a8a7323935d4ad0340b95a0b69926eee755767e8e0b1cf8dd85b197d3fd",
          "fd/53/43b0d71f4e702fa9733f8b4571fdca50a8813f1e450b656c239beff12315/nvidia_cusparselt_cu13-0.8.0-py3-none-manylinux2014_x86_64.whl"),
    Wheel("nvidia-nccl-cu13", "2.28.9", "nvidia_nccl_cu13-2.28.9-py3-none-manylinux_2_18_x86_64.whl", 196493177,
          "e4553a30f34195f3fa1da02a6da3d6337d28f2003943aa0a3d247bbc25fefc42",
          "b0/b4/878fefaad5b2bcc6fcf8d474a25e3e3774bc5133e4b58adff4d0bca238bc/nvidia_nccl_cu13-2.28.9-py3-none-manylinux_2_18_x86_64.whl"),
    Wheel("nvidia-nvshmem-cu13", "3.4.5", "nvidia_nvshmem_cu13-3.4.5-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", 60412546,
          "290f0a2ee94c9f3687a02502f3b9299a9f9fe826e6d0287ee18482e78d495b80",
          "3c/35/a9bf80a609e74e3b000fef598933235c908fcefcef9026042b8e6dfde2a9/nvidia_nvshmem_cu13-3.4.5-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"),
]

# The CPU build: only what a CPU-only workbench loads (libtorch_cpu.so needs libcudart and libcupti
# even for CPU work). wheel member -> path inside the libtorch folder.
CPU_MEMBERS = {
    "torch": {f"torch/lib/{lib}": f"lib/{lib}" for lib in [
        "libtorch_cpu.so", "libc10.so", "libtorch.so", "libgomp.so.1", "libshm.so", "libtorch_global_deps.so",
    ]},
    "nvidia-cuda-runtime": {"nvidia/cu13/lib/libcudart.so.13": "lib/libcudart.so.13"},
    "nvidia-cuda-cupti": {"nvidia/cu13/lib/libcupti.so.13": "lib/libcupti.so.13"},
}

Flavour = collections.namedtuple("Flavour", "name folder wheels disk_bytes title")
FLAVOURS = {
    "cpu": Flavour("cpu", f"libtorch-{TORCH_VERSION}", [w for w in WHEELS if w.name in CPU_MEMBERS],
                   496_990_746, f"the CPU build of libtorch {TORCH_VERSION}"),
    "cuda": Flavour("cuda", f"libtorch-{TORCH_VERSION}-{CUDA_TAG}", WHEELS,
                    3_796_287_152, f"the CUDA build of libtorch {TORCH_VERSION} ({CUDA_TAG})"),
}
MARKER = "WORKBENCH_LIBTORCH_OK"


class FetchError(Exception):
    """A failure written for the user: what failed and what to do."""


def say(msg):
    print(f"[libtorch] {msg}", file=sys.stderr, flush=True)


def human(nbytes):
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{nbytes} B"


# ---------------------------------------------------------------------------------------------
# The choice: which build this machine gets.

Driver = collections.namedtuple("Driver", "present version cuda source")


def read_proc_version(path):
    """The kernel module's version from /proc/driver/nvidia/version, e.g. '580.65.06'."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None, False
    match = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
    return (match.group(1) if match else None), True


def read_libcuda(path):
    """(loads, CUDA version as cuDriverGetVersion gives it, e.g. 13000) from the driver library."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return False, None
    try:
        get_version = lib.cuDriverGetVersion
    except AttributeError:
        return True, None
    version = ctypes.c_int(0)
    if get_version(ctypes.byref(version)) != 0 or version.value <= 0:
        return True, None
    return True, version.value


def detect_driver():
    proc = os.environ.get("WORKBENCH_NVIDIA_PROC_VERSION") or "/proc/driver/nvidia/version"
    libcuda = os.environ.get("WORKBENCH_LIBCUDA") or "libcuda.so.1"
    version, proc_found = read_proc_version(proc)
    loads, cuda = read_libcuda(libcuda)
    sources = [s for s, found in ((proc, proc_found), (libcuda, loads)) if found]
    return Driver(proc_found or loads, version, cuda, " and ".join(sources))


def describe(driver):
    parts = []
    if driver.version:
        parts.append(f"NVIDIA driver {driver.version}")
    else:
        parts.append("an NVIDIA driver (version unknown)")
    if driver.cuda:
        parts.append(f"for CUDA up to {driver.cuda // 1000}.{driver.cuda % 1000 // 10}")
    return " ".join(parts) + f" ({driver.source})"


def too_old(driver):
    """True when the driver can't run CUDA 13.0; libcuda's own answer wins over the module version."""
    if driver.cuda:
        return driver.cuda < CUDA_NEEDED[0] * 1000 + CUDA_NEEDED[1] * 10
    if driver.version:
        return int(driver.version.split(".")[0]) < DRIVER_NEEDED
    return False


NEEDS = f"CUDA {CUDA_NEEDED[0]}.{CUDA_NEEDED[1]}, which needs NVIDIA driver {DRIVER_NEEDED} or newer"


def choose(mode, driver):
    """(flavour, why) for WORKBENCH_LIBTORCH=mode on a machine with this driver; FetchError if refused."""
    mode = (mode or "auto").strip().lower()
    if mode == "cpu":
        return "cpu", "WORKBENCH_LIBTORCH=cpu"
    if mode not in ("auto", "cuda"):
        raise FetchError(f"WORKBENCH_LIBTORCH={mode!r} is not valid: use auto (the default), cpu or cuda")
    if not driver.present:
        if mode == "cuda":
            raise FetchError(
                "WORKBENCH_LIBTORCH=cuda, but no NVIDIA driver was found (no /proc/driver/nvidia/version, "
                f"and libcuda.so.1 does not load). The CUDA build of libtorch {TORCH_VERSION} needs {NEEDS}. "
                "Install the driver, or run with WORKBENCH_LIBTORCH=auto (or cpu) to get the CPU build."
            )
        return "cpu", "no NVIDIA driver found (no /proc/driver/nvidia/version, libcuda.so.1 does not load)"
    if too_old(driver):
        why = f"{describe(driver)} is too old: the CUDA build of libtorch {TORCH_VERSION} needs {NEEDS}"
        if mode == "cuda":
            return "cuda", f"WORKBENCH_LIBTORCH=cuda, although {why}; CUDA will not work until the driver is updated"
        return "cpu", f"{why}. Keeping the CPU build; update the driver and run ./dev setup again for the GPU"
    if mode == "cuda":
        return "cuda", f"WORKBENCH_LIBTORCH=cuda; {describe(driver)}"
    return "cuda", f"{describe(driver)} found; CUDA {CUDA_NEEDED[0]}.{CUDA_NEEDED[1]} needs {DRIVER_NEEDED} or newer"


# ---------------------------------------------------------------------------------------------
# Where the cache lives, and whether a folder there can be trusted.

def cache_root():
    # Same folder the `directories` crate gives the workbench on Linux.
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "workbench")


def libtorch_dir(flavour):
    override = os.environ.get("WORKBENCH_LIBTORCH_DIR")
    if override:
        return os.path.abspath(override)
    return os.path.join(cache_root(), FLAVOURS[flavour].folder)


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


# ---------------------------------------------------------------------------------------------
# Downloading: resumable, with its size and progress shown, checked against the pinned sha256.

def index_url():
    """A PyPI mirror's simple index when one is configured; None means PyPI itself."""
    url = os.environ.get("WORKBENCH_PYPI_INDEX") or os.environ.get("PIP_INDEX_URL")
    if not url:
        try:
            out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                                 capture_output=True, text=True, timeout=30)
            url = out.stdout.strip() if out.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            url = ""
    if not url or urllib.parse.urlparse(url).netloc in ("pypi.org", "pypi.python.org"):
        return None
    return url.rstrip("/") + "/"


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href" and v)


def ssl_context():
    cafile = os.environ.get("PIP_CERT")
    return ssl.create_default_context(cafile=cafile) if cafile and os.path.isfile(cafile) else None


def open_url(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    if url.startswith("https:"):
        return urllib.request.urlopen(request, timeout=60, context=ssl_context())
    return urllib.request.urlopen(request, timeout=60)


def wheel_url(wheel, index):
    """The pinned file's address: PyPI's own, or the mirror's link to the same file name."""
    if index is None:
        return PYPI_FILES + wheel.url
    page_url = urllib.parse.urljoin(index, wheel.name + "/")
    try:
        with open_url(page_url) as resp:
            page = resp.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError) as e:
        raise FetchError(f"could not read {page_url} ({e}); check the index (WORKBENCH_PYPI_INDEX or pip config)")
    links = _Links()
    links.feed(page)
    for href in links.hrefs:
        absolute = urllib.parse.urljoin(page_url, href)
        if urllib.parse.unquote(urllib.parse.urlparse(absolute).path).endswith("/" + wheel.file):
            return absolute.split("#")[0]
    raise FetchError(f"{page_url} does not list {wheel.file}; the mirror may not have it yet")


class Progress:
    """Bytes so far of one download: a live line on a terminal, a line every 10% otherwise."""

    def __init__(self, label, total, start):
        self.label, self.total, self.done = label, total, start
        self.tty = sys.stderr.isatty()
        self.last_shown, self.last_tenth = 0.0, start * 10 // max(total, 1)

    def add(self, n):
        self.done += n
        now = time.monotonic()
        tenth = self.done * 10 // max(self.total, 1)
        if self.tty and now - self.last_shown >= 0.5:
            self.last_shown = now
            sys.stderr.write(f"\r[libtorch]   {self.label}: {human(self.done)} of {human(self.total)} "
                             f"({100 * self.done // max(self.total, 1)}%)   ")
            sys.stderr.flush()
        elif not self.tty and tenth > self.last_tenth:
            self.last_tenth = tenth
            say(f"  {self.label}: {human(self.done)} of {human(self.total)} ({tenth * 10}%)")

    def finish(self):
        if self.tty:
            sys.stderr.write("\n")


def download(wheel, url, downloads):
    """Download one wheel into downloads/ (resuming FILE.part), check its sha256, return its path."""
    final = os.path.join(downloads, wheel.file)
    if os.path.isfile(final) and os.path.getsize(final) == wheel.size and sha256_file(final) == wheel.sha256:
        say(f"{wheel.file} is already downloaded and verified")
        return final
    part = final + ".part"
    have = os.path.getsize(part) if os.path.isfile(part) else 0
    if have > wheel.size:
        os.remove(part)
        have = 0
    if have < wheel.size:
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            resp = open_url(url, headers)
        except urllib.error.HTTPError as e:
            if e.code == 416:  # the part is not a prefix the server recognises: start clean
                os.remove(part)
                return download(wheel, url, downloads)
            raise FetchError(f"could not download {url}: HTTP {e.code} {e.reason}")
        except (OSError, urllib.error.URLError) as e:
            raise FetchError(f"could not download {url}: {e}. Check that this machine reaches the package "
                             "registry (a proxy in https_proxy, a mirror in WORKBENCH_PYPI_INDEX)")
        with resp:
            resumed = have and getattr(resp, "status", None) == 206
            if have and not resumed:
                say(f"{wheel.file}: the server did not resume the download; starting it again")
                have = 0
            if resumed:
                say(f"resuming {wheel.file}: {human(have)} of {human(wheel.size)} already here")
            else:
                say(f"downloading {wheel.file} ({human(wheel.size)})")
            progress = Progress(wheel.file.split("-")[0], wheel.size, have)
            with open(part, "ab" if resumed else "wb") as out:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
                    progress.add(len(chunk))
            progress.finish()
    got_size = os.path.getsize(part)
    digest = sha256_file(part)
    if got_size != wheel.size or digest != wheel.sha256:
        os.remove(part)
        raise FetchError(
            f"{wheel.file} has {got_size} bytes and sha256 {digest}, expected {wheel.size} bytes and "
            f"{wheel.sha256}. The download is corrupt or was tampered with; it was deleted and nothing was "
            "installed. Run ./dev setup again."
        )
    os.replace(part, final)
    return final


# ---------------------------------------------------------------------------------------------
# Unpacking: the right members of each wheel, checked against the wheel's RECORD.

def record_hashes(zf):
    """The wheel's RECORD lists a urlsafe-base64 sha256 for every member."""
    name = next((n for n in zf.namelist() if n.endswith(".dist-info/RECORD")), None)
    if name is None:
        raise FetchError(f"{zf.filename} has no RECORD; it is not a wheel")
    table = {}
    for line in zf.read(name).decode().splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            table[parts[0]] = parts[1][len("sha256="):]
    return table


def is_shared_library(member):
    """libfoo.so, libfoo.so.13, libnvrtc-builtins.so.13.0 (not headers, static archives or folders)."""
    return re.search(r"\.so(\.\d+)*$", member.rsplit("/", 1)[-1]) is not None


def members_to_extract(flavour, wheel_name, names):
    """{wheel member: path in the libtorch folder} for one wheel of one build."""
    if wheel_name == "torch":
        chosen = {n: n[len("torch/"):] for n in names if n.startswith("torch/include/") and not n.endswith("/")}
        chosen["torch/version.py"] = "version.py"
        if flavour == "cpu":
            chosen.update(CPU_MEMBERS["torch"])
        else:
            chosen.update({n: n[len("torch/"):] for n in names if n.startswith("torch/lib/")
                           and n.count("/") == 2 and is_shared_library(n) and "python" not in n})
        return chosen
    if flavour == "cpu":
        return dict(CPU_MEMBERS[wheel_name])
    return {n: "lib/" + n.rsplit("/", 1)[-1] for n in names if n.startswith("nvidia/") and is_shared_library(n)}


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
        raise FetchError(f"{member} does not match the wheel's RECORD; nothing was installed.")
    return h.hexdigest()


def unpack(flavour, wheel, path, staged, manifest, placed):
    with zipfile.ZipFile(path) as zf:
        hashes = record_hashes(zf)
        names = zf.namelist()
        chosen = members_to_extract(flavour, wheel.name, names)
        missing = [m for m in chosen if m not in names]
        if missing:
            raise FetchError(f"{wheel.file} lacks {', '.join(missing)}; nothing was installed.")
        for member, rel in sorted(chosen.items()):
            if rel in placed:
                raise FetchError(f"{member} of {wheel.file} and {placed[rel]} would both be {rel}")
            placed[rel] = f"{member} of {wheel.file}"
            digest = extract_checked(zf, member, os.path.join(staged, rel), hashes)
            manifest.append((rel, digest))


def partial_prefix(final_dir):
    return f".{os.path.basename(final_dir)}.partial-"


def fetch(final_dir, flavour, wheels=None, index=None, downloads=None):
    """Download, verify and unpack one build into final_dir, atomically."""
    wheels = FLAVOURS[flavour].wheels if wheels is None else wheels
    parent = os.path.dirname(final_dir)
    downloads = downloads or os.path.join(cache_root(), "downloads")
    os.makedirs(parent, exist_ok=True)
    os.makedirs(downloads, exist_ok=True)
    paths = [download(w, wheel_url(w, index), downloads) for w in wheels]
    # Everything is unpacked under one temporary folder beside the target, so the rename is atomic
    # and an interrupted fetch leaves only a `.partial-*` folder that is never trusted.
    work = tempfile.mkdtemp(prefix=partial_prefix(final_dir), dir=parent)
    try:
        staged = os.path.join(work, "libtorch")
        os.makedirs(os.path.join(staged, "lib"))
        manifest, placed = [], {}
        for wheel, path in zip(wheels, paths):
            say(f"unpacking {wheel.file} ...")
            unpack(flavour, wheel, path, staged, manifest, placed)
        with open(os.path.join(staged, "build-version"), "w") as f:
            f.write(TORCH_VERSION + "\n")
        with open(os.path.join(staged, MARKER), "w") as f:
            f.write(f"# {FLAVOURS[flavour].title} unpacked and verified by scripts/fetch_libtorch.py\n")
            for rel, digest in manifest:
                f.write(f"{rel} {os.path.getsize(os.path.join(staged, rel))} {digest}\n")
        if os.path.exists(final_dir):
            shutil.rmtree(final_dir)  # an untrusted leftover; it failed is_complete()
        os.rename(staged, final_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for path in paths:  # the wheels are large; only the unpacked libraries are kept
        os.remove(path)


def clean_partials(final_dir):
    parent = os.path.dirname(final_dir)
    if not os.path.isdir(parent):
        return
    for name in os.listdir(parent):
        if name.startswith(partial_prefix(final_dir)):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def check_disk(final_dir, flavour, downloads):
    wanted = FLAVOURS[flavour].disk_bytes + sum(
        w.size - (os.path.getsize(os.path.join(downloads, w.file + ".part"))
                  if os.path.isfile(os.path.join(downloads, w.file + ".part")) else 0)
        for w in FLAVOURS[flavour].wheels)
    probe = os.path.dirname(final_dir)
    while not os.path.isdir(probe):
        probe = os.path.dirname(probe)
    free = shutil.disk_usage(probe).free
    if free < wanted:
        raise FetchError(f"{FLAVOURS[flavour].title} needs about {human(wanted)} free under {probe} while it "
                         f"is fetched, and {human(free)} is free. Free some space (or set XDG_CACHE_HOME to a "
                         "larger disk) and run ./dev setup again.")


# ---------------------------------------------------------------------------------------------

def print_plan(flavour, why, folder):
    spec = FLAVOURS[flavour]
    state = "cached and verified: nothing to fetch" if is_complete(folder) else "not fetched yet"
    print(f"libtorch {TORCH_VERSION}: {flavour} build")
    print(f"why: {why}")
    print(f"folder: {folder} ({state})")
    print(f"wheels: {len(spec.wheels)}, {human(sum(w.size for w in spec.wheels))} to download, "
          f"about {human(spec.disk_bytes)} on disk")
    for w in spec.wheels:
        print(f"  {w.name} {w.version} {w.file} {w.size} sha256:{w.sha256}")


def point_link(link, folder):
    link = os.path.abspath(link)
    if os.path.islink(link) and os.readlink(link) == folder:
        return
    previous = os.readlink(link) if os.path.islink(link) else None
    if os.path.islink(link) or os.path.isfile(link):
        os.remove(link)
    elif os.path.isdir(link):
        raise FetchError(f"{link} is a real folder; remove it so it can become a link")
    os.symlink(folder, link)
    if previous:
        # build.rs bakes the rpath from the link's target and watches <link>/build-version: a newer
        # time there makes cargo run it again, so the binary loads the libtorch it now links.
        os.utime(os.path.join(folder, "build-version"))
        say(f"{link} now points at {folder} (was {previous})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", action="store_true", help="print the choice and what it would fetch; fetch nothing")
    parser.add_argument("--print-dir", action="store_true")
    parser.add_argument("--link")
    args = parser.parse_args()

    flavour, why = choose(os.environ.get("WORKBENCH_LIBTORCH"), detect_driver())
    folder = libtorch_dir(flavour)
    if args.plan:
        print_plan(flavour, why, folder)
        return
    say(f"{FLAVOURS[flavour].title}: {why}")
    if is_complete(folder):
        say(f"using cached libtorch {TORCH_VERSION} ({flavour}) at {folder}")
    else:
        if os.path.exists(folder):
            say(f"{folder} is incomplete or damaged; fetching it again")
        spec = FLAVOURS[flavour]
        say(f"fetching {spec.title}: {len(spec.wheels)} wheel(s), {human(sum(w.size for w in spec.wheels))} "
            f"to download, about {human(spec.disk_bytes)} in {folder} (once)")
        clean_partials(folder)
        downloads = os.path.join(cache_root(), "downloads")
        check_disk(folder, flavour, downloads)
        try:
            fetch(folder, flavour, index=index_url(), downloads=downloads)
        except FetchError as e:
            if flavour == "cuda":
                raise FetchError(f"{e} To go on with the CPU build meanwhile: WORKBENCH_LIBTORCH=cpu ./dev setup")
            raise
        if not is_complete(folder):
            raise FetchError(f"{folder} failed verification after unpacking")
        say(f"libtorch {TORCH_VERSION} ({flavour}) ready at {folder}")
    if args.link:
        point_link(args.link, folder)
    if args.print_dir:
        print(folder)


if __name__ == "__main__":
    try:
        main()
    except FetchError as e:
        raise SystemExit(f"[libtorch] error: {e}")
    except KeyboardInterrupt:
        raise SystemExit("[libtorch] interrupted; nothing was installed (a partial download resumes). "
                         "Run ./dev setup again.")

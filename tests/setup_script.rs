//! The libtorch fetch (scripts/fetch_libtorch.py) trusts a folder only when its marker lists every
//! file with the right size: an interrupted or damaged fetch is never used. Checked on made-up
//! folders, so no download is needed.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::process::Command;

fn is_complete(folder: &std::path::Path) -> bool {
    let script = format!(
        "import sys; sys.path.insert(0, {:?}); import fetch_libtorch as f; print(f.is_complete({:?}))",
        common::repo().join("scripts").display().to_string(),
        folder.display().to_string()
    );
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    match String::from_utf8_lossy(&out.stdout).trim() {
        "True" => true,
        "False" => false,
        other => panic!("unexpected output {other:?}"),
    }
}

#[test]
fn only_a_fully_verified_libtorch_folder_is_trusted() {
    let dir = common::tempdir();
    let lib = dir.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    std::fs::write(lib.join("libc10.so"), b"0123456789").unwrap();
    assert!(!is_complete(dir.path()), "no marker: an interrupted fetch");

    std::fs::write(dir.path().join("WORKBENCH_LIBTORCH_OK"), "# header\nlib/libc10.so 10 abc\n").unwrap();
    assert!(is_complete(dir.path()));

    std::fs::write(lib.join("libc10.so"), b"01234").unwrap();
    assert!(!is_complete(dir.path()), "a file cut short");

    std::fs::write(lib.join("libc10.so"), b"0123456789").unwrap();
    std::fs::write(
        dir.path().join("WORKBENCH_LIBTORCH_OK"),
        "lib/libc10.so 10 abc\nlib/libtorch_cpu.so 5 def\n",
    )
    .unwrap();
    assert!(!is_complete(dir.path()), "a file missing");

    std::fs::write(dir.path().join("WORKBENCH_LIBTORCH_OK"), "").unwrap();
    assert!(!is_complete(dir.path()), "an empty marker");
}

#[test]
fn the_libtorch_in_use_is_the_verified_one() {
    // The build's libtorch (the `.libtorch` link) must be a folder the script trusts.
    let link = common::repo().join(".libtorch");
    let folder = std::fs::canonicalize(&link).expect(".libtorch exists after ./dev setup");
    assert!(is_complete(&folder), "{} is not a verified libtorch", folder.display());
}

// ---------------------------------------------------------------------------------------------
// Which build `./dev setup` fetches: the detection pointed at fixtures, the plan read back.

/// What `fetch_libtorch.py --plan` printed, and how it ended.
struct Plan {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Plan {
    fn flavour(&self) -> &str {
        let first = self.stdout.lines().next().unwrap_or_default();
        first.strip_prefix("libtorch 2.11.0: ").and_then(|s| s.strip_suffix(" build")).unwrap_or(first)
    }

    fn why(&self) -> &str {
        self.stdout.lines().find_map(|l| l.strip_prefix("why: ")).unwrap_or_default()
    }

    /// The wheels listed, by name.
    fn wheels(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .collect()
    }
}

const DRIVER_580: &str =
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.82.07  Release Build  \
                          (dvs-builder@U16-I3-B03-4-3)  Wed Jul 23 21:25:54 UTC 2025\n\
                          GCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)\n";
const DRIVER_535: &str =
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n\
     GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n";

/// Run the plan with the driver detection pointed at `proc_version` (None: no such file) and at
/// `libcuda` (None: a library that does not exist), so the real machine's driver never counts.
fn plan(proc_version: Option<&str>, libcuda: Option<&std::path::Path>, choice: Option<&str>) -> Plan {
    let dir = common::tempdir();
    let proc_file = dir.path().join("version");
    if let Some(text) = proc_version {
        std::fs::write(&proc_file, text).unwrap();
    }
    let mut cmd = Command::new("python3");
    cmd.arg(common::repo().join("scripts/fetch_libtorch.py"))
        .arg("--plan")
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("WORKBENCH_NVIDIA_PROC_VERSION", &proc_file)
        .env(
            "WORKBENCH_LIBCUDA",
            libcuda.map(|p| p.to_path_buf()).unwrap_or_else(|| dir.path().join("libcuda.so.1")),
        )
        .env_remove("WORKBENCH_LIBTORCH_DIR")
        .env_remove("WORKBENCH_LIBTORCH");
    if let Some(choice) = choice {
        cmd.env("WORKBENCH_LIBTORCH", choice);
    }
    let out = cmd.output().expect("python3 runs");
    Plan {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const CPU_WHEELS: [&str; 3] = ["torch", "nvidia-cuda-runtime", "nvidia-cuda-cupti"];

#[test]
fn a_machine_without_a_driver_fetches_only_the_cpu_libraries() {
    // What CI is: no /proc/driver/nvidia/version, no libcuda.so.1.
    let p = plan(None, None, None);
    assert!(p.ok, "{}", p.stderr);
    assert_eq!(p.flavour(), "cpu", "{}", p.stdout);
    assert_eq!(p.wheels(), CPU_WHEELS, "{}", p.stdout);
    assert!(p.why().contains("no NVIDIA driver found"), "{}", p.stdout);
    assert!(p.stdout.contains("/cache/workbench/libtorch-2.11.0 ("), "{}", p.stdout);
}

#[test]
fn a_580_driver_gets_the_cuda_build_with_every_library_torch_needs() {
    let p = plan(Some(DRIVER_580), None, None);
    assert!(p.ok, "{}", p.stderr);
    assert_eq!(p.flavour(), "cuda", "{}", p.stdout);
    assert!(p.why().contains("580.82.07"), "{}", p.stdout);
    assert!(p.stdout.contains("/cache/workbench/libtorch-2.11.0-cu130 (not fetched yet)"), "{}", p.stdout);
    let wheels = p.wheels();
    for name in [
        "torch",
        "nvidia-cuda-runtime",
        "nvidia-cuda-cupti",
        "nvidia-cublas",
        "nvidia-cudnn-cu13",
        "nvidia-cusparse",
        "nvidia-cusparselt-cu13",
        "nvidia-nccl-cu13",
        "nvidia-nvjitlink",
        "nvidia-cufft",
        "nvidia-curand",
        "nvidia-cusolver",
        "nvidia-cuda-nvrtc",
        "nvidia-nvshmem-cu13",
        "nvidia-cufile",
    ] {
        assert!(wheels.contains(&name), "{name} missing from the CUDA plan:\n{}", p.stdout);
    }
    // Each wheel is pinned: version, exact file, size in bytes and sha256.
    for line in p.stdout.lines().filter(|l| l.starts_with("  ")) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 5, "{line}");
        assert!(fields[2].ends_with(".whl") && fields[2].contains("x86_64"), "{line}");
        assert!(fields[3].parse::<u64>().is_ok_and(|n| n > 0), "{line}");
        let sha = fields[4].strip_prefix("sha256:").unwrap_or_default();
        assert!(sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    }
    assert!(p.stdout.contains("GB to download"), "the plan says the size: {}", p.stdout);
}

#[test]
fn a_535_driver_keeps_the_cpu_build_and_names_both_versions() {
    let p = plan(Some(DRIVER_535), None, None);
    assert!(p.ok, "{}", p.stderr);
    assert_eq!(p.flavour(), "cpu", "{}", p.stdout);
    assert_eq!(p.wheels(), CPU_WHEELS, "{}", p.stdout);
    let why = p.why();
    assert!(why.contains("535.104.05") && why.contains("too old"), "{why}");
    assert!(why.contains("driver 580 or newer") && why.contains("CUDA 13.0"), "{why}");
}

#[test]
fn workbench_libtorch_cpu_wins_over_a_driver() {
    let p = plan(Some(DRIVER_580), None, Some("cpu"));
    assert!(p.ok, "{}", p.stderr);
    assert_eq!(p.flavour(), "cpu", "{}", p.stdout);
    assert_eq!(p.wheels(), CPU_WHEELS, "{}", p.stdout);
    assert!(p.why().contains("WORKBENCH_LIBTORCH=cpu"), "{}", p.stdout);
}

#[test]
fn workbench_libtorch_cuda_without_a_driver_is_refused() {
    let p = plan(None, None, Some("cuda"));
    assert!(!p.ok, "should refuse:\n{}", p.stdout);
    assert!(p.stdout.is_empty(), "nothing planned: {}", p.stdout);
    assert!(p.stderr.contains("WORKBENCH_LIBTORCH=cuda, but no NVIDIA driver was found"), "{}", p.stderr);
    assert!(p.stderr.contains("WORKBENCH_LIBTORCH=auto (or cpu)"), "says what to do: {}", p.stderr);

    let p = plan(None, None, Some("gpu"));
    assert!(
        !p.ok && p.stderr.contains("'gpu' is not valid: use auto (the default), cpu or cuda"),
        "{}",
        p.stderr
    );
}

#[test]
fn workbench_libtorch_cuda_with_a_driver_fetches_the_cuda_build() {
    let p = plan(Some(DRIVER_580), None, Some("cuda"));
    assert!(p.ok && p.flavour() == "cuda", "{}{}", p.stdout, p.stderr);
}

/// A stand-in for the driver's libcuda.so.1 whose cuDriverGetVersion answers `version`; None when
/// this machine has no C compiler.
fn fake_libcuda(dir: &std::path::Path, version: u32) -> Option<std::path::PathBuf> {
    let src = dir.join(format!("libcuda{version}.c"));
    let lib = dir.join(format!("libcuda{version}.so"));
    std::fs::write(&src, format!("int cuDriverGetVersion(int *v) {{ *v = {version}; return 0; }}\n"))
        .unwrap();
    let built = Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src).status();
    built.is_ok_and(|s| s.success()).then_some(lib)
}

#[test]
fn libcuda_s_own_cuda_version_decides_when_there_is_no_proc_file() {
    let dir = common::tempdir();
    let (Some(old), Some(new)) = (fake_libcuda(dir.path(), 12020), fake_libcuda(dir.path(), 13000)) else {
        println!("SKIPPED libcuda_s_own_cuda_version_decides...: no C compiler (cc) to build a fake libcuda");
        return;
    };
    let p = plan(None, Some(&old), None);
    assert_eq!(p.flavour(), "cpu", "{}{}", p.stdout, p.stderr);
    assert!(p.why().contains("CUDA up to 12.2") && p.why().contains("too old"), "{}", p.stdout);

    let p = plan(None, Some(&new), None);
    assert_eq!(p.flavour(), "cuda", "{}{}", p.stdout, p.stderr);
    assert!(p.why().contains("CUDA up to 13.0"), "{}", p.stdout);
}

// ---------------------------------------------------------------------------------------------
// The fetch itself, on small fake wheels from a local mirror (tests/fixtures/libtorch/fake_pypi.py).

/// Run one scenario of the fake PyPI; its JSON facts, and what the fetch said on stderr.
fn scenario(name: &str) -> (serde_json::Value, String) {
    let dir = common::tempdir();
    let out = Command::new("python3")
        .arg(common::repo().join("tests/fixtures/libtorch/fake_pypi.py"))
        .arg(name)
        .arg(dir.path())
        .env_remove("WORKBENCH_PYPI_INDEX")
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "scenario {name} failed:\n{stderr}");
    (serde_json::from_slice(&out.stdout).expect("the scenario prints JSON"), stderr)
}

fn strings(v: &serde_json::Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect()
}

#[test]
fn the_cuda_build_puts_every_library_in_lib_and_lists_each_with_its_hash() {
    let (facts, stderr) = scenario("cuda");
    assert!(facts["error"].is_null(), "{facts}");
    assert_eq!(facts["complete"], true, "the folder is trusted");
    let files = strings(&facts["files"]);
    // torch's CUDA half and the nvidia-* libraries side by side, where libtorch's $ORIGIN rpath looks.
    for lib in [
        "lib/libtorch_cpu.so",
        "lib/libtorch_cuda.so",
        "lib/libc10_cuda.so",
        "lib/libcudart.so.13",
        "lib/libcupti.so.13",
        "lib/libcublas.so.13",
        "lib/libcublasLt.so.13",
        "lib/libcudnn.so.9",
        "lib/libcudnn_graph.so.9",
    ] {
        assert!(files.contains(&lib), "{lib} missing: {files:?}");
    }
    assert!(files.contains(&"include/torch/torch.h") && files.contains(&"build-version"), "{files:?}");
    // Python's half, headers of the CUDA wheels, static archives: left out.
    for absent in ["lib/libtorch_python.so", "lib/libcudart_static.a", "include/cublas.h", "lib/libshm.h"] {
        assert!(!files.contains(&absent), "{absent} should not be there: {files:?}");
    }
    // The marker lists every library with its size and sha256.
    let marker = strings(&facts["marker"]);
    for lib in files.iter().filter(|f| f.starts_with("lib/")) {
        let line = marker
            .iter()
            .find(|l| l.starts_with(&format!("{lib} ")))
            .unwrap_or_else(|| panic!("{lib} not in the marker"));
        assert_eq!(line.split_whitespace().nth(2).map(str::len), Some(64), "{line}");
    }
    assert_eq!(strings(&facts["beside"]), ["libtorch-2.11.0-cuda"], "no partial folder is left");
    assert!(strings(&facts["downloads"]).is_empty(), "the wheels are removed once unpacked");
    assert!(
        stderr.contains("downloading torch-2.11.0") && stderr.contains("(100%)"),
        "size and progress: {stderr}"
    );
}

#[test]
fn the_cpu_build_keeps_only_the_cpu_libraries() {
    let (facts, _) = scenario("cpu");
    assert_eq!(facts["complete"], true, "{facts}");
    let libs: Vec<&str> = strings(&facts["files"]).into_iter().filter(|f| f.starts_with("lib/")).collect();
    assert_eq!(
        libs,
        [
            "lib/libc10.so",
            "lib/libcudart.so.13",
            "lib/libcupti.so.13",
            "lib/libgomp.so.1",
            "lib/libshm.so",
            "lib/libtorch.so",
            "lib/libtorch_cpu.so",
            "lib/libtorch_global_deps.so"
        ]
    );
}

#[test]
fn a_wheel_that_does_not_match_its_pinned_hash_installs_nothing() {
    let (facts, _) = scenario("bad-sha");
    let error = facts["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("nvidia_cuda_runtime") && error.contains("expected 868 bytes and 0000"),
        "{error}"
    );
    assert!(error.contains("it was deleted and nothing was installed"), "{error}");
    assert!(strings(&facts["beside"]).is_empty(), "no libtorch folder, no partial one: {facts}");
    // The wheel already verified stays for the next run; the bad one is gone.
    assert_eq!(strings(&facts["downloads"]), ["torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl"]);
}

#[test]
fn a_member_that_does_not_match_the_wheel_s_record_installs_nothing() {
    let (facts, _) = scenario("bad-record");
    let error = facts["error"].as_str().unwrap_or_default();
    assert!(error.contains("torch/lib/libc10.so does not match the wheel's RECORD"), "{error}");
    assert!(strings(&facts["beside"]).is_empty(), "no libtorch folder, no partial one: {facts}");
}

#[test]
fn an_interrupted_download_resumes_where_it_stopped() {
    let (facts, stderr) = scenario("resume");
    assert!(facts["first"]["error"].is_null(), "{facts}");
    assert_eq!(facts["first"]["complete"], true);
    let half = facts["half"].as_u64().unwrap();
    assert_eq!(
        strings(&facts["ranges"]),
        [format!("bytes={half}-").as_str()],
        "one request, for the rest only"
    );
    assert!(
        stderr.contains(&format!(
            "resuming nvidia_cublas-13.1.0.3-py3-none-manylinux_2_27_x86_64.whl: {half} B"
        )),
        "{stderr}"
    );
}

#[test]
fn a_server_that_cannot_resume_gets_a_clean_start() {
    let (facts, stderr) = scenario("no-range");
    assert!(facts["first"]["error"].is_null(), "{facts}");
    assert_eq!(facts["first"]["complete"], true);
    assert!(stderr.contains("the server did not resume the download; starting it again"), "{stderr}");
}

#[test]
fn a_damaged_partial_download_is_deleted_and_the_next_run_starts_clean() {
    let (facts, _) = scenario("bad-part");
    assert!(facts["first"]["error"].as_str().unwrap_or_default().contains("corrupt"), "{facts}");
    assert!(strings(&facts["first"]["downloads"]).is_empty(), "the bad .part is gone");
    assert_eq!(facts["first"]["complete"], false);
    assert!(facts["second"]["error"].is_null(), "{facts}");
    assert_eq!(facts["second"]["complete"], true);
    // The second run asked for the whole file: no Range header.
    assert_eq!(facts["ranges"][1], serde_json::Value::Null, "{facts}");
}

#[test]
fn an_unpack_cut_short_leaves_nothing_trusted_and_the_next_run_needs_no_download() {
    let (facts, _) = scenario("interrupted");
    assert_eq!(facts["first"]["complete"], false);
    assert!(strings(&facts["first"]["beside"]).is_empty(), "no half-written folder: {facts}");
    assert_eq!(strings(&facts["first"]["downloads"]).len(), 3, "the verified wheels are kept");
    assert!(facts["second"]["error"].is_null(), "{facts}");
    assert_eq!(facts["second"]["complete"], true);
    assert_eq!(facts["downloads_again"], 0, "nothing was downloaded twice");
}

#[test]
fn pointing_the_link_at_the_other_build_touches_its_build_version() {
    // build.rs watches `.libtorch/build-version` through the link: a newer time there after a switch
    // makes cargo run it again, so the binary's rpath names the build it now links.
    let dir = common::tempdir();
    let script = format!(
        r#"
import os, sys
sys.path.insert(0, {scripts:?})
import fetch_libtorch as f
root = {root:?}
for name in ("cpu", "cuda"):
    os.makedirs(os.path.join(root, name))
    open(os.path.join(root, name, "build-version"), "w").write("2.11.0\n")
    os.utime(os.path.join(root, name, "build-version"), (1000, 1000))
link = os.path.join(root, ".libtorch")
f.point_link(link, os.path.join(root, "cpu"))
first = os.stat(os.path.join(root, "cpu", "build-version")).st_mtime
f.point_link(link, os.path.join(root, "cpu"))
again = os.stat(os.path.join(root, "cpu", "build-version")).st_mtime
f.point_link(link, os.path.join(root, "cuda"))
switched = os.stat(os.path.join(root, "cuda", "build-version")).st_mtime
print(os.path.basename(os.readlink(link)), first, again, switched > 1000)
"#,
        scripts = common::repo().join("scripts").display().to_string(),
        root = dir.path().display().to_string(),
    );
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A first link and an unchanged one leave the time alone; a switch moves it forward.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "cuda 1000.0 1000.0 True");
}

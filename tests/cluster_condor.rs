//! HTCondor: no pool runs here, so the submit descriptions `workbench submit --scheduler condor
//! --dry-run` writes are checked with HTCondor's own parser (the `htcondor` Python bindings;
//! `./dev` installs them into .venv-htcondor), and a missing `condor_submit` is a clear error.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;

const CONDOR_CONFIG: &str = r#"
[cluster]
node_local_paths = []

[cluster.condor]
want_gpu_lab = true
gpu_job_length = "short"
gpus_minimum_memory = 8000
disk = "2G"
"#;

fn project(extra_config: &str) -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::copy(shipped_datasets().join("iris.csv"), dir.path().join("datasets/iris.csv")).unwrap();
    let config = std::fs::read_to_string(repo().join("config.toml")).unwrap();
    std::fs::write(dir.path().join("config.toml"), format!("{config}\n{extra_config}")).unwrap();
    dir
}

/// A Python with the htcondor bindings: $WORKBENCH_HTCONDOR_PYTHON, else ./.venv-htcondor.
fn htcondor_python() -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = std::env::var_os("WORKBENCH_HTCONDOR_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([repo().join(".venv-htcondor/bin/python")])
        .collect();
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import importlib.util as u, sys; sys.exit(0 if (u.find_spec('htcondor2') or u.find_spec('htcondor')) else 1)"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(python);
        }
    }
    Err("no Python with the htcondor bindings (./dev test installs them into .venv-htcondor; or set WORKBENCH_HTCONDOR_PYTHON)".into())
}

fn condor_check(python: &Path, description: &str) -> Output {
    let mut child = Command::new(python)
        .arg(repo().join("scripts/check_condor_submit.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(description.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_dry_run_submit_description_parses_with_htcondors_own_parser() {
    let dir = project(CONDOR_CONFIG);
    let out = workbench_with_path(
        dir.path(),
        &[
            "submit",
            "--scheduler",
            "condor",
            "--dataset",
            "iris",
            "--epochs",
            "5",
            "--gpus",
            "1",
            "--mem",
            "8G",
            "--time",
            "1h",
            "--dry-run",
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(!dir.path().join("runs").exists(), "--dry-run creates nothing");
    let (description, wrapper) = stdout.split_once("\n# job.sh").unwrap();
    assert!(wrapper.contains("train \"$mode\" \"$RUN_DIR\""));
    for want in [
        "request_gpus = 1",
        "request_memory = 8192M",
        "+WantGPULab = true",
        "+GPUJobLength = \"short\"",
        "gpus_minimum_memory = 8000",
        "checkpoint_exit_code = 85",
        "request_disk = 2G",
    ] {
        assert!(description.contains(want), "missing {want:?}:\n{description}");
    }
    let python = match htcondor_python() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED the_dry_run_submit_description_parses_with_htcondors_own_parser (HTCondor parse): {why}");
            return;
        }
    };
    let checked = condor_check(&python, description);
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{}\n{description}", String::from_utf8_lossy(&checked.stderr));
    let parsed: serde_json::Value = serde_json::from_str(&report).unwrap();
    let commands = &parsed["commands"];
    assert_eq!(commands["request_gpus"], "1");
    assert_eq!(commands["MY.WantGPULab"], "true");
    assert_eq!(commands["MY.GPUJobLength"], "\"short\"");
    assert_eq!(commands["checkpoint_exit_code"], "85");
    assert!(commands["transfer_input_files"].as_str().unwrap().contains("iris.csv"));
    // The checker itself rejects what HTCondor rejects.
    let broken = condor_check(&python, "+WantGPULab = (\nqueue\n");
    assert!(!broken.status.success());
    let junk = condor_check(&python, "this is not a submit command\nqueue\n");
    assert!(!junk.status.success());
}

#[test]
fn a_missing_condor_submit_says_so_and_the_run_is_marked_failed() {
    let dir = project(CONDOR_CONFIG);
    let empty = tempdir();
    let out = workbench_with_path(
        dir.path(),
        &["submit", "--scheduler", "condor", "--dataset", "iris"],
        Some(empty.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("condor_submit was not found on PATH") && stderr.contains("submit node"),
        "{stderr}"
    );
    let runs: Vec<_> =
        std::fs::read_dir(dir.path().join("runs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1);
    let meta = workbench::cluster::read_run_meta(&runs[0]).unwrap();
    assert_eq!(meta.status, workbench::runs::RunStatus::Failed);
    assert!(meta.reason.unwrap().contains("condor_submit was not found"));
    assert!(runs[0].join("job.sub").is_file() && runs[0].join("job.sh").is_file());
}

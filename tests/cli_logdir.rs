//! The real binary with `--logdir`: other tools' runs in `workbench runs [--json]` and
//! `workbench export` (tidy CSV, SVG), an unknown name, and nothing written in the log folder.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// A project folder (config.toml, an empty runs/) and a copy of the TensorBoard fixtures as `logs/`.
fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    std::fs::copy(repo().join("config.toml"), dir.path().join("config.toml")).unwrap();
    let logs = dir.path().join("logs");
    copy_dir(&repo().join("tests/fixtures/tfevents/tb"), &logs);
    copy_dir(&repo().join("tests/fixtures/tfevents/lightning"), &logs.join("lightning"));
    (dir, logs)
}

/// Every file below `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(snapshot(&e.path()));
        } else {
            let modified = e.metadata().unwrap().modified().unwrap();
            out.insert(e.path(), (std::fs::read(e.path()).unwrap(), modified));
        }
    }
    out
}

#[test]
fn runs_lists_external_runs_by_tensorboard_name_with_kind_tags_and_last_step() {
    let (dir, logs) = project();
    let before = snapshot(&logs);
    let out = workbench(dir.path(), &["runs", "--logdir", "logs"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("logged by other tools in"), "{stdout}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{stdout}"))
    };
    let a: Vec<&str> = row("exp-a").split_whitespace().collect();
    assert_eq!(&a[..4], ["exp-a", "tensorboard", "4", "11"], "{stdout}");
    let b: Vec<&str> = row("exp-b/version_0").split_whitespace().collect();
    assert_eq!(&b[..4], ["exp-b/version_0", "tensorboard", "2", "90"], "{stdout}");
    let l: Vec<&str> = row("lightning/version_0").split_whitespace().collect();
    assert_eq!(&l[..4], ["lightning/version_0", "csvlogger", "3", "11"], "{stdout}");

    let out = workbench(dir.path(), &["runs", "--json", "--logdir", "logs"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = list.as_array().unwrap().iter().find(|r| r["name"] == "exp-a").expect("exp-a in the JSON");
    assert_eq!(a["kind"], "tensorboard");
    assert_eq!(a["tags"], 4);
    assert_eq!(a["last_step"], 11);
    assert_eq!(a["hparams"]["optimizer"], "sgd");
    assert!(a["last_write_unix_s"].as_f64().unwrap() > 1.7e9);
    assert_eq!(before, snapshot(&logs), "nothing in the log folder is written or touched");
}

#[test]
fn export_writes_one_tidy_row_per_point_of_an_external_run() {
    let (dir, logs) = project();
    let before = snapshot(&logs);
    let csv = dir.path().join("out.csv");
    let svg = dir.path().join("out.svg");
    let out = workbench(
        dir.path(),
        &[
            "export",
            "exp-a",
            "lightning/version_0",
            "--logdir",
            "logs",
            "--csv",
            csv.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = std::fs::read_to_string(&csv).unwrap();
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("run,epoch,step,wall_s,metric,value"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // exp-a: 12 loss + 12 lr + 4 accuracy + 1 hparam metric; lightning: 12 + 3 + 3.
    assert_eq!(rows.iter().filter(|r| r[0] == "exp-a").count(), 29);
    assert_eq!(rows.iter().filter(|r| r[0] == "lightning/version_0").count(), 18);
    let loss: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == "exp-a" && r[4] == "loss/train").collect();
    assert_eq!(loss.len(), 12);
    assert_eq!(loss[0], &vec!["exp-a", "", "0", "0", "loss/train", "2"], "epoch empty where unknown");
    assert_eq!(loss[3][2..4], ["3", "3"], "wall_s counts from the first point");
    let lightning = rows.iter().find(|r| r[0] == "lightning/version_0" && r[4] == "val_acc").unwrap();
    assert_eq!(lightning[1..3], ["0", "3"], "Lightning's epoch column is kept");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    assert_eq!(before, snapshot(&logs), "nothing in the log folder is written or touched");
}

#[test]
fn an_unknown_run_name_lists_the_runs_that_exist() {
    let (dir, _logs) = project();
    let csv = dir.path().join("out.csv");
    let out = workbench(dir.path(), &["export", "exp-z", "--logdir", "logs", "--csv", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no run `exp-z`"), "{stderr}");
    for name in ["exp-a", "exp-b/version_0", "lightning/version_0"] {
        assert!(stderr.contains(name), "{name} listed: {stderr}");
    }
    assert!(!csv.exists());
}

/// A mistyped `--logdir` is named, not silently empty.
#[test]
fn a_log_folder_that_does_not_exist_is_named() {
    let (dir, _logs) = project();
    let out = workbench(dir.path(), &["runs", "--logdir", "lgos"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("warning: the log folder") && stderr.contains("lgos does not exist"), "{stderr}");
}

//! Hostile files in shared folders (issue 20): text from run folders and datasets reaches the
//! terminal with its control characters replaced, and a `job.toml` can't turn `workbench stop`
//! into `condor_rm -all`.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
mod run_fixture;

use std::path::Path;

use common::tui::*;
use common::*;
use workbench::app::{Event, Pane};
use workbench::runs::RunStatus;

/// A title change, a bell and a screen clear, as TOML escapes.
const HOSTILE_TOML: &str = r#"\u001b]0;pwned\u0007\u001b[2J"#;
const ESC: u8 = 0x1b;

fn project() -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::copy(repo().join("config.toml"), dir.path().join("config.toml")).unwrap();
    dir
}

/// A run folder whose `run.toml` has this status and a hostile `reason` and `dataset`.
fn hostile_run(runs: &Path, id: &str, status: &str) -> std::path::PathBuf {
    let dir = run_fixture::finished_run(runs, id, &[(1, 1.0, 0.9, 0.6)]);
    let toml = std::fs::read_to_string(dir.join("run.toml")).unwrap();
    let toml = toml
        .replacen("status = \"finished\"", &format!("status = \"{status}\"\nreason = \"{HOSTILE_TOML}\""), 1)
        .replacen("dataset = \"iris\"", &format!("dataset = \"iris{HOSTILE_TOML}\""), 1);
    std::fs::write(dir.join("run.toml"), toml).unwrap();
    dir
}

#[test]
fn runs_prints_a_hostile_reason_and_dataset_without_their_escape_sequences() {
    let dir = project();
    hostile_run(&dir.path().join("runs"), "20261126-150102-iris-mlp-cpu", "failed");
    let out = workbench(dir.path(), &["runs"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!out.stdout.contains(&ESC) && !out.stdout.contains(&7), "{:?}", text(&out.stdout));
    let stdout = text(&out.stdout);
    // Still shown, visibly: the user sees that the file holds escape sequences.
    assert!(stdout.contains("(^[]0;pwned^G^[[2J)"), "{stdout}");
    assert!(stdout.contains("iris^[]0;pwned"), "{stdout}");
    // --json escapes them as JSON does, and keeps the value exact.
    let out = workbench(dir.path(), &["runs", "--json"]);
    assert!(!out.stdout.contains(&ESC));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["reason"], "\u{1b}]0;pwned\u{7}\u{1b}[2J");
}

#[test]
fn datasets_lists_hostile_column_names_and_class_labels_without_escape_sequences() {
    let dir = project();
    let csv = "a,b,\u{1b}]0;pwned\u{7}label\n1,2,\u{1b}[2Jred\n3,4,blue\n5,6,\u{1b}[2Jred\n7,8,blue\n";
    std::fs::write(dir.path().join("datasets/evil\u{1b}[31m.csv"), csv).unwrap();
    let out = workbench(dir.path(), &["datasets"]);
    let stdout = text(&out.stdout);
    assert!(!out.stdout.contains(&ESC) && !out.stderr.contains(&ESC), "{stdout:?} {:?}", text(&out.stderr));
    assert!(stdout.contains("evil^[[31m"), "{stdout}");
}

/// A `job.toml` saying `job_id = "-all"`: `workbench stop` refuses it and never runs condor_rm
/// (a stand-in on PATH records any call).
#[test]
fn stop_refuses_a_job_toml_whose_id_is_an_option() {
    let dir = project();
    let run = hostile_run(&dir.path().join("runs"), "20261126-150102-iris-mlp-condor", "queued");
    std::fs::write(
        run.join("job.toml"),
        "scheduler = \"condor\"\njob_id = \"-all\"\nsubmitted_at = \"now\"\njob_file = \"job.sub\"\n",
    )
    .unwrap();
    let bin = tempdir();
    let called = dir.path().join("condor_rm-was-called");
    let fake = format!("#!/bin/sh\necho \"$@\" > '{}'\n", called.display());
    let fake_path = bin.path().join("condor_rm");
    std::fs::write(&fake_path, fake).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&fake_path).status().unwrap();
    let out = workbench_with_path(dir.path(), &["stop", "20261126-150102-iris-mlp-condor"], Some(bin.path()));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!called.exists(), "condor_rm ran with {:?}", std::fs::read_to_string(&called));
    assert!(stderr.contains("job.toml") && stderr.contains("\"-all\" is not a"), "{stderr}");
    assert!(!out.stderr.contains(&ESC));
}

/// The TUI: a failed run whose reason and dataset hold escape sequences and a bidirectional
/// override draws no control character into any cell.
#[test]
fn the_tui_draws_no_control_character_from_a_run_folder() {
    let runs = tempdir();
    let mut app = app(runs.path(), 0);
    let key = "20261126-093000-iris-mlp-cpu";
    let mut meta = run_meta(key, "iris\u{1b}[2J\u{202e}", RunStatus::Failed, 0.5, 20);
    meta.reason = Some("\u{1b}]0;pwned\u{7}\u{1b}[2J \u{202e}desrever \u{9b}31m".into());
    app.update(Event::Runs(vec![meta_event(meta)]));
    app.focus = Pane::Runs;
    app.runs.focused = Some(key.into());
    let buffer = buffer(&app, 100, 30);
    let bad: Vec<&str> =
        buffer.content.iter().map(|c| c.symbol()).filter(|s| workbench::text::has_controls(s)).collect();
    assert!(bad.is_empty(), "control characters drawn: {bad:?}");
    assert!(screen(&app, 100, 30).contains("pwned"), "the reason is still shown");
}

//! `./dev install --prefix DIR`: the binary lands in DIR/bin and runs from another folder with a
//! clean environment (libtorch found through the rpath, no LD_LIBRARY_PATH), and the completions
//! and man page it installs are well formed.
//!
//! Build cost: none beyond the test build. The test passes `--binary` with the workbench binary
//! cargo already built for these tests, so `./dev install` copies it instead of building a
//! release (10 to 20 minutes on 2 cores); everything after the build step is what a user's
//! `./dev install` runs.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::Path;
use std::process::{Command, Output};

fn has(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

/// `program args...` run in `cwd` with nothing in the environment but a plain PATH and HOME.
fn clean_run(program: &Path, args: &[&str], cwd: &Path, home: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn dev_install_puts_a_working_workbench_with_completions_and_a_man_page_under_the_prefix() {
    let prefix = common::tempdir();
    let elsewhere = common::tempdir();
    let install = Command::new(common::repo().join("dev"))
        .args(["install", "--prefix"])
        .arg(prefix.path())
        .args(["--binary", env!("CARGO_BIN_EXE_workbench")])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(install.status.success(), "./dev install failed:\n{}", text(&install));

    let bin = prefix.path().join("bin/workbench");
    let devices = clean_run(&bin, &["devices"], elsewhere.path(), elsewhere.path());
    let shown = text(&devices);
    assert!(devices.status.success(), "{shown}");
    assert!(shown.contains("cpu") && shown.contains("libtorch"), "{shown}");
    let version = clean_run(&bin, &["--version"], elsewhere.path(), elsewhere.path());
    assert!(version.status.success() && text(&version).contains("CUDA-capable"), "{}", text(&version));

    // The rpath names libtorch by an absolute path, so no folder or variable is needed to find it.
    if has("readelf") {
        let dynamic = Command::new("readelf").arg("-d").arg(&bin).output().unwrap();
        let dynamic = String::from_utf8_lossy(&dynamic.stdout);
        let path = dynamic.lines().find(|l| l.contains("RUNPATH") || l.contains("RPATH")).unwrap_or_default();
        assert!(path.contains("[/") && path.contains("libtorch"), "no absolute libtorch rpath:\n{dynamic}");
    } else {
        eprintln!("readelf is not installed: the rpath is checked only by running the binary");
    }

    let share = prefix.path().join("share");
    let bash = share.join("bash-completion/completions/workbench");
    let check = Command::new("bash").arg("-n").arg(&bash).output().unwrap();
    assert!(check.status.success(), "bash -n {}: {}", bash.display(), text(&check));
    assert!(
        std::fs::read_to_string(&bash).unwrap().contains("completions"),
        "the bash script lists commands"
    );
    for (shell, file, args) in [
        ("zsh", "zsh/site-functions/_workbench", &["-n"][..]),
        ("fish", "fish/vendor_completions.d/workbench.fish", &["--no-execute"][..]),
    ] {
        let path = share.join(file);
        assert!(std::fs::metadata(&path).unwrap().len() > 0, "{} is empty", path.display());
        if has(shell) {
            let check = Command::new(shell).args(args).arg(&path).output().unwrap();
            assert!(check.status.success(), "{shell} {args:?} {}: {}", path.display(), text(&check));
        } else {
            eprintln!("{shell} is not installed: {} is not parsed, only checked to be there", path.display());
        }
    }

    let man = share.join("man/man1/workbench.1");
    let page = std::fs::read_to_string(&man).unwrap();
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS"] {
        assert!(page.contains(section), "{section} missing from {}", man.display());
    }
    if has("groff") {
        let out = Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(&man).output().unwrap();
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && warnings.trim().is_empty(), "groff: {warnings}");
        // -P-c: plain text, without the overstrike bold (`SSYYNNOOPPSSIISS`) grotty writes to a pipe.
        let out = Command::new("groff").args(["-man", "-Tutf8", "-P-cbou"]).arg(&man).output().unwrap();
        let rendered = String::from_utf8_lossy(&out.stdout);
        for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "workbench-train(1)"] {
            assert!(rendered.lines().any(|l| l.trim() == heading), "{heading} not rendered:\n{rendered}");
        }
    } else {
        eprintln!("groff is not installed: the man page is checked for its sections only");
    }
}

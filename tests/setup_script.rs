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

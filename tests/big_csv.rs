//! A large CSV through the commands a user runs: listed from its head before staging (classes
//! named, their counts left to staging), parsed in pieces on every core by `workbench stage`, a
//! bad cell near the end named with its line and column and nothing left in the cache, the staged
//! copy found again, trained on, listed and cleared by `workbench cache`. The file (about 17 MiB)
//! spans three pieces of at most 8 MiB.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::fmt::Write as _;
use std::path::Path;

use common::*;

const ROWS: usize = 640_000;

/// A project folder whose datasets/big.csv has `ROWS` rows of four features and a text class
/// (`cat`, `dog`, `eel` in turn), with "oops" in column b of row `bad_at` if given.
fn project_with_big_csv(bad_at: Option<usize>) -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::write(dir.path().join("config.toml"), "").unwrap();
    let mut text = String::with_capacity(ROWS * 40);
    text.push_str("a,b,c,d,label\n");
    for i in 0..ROWS {
        let b =
            if bad_at == Some(i) { "oops".to_string() } else { format!("{:.4}", (i % 1000) as f64 * 0.37) };
        let class = ["cat", "dog", "eel"][i % 3];
        writeln!(text, "{:.4},{b},{},{},{class}", (i % 977) as f64 * -0.5, i % 13, i % 101).unwrap();
    }
    assert!(text.len() > 2 * (8 << 20), "{} bytes: three pieces", text.len());
    std::fs::write(dir.path().join("datasets/big.csv"), text).unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let cache = dir.join("cache");
    let mut all = vec!["--cache-dir", cache.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = workbench(dir, &all);
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_large_csv_is_listed_from_its_head_then_staged_once_and_trained() {
    let dir = project_with_big_csv(None);
    let (code, listed, err) = run(dir.path(), &["datasets"]);
    assert_eq!(code, 0, "{err}");
    let line = listed.lines().find(|l| l.contains("big")).unwrap();
    assert!(line.contains(&ROWS.to_string()), "the rows counted from line breaks: {listed}");
    assert!(line.contains("3 classes: cat, dog, eel"), "classes from the head, no counts yet: {listed}");

    let (code, out, err) = run(dir.path(), &["stage", "big", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((doc["rows"].as_u64(), doc["features"].as_u64()), (Some(ROWS as u64), Some(4)), "{doc}");
    assert_eq!(doc["staged_now"], true);
    let (_, out, _) = run(dir.path(), &["stage", "big", "--json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["staged_now"], false);

    let (_, listed, _) = run(dir.path(), &["datasets"]);
    assert!(listed.contains("3 classes: cat 213334, dog 213333, eel 213333"), "exact once staged: {listed}");

    let (code, out, err) = run(
        dir.path(),
        &[
            "train",
            "--dataset",
            "big",
            "--model",
            "logreg",
            "--device",
            "cpu",
            "--epochs",
            "1",
            "--batch-size",
            "4096",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("finished"), "{out}");

    // The staged copy is the cache's like an image dataset's: listed, and cleared by name.
    let (code, out, _) = run(dir.path(), &["cache", "list"]);
    assert_eq!(code, 0);
    let line = out.lines().find(|l| l.contains("tables/big-")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&format!("{ROWS} rows")) && line.contains("current"), "{out}");
    let (code, out, _) = run(dir.path(), &["cache", "clear", "big"]);
    assert_eq!(code, 0);
    assert!(out.contains("removed 1 entry of big"), "{out}");
    let (_, out, _) = run(dir.path(), &["stage", "big", "--json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["staged_now"], true);
}

#[test]
fn a_bad_cell_near_the_end_of_a_large_csv_is_named_and_nothing_is_staged() {
    let bad_row = ROWS - 5_000; // in the last piece
    let dir = project_with_big_csv(Some(bad_row));
    let (code, _, err) = run(dir.path(), &["stage", "big"]);
    assert_eq!(code, 1, "{err}");
    let line = bad_row + 2; // after the header, counting from 1
    assert!(err.contains(&format!("line {line}, column 2 (b)")), "{err}");
    assert!(err.contains("oops"), "{err}");
    let tables = dir.path().join("cache/tables");
    let left: Vec<String> = std::fs::read_dir(&tables)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(left.iter().all(|n| n == "line-counts.json"), "nothing staged, no partial entry: {left:?}");
}

/// Cells in every float format a CSV holds (pandas' full precision, exponents in either case, a
/// leading `+`, no leading zero, integers) are staged as the float32 of the correctly rounded
/// double, as pandas' `read_csv` then `astype(float32)` gives them; `inf` is refused with its line
/// and column.
#[test]
fn every_float_format_is_staged_bit_exact_and_inf_is_named() {
    let cells = [
        "-991503.8111638229",
        "1.2345678901234567e-05",
        "4.123457e-05",
        "-3.25E+12",
        "+12.5",
        ".5",
        "-.25",
        "+.75",
        "7",
        "-40213",
        "0.00023962465575428485",
        "1e-30",
        "3.4028235677973366e+38",
        "9007199254740993",
    ];
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::write(dir.path().join("config.toml"), "").unwrap();
    let mut text = String::from("a,b,c,label\n");
    let mut expected = Vec::new();
    for i in 0..3000 {
        let row: Vec<&str> = (0..3).map(|k| cells[(i * 3 + k + i / 7) % cells.len()]).collect();
        expected.extend(row.iter().map(|c| c.parse::<f64>().unwrap() as f32));
        writeln!(text, "{},{}", row.join(","), ["cat", "dog"][i % 2]).unwrap();
    }
    std::fs::write(dir.path().join("datasets/formats.csv"), &text).unwrap();
    let (code, _, err) = run(dir.path(), &["stage", "formats"]);
    assert_eq!(code, 0, "{err}");
    let entry = std::fs::read_dir(dir.path().join("cache/tables"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("formats-"))
        .unwrap();
    let staged: Vec<u32> = std::fs::read(entry.path().join("x.f32"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let expected: Vec<u32> = expected.iter().map(|v| v.to_bits()).collect();
    assert_eq!(staged.len(), expected.len());
    let differ = staged.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "float32 values that differ from the correctly rounded ones");

    text.push_str("1.5,inf,2,cat\n");
    std::fs::write(dir.path().join("datasets/formats.csv"), &text).unwrap();
    let (code, _, err) = run(dir.path(), &["stage", "formats"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("line 3002, column 2 (b)") && err.contains("\"inf\""), "{err}");
}

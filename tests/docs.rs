//! Examples that can't rot: every ```console block of README.md and docs/*.md is run with the real
//! binary and its output compared with the block's.
//!
//! The conventions (also in docs/development.md, "Documentation examples are tests"):
//! - a line starting with `$ ` is a command, run by `sh -c` in a fresh copy of the shipped
//!   config.toml, datasets/ and models/, with an empty runs folder and cache, and `workbench` on the
//!   PATH being the binary under test;
//! - the lines after it, up to the next command or the end of the block, are its output (stdout and
//!   stderr together), compared line by line, trailing spaces ignored;
//! - `[..]` in a line matches any text on that line, and a line that is only `...` matches any
//!   number of whole lines;
//! - a command must exit with 0, unless its output shows a line starting with `error:`: then it
//!   must fail;
//! - ```console,ignore and ```text blocks are not run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{copy_dir, repo};

/// One command of a block and the output the docs show for it.
#[derive(Debug)]
struct Example {
    /// `file:line` of the command, for the failure report.
    place: String,
    command: String,
    expected: Vec<String>,
}

/// The console blocks of one Markdown file, each a list of examples run in one project folder.
fn console_blocks(path: &Path) -> Vec<Vec<Example>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let name = path.strip_prefix(repo()).unwrap_or(path).display().to_string();
    let mut blocks = Vec::new();
    let mut fence: Option<(String, bool)> = None; // (the fence's indent + backticks, is console)
    let mut block: Vec<Example> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &fence {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let indent = &line[..line.len() - trimmed.len()];
                    let is_console = info.trim() == "console";
                    fence = Some((format!("{indent}```"), is_console));
                    block = Vec::new();
                }
            }
            Some((_, is_console)) => {
                if trimmed.starts_with("```") {
                    if *is_console {
                        blocks.push(std::mem::take(&mut block));
                    }
                    fence = None;
                    continue;
                }
                if !is_console {
                    continue;
                }
                // Lines of a block indented under a list item carry the item's indent.
                let line = line.strip_prefix(indent_of(&fence)).unwrap_or(line);
                if let Some(command) = line.strip_prefix("$ ") {
                    block.push(Example {
                        place: format!("{name}:{}", index + 1),
                        command: command.to_string(),
                        expected: Vec::new(),
                    });
                } else if let Some(example) = block.last_mut() {
                    example.expected.push(line.trim_end().to_string());
                } else {
                    panic!("{name}:{}: a console block must start with a `$ ` command line", index + 1);
                }
            }
        }
    }
    blocks
}

fn indent_of(fence: &Option<(String, bool)>) -> &str {
    fence.as_ref().map_or("", |(f, _)| f.trim_end_matches('`'))
}

/// Every Markdown file whose examples are checked: README.md and docs/*.md.
fn documented_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Does one output line match one expected line, `[..]` matching any text?
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("[..]").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() || !actual.ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Do the output lines match the expected ones, a `...` line matching any number of lines?
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.first() {
        None => actual.is_empty(),
        Some(e) if e == "..." => (0..=actual.len()).any(|skip| lines_match(&expected[1..], &actual[skip..])),
        Some(e) => {
            actual.first().is_some_and(|a| line_matches(e, a)) && lines_match(&expected[1..], &actual[1..])
        }
    }
}

/// A project folder like a new user's: the shipped config, datasets, models and examples; `bin/workbench`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::copy(repo().join("config.toml"), dir.path().join("config.toml")).expect("copy config.toml");
    copy_dir(&repo().join("datasets"), &dir.path().join("datasets"));
    copy_dir(&repo().join("models"), &dir.path().join("models"));
    copy_dir(&repo().join("examples"), &dir.path().join("examples"));
    let bin = dir.path().join(".bin");
    std::fs::create_dir_all(&bin).expect("create .bin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_workbench"), bin.join("workbench"))
        .expect("link workbench");
    dir
}

/// Runs one example; `Err` says how it differs from the docs.
fn run(example: &Example, dir: &Path) -> Result<(), String> {
    let path = format!("{}:{}", dir.join(".bin").display(), std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("{{ {}\n}} 2>&1", example.command))
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir.join(".home"))
        .env("XDG_STATE_HOME", dir.join(".home/state"))
        .env("XDG_CONFIG_HOME", dir.join(".home/config"))
        .env("WORKBENCH_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1");
    for name in [
        "WORKBENCH_CONFIG",
        "WORKBENCH_DATASETS_DIR",
        "WORKBENCH_RUNS_DIR",
        "WORKBENCH_DEVICE",
        "WORKBENCH_FPS",
    ] {
        command.env_remove(name);
    }
    let output = command.output().map_err(|e| format!("could not run sh: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut actual: Vec<&str> = text.lines().map(str::trim_end).collect();
    while actual.last().is_some_and(|l| l.is_empty()) {
        actual.pop();
    }
    let mut expected = example.expected.clone();
    while expected.last().is_some_and(|l| l.is_empty()) {
        expected.pop();
    }
    let expects_error = expected.iter().any(|l| l.starts_with("error:"));
    let failed = !output.status.success();
    let mut problems = Vec::new();
    if failed != expects_error {
        problems.push(format!(
            "exit status {} but the docs show {}",
            output.status,
            if expects_error { "an error" } else { "success" }
        ));
    }
    if !lines_match(&expected, &actual) {
        problems.push("the output differs".to_string());
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}: $ {}\n  {}\n--- documented\n{}\n--- actual\n{}\n",
        example.place,
        example.command,
        problems.join("; "),
        expected.join("\n"),
        actual.join("\n")
    ))
}

#[test]
fn every_console_example_in_the_docs_is_true() {
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in documented_files() {
        for block in console_blocks(&file) {
            let dir = project();
            for example in &block {
                count += 1;
                if let Err(why) = run(example, dir.path()) {
                    failures.push(why);
                }
            }
        }
    }
    println!("checked {count} documented commands in {:.1}s", started.elapsed().as_secs_f64());
    assert!(count >= 10, "only {count} console examples were found: is the block parser broken?");
    assert!(
        failures.is_empty(),
        "{} documented example(s) are not true:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn wildcards_match_as_documented() {
    assert!(line_matches("finished after 3 epochs in [..]s", "finished after 3 epochs in 0.1s"));
    assert!(line_matches("[..]-iris-mlp-cpu", "runs/20261206-025000-iris-mlp-cpu"));
    assert!(line_matches("a [..] c [..] e", "a b c d e"));
    assert!(!line_matches("a [..] c", "a b d"));
    assert!(!line_matches("abc[..]bcd", "abcd"), "the prefix and suffix may not overlap");
    assert!(!line_matches("exact", "exact but longer"));
    let lines = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&lines(&["first", "...", "last"]), &["first", "a", "b", "last"]));
    assert!(lines_match(&lines(&["first", "...", "last"]), &["first", "last"]));
    assert!(!lines_match(&lines(&["first", "last"]), &["first", "extra", "last"]));
    assert!(!lines_match(&lines(&["first"]), &["first", "more"]), "unexpected extra output fails");
}

#[test]
fn blocks_are_parsed_with_their_commands_and_outputs() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let doc = dir.path().join("doc.md");
    std::fs::write(
        &doc,
        "text\n```console\n$ workbench a\none\n\n$ workbench b\n```\n```console,ignore\n$ no\n```\n\
         - item\n  ```console\n  $ workbench c\n  three\n  ```\n```text\n$ no\n```\n",
    )
    .expect("write doc");
    let blocks = console_blocks(&doc);
    let commands: Vec<Vec<&str>> =
        blocks.iter().map(|b| b.iter().map(|e| e.command.as_str()).collect()).collect();
    assert_eq!(commands, vec![vec!["workbench a", "workbench b"], vec!["workbench c"]]);
    assert_eq!(blocks[0][0].expected, vec!["one", ""]);
    assert_eq!(blocks[1][0].expected, vec!["three"]);
}

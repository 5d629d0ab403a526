//! docs/configuration.md documents every key of config.toml, and no key the code doesn't accept;
//! the shipped config.toml (its keys and the commented-out examples) uses only known keys.
//!
//! The keys the code accepts are read from the config structs themselves: `ConfigFile` serialised
//! with one `[datasets.NAME]` and one `[models.NAME]` entry, so a field added to a struct without a
//! line in the docs fails here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::collections::BTreeSet;
use std::path::PathBuf;

use workbench::command::CommandEntry;
use workbench::config::{ConfigFile, DatasetConfig};
use workbench::models::StackConfig;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Dotted paths of every leaf of a JSON value; an empty table (a map of free keys) is a leaf.
fn leaves(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() => {
            for (key, value) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                leaves(&path, value, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

/// Every key the config structs accept, with `NAME` for the user's names.
fn accepted_keys() -> BTreeSet<String> {
    let mut config = ConfigFile::default();
    config.datasets.insert("NAME".into(), DatasetConfig::default());
    config.models.insert("NAME".into(), StackConfig::default());
    config.commands.entries.insert(
        "NAME".into(),
        CommandEntry {
            run: vec!["python".into(), "train.py".into()],
            cwd: None,
            env: Default::default(),
            stdout_metrics: true,
            params: Default::default(),
        },
    );
    let value = serde_json::to_value(&config).expect("the config serialises");
    let mut keys = BTreeSet::new();
    leaves("", &value, &mut keys);
    keys
}

/// The keys in the first column of docs/configuration.md's table: "| `a.b` | ...".
fn documented_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("docs/configuration.md")).expect("docs/configuration.md");
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_string()))
        .filter(|key| key.contains('.'))
        .collect()
}

/// The keys of the shipped config.toml, set or commented out (`# key = value` under a table or a
/// commented-out `# [table]`); a user's names (`[datasets.iris-binary]`) become `NAME`.
fn shipped_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("config.toml")).expect("config.toml");
    let mut table = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        let body = line.strip_prefix('#').map_or(line, str::trim_start);
        if let Some((name, _)) = body.strip_prefix('[').and_then(|rest| rest.split_once(']')) {
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                table = named(name);
            }
        } else if let Some((key, _)) = body.split_once('=') {
            // Prose in comments has spaces or capitals before any `=`; a key has neither.
            let key = key.trim_end();
            if !key.is_empty()
                && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                // A command's params are the user's own names: the table itself is the key.
                match table.as_str() {
                    "commands.NAME.params" => keys.insert(table.clone()),
                    _ => keys.insert(format!("{table}.{key}")),
                };
            }
        }
    }
    keys
}

/// `datasets.iris-binary` -> `datasets.NAME`.
fn named(table: &str) -> String {
    let mut parts: Vec<&str> = table.split('.').collect();
    if parts.len() >= 2 && (parts[0] == "datasets" || parts[0] == "models" || parts[0] == "commands") {
        parts[1] = "NAME";
    }
    parts.join(".")
}

#[test]
fn every_config_key_is_documented_and_every_documented_key_exists() {
    let accepted = accepted_keys();
    let documented = documented_keys();
    assert!(accepted.len() > 40, "the config structs gave only {} keys: {accepted:?}", accepted.len());
    let undocumented: Vec<_> = accepted.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "docs/configuration.md is out of date.\n  keys the code accepts but the table lacks: {undocumented:?}\n  \
         keys in the table the code doesn't accept: {unknown:?}"
    );
}

#[test]
fn the_shipped_config_uses_only_known_keys() {
    let accepted = accepted_keys();
    let shipped = shipped_keys();
    assert!(shipped.contains("train.epochs") && shipped.contains("cluster.slurm.partition"), "{shipped:?}");
    let unknown: Vec<_> = shipped.difference(&accepted).collect();
    assert!(unknown.is_empty(), "config.toml shows keys the code doesn't accept: {unknown:?}");
    // And the file parses as the code reads it.
    let text = std::fs::read_to_string(repo().join("config.toml")).expect("config.toml");
    workbench::config::parse_config(&text).expect("the shipped config.toml parses");
}

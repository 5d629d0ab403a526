//! Commands as models: `[commands.NAME]` in config.toml, or the whole of `commands/NAME.toml`
//! beside it.
//!
//! ```toml
//! [commands]
//! stop_grace_s = 10
//!
//! [commands.iris]
//! run = ["python3", "examples/train_iris.py", "--lr", "{lr}", "--epochs", "{epochs}", "--data", "{dataset}"]
//! [commands.iris.params]
//! lr = 0.01
//! epochs = 10
//! ```
//!
//! `{NAME}` in `run` (and in `env`'s values) is a param; `{dataset}` is the chosen dataset's path.
//! A placeholder with no param, or a param no placeholder uses, is an error naming both.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use super::meta::DEFAULT_STOP_GRACE_S;
use super::CommandError;

/// The placeholder filled with the chosen dataset's path.
pub const DATASET_PARAM: &str = "dataset";

/// One `[commands.NAME]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandEntry {
    /// The program and its arguments, with `{param}` placeholders.
    pub run: Vec<String>,
    /// Where to run it (relative to the config file's folder); default: the current folder.
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Variables to set for it (values may hold placeholders).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Read its stdout for metrics (default true).
    #[serde(default = "yes")]
    pub stdout_metrics: bool,
    /// Its params with their defaults; a default's type is the param's type in the TUI's form.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

fn yes() -> bool {
    true
}

/// `[commands]`: `stop_grace_s` and the entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandsConfig {
    /// Seconds from SIGINT to SIGTERM, and from SIGTERM to SIGKILL, when a command run is stopped.
    pub stop_grace_s: f64,
    /// The `[commands.NAME]` tables (written back as `[commands.NAME]`, as users write them).
    #[serde(flatten)]
    pub entries: BTreeMap<String, CommandEntry>,
    /// The `commands/` folder beside config.toml (`NAME.toml` files); set when settings load.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The config file's folder: relative `cwd`s start there.
    #[serde(skip)]
    pub base: PathBuf,
}

impl Default for CommandsConfig {
    fn default() -> Self {
        CommandsConfig {
            stop_grace_s: DEFAULT_STOP_GRACE_S,
            entries: BTreeMap::new(),
            dir: PathBuf::new(),
            base: PathBuf::new(),
        }
    }
}

impl<'de> Deserialize<'de> for CommandsConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let table = toml::Table::deserialize(deserializer)?;
        let mut config = CommandsConfig::default();
        for (key, value) in table {
            if key == "stop_grace_s" {
                config.stop_grace_s = match value {
                    toml::Value::Integer(n) => n as f64,
                    toml::Value::Float(x) => x,
                    other => {
                        return Err(D::Error::custom(format!(
                            "[commands] stop_grace_s = {other} is not a number of seconds"
                        )))
                    }
                };
                if !(0.0..=3600.0).contains(&config.stop_grace_s) {
                    return Err(D::Error::custom(format!(
                        "[commands] stop_grace_s = {} is out of range; use 0 to 3600 seconds",
                        config.stop_grace_s
                    )));
                }
                continue;
            }
            let entry = CommandEntry::deserialize(value)
                .map_err(|e| D::Error::custom(format!("[commands.{key}]: {}", e.message())))?;
            config.entries.insert(key, entry);
        }
        Ok(config)
    }
}

/// An entry with its params filled in, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct FilledCommand {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: BTreeMap<String, String>,
    /// Every param's value as used.
    pub params: BTreeMap<String, String>,
    /// The dataset's name, when `{dataset}` was used.
    pub dataset: Option<String>,
    pub stdout_metrics: bool,
}

impl CommandsConfig {
    /// The entry `name`: `[commands.NAME]`, else `commands/NAME.toml`; checked.
    pub fn entry(&self, name: &str) -> Result<CommandEntry, CommandError> {
        let entry = match self.entries.get(name) {
            Some(entry) => entry.clone(),
            None => {
                let path = self.dir.join(format!("{name}.toml"));
                let text = std::fs::read_to_string(&path).map_err(|_| {
                    let known = self.names();
                    CommandError::Config(format!(
                        "no command `{name}`: define it as [commands.{name}] in config.toml or in {}{}",
                        path.display(),
                        if known.is_empty() {
                            String::new()
                        } else {
                            format!(" (there are: {})", known.join(", "))
                        }
                    ))
                })?;
                toml::from_str::<CommandEntry>(&text)
                    .map_err(|e| CommandError::Config(format!("{}: {}", path.display(), e.message())))?
            }
        };
        check_entry(name, &entry).map_err(CommandError::Config)?;
        Ok(entry)
    }

    /// Every entry's name: config.toml's, then `commands/*.toml`'s, sorted, once each.
    pub fn names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.entries.keys().cloned().collect();
        if let Ok(read) = std::fs::read_dir(&self.dir) {
            for entry in read.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml") {
                    if let Some(stem) = path.file_stem() {
                        names.insert(stem.to_string_lossy().into_owned());
                    }
                }
            }
        }
        names.into_iter().collect()
    }

    /// Every entry, each checked: for listings.
    pub fn all(&self) -> Vec<(String, Result<CommandEntry, CommandError>)> {
        self.names().into_iter().map(|n| (n.clone(), self.entry(&n))).collect()
    }

    /// Fill entry `name`'s placeholders: its defaults, overridden by `given`; `{dataset}` by
    /// `dataset_path` of the dataset named. A param the entry doesn't have is refused.
    pub fn instantiate(
        &self,
        name: &str,
        given: &BTreeMap<String, String>,
        dataset_path: &dyn Fn(&str) -> Result<PathBuf, String>,
    ) -> Result<FilledCommand, CommandError> {
        let entry = self.entry(name)?;
        let mut values: BTreeMap<String, String> =
            entry.params.iter().map(|(k, v)| (k.clone(), value_text(v))).collect();
        for (key, value) in given {
            if !values.contains_key(key) && key != DATASET_PARAM {
                let known: Vec<&str> = values.keys().map(String::as_str).collect();
                return Err(CommandError::Config(format!(
                    "[commands.{name}] has no param `{key}`; its params: {}",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                )));
            }
            values.insert(key.clone(), value.clone());
        }
        let uses_dataset = placeholders(&entry).contains(DATASET_PARAM);
        let mut filled_values = values.clone();
        let dataset = if uses_dataset {
            let Some(dataset) = values.get(DATASET_PARAM).cloned() else {
                return Err(CommandError::Config(format!(
                    "[commands.{name}] uses {{dataset}}: choose one with --param dataset=NAME (or in the TUI)"
                )));
            };
            let path = dataset_path(&dataset).map_err(CommandError::Config)?;
            filled_values.insert(DATASET_PARAM.into(), path.display().to_string());
            Some(dataset)
        } else {
            None
        };
        let fill = |s: &str| fill_placeholders(s, &filled_values);
        Ok(FilledCommand {
            argv: entry.run.iter().map(|a| fill(a)).collect(),
            cwd: entry.cwd.as_ref().map(|c| self.base.join(c)),
            env: entry.env.iter().map(|(k, v)| (k.clone(), fill(v))).collect(),
            params: values,
            dataset,
            stdout_metrics: entry.stdout_metrics,
        })
    }
}

/// A param's default as text: a string as it is, a number or boolean as TOML writes it.
pub fn value_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `{name}` placeholders in `text`, in order.
pub fn placeholders_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            found.push(name.to_string());
        }
        rest = &after[close + 1..];
    }
    found
}

/// Every placeholder of an entry's `run` and `env` values.
pub fn placeholders(entry: &CommandEntry) -> BTreeSet<String> {
    entry.run.iter().chain(entry.env.values()).flat_map(|s| placeholders_in(s)).collect()
}

/// Replace each `{name}` with its value (placeholders without one stay as they are).
pub fn fill_placeholders(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for name in placeholders_in(text) {
        if let Some(value) = values.get(&name) {
            out = out.replace(&format!("{{{name}}}"), value);
        }
    }
    out
}

/// An entry's own rules: a command to run; each placeholder has a param (`{dataset}` needs
/// none); each param is used by a placeholder.
pub fn check_entry(name: &str, entry: &CommandEntry) -> Result<(), String> {
    if entry.run.is_empty() || entry.run[0].is_empty() {
        return Err(format!("[commands.{name}] run is empty; write run = [\"python\", \"train.py\"]"));
    }
    let used = placeholders(entry);
    for placeholder in &used {
        if placeholder != DATASET_PARAM && !entry.params.contains_key(placeholder) {
            return Err(format!(
                "[commands.{name}]: the placeholder {{{placeholder}}} has no param; add `{placeholder} = ...` \
                 to [commands.{name}.params]"
            ));
        }
    }
    for param in entry.params.keys() {
        if !used.contains(param) {
            return Err(format!(
                "[commands.{name}.params]: the param `{param}` is used by no placeholder; put {{{param}}} in \
                 [commands.{name}] run, or remove the param"
            ));
        }
    }
    for (param, value) in &entry.params {
        if matches!(value, toml::Value::Array(_) | toml::Value::Table(_) | toml::Value::Datetime(_)) {
            return Err(format!(
                "[commands.{name}.params] {param} = {value}: a param's default is a number, a string or a boolean"
            ));
        }
    }
    Ok(())
}

/// The path of the dataset `name` under `datasets_dir`, from the catalog; a path that exists is
/// taken as it is.
pub fn dataset_path_in(catalog: &crate::data::Catalog, name: &str) -> Result<PathBuf, String> {
    if let Some(entry) = catalog.get(name) {
        return Ok(entry.source.clone());
    }
    let as_path = Path::new(name);
    if as_path.exists() {
        return Ok(as_path.to_path_buf());
    }
    catalog.require(name).map(|e| e.source.clone()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<CommandsConfig, String> {
        #[derive(Deserialize)]
        struct File {
            commands: CommandsConfig,
        }
        toml::from_str::<File>(text).map(|f| f.commands).map_err(|e| e.to_string())
    }

    #[test]
    fn entries_and_the_grace_read_from_one_table() {
        let c = config(
            "[commands]\nstop_grace_s = 2\n[commands.t]\nrun = [\"python3\", \"t.py\", \"--lr\", \"{lr}\"]\n\
             [commands.t.params]\nlr = 0.01\n",
        )
        .unwrap();
        assert_eq!(c.stop_grace_s, 2.0);
        let filled = c.instantiate("t", &BTreeMap::new(), &|_| Err("no".into())).unwrap();
        assert_eq!(filled.argv, ["python3", "t.py", "--lr", "0.01"]);
        let given = BTreeMap::from([("lr".to_string(), "0.5".to_string())]);
        assert_eq!(c.instantiate("t", &given, &|_| Err("no".into())).unwrap().argv[3], "0.5");
        let bad = BTreeMap::from([("lx".to_string(), "1".to_string())]);
        let e = c.instantiate("t", &bad, &|_| Err("no".into())).unwrap_err().to_string();
        assert!(e.contains("no param `lx`") && e.contains("lr"), "{e}");
    }

    #[test]
    fn a_placeholder_without_a_param_and_a_param_without_a_placeholder_name_both() {
        let c = config("[commands.t]\nrun = [\"x\", \"{lr}\"]\n").unwrap();
        let e = c.entry("t").unwrap_err().to_string();
        assert!(e.contains("{lr}") && e.contains("[commands.t.params]"), "{e}");
        let c = config("[commands.t]\nrun = [\"x\"]\n[commands.t.params]\nepochs = 3\n").unwrap();
        let e = c.entry("t").unwrap_err().to_string();
        assert!(e.contains("`epochs`") && e.contains("no placeholder"), "{e}");
    }

    #[test]
    fn the_dataset_placeholder_takes_the_datasets_path() {
        let c = config("[commands.t]\nrun = [\"x\", \"--data\", \"{dataset}\"]\n").unwrap();
        let given = BTreeMap::from([("dataset".to_string(), "iris".to_string())]);
        let filled = c.instantiate("t", &given, &|n| Ok(PathBuf::from(format!("/data/{n}.csv")))).unwrap();
        assert_eq!(filled.argv[2], "/data/iris.csv");
        assert_eq!(filled.dataset.as_deref(), Some("iris"));
        let e = c.instantiate("t", &BTreeMap::new(), &|_| Err("no".into())).unwrap_err().to_string();
        assert!(e.contains("--param dataset="), "{e}");
    }

    #[test]
    fn a_bad_grace_or_unknown_key_is_refused() {
        assert!(config("[commands]\nstop_grace_s = \"x\"\n").is_err());
        let e = config("[commands.t]\nrun = [\"x\"]\nfoo = 1\n").unwrap_err();
        assert!(e.contains("foo"), "{e}");
    }
}

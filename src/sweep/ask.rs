//! What a sweep was asked for, as a grid: the train flags (and `--dataset`) of a sweep of
//! built-in runs, or the `--grid k=v` / `--param k=v` values of a command sweep. A flag with one
//! value is fixed; a list or a range is an axis.
use std::collections::BTreeMap;

use super::grid::{flag, Axis, Grid, GridError};
use super::record::GridEntry;
use crate::params::{NumberKind, TrainFlags};

/// A grid and the values fixed for every cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Asked {
    pub grid: Grid,
    pub entries: Vec<GridEntry>,
    pub fixed: BTreeMap<String, String>,
}

impl Asked {
    /// Add `name` as typed: an axis when it is a list or a range, else a fixed value. A name
    /// given twice is refused.
    fn add(&mut self, name: &str, text: &str, kind: NumberKind, separator: char) -> Result<(), GridError> {
        if self.fixed.contains_key(name) || self.entries.iter().any(|e| e.name == name) {
            return Err(GridError(format!(
                "--{} is given twice (as a list and as a fixed value?); give it once, as one value or a list",
                flag(name)
            )));
        }
        match Axis::parse(name, text, kind, separator)? {
            Some(axis) => {
                self.entries.push(GridEntry { name: name.into(), given: text.trim().into() });
                self.grid.axes.push(axis);
            }
            None => {
                self.fixed.insert(name.into(), text.trim().into());
            }
        }
        Ok(())
    }
}

impl Asked {
    /// The `workbench sweep` line that asks for the same: built-in runs' flags, or an entry's
    /// `--param`s. What a sweep queued from the TUI's form records as its command line.
    pub fn command_line(&self, entry: Option<&str>) -> String {
        use crate::command::meta::shell_quote;
        let mut parts = vec!["workbench sweep".to_string()];
        if let Some(entry) = entry {
            parts.push(shell_quote(entry));
        }
        let given = self.entries.iter().map(|e| (&e.name, &e.given)).chain(self.fixed.iter());
        for (name, text) in given {
            match entry {
                Some(_) if name != "device" => {
                    parts.push(format!("--param {}", shell_quote(&format!("{name}={text}"))))
                }
                _ => parts.push(format!("--{} {}", flag(name), shell_quote(text))),
            }
        }
        parts.join(" ")
    }
}

/// The separator of a flag's list: `|` where one value already holds commas (`--hidden 32,16`,
/// `--layers`), else `,`.
pub fn separator_of(name: &str) -> char {
    if matches!(name, "hidden" | "layers") {
        '|'
    } else {
        ','
    }
}

/// A sweep of built-in runs: `--dataset` and every train flag given.
pub fn train_ask(dataset: Option<&str>, flags: &TrainFlags) -> Result<Asked, GridError> {
    let mut asked = Asked::default();
    if let Some(dataset) = dataset {
        asked.add("dataset", dataset, NumberKind::No, ',')?;
    }
    for (name, text) in flags.given() {
        let kind = TrainFlags::FIELDS.iter().find(|(n, _)| *n == name).map_or(NumberKind::No, |(_, k)| *k);
        asked.add(name, &text, kind, separator_of(name))?;
    }
    Ok(asked)
}

/// A command sweep's `k=v` values (`--grid` or `--param`); `kinds` gives a param's type where
/// its entry's default says it, else it is guessed from the values.
pub fn command_ask(pairs: &[String], kinds: &BTreeMap<String, NumberKind>) -> Result<Asked, GridError> {
    let mut asked = Asked::default();
    for pair in pairs {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(GridError(format!("{pair:?}: write it as NAME=VALUES, for example lr=0.1,0.01")));
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(GridError(format!("{pair:?}: {name:?} is not a param name")));
        }
        let kind = kinds.get(name).copied().unwrap_or_else(|| guess_kind(text));
        asked.add(name, text, kind, ',')?;
    }
    Ok(asked)
}

/// Whole numbers when every number in a range or list is written as one, else real numbers;
/// text when any value isn't a number.
fn guess_kind(text: &str) -> NumberKind {
    let parts: Vec<&str> = text.split([',', ':']).map(str::trim).collect();
    let numbers: Vec<&str> =
        parts.iter().copied().filter(|p| !matches!(*p, "log" | "lin" | "step")).collect();
    if numbers.iter().any(|p| p.parse::<f64>().is_err()) {
        NumberKind::No
    } else if numbers.iter().all(|p| p.parse::<i64>().is_ok()) {
        NumberKind::Integer
    } else {
        NumberKind::Real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_flags_split_into_axes_and_fixed_values() {
        let mut flags = TrainFlags::default();
        *flags.field_mut("lr").unwrap() = Some("0.1,0.01".into());
        *flags.field_mut("seed").unwrap() = Some("1:3:step:1".into());
        *flags.field_mut("epochs").unwrap() = Some("5".into());
        *flags.field_mut("hidden").unwrap() = Some("16|32,16".into());
        let asked = train_ask(Some("iris"), &flags).unwrap();
        assert_eq!(
            asked.fixed,
            BTreeMap::from([("dataset".into(), "iris".into()), ("epochs".into(), "5".into())])
        );
        let names: Vec<&str> = asked.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["lr", "seed", "hidden"]);
        assert_eq!(asked.grid.size(), 2 * 3 * 2);
        assert_eq!(asked.grid.axes[2].all(), ["16", "32,16"]);
    }

    #[test]
    fn command_values_take_their_kind_from_the_entry_or_the_values() {
        let kinds = BTreeMap::from([("bs".to_string(), NumberKind::Integer)]);
        let asked =
            command_ask(&["lr=1e-3:1e-1:log:3".into(), "bs=16:64:log:3".into(), "tag=a,b".into()], &kinds)
                .unwrap();
        assert_eq!(asked.grid.axes[0].all(), ["0.001", "0.01", "0.1"]);
        assert_eq!(asked.grid.axes[1].all(), ["16", "32", "64"]);
        assert_eq!(asked.grid.axes[2].all(), ["a", "b"]);
        let e = command_ask(&["lr".into()], &kinds).unwrap_err().0;
        assert!(e.contains("NAME=VALUES"), "{e}");
        let e = command_ask(&["lr=0.1,0.2".into(), "lr=0.3".into()], &kinds).unwrap_err().0;
        assert!(e.contains("--lr is given twice"), "{e}");
        let e = command_ask(&["tag=a:b:lin:2".into()], &kinds).unwrap_err().0;
        assert!(e.contains("needs a numeric flag"), "{e}");
    }
}

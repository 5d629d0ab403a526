//! A `[commands.NAME]` entry chosen in the model picker: its params as form fields, each typed
//! as its default is (a whole number, a number, on/off, or text).
use std::collections::BTreeMap;

use super::form::RefusedValue;
use crate::command::entries::{fill_placeholders, placeholders, value_text, CommandEntry, DATASET_PARAM};

/// One entry as the picker lists it: usable, or with the reason it can't be used.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandChoice {
    pub name: String,
    pub entry: Result<CommandEntry, String>,
}

impl CommandChoice {
    /// The picker's description: the command line as written, placeholders and all.
    pub fn describe(&self) -> String {
        match &self.entry {
            Ok(entry) => format!("command: {}", crate::command::meta::shell_line(&entry.run)),
            Err(why) => format!("command (can't be used: {why})"),
        }
    }
}

/// Every command the settings define, each checked: the picker's command lines.
pub fn command_choices(commands: &crate::command::CommandsConfig) -> Vec<CommandChoice> {
    commands
        .all()
        .into_iter()
        .map(|(name, entry)| CommandChoice { name, entry: entry.map_err(|e| e.to_string()) })
        .collect()
}

/// A param of the chosen command: its default (which gives its type) and the value to run with.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandParam {
    pub name: String,
    pub default: toml::Value,
    pub value: String,
    /// A list or a range typed for a numeric param (`0.1, 0.01`), as typed: `s` then queues a
    /// sweep over it; `value` is its first value.
    pub sweep: Option<String>,
}

impl CommandParam {
    /// Whether its values are numbers, so a list or a range of them can be swept.
    pub fn number_kind(&self) -> crate::params::NumberKind {
        match self.default {
            toml::Value::Integer(_) => crate::params::NumberKind::Integer,
            toml::Value::Float(_) => crate::params::NumberKind::Real,
            _ => crate::params::NumberKind::No,
        }
    }

    /// The value as the form shows it: a swept param's list as typed.
    pub fn shown(&self) -> &str {
        self.sweep.as_deref().unwrap_or(&self.value)
    }
}

/// The chosen command and its params' current values.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandForm {
    pub name: String,
    /// The command line as written, for the form's summary.
    pub run: Vec<String>,
    /// Whether `{dataset}` is in it: then the chosen dataset is passed.
    pub uses_dataset: bool,
    pub params: Vec<CommandParam>,
}

impl CommandForm {
    /// The entry's params at their defaults; values typed for an earlier version of the same
    /// entry (before a config reload) are kept where the param still exists.
    pub fn new(name: &str, entry: &CommandEntry, earlier: Option<&CommandForm>) -> CommandForm {
        let kept = |param: &str| {
            earlier
                .filter(|e| e.name == name)?
                .params
                .iter()
                .find(|p| p.name == param)
                .map(|p| p.value.clone())
        };
        let params = entry
            .params
            .iter()
            .map(|(name, default)| CommandParam {
                name: name.clone(),
                default: default.clone(),
                value: kept(name).unwrap_or_else(|| value_text(default)),
                sweep: None,
            })
            .collect();
        let uses_dataset = placeholders(entry).contains(DATASET_PARAM);
        CommandForm { name: name.to_string(), run: entry.run.clone(), uses_dataset, params }
    }

    /// Set param `index` from typed text, checked against its default's type. A numeric param
    /// also takes a list or a range (every value checked), which `s` sweeps.
    pub fn set(&mut self, index: usize, text: &str) -> Result<(), RefusedValue> {
        let Some(param) = self.params.get(index) else { return Ok(()) };
        let kind = param.number_kind();
        if kind != crate::params::NumberKind::No {
            let axis = crate::sweep::grid::Axis::parse(&param.name, text, kind, ',')
                .map_err(|e| RefusedValue(format!("{} {}", param.name, e.reason())))?;
            if let Some(axis) = axis {
                let values = axis.all();
                // Every value checked on a copy: a list refused halfway leaves the old value.
                let mut trial = self.clone();
                for value in &values {
                    trial.set_one(index, value)?;
                }
                self.set_one(index, &values[0])?;
                self.params[index].sweep = Some(text.to_string());
                return Ok(());
            }
        }
        self.set_one(index, text)?;
        self.params[index].sweep = None;
        Ok(())
    }

    /// The params given a list or a range, by name, as typed.
    pub fn sweep_axes(&self) -> Vec<(String, String)> {
        self.params.iter().filter_map(|p| Some((p.name.clone(), p.sweep.clone()?))).collect()
    }

    /// Set param `index` to one value, checked against its default's type.
    fn set_one(&mut self, index: usize, text: &str) -> Result<(), RefusedValue> {
        let Some(param) = self.params.get_mut(index) else { return Ok(()) };
        let bad = |what: &str| RefusedValue(format!("{} {text:?} is not {what}", param.name));
        let value = match &param.default {
            toml::Value::Integer(_) => {
                text.parse::<i64>().map_err(|_| bad("a whole number (its default is one)"))?.to_string()
            }
            toml::Value::Float(_) => {
                let x: f64 = text.parse().map_err(|_| bad("a number (its default is one)"))?;
                if !x.is_finite() {
                    return Err(bad("a finite number"));
                }
                text.to_string()
            }
            toml::Value::Boolean(_) => match text {
                "true" | "on" | "yes" => "true".to_string(),
                "false" | "off" | "no" => "false".to_string(),
                _ => return Err(bad("true or false")),
            },
            _ => text.to_string(),
        };
        param.value = value;
        Ok(())
    }

    /// Enter on a boolean param flips it instead of opening a text edit.
    pub fn is_toggle(&self, index: usize) -> bool {
        self.params.get(index).is_some_and(|p| matches!(p.default, toml::Value::Boolean(_)))
    }

    pub fn toggle(&mut self, index: usize) {
        if let Some(p) = self.params.get_mut(index) {
            p.value = if p.value == "true" { "false".into() } else { "true".into() };
        }
    }

    /// The params to run with, as `workbench run NAME --param k=v` takes them.
    pub fn given(&self) -> BTreeMap<String, String> {
        self.params.iter().map(|p| (p.name.clone(), p.value.clone())).collect()
    }

    /// The command line with the params filled in (`{dataset}` left for the dataset's path).
    pub fn preview(&self) -> String {
        let values = self.given();
        let filled: Vec<String> = self.run.iter().map(|arg| fill_placeholders(arg, &values)).collect();
        crate::command::meta::shell_line(&filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> CommandEntry {
        toml::from_str(
            "run = [\"python3\", \"t.py\", \"--lr\", \"{lr}\", \"--epochs\", \"{epochs}\", \"--data\", \"{dataset}\", \"{tag}\", \"{amp}\"]\n\
             [params]\nlr = 0.01\nepochs = 10\ntag = \"a b\"\namp = false\n",
        )
        .unwrap()
    }

    #[test]
    fn params_are_typed_as_their_defaults() {
        let mut form = CommandForm::new("t", &entry(), None);
        assert!(form.uses_dataset);
        let index = |name: &str| form.params.iter().position(|p| p.name == name).unwrap();
        let (lr, epochs, amp) = (index("lr"), index("epochs"), index("amp"));
        assert!(form.set(epochs, "2.5").unwrap_err().0.contains("whole number"));
        assert!(form.set(lr, "fast").unwrap_err().0.contains("lr \"fast\" is not a number"));
        assert!(form.set(lr, "inf").is_err());
        form.set(lr, "0.1").unwrap();
        form.set(epochs, "3").unwrap();
        assert!(form.is_toggle(amp) && !form.is_toggle(lr));
        form.toggle(amp);
        let given = form.given();
        assert_eq!(given["lr"], "0.1");
        assert_eq!(given["epochs"], "3");
        assert_eq!(given["amp"], "true");
        assert_eq!(given["tag"], "a b");
        assert_eq!(form.preview(), "python3 t.py --lr 0.1 --epochs 3 --data {dataset} 'a b' true");
        // A list refused at its second value leaves the old value and no sweep.
        assert!(form.set(lr, "0.3, fast").unwrap_err().0.contains("lr \"fast\" is not a number"));
        assert_eq!((form.given()["lr"].as_str(), form.params[lr].sweep.as_deref()), ("0.1", None));
        form.set(lr, "0.3, 0.03").unwrap();
        assert_eq!((form.given()["lr"].as_str(), form.params[lr].shown()), ("0.3", "0.3, 0.03"));
    }

    #[test]
    fn typed_values_survive_a_reload_of_the_same_entry() {
        let mut form = CommandForm::new("t", &entry(), None);
        form.set(0, "true").unwrap();
        let lr = form.params.iter().position(|p| p.name == "lr").unwrap();
        form.set(lr, "0.5").unwrap();
        let again = CommandForm::new("t", &entry(), Some(&form));
        assert_eq!(again.given()["lr"], "0.5");
        let other = CommandForm::new("u", &entry(), Some(&form));
        assert_eq!(other.given()["lr"], "0.01", "another entry starts at its defaults");
    }
}

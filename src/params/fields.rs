//! The training parameters, written out once.
//!
//! [`train_params!`] lists every parameter with its type, default and flag options, and generates
//! from that one list:
//! - [`TrainConfig`], the `[train]` table of config.toml (with an optional `dataset`, unknown keys
//!   refused);
//! - [`TrainSpec`], a run's `hyperparameters` in run.toml (with the dataset it runs on; missing
//!   keys of older folders take the defaults);
//! - [`TrainFlags`], the flags of `workbench train` (`--epochs`, `--lr`, ...), each parsed by
//!   [`FlagValue`] so a bad value is quoted the same way for every flag;
//! - [`TrainConfig::follow`], which carries the values edited in config.toml into a form.
//!
//! serde's `flatten` would have made one struct hold the other, but it ignores
//! `deny_unknown_fields`, and a typo in `[train]` must be an error: so the list is a macro.
use std::fmt;

use serde::{Deserialize, Serialize};

use super::kinds::{ModelChoice, ModelKind, OptimizerKind};

macro_rules! train_params {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident : $ty:ty = $default:expr, flag($($flag:tt)*);
    )*) => {
        /// The `[train]` table: defaults for every run; flags and the TUI's form override them.
        #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        pub struct TrainConfig {
            /// The dataset to train on when none is named.
            pub dataset: Option<String>,
            $( $(#[doc = $doc])* pub $name: $ty, )*
        }

        impl Default for TrainConfig {
            fn default() -> Self {
                TrainConfig { dataset: None, $( $name: $default, )* }
            }
        }

        /// Everything that defines a run, as written to run.toml's `[hyperparameters]`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct TrainSpec {
            /// The dataset's name, as listed by `workbench datasets`.
            pub dataset: String,
            $( $(#[doc = $doc])* pub $name: $ty, )*
        }

        impl Default for TrainSpec {
            fn default() -> Self {
                TrainSpec { dataset: String::new(), $( $name: $default, )* }
            }
        }

        impl TrainSpec {
            /// The config's training defaults for this dataset.
            pub fn from_config(dataset: &str, t: &TrainConfig) -> TrainSpec {
                TrainSpec { dataset: dataset.to_string(), $( $name: t.$name.clone(), )* }
            }

            /// Every parameter as its `workbench train` flag takes it (`lr` → `0.1`, `hidden` →
            /// `32,16`), by field name, in the list's order. Generated, so none is forgotten.
            pub fn flag_texts(&self) -> Vec<(&'static str, String)> {
                vec![$( (stringify!($name), FlagValue::flag_text(&self.$name)), )*]
            }

            /// The same values as a `TrainConfig`, for range checks shared with config.toml.
            pub fn as_config(&self) -> TrainConfig {
                TrainConfig { dataset: Some(self.dataset.clone()), $( $name: self.$name.clone(), )* }
            }
        }

        impl TrainConfig {
            /// Carry into `self` (a form's values) every parameter that changed from `old` to
            /// `new` (config.toml before and after an edit); values only typed in the form stay.
            /// Generated from the one list, so no parameter can be forgotten.
            pub fn follow(&mut self, old: &TrainConfig, new: &TrainConfig) {
                if old.dataset != new.dataset {
                    self.dataset = new.dataset.clone();
                }
                $( if old.$name != new.$name { self.$name = new.$name.clone(); } )*
            }
        }

        /// The flags of `workbench train` that override the `[train]` table, one per parameter.
        #[derive(Debug, Clone, Default, PartialEq, clap::Args)]
        pub struct TrainFlags {
            $( $(#[doc = $doc])* #[arg(long, $($flag)*)] pub $name: Option<String>, )*
        }

        impl TrainFlags {
            /// Every flag by its field name (`batch_size`), with whether its values are numbers.
            pub const FIELDS: &'static [(&'static str, NumberKind)] =
                &[$( (stringify!($name), <$ty as FlagValue>::NUMBER), )*];

            /// The text of the flag `name` (a field name), to read or set; `None`: no such flag.
            pub fn field_mut(&mut self, name: &str) -> Option<&mut Option<String>> {
                match name {
                    $( stringify!($name) => Some(&mut self.$name), )*
                    _ => None,
                }
            }

            /// The flags given, by field name, in the list's order.
            pub fn given(&self) -> Vec<(&'static str, String)> {
                let mut given = Vec::new();
                $( if let Some(text) = &self.$name { given.push((stringify!($name), text.clone())); } )*
                given
            }

            /// Set in `spec` every parameter given as a flag; the error quotes the bad flag.
            pub fn apply(&self, spec: &mut TrainSpec) -> Result<(), BadFlag> {
                $(
                    if let Some(text) = &self.$name {
                        spec.$name = <$ty as FlagValue>::parse_flag(text).map_err(|hint| BadFlag(
                            format!("--{} {} is not valid: {hint}", stringify!($name).replace('_', "-"), text),
                        ))?;
                    }
                )*
                Ok(())
            }
        }
    };
}

train_params! {
    /// adaline, adaline-autograd, logreg, mlp, linreg, lenet5, or a model of your own (`workbench models`)
    model: ModelChoice = ModelChoice::Builtin(ModelKind::Mlp), flag();
    /// The device asked for: auto, cpu, cuda or cuda:N (run.toml also records the one used)
    device: String = "auto".into(), flag();
    /// Passes over the training data
    epochs: u32 = 100, flag();
    /// Samples per training step
    batch_size: u32 = 16, flag();
    /// Learning rate
    lr: f64 = 0.01, flag(allow_negative_numbers = true);
    /// sgd or adam
    optimizer: OptimizerKind = OptimizerKind::Adam, flag();
    /// Momentum for sgd
    momentum: f64 = 0.9, flag(allow_negative_numbers = true);
    /// Seed of the split, the initialisation and each epoch's batch order
    seed: u64 = 42, flag();
    /// Fraction of rows held out for validation
    val_fraction: f64 = 0.2, flag(allow_negative_numbers = true);
    /// Standardize features with training statistics (`--standardize` alone: on)
    standardize: bool = true, flag(num_args = 0..=1, default_missing_value = "true");
    /// Hidden layer sizes for mlp, comma-separated (e.g. 32,16)
    hidden: Vec<u32> = vec![16], flag();
    /// libtorch's CPU threads (0: one per core). 1 is steadier on a machine shared with other jobs
    threads: u32 = 0, flag();
    /// Write a checkpoint every N epochs (0: only at the end). A model whose checkpoint takes
    /// over a second to write is checkpointed at most once a minute, and always at the end
    checkpoint_every: u32 = 1, flag();
    /// A layer stack model's layers, `;`-separated; filled from its definition when the run is
    /// planned, and recorded in run.toml so the run can be rebuilt. Empty for other models
    layers: Vec<String> = Vec::new(), flag();
}

/// A training flag whose value doesn't parse, quoted with what to give instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadFlag(pub String);

/// Whether a flag's values are numbers: a sweep's ranges (`1e-4:1e-1:log:4`) need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// Not a number (a model name, a list of layers).
    No,
    /// A whole number: a range's values are rounded.
    Integer,
    Real,
}

/// A flag's text as a parameter's value; the error is a hint for the user.
pub trait FlagValue: Sized {
    /// Whether its values are numbers.
    const NUMBER: NumberKind = NumberKind::No;
    fn parse_flag(text: &str) -> Result<Self, String>;
    /// The value as the flag takes it: `parse_flag` of it gives it back.
    fn flag_text(&self) -> String;
}

macro_rules! flag_from_str {
    ($($t:ty => $what:literal, $kind:expr),*) => {$(
        impl FlagValue for $t {
            const NUMBER: NumberKind = $kind;
            fn parse_flag(text: &str) -> Result<Self, String> {
                text.trim().parse().map_err(|_| $what.to_string())
            }
            fn flag_text(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

flag_from_str!(
    u32 => "use a whole number", NumberKind::Integer,
    u64 => "use a whole number", NumberKind::Integer,
    f64 => "use a number", NumberKind::Real
);

impl FlagValue for String {
    fn parse_flag(text: &str) -> Result<Self, String> {
        Ok(text.trim().to_string())
    }
    fn flag_text(&self) -> String {
        self.clone()
    }
}

impl FlagValue for bool {
    fn parse_flag(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Ok(true),
            "false" | "off" | "no" | "0" => Ok(false),
            _ => Err("use true or false".into()),
        }
    }
    fn flag_text(&self) -> String {
        self.to_string()
    }
}

impl FlagValue for ModelChoice {
    fn parse_flag(text: &str) -> Result<Self, String> {
        text.parse()
    }
    fn flag_text(&self) -> String {
        self.to_string()
    }
}

impl FlagValue for Vec<String> {
    fn parse_flag(text: &str) -> Result<Self, String> {
        Ok(text.split(';').map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
    }
    fn flag_text(&self) -> String {
        self.join(";")
    }
}

impl FlagValue for ModelKind {
    fn parse_flag(text: &str) -> Result<Self, String> {
        text.parse()
    }
    fn flag_text(&self) -> String {
        self.to_string()
    }
}

impl FlagValue for OptimizerKind {
    fn parse_flag(text: &str) -> Result<Self, String> {
        text.parse()
    }
    fn flag_text(&self) -> String {
        self.to_string()
    }
}

impl FlagValue for Vec<u32> {
    fn parse_flag(text: &str) -> Result<Self, String> {
        text.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.trim().parse::<u32>().map_err(|_| format!("{p:?} is not a layer size; use e.g. 32,16"))
            })
            .collect()
    }
    fn flag_text(&self) -> String {
        self.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
    }
}

/// A bad training value: which key, the value as written, and what to use instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam {
    /// `train.lr`, as config.toml spells it.
    pub key: &'static str,
    pub value: String,
    pub hint: String,
}

impl fmt::Display for BadParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {} is not valid: {}", self.key, self.value, self.hint)
    }
}

impl TrainConfig {
    /// Range checks for values that parse but make no sense; shared by config.toml, the flags,
    /// the form and run.toml.
    pub fn validate(&self) -> Result<(), BadParam> {
        let bad = |key, value: String, hint: &str| Err(BadParam { key, value, hint: hint.to_string() });
        let t = self;
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return bad(
                "train.lr",
                t.lr.to_string(),
                "the learning rate must be a positive number, e.g. 0.01",
            );
        }
        if t.batch_size == 0 {
            return bad("train.batch_size", "0".into(), "the batch size must be at least 1");
        }
        if !(t.val_fraction >= 0.0 && t.val_fraction < 1.0) {
            return bad(
                "train.val_fraction",
                t.val_fraction.to_string(),
                "use a fraction from 0 (no validation) up to, not including, 1",
            );
        }
        if !(t.momentum >= 0.0 && t.momentum < 1.0) {
            return bad(
                "train.momentum",
                t.momentum.to_string(),
                "use a value from 0 up to, not including, 1",
            );
        }
        if t.hidden.contains(&0) {
            return bad(
                "train.hidden",
                format!("{:?}", t.hidden),
                "every hidden layer needs at least one unit",
            );
        }
        if t.threads > 1024 {
            return bad(
                "train.threads",
                t.threads.to_string(),
                "use 0 (libtorch's default: one per core) or a thread count up to 1024",
            );
        }
        if let Err(e) = t.device.parse::<crate::device::DeviceChoice>() {
            return Err(BadParam {
                key: "train.device",
                value: format!("{:?}", t.device),
                hint: e.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_carries_every_edited_parameter_threads_included() {
        let old = TrainConfig::default();
        let new = TrainConfig { threads: 3, checkpoint_every: 5, lr: 0.5, ..TrainConfig::default() };
        let mut form = TrainConfig { epochs: 7, ..TrainConfig::default() };
        form.follow(&old, &new);
        assert_eq!((form.threads, form.checkpoint_every, form.lr), (3, 5, 0.5));
        assert_eq!(form.epochs, 7, "a value typed only in the form stays");
    }

    #[test]
    fn flags_override_and_quote_a_bad_value() {
        let mut spec = TrainSpec::from_config("iris", &TrainConfig::default());
        let flags = TrainFlags {
            hidden: Some("8,4".into()),
            standardize: Some("false".into()),
            lr: Some("0.5".into()),
            ..TrainFlags::default()
        };
        flags.apply(&mut spec).unwrap();
        assert_eq!((spec.hidden.clone(), spec.standardize, spec.lr), (vec![8, 4], false, 0.5));
        let bad = TrainFlags { batch_size: Some("many".into()), ..TrainFlags::default() };
        let e = bad.apply(&mut spec).unwrap_err().to_string();
        assert_eq!(e, "--batch-size many is not valid: use a whole number");
    }

    #[test]
    fn an_older_run_toml_without_new_keys_reads_with_defaults() {
        let spec: TrainSpec = toml::from_str("dataset = \"iris\"\nepochs = 3\n").unwrap();
        assert_eq!((spec.epochs, spec.threads, spec.checkpoint_every), (3, 0, 1));
    }

    #[test]
    fn run_toml_model_names_read_as_built_in_or_user_models() {
        let spec: TrainSpec = toml::from_str("dataset = \"iris\"\nmodel = \"mlp\"\n").unwrap();
        assert_eq!(spec.model, ModelChoice::Builtin(ModelKind::Mlp), "an old run folder still loads");
        assert!(spec.layers.is_empty());
        let spec: TrainSpec =
            toml::from_str("model = \"small-cnn\"\nlayers = [\"flatten\", \"linear\"]\n").unwrap();
        assert_eq!(spec.model, ModelChoice::Custom("small-cnn".into()));
        let text = toml::to_string(&spec).unwrap();
        assert!(text.contains("model = \"small-cnn\""), "{text}");
        assert!(toml::from_str::<TrainSpec>("model = \"a b\"\n").is_err());
        let mut spec = TrainSpec::default();
        TrainFlags { layers: Some("linear 8; relu;linear".into()), ..TrainFlags::default() }
            .apply(&mut spec)
            .unwrap();
        assert_eq!(spec.layers, ["linear 8", "relu", "linear"]);
    }

    #[test]
    fn every_parameter_as_flag_text_parses_back_to_itself() {
        let mut spec = TrainSpec {
            dataset: "iris".into(),
            lr: 0.003,
            hidden: vec![32, 16],
            layers: vec!["linear 8".into(), "relu".into()],
            standardize: false,
            ..TrainSpec::default()
        };
        spec.model = ModelChoice::Custom("net".into());
        let texts = spec.flag_texts();
        assert_eq!(texts.len(), TrainFlags::FIELDS.len(), "one text per flag");
        let mut flags = TrainFlags::default();
        for (name, text) in &texts {
            *flags.field_mut(name).unwrap() = Some(text.clone());
        }
        let mut again = TrainSpec { dataset: "iris".into(), ..TrainSpec::default() };
        flags.apply(&mut again).unwrap();
        assert_eq!(again, spec);
        assert!(
            texts.contains(&("hidden", "32,16".to_string()))
                && texts.contains(&("layers", "linear 8;relu".to_string()))
        );
    }
}

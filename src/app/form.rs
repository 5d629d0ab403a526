//! The model picker and hyperparameter form: which fields there are, editing, and validation.
//! A bad value is refused in place: the field keeps its old value and the form shows why.
use std::collections::BTreeMap;

use super::command_form::{CommandChoice, CommandForm};
use super::layer_args;
use crate::config::{validate_train, TrainConfig};
use crate::data::DatasetSummary;
use crate::models::{builtin_stack, ModelSource, ModelSummary, UserModel};
use crate::train::{ModelChoice, ModelKind, OptimizerKind, Unfit};

/// One row of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Model,
    Epochs,
    BatchSize,
    Lr,
    Optimizer,
    /// Only shown for SGD.
    Momentum,
    Seed,
    ValFraction,
    /// Only shown for mlp.
    Hidden,
    Standardize,
    /// A numeric argument of a layer stack: word `word` of layer `layer` (see layer_args.rs).
    LayerArg {
        /// Index into the stack's layers.
        layer: u16,
        /// Index of the word in that layer's text.
        word: u8,
    },
    /// A param of the chosen `[commands.NAME]` entry, by index.
    CommandParam(u8),
}

impl Field {
    pub fn label(&self) -> &'static str {
        match self {
            Field::Model => "model",
            Field::Epochs => "epochs",
            Field::BatchSize => "batch size",
            Field::Lr => "learning rate",
            Field::Optimizer => "optimizer",
            Field::Momentum => "momentum",
            Field::Seed => "seed",
            Field::ValFraction => "validation",
            Field::Hidden => "hidden sizes",
            Field::Standardize => "standardize",
            Field::LayerArg { .. } => "layer",
            Field::CommandParam(_) => "param",
        }
    }

    /// Fields typed as text; the others are chosen (model) or cycled (optimizer, standardize).
    pub fn is_text(&self) -> bool {
        !matches!(self, Field::Model | Field::Optimizer | Field::Standardize)
    }

    /// The `workbench train` flag (its field name) a list or a range in this field sweeps;
    /// `None` where a field takes one value only.
    pub fn sweep_name(&self) -> Option<&'static str> {
        Some(match self {
            Field::Epochs => "epochs",
            Field::BatchSize => "batch_size",
            Field::Lr => "lr",
            Field::Momentum => "momentum",
            Field::Seed => "seed",
            Field::ValFraction => "val_fraction",
            Field::Hidden => "hidden",
            _ => return None,
        })
    }
}

/// What pressing Enter on a field asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activate {
    /// Open the model picker.
    PickModel,
    /// The value was cycled or toggled in place.
    Changed,
    /// Text editing began.
    Editing,
}

/// The form's state: values, the selected row, a text edit in progress, the last refusal.
#[derive(Debug, Clone, PartialEq)]
pub struct HyperForm {
    pub values: TrainConfig,
    pub selected: usize,
    /// The text being typed into the selected field, while editing.
    pub editing: Option<String>,
    /// Why the last edit was refused.
    pub error: Option<String>,
    /// The user's own models (config.toml's `[models]`, the models folder), for the picker.
    pub user_models: Vec<UserModel>,
    /// The user's commands (`[commands.NAME]`, the commands folder), for the picker.
    pub commands: Vec<CommandChoice>,
    /// The command chosen instead of a model: `s` starts it as a command run.
    pub command: Option<CommandForm>,
    /// Fields given a list or a range (`0.1, 0.01`, `1e-4:1e-1:log:4`), by flag name, as typed:
    /// `s` then queues a sweep over them. The field's value is the first of them.
    pub sweep: BTreeMap<&'static str, String>,
}

/// A line of the model picker: a model to train, or one of the user's commands to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    Model(ModelChoice),
    Command(String),
}

impl Pick {
    pub fn name(&self) -> &str {
        match self {
            Pick::Model(m) => m.name(),
            Pick::Command(name) => name,
        }
    }
}

impl HyperForm {
    pub fn new(values: TrainConfig) -> HyperForm {
        HyperForm {
            values,
            selected: 0,
            editing: None,
            error: None,
            user_models: Vec::new(),
            commands: Vec::new(),
            command: None,
            sweep: BTreeMap::new(),
        }
    }

    /// The picker's list: the built-in models, then the user's own, then the user's commands.
    pub fn choices(&self) -> Vec<Pick> {
        let builtin = ModelKind::ALL.iter().map(|k| Pick::Model(ModelChoice::Builtin(*k)));
        builtin
            .chain(self.user_models.iter().map(|m| Pick::Model(ModelChoice::Custom(m.name.clone()))))
            .chain(self.commands.iter().map(|c| Pick::Command(c.name.clone())))
            .collect()
    }

    /// What the form has chosen now.
    pub fn current_pick(&self) -> Pick {
        match &self.command {
            Some(command) => Pick::Command(command.name.clone()),
            None => Pick::Model(self.values.model.clone()),
        }
    }

    /// Take the commands as the settings have them now; a chosen command that is gone (or no
    /// longer usable) gives way to the model chosen before it.
    pub fn set_commands(&mut self, commands: Vec<CommandChoice>) {
        self.commands = commands;
        if let Some(chosen) = self.command.take() {
            let entry =
                self.commands.iter().find(|c| c.name == chosen.name).and_then(|c| c.entry.as_ref().ok());
            self.command = entry.map(|e| CommandForm::new(&chosen.name, e, Some(&chosen)));
        }
        self.selected = self.selected.min(self.fields().len() - 1);
    }

    /// Choose from the picker: a model (see [`set_choice`](Self::set_choice)) or a command,
    /// whose params become the form's fields. A command that can't be used is refused with why.
    pub fn pick(&mut self, pick: Pick) -> Result<(), String> {
        match pick {
            Pick::Model(model) => {
                self.set_choice(model);
                Ok(())
            }
            Pick::Command(name) => {
                let choice =
                    self.commands.iter().find(|c| c.name == name).ok_or(format!("no command `{name}`"))?;
                let entry = choice.entry.as_ref().map_err(|why| why.clone())?;
                self.command = Some(CommandForm::new(&name, entry, self.command.as_ref()));
                self.selected = self.selected.min(self.fields().len() - 1);
                Ok(())
            }
        }
    }

    /// The user model called `name`.
    pub fn user_model(&self, name: &str) -> Option<&UserModel> {
        self.user_models.iter().find(|m| m.name == name)
    }

    /// Choose any model; a layer stack brings its layers, whose numbers become fields.
    pub fn set_choice(&mut self, choice: ModelChoice) {
        self.command = None;
        self.values.layers = match &choice {
            ModelChoice::Custom(name) => match self.user_model(name).map(|m| &m.source) {
                Some(ModelSource::Stack { layers, .. }) => layers.clone(),
                _ => Vec::new(),
            },
            ModelChoice::Builtin(_) => Vec::new(),
        };
        self.values.model = choice;
        self.selected = self.selected.min(self.fields().len() - 1);
    }

    /// The layers `choice` would train: the form's (edited) ones for the chosen stack, a stack's
    /// as defined, a built-in model's equivalent stack; `None` for adaline and TorchScript.
    pub fn layers_of(&self, choice: &ModelChoice) -> Option<Vec<String>> {
        match choice {
            c if *c == self.values.model && !self.values.layers.is_empty() => {
                Some(self.values.layers.clone())
            }
            ModelChoice::Builtin(kind) => builtin_stack(*kind, &self.values.hidden),
            ModelChoice::Custom(name) => match &self.user_model(name)?.source {
                ModelSource::Stack { layers, .. } => Some(layers.clone()),
                ModelSource::Script(_) => None,
            },
        }
    }

    /// Whether `choice` can learn the dataset; a stack is checked layer by layer.
    pub fn fits(&self, choice: &ModelChoice, data: &DatasetSummary) -> Result<(), Unfit> {
        if let ModelChoice::Builtin(kind) = choice {
            return kind.check_fits(data);
        }
        match self.layers_of(choice) {
            Some(layers) => ModelSummary::of(&layers, &sample_shape(data), outputs(data))
                .map(|_| ())
                .map_err(|e| Unfit(e.to_string())),
            None => Ok(()),
        }
    }

    /// Whether a picker line can be chosen for `data`: a model that fits it, a usable command.
    pub fn pick_fits(&self, pick: &Pick, data: Option<&DatasetSummary>) -> Result<(), Unfit> {
        match pick {
            Pick::Model(model) => data.map(|d| self.fits(model, d)).unwrap_or(Ok(())),
            Pick::Command(name) => match self.commands.iter().find(|c| &c.name == name).map(|c| &c.entry) {
                Some(Ok(_)) => Ok(()),
                Some(Err(why)) => Err(Unfit(why.clone())),
                None => Err(Unfit(format!("no command `{name}`"))),
            },
        }
    }

    /// The chosen command's lines under the form: what will run, and where the dataset goes.
    pub fn command_lines(&self) -> Option<Vec<String>> {
        let command = self.command.as_ref()?;
        let mut lines = vec![format!("runs: {}", command.preview())];
        if command.uses_dataset {
            lines.push("{dataset}: the chosen dataset's file".into());
        }
        lines.push("s: start it on the runtime's device".into());
        Some(lines)
    }

    /// The chosen model's summary on `data`: layers, shapes, parameters, memory at the batch size.
    pub fn summary_lines(&self, data: &DatasetSummary) -> Option<Vec<String>> {
        let layers = self.layers_of(&self.values.model)?;
        let summary = ModelSummary::of(&layers, &sample_shape(data), outputs(data)).ok()?;
        Some(summary.compact_lines(
            u64::from(self.values.batch_size),
            self.values.optimizer,
            self.values.momentum,
        ))
    }

    /// A field's label: the fixed ones, or `3 rate` for a layer's argument.
    pub fn label(&self, field: Field) -> String {
        match field {
            Field::LayerArg { layer, word } => layer_args::label(&self.values.layers, layer, word),
            Field::CommandParam(i) => self.command_param(i).map(|p| p.name.clone()).unwrap_or_default(),
            other => other.label().to_string(),
        }
    }

    /// The rows shown for the current model and optimizer.
    pub fn fields(&self) -> Vec<Field> {
        if let Some(command) = &self.command {
            let params =
                (0..command.params.len().min(usize::from(u8::MAX))).map(|i| Field::CommandParam(i as u8));
            return std::iter::once(Field::Model).chain(params).collect();
        }
        let mut f = vec![Field::Model, Field::Epochs, Field::BatchSize, Field::Lr, Field::Optimizer];
        if self.values.optimizer == OptimizerKind::Sgd {
            f.push(Field::Momentum);
        }
        f.extend([Field::Seed, Field::ValFraction]);
        if self.values.model == ModelKind::Mlp {
            f.push(Field::Hidden);
        }
        f.push(Field::Standardize);
        f.extend(
            layer_args::numeric_args(&self.values.layers)
                .into_iter()
                .map(|(layer, word)| Field::LayerArg { layer, word }),
        );
        f
    }

    pub fn selected_field(&self) -> Field {
        let fields = self.fields();
        fields[self.selected.min(fields.len() - 1)]
    }

    pub fn move_selection(&mut self, delta: isize) {
        let n = self.fields().len() as isize;
        self.selected = (self.selected as isize + delta).clamp(0, n - 1) as usize;
    }

    /// The value as shown in the form: a swept field's list or range as typed.
    pub fn display(&self, field: Field) -> String {
        let v = &self.values;
        if let Some(list) = field.sweep_name().and_then(|name| self.sweep.get(name)) {
            return list.clone();
        }
        match field {
            Field::Model => self.current_pick().name().to_string(),
            Field::CommandParam(i) => {
                self.command_param(i).map(|p| p.shown().to_string()).unwrap_or_default()
            }
            Field::Epochs => v.epochs.to_string(),
            Field::BatchSize => v.batch_size.to_string(),
            Field::Lr => v.lr.to_string(),
            Field::Optimizer => v.optimizer.to_string(),
            Field::Momentum => v.momentum.to_string(),
            Field::Seed => v.seed.to_string(),
            Field::ValFraction => v.val_fraction.to_string(),
            Field::Hidden => v.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(","),
            Field::Standardize => if v.standardize { "on" } else { "off" }.to_string(),
            Field::LayerArg { layer, word } => layer_args::value(&v.layers, layer, word),
        }
    }

    /// Enter on the selected field.
    pub fn activate(&mut self) -> Activate {
        self.error = None;
        match self.selected_field() {
            Field::Model => Activate::PickModel,
            Field::Optimizer | Field::Standardize => {
                self.cycle(1);
                Activate::Changed
            }
            Field::CommandParam(i) if self.command.as_ref().is_some_and(|c| c.is_toggle(usize::from(i))) => {
                self.cycle(1);
                Activate::Changed
            }
            field => {
                self.editing = Some(self.display(field));
                Activate::Editing
            }
        }
    }

    /// Left/right on a cycled field.
    pub fn cycle(&mut self, _delta: isize) -> bool {
        match self.selected_field() {
            Field::Optimizer => {
                self.values.optimizer = match self.values.optimizer {
                    OptimizerKind::Sgd => OptimizerKind::Adam,
                    OptimizerKind::Adam => OptimizerKind::Sgd,
                };
                true
            }
            Field::Standardize => {
                self.values.standardize = !self.values.standardize;
                true
            }
            Field::CommandParam(i) => match self.command.as_mut() {
                Some(command) if command.is_toggle(usize::from(i)) => {
                    command.toggle(usize::from(i));
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    pub fn set_model(&mut self, model: ModelKind) {
        self.set_choice(model.into());
    }

    /// Finish a text edit: the value is parsed and range-checked, or refused with the reason.
    pub fn commit(&mut self) -> Result<(), RefusedValue> {
        let Some(text) = self.editing.take() else { return Ok(()) };
        let field = self.selected_field();
        if let (Field::CommandParam(i), Some(command)) = (field, self.command.as_mut()) {
            let result = command.set(usize::from(i), text.trim());
            self.error = result.as_ref().err().map(|why| why.0.clone());
            return result;
        }
        let result = match field.sweep_name() {
            Some(name) => self.parse_sweepable(field, name, text.trim()),
            None => parse_into(&self.values, field, text.trim()),
        };
        match result {
            Ok(values) => {
                self.values = values;
                self.error = None;
                Ok(())
            }
            Err(why) => {
                self.error = Some(why.0.clone());
                Err(why)
            }
        }
    }

    pub fn cancel(&mut self) {
        self.editing = None;
    }

    /// A field that can be swept: one value, or a list or a range whose every value must pass
    /// the field's own checks. A list is kept (as typed) for `s` to queue as a sweep.
    fn parse_sweepable(
        &mut self,
        field: Field,
        name: &'static str,
        text: &str,
    ) -> Result<TrainConfig, RefusedValue> {
        let kind = crate::params::TrainFlags::FIELDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
        let separator = crate::sweep::ask::separator_of(name);
        let axis = crate::sweep::grid::Axis::parse(
            name,
            text,
            kind.unwrap_or(crate::params::NumberKind::No),
            separator,
        )
        .map_err(|e| RefusedValue(format!("{} {}", field.label(), e.reason())))?;
        let Some(axis) = axis else {
            let values = parse_into(&self.values, field, text)?;
            self.sweep.remove(name);
            return Ok(values);
        };
        let all = axis.all();
        let mut first = None;
        for value in &all {
            let parsed = parse_into(&self.values, field, value)?;
            first.get_or_insert(parsed);
        }
        match first {
            Some(values) if all.len() >= 2 => {
                self.sweep.insert(name, text.to_string());
                Ok(values)
            }
            _ => Err(RefusedValue(format!(
                "{} {text:?} gives fewer than two values; type one value, or a list",
                field.label()
            ))),
        }
    }

    /// The swept fields that apply to the model chosen now (hidden sizes only for mlp, momentum
    /// only for sgd), by flag name, as typed.
    pub fn sweep_axes(&self) -> Vec<(&'static str, String)> {
        if self.command.is_some() {
            return Vec::new();
        }
        self.fields()
            .iter()
            .filter_map(|f| f.sweep_name())
            .filter_map(|name| self.sweep.get(name).map(|text| (name, text.clone())))
            .collect()
    }

    fn command_param(&self, index: u8) -> Option<&super::command_form::CommandParam> {
        self.command.as_ref()?.params.get(usize::from(index))
    }
}

fn sample_shape(data: &DatasetSummary) -> Vec<i64> {
    data.sample_shape.iter().map(|&d| d as i64).collect()
}

fn outputs(data: &DatasetSummary) -> i64 {
    crate::train::user_model::outputs_for(&data.task)
}

/// A value typed into the form that was refused, with why (the old value stays).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RefusedValue(pub String);

/// The values with `field` set from `text`, if it parses and passes the shared range checks.
fn parse_into(values: &TrainConfig, field: Field, text: &str) -> Result<TrainConfig, RefusedValue> {
    let mut v = values.clone();
    let bad = |what: &str| RefusedValue(format!("{} {text:?} is not {what}", field.label()));
    match field {
        Field::Epochs => v.epochs = text.parse().map_err(|_| bad("a whole number of epochs"))?,
        Field::BatchSize => v.batch_size = text.parse().map_err(|_| bad("a whole number"))?,
        Field::Lr => v.lr = text.parse().map_err(|_| bad("a number"))?,
        Field::Momentum => v.momentum = text.parse().map_err(|_| bad("a number"))?,
        Field::Seed => v.seed = text.parse().map_err(|_| bad("a whole number"))?,
        Field::ValFraction => v.val_fraction = text.parse().map_err(|_| bad("a number"))?,
        Field::Hidden => {
            v.hidden = text
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| p.trim().parse::<u32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| bad("a list of layer sizes like 32,16"))?;
            if v.hidden.is_empty() {
                return Err(bad("a list of layer sizes like 32,16"));
            }
        }
        Field::LayerArg { layer, word } => v.layers = layer_args::set(&v.layers, layer, word, text)?,
        Field::Model | Field::Optimizer | Field::Standardize | Field::CommandParam(_) => {}
    }
    validate_train(&v).map_err(|(_, value, hint)| {
        RefusedValue(format!("{} {value} is not valid: {hint}", field.label()))
    })?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_follow_the_model_and_optimizer() {
        let mut f = HyperForm::new(TrainConfig::default());
        assert!(f.fields().contains(&Field::Hidden));
        assert!(!f.fields().contains(&Field::Momentum), "adam has no momentum row");
        f.set_model(ModelKind::Logreg);
        assert!(!f.fields().contains(&Field::Hidden));
        f.values.optimizer = OptimizerKind::Sgd;
        assert!(f.fields().contains(&Field::Momentum));
    }

    #[test]
    fn bad_values_are_refused_in_place() {
        let mut f = HyperForm::new(TrainConfig::default());
        f.selected = f.fields().iter().position(|x| *x == Field::Lr).unwrap();
        assert_eq!(f.activate(), Activate::Editing);
        f.editing = Some("-3".into());
        let err = f.commit().unwrap_err().0;
        assert!(err.contains("learning rate -3 is not valid"), "{err}");
        assert_eq!(f.values.lr, 0.01, "the old value stays");
        assert_eq!(f.error.as_deref(), Some(err.as_str()));

        f.activate();
        f.editing = Some("abc".into());
        assert!(f.commit().unwrap_err().0.contains("\"abc\" is not a number"));
        f.activate();
        f.editing = Some("0.2".into());
        f.commit().unwrap();
        assert_eq!(f.values.lr, 0.2);
        assert_eq!(f.error, None);
    }

    #[test]
    fn a_stacks_numbers_are_fields_edited_for_this_run() {
        let mut f = HyperForm::new(TrainConfig::default());
        let layers: Vec<String> =
            ["linear 64", "dropout 0.25", "linear"].iter().map(|s| s.to_string()).collect();
        let source = ModelSource::Stack { layers: layers.clone(), origin: "config.toml".into() };
        f.user_models = vec![UserModel { name: "net".into(), source }];
        assert_eq!(f.choices().len(), ModelKind::ALL.len() + 1);
        f.set_choice(ModelChoice::Custom("net".into()));
        assert_eq!(f.values.layers, layers);
        let rate = Field::LayerArg { layer: 1, word: 1 };
        assert!(!f.fields().contains(&Field::Hidden));
        f.selected = f.fields().iter().position(|x| *x == rate).unwrap();
        assert_eq!(f.label(rate), "2 rate");
        assert_eq!(f.activate(), Activate::Editing);
        f.editing = Some("0.5".into());
        f.commit().unwrap();
        assert_eq!(f.values.layers[1], "dropout 0.5");
        assert_eq!(f.user_models[0].source, ModelSource::Stack { layers, origin: "config.toml".into() });
        f.activate();
        f.editing = Some("2".into());
        assert!(f.commit().unwrap_err().0.contains("layer 2 `dropout 2`"));
        f.set_model(ModelKind::Mlp);
        assert!(f.values.layers.is_empty(), "a built-in model has no layers");
    }

    #[test]
    fn hidden_sizes_parse_as_a_list() {
        let mut f = HyperForm::new(TrainConfig::default());
        f.selected = f.fields().iter().position(|x| *x == Field::Hidden).unwrap();
        f.activate();
        f.editing = Some("32, 8".into());
        f.commit().unwrap();
        assert_eq!(f.values.hidden, vec![32, 8]);
        f.activate();
        f.editing = Some("32,0".into());
        assert!(f.commit().unwrap_err().0.contains("at least one unit"));
    }
}

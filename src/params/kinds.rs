//! The models the workbench can train and the optimizers it trains them with: names, one-line
//! descriptions, parsing. Whether a model fits a dataset is train's business (`ModelKind::check_fits`).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The models the workbench can train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// ADALINE with hand-written gradients: a linear unit trained on MSE, class 1 when output > 0.5.
    Adaline,
    /// The same ADALINE, with gradients from autograd.
    AdalineAutograd,
    /// Logistic (softmax) regression.
    Logreg,
    /// A multi-layer perceptron with ReLU hidden layers.
    Mlp,
    /// Linear regression.
    Linreg,
    /// LeNet-5, a small CNN for images.
    Lenet5,
}

impl ModelKind {
    pub const ALL: [ModelKind; 6] = [
        ModelKind::Adaline,
        ModelKind::AdalineAutograd,
        ModelKind::Logreg,
        ModelKind::Mlp,
        ModelKind::Linreg,
        ModelKind::Lenet5,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            ModelKind::Adaline => "adaline",
            ModelKind::AdalineAutograd => "adaline-autograd",
            ModelKind::Logreg => "logreg",
            ModelKind::Mlp => "mlp",
            ModelKind::Linreg => "linreg",
            ModelKind::Lenet5 => "lenet5",
        }
    }

    /// One line on what the model is and what it fits.
    pub fn describe(&self) -> &'static str {
        match self {
            ModelKind::Adaline => "linear unit, MSE, hand-written gradients; two classes",
            ModelKind::AdalineAutograd => "the same ADALINE with autograd; two classes",
            ModelKind::Logreg => "logistic / softmax regression; classification",
            ModelKind::Mlp => "multi-layer perceptron (ReLU); classification or regression",
            ModelKind::Linreg => "linear regression; regression",
            ModelKind::Lenet5 => "LeNet-5 CNN; image classification",
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL.iter().copied().find(|m| m.name() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = ModelKind::ALL.iter().map(|m| m.name()).collect();
            format!("{s:?} is not a model; choose one of {}", names.join(", "))
        })
    }
}

/// How parameters are updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Stochastic gradient descent with momentum.
    Sgd,
    Adam,
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
        })
    }
}

impl FromStr for OptimizerKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            _ => Err(format!("{s:?} is not an optimizer; choose sgd or adam")),
        }
    }
}

/// The model a run trains: a built-in one, or one of the user's own (a layer stack or a
/// TorchScript module, found by name in the models registry, see `crate::models`).
/// Written to run.toml as the bare name, so older folders (`model = "mlp"`) still read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelChoice {
    /// One of the models the workbench ships.
    Builtin(ModelKind),
    /// A user model, by name.
    Custom(String),
}

impl ModelChoice {
    /// The name `--model` takes.
    pub fn name(&self) -> &str {
        match self {
            ModelChoice::Builtin(k) => k.name(),
            ModelChoice::Custom(name) => name,
        }
    }

    /// The built-in model, if this is one.
    pub fn builtin(&self) -> Option<ModelKind> {
        match self {
            ModelChoice::Builtin(k) => Some(*k),
            ModelChoice::Custom(_) => None,
        }
    }
}

impl From<ModelKind> for ModelChoice {
    fn from(k: ModelKind) -> Self {
        ModelChoice::Builtin(k)
    }
}

impl PartialEq<ModelKind> for ModelChoice {
    fn eq(&self, other: &ModelKind) -> bool {
        self.builtin() == Some(*other)
    }
}

impl fmt::Display for ModelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<ModelChoice> for String {
    fn from(m: ModelChoice) -> String {
        m.name().to_string()
    }
}

impl TryFrom<String> for ModelChoice {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for ModelChoice {
    type Err = String;

    /// A built-in name, or a user model's name (letters, digits, `-`, `_`, `.`); whether a user
    /// model of that name exists is checked when the run is planned.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(k) = s.parse::<ModelKind>() {
            return Ok(ModelChoice::Builtin(k));
        }
        let ok = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if ok {
            Ok(ModelChoice::Custom(s.to_string()))
        } else {
            let names: Vec<&str> = ModelKind::ALL.iter().map(|m| m.name()).collect();
            Err(format!(
                "{s:?} is not a model name; choose one of {} or a model in models/ (`workbench models`)",
                names.join(", ")
            ))
        }
    }
}

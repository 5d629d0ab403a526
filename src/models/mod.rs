//! Models of the user's own: layer stacks from `[models.NAME]` in config.toml or
//! `models/NAME.toml` beside it, and TorchScript modules `models/NAME.pt`. This module finds
//! them, parses stacks and checks them against a sample shape; it needs no tch (training them is
//! train's business).
pub mod layers;
pub mod memory;
pub mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use layers::{parse_layer, parse_stack, Entry, Layer, LayerError};
pub use memory::MemoryEstimate;
pub use summary::{LayerSummary, ModelSummary};

use crate::params::ModelKind;

/// `[models.NAME]` in config.toml, or the whole of `models/NAME.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    /// The layers, one string each (see docs/models.md, "Your own models").
    pub layers: Vec<String>,
}

/// The user models the settings point at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelsConfig {
    /// `[models.NAME]` layer stacks of config.toml.
    pub stacks: BTreeMap<String, StackConfig>,
    /// The `models/` folder beside config.toml: stacks (`NAME.toml`) and TorchScript (`NAME.pt`).
    pub dir: PathBuf,
}

/// Where a user model is defined.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// A layer stack, with the file it came from.
    Stack {
        /// The layers as written.
        layers: Vec<String>,
        /// config.toml or models/NAME.toml.
        origin: PathBuf,
    },
    /// A TorchScript file written by `torch.jit.script(model).save(...)`.
    Script(PathBuf),
}

/// A model of the user's own, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct UserModel {
    /// The name `--model` takes.
    pub name: String,
    /// Its definition.
    pub source: ModelSource,
}

impl UserModel {
    /// One line for listings.
    pub fn describe(&self) -> String {
        match &self.source {
            ModelSource::Stack { layers, origin } => {
                format!("layer stack, {} layers ({})", layers.len(), file_name(origin))
            }
            ModelSource::Script(path) => format!("TorchScript module ({})", file_name(path)),
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}

/// A models folder entry that can't be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    /// A `models/NAME.toml` that doesn't read as `layers = [...]`.
    #[error("{path}: {why}; write `layers = [\"linear 64\", \"relu\", \"linear\"]`")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What the TOML reader said.
        why: String,
    },
    /// A user model named like a built-in one.
    #[error("the model {name:?} in {origin} has a built-in model's name; rename it")]
    Shadows {
        /// The name.
        name: String,
        /// Where it is defined.
        origin: String,
    },
}

/// Every user model, sorted by name, and the entries that couldn't be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    /// Usable models.
    pub models: Vec<UserModel>,
    /// Files or names that were skipped, and why.
    pub problems: Vec<RegistryError>,
}

impl Registry {
    /// Stacks from config.toml's `[models]` (`config_file` names the file for messages), then
    /// `models_dir/*.toml` and `models_dir/*.pt`. A name defined twice: config.toml wins, then
    /// the `.toml`, then the `.pt`.
    pub fn load(config: &BTreeMap<String, StackConfig>, config_file: &Path, models_dir: &Path) -> Registry {
        let mut found: BTreeMap<String, ModelSource> = BTreeMap::new();
        let mut problems = Vec::new();
        for (name, stack) in config {
            found.insert(
                name.clone(),
                ModelSource::Stack { layers: stack.layers.clone(), origin: config_file.to_path_buf() },
            );
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(models_dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        // .toml before .pt, so a stack wins over a script of the same name.
        files.sort_by_key(|p| p.extension().map(|e| e != "toml"));
        for path in files {
            let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else { continue };
            let name = stem.to_string_lossy().into_owned();
            if found.contains_key(&name) {
                continue;
            }
            match ext.to_string_lossy().as_ref() {
                "toml" => match read_stack_file(&path) {
                    Ok(stack) => {
                        found.insert(name, ModelSource::Stack { layers: stack.layers, origin: path });
                    }
                    Err(e) => problems.push(e),
                },
                "pt" => {
                    found.insert(name, ModelSource::Script(path));
                }
                _ => {}
            }
        }
        let mut models = Vec::new();
        for (name, source) in found {
            if ModelKind::ALL.iter().any(|k| k.name() == name) {
                let origin = match &source {
                    ModelSource::Stack { origin, .. } | ModelSource::Script(origin) => {
                        origin.display().to_string()
                    }
                };
                problems.push(RegistryError::Shadows { name, origin });
                continue;
            }
            models.push(UserModel { name, source });
        }
        Registry { models, problems }
    }

    /// The model called `name`.
    pub fn get(&self, name: &str) -> Option<&UserModel> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The names, for "choose one of" messages.
    pub fn names(&self) -> Vec<&str> {
        self.models.iter().map(|m| m.name.as_str()).collect()
    }
}

fn read_stack_file(path: &Path) -> Result<StackConfig, RegistryError> {
    let bad = |why: String| RegistryError::BadFile { path: path.to_path_buf(), why };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    toml::from_str(&text).map_err(|e| bad(e.message().to_string()))
}

/// The layer stack a built-in model is equivalent to (for its summary), when it has one.
pub fn builtin_stack(kind: ModelKind, hidden: &[u32]) -> Option<Vec<String>> {
    let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect();
    match kind {
        ModelKind::Logreg | ModelKind::Linreg => Some(v(&["flatten", "linear"])),
        ModelKind::Mlp => {
            let mut layers = vec!["flatten".to_string()];
            for h in hidden {
                layers.push(format!("linear {h}"));
                layers.push("relu".into());
            }
            layers.push("linear".into());
            Some(layers)
        }
        ModelKind::Lenet5 => Some(v(&[
            "conv2d 6 5 pad=2",
            "relu",
            "maxpool 2",
            "conv2d 16 5",
            "relu",
            "maxpool 2",
            "flatten",
            "linear 120",
            "relu",
            "linear 84",
            "relu",
            "linear",
        ])),
        ModelKind::Adaline | ModelKind::AdalineAutograd => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_config_stacks_toml_files_and_scripts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("wide.toml"), "layers = [\"linear 64\", \"relu\", \"linear\"]\n")
            .unwrap();
        std::fs::write(dir.path().join("broken.toml"), "layers = 3\n").unwrap();
        std::fs::write(dir.path().join("net.pt"), b"PK").unwrap();
        std::fs::write(dir.path().join("mlp.toml"), "layers = [\"linear\"]\n").unwrap();
        let mut config = BTreeMap::new();
        config.insert("small".to_string(), StackConfig { layers: vec!["linear".into()] });
        let r = Registry::load(&config, Path::new("config.toml"), dir.path());
        assert_eq!(r.names(), ["net", "small", "wide"]);
        assert!(matches!(r.get("net").unwrap().source, ModelSource::Script(_)));
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
        assert!(r.problems.iter().any(|p| p.to_string().contains("broken.toml")));
        assert!(r.problems.iter().any(|p| matches!(p, RegistryError::Shadows { name, .. } if name == "mlp")));
    }

    #[test]
    fn builtin_stacks_match_the_built_in_models_counts() {
        let s = ModelSummary::of(&builtin_stack(ModelKind::Mlp, &[16]).unwrap(), &[4], 3).unwrap();
        assert_eq!(s.total_params, 4 * 16 + 16 + 16 * 3 + 3);
        let s = ModelSummary::of(&builtin_stack(ModelKind::Lenet5, &[]).unwrap(), &[1, 28, 28], 10).unwrap();
        assert_eq!(s.total_params, 61_706);
    }
}

//! Settings, layered in one documented order:
//!
//! built-in defaults < `config.toml` < environment (`WORKBENCH_*`) < command-line flags.
//!
//! Paths in `config.toml` are relative to the folder that holds it. Unknown keys are errors (a typo
//! should never be silently ignored), and every error quotes the bad value and says what to do.
pub mod cluster;
pub mod queue;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::params::TrainConfig;

/// The name of the config file looked for in the current folder.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// What can go wrong while reading settings. Each message names the file and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The file is not valid TOML, or a value has the wrong type or an unknown key.
    #[error("config file {path} is invalid: {error}")]
    Parse { path: PathBuf, error: TomlError },
    /// A value parsed but is out of range.
    #[error("{origin}: {key} = {value} is not valid: {hint}")]
    Invalid { origin: String, key: String, value: String, hint: String },
    /// `--config` or `WORKBENCH_CONFIG` named a file that does not exist.
    #[error("config file {0} does not exist; check the path given with --config or WORKBENCH_CONFIG")]
    Missing(PathBuf),
}

/// Config text that doesn't parse: where (line and column, 1-based), what is wrong, and the line
/// itself. Shown on one line, `line L, column C: what is wrong (`the line`)`, so that a status
/// line or the TUI's log pane can hold it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}{}", place_part(.place), quoted_part(.quoted))]
pub struct TomlError {
    /// `(line, column)` of the problem, when toml knows it.
    pub place: Option<(usize, usize)>,
    /// What is wrong, on one line.
    pub message: String,
    /// The line in question, trimmed (empty when blank or unknown).
    pub quoted: String,
}

fn place_part(place: &Option<(usize, usize)>) -> String {
    place.map(|(line, column)| format!("line {line}, column {column}: ")).unwrap_or_default()
}

fn quoted_part(quoted: &str) -> String {
    if quoted.is_empty() {
        String::new()
    } else {
        format!(" (`{quoted}`)")
    }
}

/// The `[paths]` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PathsConfig {
    /// Where datasets are discovered (default: `datasets/` beside config.toml).
    pub datasets_dir: Option<PathBuf>,
    /// Where run folders are written (default: `runs/` beside config.toml).
    pub runs_dir: Option<PathBuf>,
    /// Where staged datasets are cached (default: the per-user cache folder).
    pub cache_dir: Option<PathBuf>,
}

/// The `[ui]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// The most frames drawn per second; nothing is drawn while nothing changes.
    pub fps: u32,
    /// Capture the mouse (off by default so text can be selected over SSH).
    pub mouse: bool,
    /// Draw with ASCII only (also chosen automatically when the locale is not UTF-8).
    pub ascii: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig { fps: 10, mouse: false, ascii: false }
    }
}

/// The `[images]` table: how image datasets are decoded and staged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ImagesConfig {
    /// Resize every image to `[width, height]`; without it, all images must share one size.
    pub resize: Option<[u32; 2]>,
    /// `"auto"` keeps the images' own channels; `"gray"` or `"rgb"` converts.
    pub color: String,
    /// Refuse an archive entry larger than this many bytes once unpacked (zip-bomb guard).
    pub max_entry_bytes: u64,
    /// Refuse an archive whose entries add up to more than this many bytes once unpacked.
    pub max_total_bytes: u64,
}

impl Default for ImagesConfig {
    fn default() -> Self {
        ImagesConfig {
            resize: None,
            color: "auto".into(),
            max_entry_bytes: 64 * 1024 * 1024,
            max_total_bytes: 8 * 1024 * 1024 * 1024,
        }
    }
}

/// What a dataset's task is, when it is set by hand.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TaskOverride {
    Classification,
    Regression,
}

/// One `[datasets.NAME]` table. With `file`, it defines a new dataset from a file in the datasets
/// folder (for example a two-class view of Iris); without it, it adjusts the dataset of that name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetConfig {
    pub file: Option<String>,
    pub target: Option<String>,
    pub features: Option<Vec<String>>,
    pub classes: Option<Vec<String>>,
    pub task: Option<TaskOverride>,
    /// Drop rows with missing values instead of refusing the file.
    pub drop_missing: bool,
    /// `.npz` datasets: the array holding the inputs (default `x`, `X` or `data`).
    pub x: Option<String>,
    /// `.npz` datasets: the array holding the targets (default `y` or `target`).
    pub y: Option<String>,
    /// CSV datasets: the field delimiter (`","`, `";"`, `"\t"`, `"|"`), instead of the sniffed one.
    pub delimiter: Option<char>,
}

/// `[runs]`: folders watched beside the runs folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RunsConfig {
    /// Folders of other tools' logs (TensorBoard event files, Lightning CSV logs), shown as runs;
    /// relative paths are taken from the config file's folder. `--logdir DIR` adds more.
    pub extra_dirs: Vec<PathBuf>,
}

/// The whole `config.toml`, as written by the user.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    pub paths: PathsConfig,
    pub train: TrainConfig,
    pub ui: UiConfig,
    pub images: ImagesConfig,
    pub datasets: BTreeMap<String, DatasetConfig>,
    /// `[cluster]`: how `workbench submit` writes Slurm and HTCondor jobs.
    pub cluster: cluster::ClusterConfig,
    /// `[runs]`: extra folders of other tools' logs to show as runs.
    pub runs: RunsConfig,
    /// `[models.NAME]`: layer stacks (more in the `models/` folder beside this file).
    pub models: BTreeMap<String, crate::models::StackConfig>,
    /// `[commands]` and `[commands.NAME]`: the user's own scripts as models (more in `commands/`).
    pub commands: crate::command::CommandsConfig,
    /// `[queue]`: how many queued runs start at once, and the GPU memory kept free.
    pub queue: queue::QueueConfig,
}

/// Command-line flags that override settings; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub config: Option<PathBuf>,
    pub datasets_dir: Option<PathBuf>,
    pub runs_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub fps: Option<u32>,
    pub mouse: bool,
    pub ascii: bool,
    /// `--logdir DIR`: more folders of TensorBoard or Lightning logs to show as runs.
    pub logdirs: Vec<PathBuf>,
}

/// Settings after every layer is applied, with every path absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The config file in force, if any.
    pub config_path: Option<PathBuf>,
    pub datasets_dir: PathBuf,
    pub runs_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub train: TrainConfig,
    pub ui: UiConfig,
    pub images: ImagesConfig,
    pub datasets: BTreeMap<String, DatasetConfig>,
    /// Boxed: settings travel in the UI's events, which stay small.
    pub cluster: Box<cluster::ClusterConfig>,
    /// Folders of other tools' logs shown as runs: `[runs] extra_dirs`, then `--logdir`s.
    pub log_dirs: Vec<PathBuf>,
    /// Models of the user's own; boxed, as settings travel in the UI's events.
    pub models: Box<crate::models::ModelsConfig>,
    /// The user's own commands (`[commands]`, `commands/NAME.toml`); boxed like the models.
    pub commands: Box<crate::command::CommandsConfig>,
    /// `[queue]`: the dispatcher's slots and GPU headroom.
    pub queue: queue::QueueConfig,
}

impl Settings {
    /// Every model of the user's own: config.toml's `[models]` and the `models/` folder.
    pub fn model_registry(&self) -> crate::models::Registry {
        let config = self.config_path.clone().unwrap_or_else(|| PathBuf::from("config.toml"));
        crate::models::Registry::load(&self.models.stacks, &config, &self.models.dir)
    }

    /// Apply every layer: defaults, the config file, `WORKBENCH_*` variables, then flags.
    pub fn load(cli: &CliOverrides) -> Result<Settings, ConfigError> {
        Self::load_with_env(cli, &|key| std::env::var(key).ok())
    }

    /// As [`Settings::load`], with the environment passed in (tests use a fake one).
    pub fn load_with_env(
        cli: &CliOverrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let config_path = locate_config(cli, env)?;
        let (file, base_dir) = match &config_path {
            Some(path) => (read_config_file(path)?, path.parent().map(Path::to_path_buf).unwrap_or_default()),
            None => (ConfigFile::default(), std::env::current_dir().unwrap_or_default()),
        };
        let origin =
            config_path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "defaults".into());
        let mut settings = Settings::from_file(file, &base_dir, config_path.clone());
        settings.apply_env(env)?;
        settings.apply_cli(cli);
        settings.validate(&origin)?;
        Ok(settings)
    }

    /// Settings from one parsed file, with relative paths resolved against `base_dir`.
    pub fn from_file(file: ConfigFile, base_dir: &Path, config_path: Option<PathBuf>) -> Settings {
        let resolve = |p: &Option<PathBuf>, default: &str| {
            absolute(base_dir, p.as_deref().unwrap_or(Path::new(default)))
        };
        Settings {
            config_path,
            datasets_dir: resolve(&file.paths.datasets_dir, "datasets"),
            runs_dir: resolve(&file.paths.runs_dir, "runs"),
            cache_dir: file
                .paths
                .cache_dir
                .as_deref()
                .map(|p| absolute(base_dir, p))
                .unwrap_or_else(|| crate::paths::user_cache_dir().join("staged")),
            train: file.train,
            ui: file.ui,
            images: file.images,
            datasets: file.datasets,
            cluster: Box::new(file.cluster),
            log_dirs: file.runs.extra_dirs.iter().map(|p| absolute(base_dir, p)).collect(),
            models: Box::new(crate::models::ModelsConfig {
                stacks: file.models,
                dir: base_dir.join("models"),
            }),
            commands: Box::new(crate::command::CommandsConfig {
                dir: base_dir.join("commands"),
                base: base_dir.to_path_buf(),
                ..file.commands
            }),
            queue: file.queue,
        }
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_default();
        if let Some(v) = env("WORKBENCH_DATASETS_DIR") {
            self.datasets_dir = absolute(&cwd, Path::new(&v));
        }
        if let Some(v) = env("WORKBENCH_RUNS_DIR") {
            self.runs_dir = absolute(&cwd, Path::new(&v));
        }
        if let Some(v) = env("WORKBENCH_CACHE_DIR") {
            self.cache_dir = absolute(&cwd, Path::new(&v));
        }
        if let Some(v) = env("WORKBENCH_DEVICE") {
            self.train.device = v;
        }
        if let Some(v) = env("WORKBENCH_FPS") {
            self.ui.fps = v.trim().parse().map_err(|_| ConfigError::Invalid {
                origin: "environment".into(),
                key: "WORKBENCH_FPS".into(),
                value: format!("{v:?}"),
                hint: "use a whole number of frames per second, 1 to 60".into(),
            })?;
        }
        Ok(())
    }

    fn apply_cli(&mut self, cli: &CliOverrides) {
        let cwd = std::env::current_dir().unwrap_or_default();
        if let Some(p) = &cli.datasets_dir {
            self.datasets_dir = absolute(&cwd, p);
        }
        if let Some(p) = &cli.runs_dir {
            self.runs_dir = absolute(&cwd, p);
        }
        if let Some(p) = &cli.cache_dir {
            self.cache_dir = absolute(&cwd, p);
        }
        if let Some(fps) = cli.fps {
            self.ui.fps = fps;
        }
        self.ui.mouse |= cli.mouse;
        self.ui.ascii |= cli.ascii;
        for dir in &cli.logdirs {
            let dir = absolute(&cwd, dir);
            if !self.log_dirs.contains(&dir) {
                self.log_dirs.push(dir);
            }
        }
    }

    /// Range checks for values that parse but make no sense.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let bad = |key: &str, value: String, hint: &str| ConfigError::Invalid {
            origin: origin.to_string(),
            key: key.to_string(),
            value,
            hint: hint.to_string(),
        };
        validate_train(&self.train).map_err(|(key, value, hint)| bad(key, value, &hint))?;
        for (name, entry) in &self.commands.entries {
            crate::command::entries::check_entry(name, entry)
                .map_err(|hint| bad(&format!("[commands.{name}]"), format!("{:?}", entry.run), &hint))?;
        }
        if let crate::params::ModelChoice::Custom(name) = &self.train.model {
            let registry = self.model_registry();
            if registry.get(name).is_none() {
                let mut names: Vec<&str> = crate::params::ModelKind::ALL.iter().map(|k| k.name()).collect();
                names.extend(registry.names());
                let hint = format!(
                    "no such model; choose one of {}, or define it as [models.{name}] or in {}",
                    names.join(", "),
                    self.models.dir.join(format!("{name}.toml")).display()
                );
                return Err(bad("train.model", format!("{name:?}"), &hint));
            }
        }
        self.queue.validate().map_err(|(key, value, hint)| bad(key, value, hint))?;
        if !(1..=60).contains(&self.ui.fps) {
            return Err(bad("ui.fps", self.ui.fps.to_string(), "use 1 to 60 frames per second"));
        }
        if !["auto", "gray", "rgb"].contains(&self.images.color.as_str()) {
            return Err(bad(
                "images.color",
                format!("{:?}", self.images.color),
                "use \"auto\", \"gray\" or \"rgb\"",
            ));
        }
        if let Some([w, h]) = self.images.resize {
            if w == 0 || h == 0 || w > 4096 || h > 4096 {
                return Err(bad(
                    "images.resize",
                    format!("[{w}, {h}]"),
                    "use a width and height from 1 to 4096",
                ));
            }
        }
        for (name, ds) in &self.datasets {
            if let Some(classes) = &ds.classes {
                if classes.len() < 2 {
                    return Err(bad(
                        &format!("datasets.{name}.classes"),
                        format!("{classes:?}"),
                        "list at least two classes to keep",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Range checks on training values, shared by the config file, the command line and the form.
/// Returns `(key, quoted value, hint)` for the first bad value (see [`TrainConfig::validate`]).
pub fn validate_train(t: &TrainConfig) -> Result<(), (&'static str, String, String)> {
    t.validate().map_err(|bad| (bad.key, bad.value, bad.hint))
}

/// Parse a config file; errors name the file, the line and the bad key or value.
pub fn read_config_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    parse_config(&text).map_err(|error| ConfigError::Parse { path: path.to_path_buf(), error })
}

/// Parse config text. The error shows on one line: `line L, column C: what is wrong (`the line`)`.
pub fn parse_config(text: &str) -> Result<ConfigFile, TomlError> {
    toml::from_str::<ConfigFile>(text).map_err(|e| describe_toml_error(text, &e))
}

/// toml's own rendering spans several lines with a caret drawing; a status line or the TUI's
/// log pane needs one line that still names the place and quotes it.
fn describe_toml_error(text: &str, e: &toml::de::Error) -> TomlError {
    let message = e.message().trim().replace('\n', " ");
    let Some(span) = e.span() else { return TomlError { place: None, message, quoted: String::new() } };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
    let quoted = text.lines().nth(line - 1).unwrap_or("").trim().to_string();
    TomlError { place: Some((line, column)), message, quoted }
}

fn locate_config(
    cli: &CliOverrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, ConfigError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let explicit = cli.config.clone().or_else(|| env("WORKBENCH_CONFIG").map(PathBuf::from));
    if let Some(path) = explicit {
        let path = absolute(&cwd, &path);
        return if path.is_file() { Ok(Some(path)) } else { Err(ConfigError::Missing(path)) };
    }
    let local = cwd.join(CONFIG_FILE_NAME);
    if local.is_file() {
        return Ok(Some(local));
    }
    Ok(crate::paths::user_config_file().filter(|p| p.is_file()))
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

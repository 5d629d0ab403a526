//! Helpers shared by the integration tests: temporary folders, CSV files, and runs driven to the end.
#![allow(dead_code)]
pub mod tui;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use workbench::config::{DatasetConfig, ImagesConfig, TrainConfig};
use workbench::data::{Catalog, DatasetEntry};
use workbench::device::{self, DeviceChoice};
use workbench::train::{spawn_run, EpochMetrics, ModelKind, RunControl, RunRequest, TrainMsg, TrainSpec};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shipped_datasets() -> PathBuf {
    repo().join("datasets")
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

pub fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write test file");
    path
}

/// The shipped datasets with the shipped config's dataset tables (iris-binary).
pub fn shipped_catalog() -> Catalog {
    let text = std::fs::read_to_string(repo().join("config.toml")).expect("config.toml");
    let config = workbench::config::parse_config(&text).expect("shipped config parses");
    Catalog::scan(&shipped_datasets(), &config.datasets, &ImagesConfig::default())
}

pub fn scan(dir: &Path) -> Catalog {
    Catalog::scan(dir, &BTreeMap::new(), &ImagesConfig::default())
}

pub fn scan_with(dir: &Path, name: &str, config: DatasetConfig) -> Catalog {
    let mut configs = BTreeMap::new();
    configs.insert(name.to_string(), config);
    Catalog::scan(dir, &configs, &ImagesConfig::default())
}

pub fn spec(dataset: &str, model: ModelKind) -> TrainSpec {
    let mut spec = TrainSpec::from_config(dataset, &TrainConfig::default());
    spec.model = model;
    spec.device = "cpu".into();
    spec
}

/// What a run sent, in order.
pub struct Outcome {
    pub messages: Vec<TrainMsg>,
}

impl Outcome {
    pub fn epochs(&self) -> Vec<EpochMetrics> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                TrainMsg::Epoch { metrics, .. } => Some(metrics.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn last(&self) -> &TrainMsg {
        self.messages.last().expect("a run always sends a final message")
    }

    pub fn run_dir(&self) -> PathBuf {
        match self.last() {
            TrainMsg::Finished { run_dir, .. } => run_dir.clone(),
            TrainMsg::Stopped { run_dir: Some(d), .. } | TrainMsg::Failed { run_dir: Some(d), .. } => {
                d.clone()
            }
            other => panic!("run has no folder: {other:?}"),
        }
    }

    pub fn step_losses(&self) -> Vec<f32> {
        self.messages
            .iter()
            .filter_map(|m| match m {
                TrainMsg::Steps { losses, .. } => Some(losses.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

pub fn request(entry: &DatasetEntry, spec: TrainSpec, runs_dir: &Path) -> RunRequest {
    let report = device::probe();
    let choice: DeviceChoice = spec.device.parse().expect("device name");
    RunRequest {
        device: device::resolve(choice, &report).expect("device available"),
        spec,
        entry: entry.clone(),
        device_budget: None,
        runs_dir: runs_dir.to_path_buf(),
        cache_dir: runs_dir.join("cache"),
        images: ImagesConfig::default(),
    }
}

/// Run to the end on the worker thread and collect every message.
pub fn train(entry: &DatasetEntry, spec: TrainSpec, runs_dir: &Path) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let handle = spawn_run(request(entry, spec, runs_dir), RunControl::new(), move |m| tx.send(m).is_ok())
        .expect("spawn worker");
    let messages: Vec<TrainMsg> = rx.iter().collect();
    handle.join();
    Outcome { messages }
}

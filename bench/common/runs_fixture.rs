//! Run folders as a run process writes them (run.toml, metrics.csv, steps.csv), for the TUI
//! benchmarks (runs_pane.rs, sweep_board.rs): included with `#[path]`, one copy for both.
#![allow(dead_code)]
use std::path::Path;

use workbench::config::TrainConfig;
use workbench::runs::{write_run_meta, DataInfo, RunMeta, RunStatus, Versions, METRICS_HEADER};
use workbench::train::TrainSpec;

pub const EPOCHS: usize = 100;
pub const STEPS_PER_EPOCH: usize = 8;

pub fn meta(id: &str, status: RunStatus) -> RunMeta {
    let mut hyperparameters = TrainSpec::from_config("iris", &TrainConfig::default());
    hyperparameters.epochs = EPOCHS as u32 * 2;
    RunMeta {
        id: id.into(),
        status,
        reason: None,
        dataset: "iris".into(),
        model: "mlp".into(),
        device: "cpu".into(),
        device_label: "CPU".into(),
        started_at: "2026-11-26T12:00:00Z".into(),
        finished_at: None,
        epochs_completed: EPOCHS as u32,
        pid: std::process::id(),
        host: workbench::runs::host_name(),
        checkpoint: None,
        checkpoint_epoch: None,
        failure_kind: None,
        hyperparameters,
        data: DataInfo {
            task: "classification".into(),
            train_samples: 120,
            val_samples: 30,
            ..Default::default()
        },
        versions: Versions {
            workbench: "bench".into(),
            tch: "0.24".into(),
            libtorch: "bench".into(),
            libtorch_path: String::new(),
        },
        final_metrics: None,
        race: None,
        device_switches: Vec::new(),
        kind: workbench::command::RunKind::Train,
        command: None,
        peak_gpu_mem_mb: None,
        queue: None,
        sweep: None,
        sweep_cell: Default::default(),
    }
}

pub fn epoch_row(e: usize) -> String {
    epoch_row_at(e, 1.0)
}

/// Epoch `e` of a run whose loss falls (and accuracy rises) faster for a larger `speed`.
pub fn epoch_row_at(e: usize, speed: f64) -> String {
    let loss = 1.0 / (e as f64 * speed + 1.0);
    format!(
        "{e},{loss},{},{},50000.0,{:.4},{}\n",
        loss * 1.1,
        1.0 - loss,
        e as f64 * 0.01,
        e * STEPS_PER_EPOCH
    )
}

pub fn write_run(runs: &Path, i: usize) -> std::path::PathBuf {
    write_run_with(runs, i, |_| {}, 1.0)
}

/// A finished run's folder, its run.toml changed by `change`; its accuracy curve rises faster
/// for a larger `speed`.
pub fn write_run_with(
    runs: &Path,
    i: usize,
    change: impl FnOnce(&mut RunMeta),
    speed: f64,
) -> std::path::PathBuf {
    let id = format!("20261125-{i:06}-iris-mlp-cpu");
    let dir = runs.join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    let mut m = meta(&id, RunStatus::Finished);
    change(&mut m);
    write_run_meta(&dir, &m).unwrap();
    let mut metrics = format!("{METRICS_HEADER}\n");
    let mut steps = String::from("step,epoch,loss,wall_s\n");
    for e in 1..=EPOCHS {
        metrics.push_str(&epoch_row_at(e, speed));
        for s in 0..STEPS_PER_EPOCH {
            let step = (e - 1) * STEPS_PER_EPOCH + s + 1;
            steps.push_str(&format!("{step},{e},{},{:.4}\n", 1.0 / step as f64, step as f64 * 0.001));
        }
    }
    std::fs::write(dir.join("metrics.csv"), metrics).unwrap();
    std::fs::write(dir.join("steps.csv"), steps).unwrap();
    dir
}

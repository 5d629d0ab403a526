//! Run folders written by hand, as a run process would write them: no training needed.
#![allow(dead_code, clippy::unwrap_used)]
use std::path::{Path, PathBuf};

/// One epoch row of metrics.csv: epoch, train_loss, val_loss, val_metric.
pub type Epoch = (u32, f64, f64, f64);

/// A `run.toml` for an iris/mlp/cpu run with this status, pid and host.
pub fn run_toml(id: &str, status: &str, pid: u32, host: &str, epochs_total: u32) -> String {
    format!(
        r#"id = "{id}"
status = "{status}"
dataset = "iris"
model = "mlp"
device = "cpu"
device_label = "CPU"
started_at = "2026-11-26T15:01:02Z"
epochs_completed = 0
pid = {pid}
host = "{host}"

[hyperparameters]
dataset = "iris"
model = "mlp"
device = "cpu"
epochs = {epochs_total}
batch_size = 16
lr = 0.01
optimizer = "sgd"
momentum = 0.9
seed = 1
val_fraction = 0.2
standardize = true
hidden = [16]

[data]
source = "iris.csv"
task = "classification"
classes = ["setosa", "versicolor", "virginica"]
target = "species"
features = ["a", "b", "c", "d"]
sample_shape = [4]
train_samples = 120
val_samples = 30
placement = "device"

[versions]
workbench = "{version}"
tch = "0.24"
libtorch = "2.11.0"
libtorch_path = ""
"#,
        version = env!("CARGO_PKG_VERSION")
    )
}

/// `metrics.csv` text with these epochs (8 steps an epoch).
pub fn metrics_csv(epochs: &[Epoch]) -> String {
    let mut text = String::from(workbench::runs::METRICS_HEADER);
    text.push('\n');
    for (i, (epoch, train, val, metric)) in epochs.iter().enumerate() {
        text.push_str(&format!(
            "{epoch},{train},{val},{metric},1000.0,{:.4},{}\n",
            0.5 * (i + 1) as f64,
            8 * epoch
        ));
    }
    text
}

/// A finished run folder `root/id` with these epochs and two step rows an epoch.
pub fn finished_run(root: &Path, id: &str, epochs: &[Epoch]) -> PathBuf {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let toml = run_toml(id, "finished", 1, "some-host", epochs.len() as u32)
        .replace("epochs_completed = 0", &format!("epochs_completed = {}", epochs.len()))
        .replace(
            "started_at = \"2026-11-26T15:01:02Z\"",
            "started_at = \"2026-11-26T15:01:02Z\"\nfinished_at = \"2026-11-26T15:02:32Z\"",
        );
    std::fs::write(dir.join("run.toml"), toml).unwrap();
    std::fs::write(dir.join("metrics.csv"), metrics_csv(epochs)).unwrap();
    let mut steps = String::from("step,epoch,loss,wall_s\n");
    for (epoch, train, _, _) in epochs {
        steps.push_str(&format!(
            "{},{epoch},{},{}\n",
            8 * epoch - 4,
            train + 0.25,
            *epoch as f64 * 0.5 - 0.25
        ));
        steps.push_str(&format!("{},{epoch},{},{}\n", 8 * epoch, train, *epoch as f64 * 0.5));
    }
    std::fs::write(dir.join("steps.csv"), steps).unwrap();
    dir
}

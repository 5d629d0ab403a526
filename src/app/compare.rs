//! Comparing runs: the x axis the overlay is drawn against, and the table of what differs.
use super::run_view::RunView;

/// What the charts' x axis counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XAxis {
    /// Epochs (steps fall between them).
    #[default]
    Epoch,
    /// Training steps.
    Step,
    /// Seconds of training (pauses excluded).
    Wall,
}

impl XAxis {
    /// The next one, for the key that cycles them.
    pub fn next(self) -> XAxis {
        match self {
            XAxis::Epoch => XAxis::Step,
            XAxis::Step => XAxis::Wall,
            XAxis::Wall => XAxis::Epoch,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            XAxis::Epoch => "epoch",
            XAxis::Step => "step",
            XAxis::Wall => "wall time",
        }
    }
}

/// One row of the diff table: a name and one value per run, in the runs' order.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffRow {
    pub name: String,
    pub values: Vec<String>,
    /// An outcome row (status, metrics: always shown), rather than a hyperparameter (shown only
    /// when the runs differ in it).
    pub metric: bool,
}

/// The hyperparameters that differ between `runs`, then each run's final and best metrics.
/// A run without `run.toml` (a problem folder) shows `-` everywhere.
pub fn diff_rows(runs: &[&RunView]) -> Vec<DiffRow> {
    type Getter = fn(&RunView) -> Option<String>;
    let params: [(&str, Getter); 14] = [
        ("dataset", |r| Some(r.meta.as_ref()?.dataset.clone())),
        ("model", |r| Some(r.meta.as_ref()?.model.clone())),
        ("device", |r| Some(r.meta.as_ref()?.device.clone())),
        ("epochs", |r| Some(hp(r)?.epochs.to_string())),
        ("batch size", |r| Some(hp(r)?.batch_size.to_string())),
        ("lr", |r| Some(hp(r)?.lr.to_string())),
        ("optimizer", |r| Some(hp(r)?.optimizer.to_string())),
        ("momentum", |r| Some(hp(r)?.momentum.to_string())),
        ("seed", |r| Some(hp(r)?.seed.to_string())),
        ("hidden", |r| Some(hp(r)?.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(","))),
        ("threads", |r| Some(hp(r)?.threads.to_string())),
        ("standardize", |r| Some(if hp(r)?.standardize { "on" } else { "off" }.to_string())),
        ("val fraction", |r| Some(hp(r)?.val_fraction.to_string())),
        ("train samples", |r| Some(r.meta.as_ref()?.data.train_samples.to_string())),
    ];
    let mut rows = Vec::new();
    // Hyperparameters other tools logged (`add_hparams`, `hparams.yaml`): one with the name of
    // one of the workbench's own (`lr`, `batch_size`) shares its row; the rest get rows of their own.
    let mut logged: Vec<String> = Vec::new();
    for run in runs {
        for (name, _) in logged_params(run) {
            if !logged.contains(&name) {
                logged.push(name);
            }
        }
    }
    logged.sort();
    let own_names: Vec<String> = params.iter().map(|(n, _)| same_name(n)).collect();
    let mut push = |name: &str, values: Vec<String>| {
        if values.windows(2).any(|w| w[0] != w[1]) {
            rows.push(DiffRow { name: name.to_string(), values, metric: false });
        }
    };
    for (name, get) in params {
        let values: Vec<String> = runs
            .iter()
            .map(|r| get(r).or_else(|| logged_value(r, &same_name(name))).unwrap_or_else(|| "-".into()))
            .collect();
        push(name, values);
    }
    for name in logged.iter().filter(|n| !own_names.contains(&same_name(n))) {
        let values = runs.iter().map(|r| logged_value(r, &same_name(name)).unwrap_or_else(|| "-".into()));
        push(name, values.collect());
    }
    let metric = |name: &str, get: &dyn Fn(&RunView) -> Option<f64>| DiffRow {
        name: name.to_string(),
        values: runs.iter().map(|r| get(r).map_or_else(|| "-".into(), short)).collect(),
        metric: true,
    };
    let metric_name = runs.first().map_or("metric", |r| r.metric().short());
    rows.push(DiffRow {
        name: "status".into(),
        values: runs.iter().map(|r| r.status_label().to_string()).collect(),
        metric: true,
    });
    rows.push(metric("epochs done", &|r| Some(r.epochs_done() as f64)));
    rows.push(metric("final train loss", &|r| Some(r.last_epoch()?.train_loss)));
    rows.push(metric("final val loss", &|r| r.last_epoch()?.val_loss));
    rows.push(metric(&format!("final {metric_name}"), &|r| r.last_epoch()?.val_metric));
    rows.push(metric(&format!("best {metric_name}"), &|r| r.best_metric()));
    rows
}

/// A parameter's name compared loosely: `batch size`, `batch_size` and `Batch-Size` are one.
fn same_name(name: &str) -> String {
    name.to_lowercase().replace(['_', '-'], " ")
}

/// The value an external run logged for the parameter `name` (compared with [`same_name`]).
fn logged_value(run: &RunView, name: &str) -> Option<String> {
    logged_params(run).into_iter().find(|(k, _)| same_name(k) == name).map(|(_, v)| v)
}

/// An external run's logged hyperparameters; a command run's params, command line and commit.
fn logged_params(run: &RunView) -> Vec<(String, String)> {
    if let Some((_, hparams)) = &run.external {
        return hparams.clone();
    }
    let Some(command) = run.meta.as_ref().and_then(|m| m.command.as_ref()) else { return Vec::new() };
    let mut params: Vec<(String, String)> = command.params.clone().into_iter().collect();
    params.push(("command".into(), command.command_line()));
    if let Some(commit) = &command.git_commit {
        let dirty = if command.git_dirty == Some(true) { " (dirty)" } else { "" };
        params.push(("commit".into(), format!("{}{dirty}", &commit[..commit.len().min(10)])));
    }
    params
}

/// A workbench training run's hyperparameters (a command run has none of these).
fn hp(run: &RunView) -> Option<&crate::train::TrainSpec> {
    run.meta.as_ref().filter(|m| m.command.is_none()).map(|m| &m.hyperparameters)
}

/// A compact number: `0`, `0.25`, `12.5`, `1.2e-5`, `3e4`.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(0.001..10000.0).contains(&a) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

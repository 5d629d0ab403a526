//! Helpers for the TUI tests: an App on the shipped data, fake devices, keys, and screen text.
#![allow(dead_code)]
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use workbench::app::{App, Effect, Event};
use workbench::config::{ConfigFile, Settings};
use workbench::device::{CpuInfo, CudaDevice, DeviceReport, LibtorchInfo};

/// Settings as the shipped config.toml gives them, with runs going to `runs_dir`.
pub fn settings(runs_dir: &std::path::Path) -> Settings {
    let text = std::fs::read_to_string(super::repo().join("config.toml")).unwrap();
    let file: ConfigFile = workbench::config::parse_config(&text).unwrap();
    let mut s = Settings::from_file(file, &super::repo(), Some(super::repo().join("config.toml")));
    s.runs_dir = runs_dir.to_path_buf();
    s
}

/// A machine with a known CPU and `gpus` GPUs, so screens are the same everywhere.
pub fn devices(gpus: usize) -> DeviceReport {
    DeviceReport {
        cpu: CpuInfo { model: "Test CPU".into(), cores: 8, torch_threads: 8 },
        cuda: (0..gpus)
            .map(|i| CudaDevice {
                index: i,
                name: "NVIDIA H100 80GB HBM3".into(),
                total_memory_bytes: 85_000_000_000,
                compute_capability: Some((9, 0)),
            })
            .collect(),
        cuda_unavailable: (gpus == 0)
            .then(|| "the libtorch in use is CPU-only: it has no libtorch_cuda.so".into()),
        cuda_unavailable_short: (gpus == 0).then(|| "CPU-only libtorch".into()),
        driver_version: None,
        libtorch: LibtorchInfo { built_against: "2.11.0".into(), loaded_from: None },
    }
}

/// An App that has scanned the shipped datasets and probed the fake devices. Its staging cache is
/// a fresh folder, so image datasets show as not staged whatever the user's own cache holds.
pub fn app(runs_dir: &std::path::Path, gpus: usize) -> App {
    let mut s = settings(runs_dir);
    s.cache_dir = runs_dir.join("cache");
    let catalog = workbench::data::Catalog::scan_settings(&s);
    let mut app = App::new(s, false);
    app.update(Event::Catalog(catalog));
    app.update(Event::Devices(devices(gpus)));
    app
}

pub fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn ch(c: char) -> Event {
    key(KeyCode::Char(c))
}

/// Send keys; return every effect they produced.
pub fn press(app: &mut App, keys: &[Event]) -> Vec<Effect> {
    let mut effects = Vec::new();
    for k in keys {
        let k = match k {
            Event::Key(k) => Event::Key(*k),
            _ => panic!("only keys"),
        };
        effects.extend(app.update(k));
    }
    effects
}

/// Draw the app into a `width` × `height` test terminal and return its text, one line per row.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| workbench::ui::render(app, f)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `run.toml` of a run: `key` is its folder name; hyperparameters are the config's defaults with
/// this `lr` and `epochs`.
pub fn run_meta(
    key: &str,
    dataset: &str,
    status: workbench::runs::RunStatus,
    lr: f64,
    epochs: u32,
) -> workbench::runs::RunMeta {
    use workbench::runs::{DataInfo, RunMeta, Versions};
    let mut hyperparameters =
        workbench::train::TrainSpec::from_config(dataset, &workbench::config::TrainConfig::default());
    hyperparameters.lr = lr;
    hyperparameters.epochs = epochs;
    hyperparameters.device = "cpu".into();
    RunMeta {
        id: key.into(),
        status,
        reason: None,
        dataset: dataset.into(),
        model: "mlp".into(),
        device: "cpu".into(),
        device_label: "CPU".into(),
        started_at: "2026-11-26T12:00:00Z".into(),
        finished_at: None,
        epochs_completed: 0,
        pid: 1,
        host: "test".into(),
        checkpoint: None,
        checkpoint_epoch: None,
        failure_kind: None,
        hyperparameters,
        data: DataInfo {
            source: format!("{dataset}.csv"),
            task: "classification".into(),
            train_samples: 120,
            val_samples: 30,
            ..Default::default()
        },
        versions: Versions {
            workbench: "0.1.0".into(),
            tch: "0.24".into(),
            libtorch: "2.11.0".into(),
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

/// The follower's event for a run folder's `run.toml`.
pub fn meta_event(meta: workbench::runs::RunMeta) -> workbench::runs::RunEvent {
    let status = meta.status;
    workbench::runs::RunEvent::Meta {
        key: meta.id.clone(),
        dir: std::path::PathBuf::from("runs").join(&meta.id),
        meta: Box::new(meta),
        status,
    }
}

/// `epochs` epochs of a run with 8 steps each, as the follower reports them: a falling loss
/// (faster for a larger `speed`) and a rising accuracy.
pub fn curve_events(key: &str, epochs: u32, speed: f64) -> Vec<workbench::runs::RunEvent> {
    use workbench::runs::{EpochRow, RunEvent, StepRow};
    let mut out = Vec::new();
    for epoch in 1..=epochs {
        let base = 1.1 * (-(epoch as f64) * speed / 6.0).exp();
        let rows: Vec<StepRow> = (0..8u64)
            .map(|i| StepRow {
                step: (epoch as u64 - 1) * 8 + i + 1,
                epoch,
                loss: (base * (1.0 + 0.2 * ((i * 7 % 5) as f64 - 2.0) / 2.0)) as f32,
                wall_s: Some(((epoch as u64 - 1) * 8 + i + 1) as f64 * 0.00125),
            })
            .collect();
        out.push(RunEvent::Steps { key: key.into(), rows });
        out.push(RunEvent::Epochs {
            key: key.into(),
            rows: vec![EpochRow {
                epoch,
                train_loss: base,
                val_loss: Some(base * 1.1),
                val_metric: Some((0.5 + epoch as f64 * 0.025 * speed).min(0.9667)),
                samples_per_s: 50_000.0,
                elapsed_s: epoch as f64 * 0.01,
                step: Some(epoch as u64 * 8),
            }],
        });
    }
    out
}

/// Draw the app into a `width` × `height` test terminal and return its cells (text and colours).
pub fn buffer(app: &App, width: u16, height: u16) -> ratatui::buffer::Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| workbench::ui::render(app, f)).unwrap();
    terminal.backend().buffer().clone()
}

/// The colour of the swatch (`■`) drawn just before `name` on the screen.
pub fn swatch_color(buffer: &ratatui::buffer::Buffer, name: &str) -> ratatui::style::Color {
    for y in 0..buffer.area.height {
        let cells: Vec<String> =
            (0..buffer.area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
        let line: String = cells.concat();
        let Some(at) = line.find(name) else { continue };
        let col = line[..at].chars().count();
        if let Some(x) = (0..col).rev().find(|&x| cells[x] == "\u{25a0}") {
            return buffer[(x as u16, y)].fg;
        }
    }
    panic!("no swatch before {name}")
}

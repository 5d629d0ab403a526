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

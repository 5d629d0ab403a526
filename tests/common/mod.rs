//! Helpers shared by the integration tests: temporary folders, CSV files, and runs driven to the end.
#![allow(dead_code)]
pub mod png_edit;
pub mod tmux;
pub mod tui;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use workbench::config::{DatasetConfig, ImagesConfig, TrainConfig};
use workbench::data::{Catalog, DatasetEntry};
use workbench::device::{self, DeviceChoice};
use workbench::train::{spawn_run, EpochMetrics, ModelKind, RunControl, RunRequest, TrainMsg, TrainSpec};

/// The checkout the tests read shipped files from; `WORKBENCH_TEST_REPO` overrides it, for the
/// prebuilt test binaries that `./dev gpu-pack` carries to a GPU machine without the checkout.
pub fn repo() -> PathBuf {
    std::env::var_os("WORKBENCH_TEST_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
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
    spec.model = model.into();
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
    train_request(request(entry, spec, runs_dir))
}

/// Run a prepared request to the end and collect every message.
pub fn train_request(request: RunRequest) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let handle = spawn_run(request, RunControl::new(), move |m| tx.send(m).is_ok()).expect("spawn worker");
    let messages: Vec<TrainMsg> = rx.iter().collect();
    handle.join();
    Outcome { messages }
}

// ---- Image datasets (tests/images*.rs) ----

/// A `w`×`h` grayscale PNG: `value` everywhere, with a lighter diagonal so images differ.
pub fn png_gray(w: u32, h: u32, value: u8) -> Vec<u8> {
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([if x == y { value.saturating_add(20) } else { value }])
    });
    encode(image::DynamicImage::ImageLuma8(img), image::ImageFormat::Png)
}

/// A `w`×`h` RGB image of one colour, as PNG or JPEG.
pub fn rgb_image(w: u32, h: u32, rgb: [u8; 3], format: image::ImageFormat) -> Vec<u8> {
    encode(image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb(rgb))), format)
}

fn encode(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), format).expect("encode test image");
    bytes
}

/// A zip archive (deflated) of `(name, bytes)`; names ending in `/` become folder entries.
pub fn zip_bytes(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        if let Some(dir) = name.strip_suffix('/') {
            out.add_directory(dir, options).expect("zip folder");
        } else {
            out.start_file(name.as_str(), options).expect("zip entry");
            out.write_all(bytes).expect("zip write");
        }
    }
    out.finish().expect("zip finish").into_inner()
}

/// An IDX images file (magic 0x803) holding `count` images of `rows`×`cols`.
pub fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [0x803, count, rows, cols] {
        out.extend(u32::to_be_bytes(v));
    }
    out.extend(pixels);
    out
}

/// An IDX labels file (magic 0x801).
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [0x801, labels.len() as u32] {
        out.extend(u32::to_be_bytes(v));
    }
    out.extend(labels);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// Scan `dir` with `images` settings, checking staged state in `cache`.
pub fn scan_images(dir: &Path, cache: &Path, images: &ImagesConfig) -> Catalog {
    Catalog::scan_in(dir, &BTreeMap::new(), images, cache)
}

/// Load an entry for training from `cache`, counting progress calls.
pub fn load_counting(
    entry: &DatasetEntry,
    cache: &Path,
    images: &ImagesConfig,
) -> (Result<workbench::data::LoadedData, workbench::data::StageError>, u64) {
    let mut calls = 0u64;
    let mut progress = |_phase: workbench::data::StagePhase, _done: u64, _total: u64| {
        calls += 1;
        true
    };
    let mut options =
        workbench::data::catalog::LoadOptions { cache_dir: cache, images, progress: &mut progress };
    let result = entry.load(&mut options);
    (result, calls)
}

/// Every file under `dir` with its size and modification time, to show nothing was written there.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let meta = e.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), meta.len(), meta.modified().expect("mtime")));
        }
    }
    out.sort();
    out
}

/// Runs are processes of their own: when a test ends, passed or failed, ask every run under this
/// runs folder to stop, and kill the ones still alive a few seconds later, so no test leaves a
/// long run eating the machine's cores.
pub struct StopRunsOnDrop(pub PathBuf);

impl Drop for StopRunsOnDrop {
    fn drop(&mut self) {
        let runs = workbench::runs::list_runs(&self.0);
        for info in &runs {
            let _ = workbench::runs::send_control(&info.dir, workbench::runs::ControlCommand::Stop);
        }
        // Only runs whose process still holds the run's lock: a finished run's pid may be reused.
        let going = |i: &workbench::runs::RunInfo| {
            matches!(
                i.effective_status(),
                Some(workbench::runs::RunStatus::Running | workbench::runs::RunStatus::Paused)
            )
        };
        let pids: Vec<u32> = runs
            .iter()
            .filter(|i| going(i))
            .filter_map(|i| i.record.as_ref().ok().map(|r| r.meta.pid))
            .filter(|p| *p > 1)
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while pids.iter().any(|p| workbench::runs::pid_alive(*p)) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        for pid in pids.into_iter().filter(|p| workbench::runs::pid_alive(*p)) {
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

/// A child process killed when the test ends, passed or failed (a failing assertion must not
/// leave a million-epoch run behind).
pub struct KillOnDrop(pub Option<std::process::Child>);

impl KillOnDrop {
    pub fn new(child: std::process::Child) -> Self {
        KillOnDrop(Some(child))
    }

    pub fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, |c| c.id())
    }

    /// The child, for `wait_with_output`; the guard has nothing left to kill.
    pub fn take(&mut self) -> std::process::Child {
        self.0.take().expect("the child was already taken")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Run `request` in `folder`, stopping it (as a user would) once epoch `stop_after` is done;
/// every message the run sent, in order.
pub fn run_until(
    request: RunRequest,
    folder: workbench::train::RunFolder,
    stop_after: Option<u32>,
) -> Vec<TrainMsg> {
    let (tx, rx) = mpsc::channel();
    let control = RunControl::new();
    let c = control.clone();
    let handle = workbench::train::spawn_run_in(request, folder, control, move |m| {
        if let (TrainMsg::Epoch { metrics, .. }, Some(n)) = (&m, stop_after) {
            if metrics.epoch >= n {
                c.request_stop(workbench::train::StopReason::User);
            }
        }
        tx.send(m).is_ok()
    })
    .expect("the run starts");
    let messages: Vec<TrainMsg> = rx.iter().collect();
    handle.join();
    messages
}

/// The run folder a finished or stopped run ended in.
pub fn final_dir(messages: &[TrainMsg]) -> PathBuf {
    match messages.last() {
        Some(TrainMsg::Finished { run_dir, .. }) => run_dir.clone(),
        Some(TrainMsg::Stopped { run_dir: Some(d), .. }) => d.clone(),
        other => panic!("unexpected end: {other:?}"),
    }
}

/// The real binary, run in the project folder `dir` (its own log state, no RUST_LOG).
pub fn workbench(dir: &Path, args: &[&str]) -> std::process::Output {
    workbench_with_path(dir, args, None)
}

/// [`workbench`] with `PATH` replaced by `path` when given (a folder of stand-in `sbatch`s, or
/// an empty one, for the cluster tests).
pub fn workbench_with_path(dir: &Path, args: &[&str], path: Option<&Path>) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_workbench"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG").env("XDG_STATE_HOME", dir.join("state"));
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd.output().expect("run workbench")
}

/// A process's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Copy a folder tree (fixtures into a test's temporary folder).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("make the folder");
    for e in std::fs::read_dir(from).expect("read the folder") {
        let e = e.expect("a folder entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("its type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy a file");
        }
    }
}

/// Why the local Slurm can't be used, if it can't (`./dev test` starts one; tests that need it
/// print this and skip).
pub fn slurm_missing() -> Option<String> {
    match std::process::Command::new("sinfo").args(["-h", "-o", "%T"]).output() {
        Err(_) => Some("sinfo is not installed; `./dev slurm start` sets up a one-node Slurm".into()),
        Ok(o) if !o.status.success() => Some(format!(
            "Slurm is not running ({}); `./dev slurm start` starts it",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(o) => {
            let states = String::from_utf8_lossy(&o.stdout).into_owned();
            let up = states.lines().any(|s| ["idle", "mixed", "allocated"].contains(&s.trim()));
            (!up).then(|| format!("no Slurm node is up (sinfo says {:?})", states.trim()))
        }
    }
}

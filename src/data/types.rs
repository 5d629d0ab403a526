//! The types several parts of `data/` share: what a dataset is (format, task, summary), how it is
//! loaded (options, progress), and what loading yields. A leaf: it imports nothing else of
//! `data/` (only `crate::config` and `crate::util`), so every other module of `data/` may import
//! it without a circle.
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::config::ImagesConfig;
use crate::util::{format_bytes, format_duration, format_rate};

/// The kinds of dataset the workbench reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetFormat {
    /// A delimited text table (`.csv`, `.tsv`).
    Csv,
    /// A folder of PNG/JPEG images in class-named subfolders (ImageFolder layout).
    ImageFolder,
    /// The same layout inside a `.zip` archive.
    ImageZip,
    /// MNIST IDX files (`*-images-idx3-ubyte[.gz]` with `*-labels-idx1-ubyte[.gz]`): loose, or in
    /// a folder or a `.zip`.
    Idx,
    /// NumPy arrays: a `.npz` (`x`/`y`, `X`/`y` or `data`/`target`), or `NAME_x.npy` with
    /// `NAME_y.npy`; read straight into tensors, not staged.
    Npy,
    /// CIFAR-10/100, binary version: `cifar-10-batches-bin/` (or `cifar-100-binary/`), that folder
    /// in a `.zip`, or the official `.tar.gz`; read straight into tensors, not staged.
    Cifar,
}

impl DatasetFormat {
    /// The short name the listing shows: `csv`, `folder`, `zip`, `idx`, `npy` or `cifar`.
    pub fn label(&self) -> &'static str {
        match self {
            DatasetFormat::Csv => "csv",
            DatasetFormat::ImageFolder => "folder",
            DatasetFormat::ImageZip => "zip",
            DatasetFormat::Idx => "idx",
            DatasetFormat::Npy => "npy",
            DatasetFormat::Cifar => "cifar",
        }
    }

    /// Whether this is one of the staged image formats (folders, zips, IDX: `[C, H, W]` samples
    /// decoded into the staging cache). Arrays and CIFAR are read straight into tensors instead.
    pub fn is_image(&self) -> bool {
        !matches!(self, DatasetFormat::Csv | DatasetFormat::Npy | DatasetFormat::Cifar)
    }
}

/// Which part of a dataset an image belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training images.
    Train,
    /// The dataset's own validation images (`test/` or `val/`, MNIST's `t10k`).
    Test,
}

impl Split {
    /// `train` or `test`: the name of the split's file in the staging cache.
    pub fn name(&self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// What staging an image dataset is doing, for its progress: reading the source once (bytes; the
/// slow part when the source sits on a remote drive), then decoding its images (items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StagePhase {
    /// Reading the source's bytes.
    Reading,
    /// Decoding its images.
    Decoding,
}

/// One line of staging progress, for the CLI's progress line and the TUI's run pane:
/// `reading 12.0 MiB/40.0 MiB (30%)  5.1 MiB/s  ETA 5s` or
/// `decoding 1,200/60,000 images (2%)  5,000 images/s  ETA 12s`.
pub fn staging_text(phase: StagePhase, done: u64, total: u64, elapsed_s: f64) -> String {
    // Under a twentieth of a second, a rate is noise (a tiny file read "3606.0 TiB/s").
    let measured = elapsed_s >= 0.05;
    let rate = done as f64 / elapsed_s.max(1e-9);
    let eta = if rate > 0.0 && measured { total.saturating_sub(done) as f64 / rate } else { f64::NAN };
    let percent = done * 100 / total.max(1);
    let eta = format_duration(eta);
    match phase {
        StagePhase::Reading => format!(
            "reading {}/{} ({percent}%)  {}/s  ETA {eta}",
            format_bytes(done),
            format_bytes(total),
            if measured { format_bytes(rate as u64) } else { "--".into() }
        ),
        StagePhase::Decoding => format!(
            "decoding {}/{} images ({percent}%)  {} images/s  ETA {eta}",
            format_rate(done as f64),
            format_rate(total as f64),
            if measured { format_rate(rate) } else { "--".into() }
        ),
    }
}

/// Told `(phase, done, total)` while a dataset is staged; returns false to abandon the staging.
pub type StageProgress<'a> = dyn FnMut(StagePhase, u64, u64) -> bool + 'a;

/// What loading needs besides the entry: where staged copies go and how images are decoded.
pub struct LoadOptions<'a> {
    /// The staging cache folder.
    pub cache_dir: &'a Path,
    /// The `[images]` settings.
    pub images: &'a ImagesConfig,
    /// Called with (done, total) while a dataset is being staged; returning false abandons the
    /// staging (a stopped run), which then ends with `StageError::Stopped`.
    pub progress: &'a mut StageProgress<'a>,
}

/// What a column is used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRole {
    /// A numeric input.
    Feature,
    /// The value to predict.
    Target,
    /// Not used, with the reason (for example a text column that is not the target).
    Ignored(String),
}

/// What a dataset asks the model to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Task {
    /// Predict one of these classes (index order is the order here).
    Classification { classes: Vec<String> },
    /// Predict a number.
    Regression,
}

impl Task {
    /// How many classes (0 for regression).
    pub fn num_classes(&self) -> usize {
        match self {
            Task::Classification { classes } => classes.len(),
            Task::Regression => 0,
        }
    }

    /// Whether the task is classification.
    pub fn is_classification(&self) -> bool {
        matches!(self, Task::Classification { .. })
    }

    /// A short description: `3 classes` or `regression`.
    pub fn describe(&self) -> String {
        match self {
            Task::Classification { classes } => format!("{} classes", classes.len()),
            Task::Regression => "regression".into(),
        }
    }
}

/// Target values as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices into the task's class list.
    Classes(Vec<i64>),
    /// Values to regress on.
    Values(Vec<f32>),
}

impl Targets {
    /// How many targets.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(v) => v.len(),
            Targets::Values(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A small image kept for the preview (and in the staging cache's manifest): grayscale or RGB
/// bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageThumb {
    pub label: String,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub pixels: Vec<u8>,
}

/// What the preview pane shows before training.
#[derive(Debug, Clone, PartialEq)]
pub enum Preview {
    /// The first rows of a table, with each column's role.
    Table { columns: Vec<String>, roles: Vec<ColumnRole>, rows: Vec<Vec<String>> },
    /// A few images with their labels.
    Images(Vec<ImageThumb>),
}

/// What is known about a dataset without training on it.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSummary {
    pub rows: usize,
    /// Numbers per sample (features, or pixels × channels).
    pub features: usize,
    /// The shape of one sample: `[features]` or `[channels, height, width]`.
    pub sample_shape: Vec<usize>,
    pub target: String,
    pub task: Task,
    /// Rows per class, in the task's class order (empty for regression).
    pub class_counts: Vec<usize>,
    /// Things worth knowing: ignored columns, dropped rows, predefined splits.
    pub notes: Vec<String>,
    /// For image datasets: whether the staging cache holds a current copy.
    pub staged: Option<bool>,
    pub preview: Preview,
}

impl DatasetSummary {
    /// Each class with its rows (`setosa 50`), or its name alone when the counts aren't known
    /// yet (a large CSV before staging knows the classes of its head only).
    pub fn class_labels(&self) -> Vec<String> {
        let Task::Classification { classes } = &self.task else { return Vec::new() };
        if self.class_counts.len() == classes.len() {
            classes.iter().zip(&self.class_counts).map(|(c, n)| format!("{c} {n}")).collect()
        } else {
            classes.clone()
        }
    }
}

/// A dataset loaded for training, as CPU tensors.
#[derive(Debug)]
pub struct LoadedData {
    pub name: String,
    /// Inputs: `[N, ...sample_shape]`, float.
    pub x: Tensor,
    /// Targets: `[N]`, int64 class indices or float values.
    pub y: Tensor,
    pub task: Task,
    pub feature_names: Vec<String>,
    /// A validation split that ships with the dataset (for example a `test/` folder); when present
    /// it is used instead of splitting off `val_fraction` of the rows.
    pub holdout: Option<(Tensor, Tensor)>,
}

impl LoadedData {
    /// The shape of one sample.
    pub fn sample_shape(&self) -> Vec<i64> {
        self.x.size()[1..].to_vec()
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.x.size().first().copied().unwrap_or(0) as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Count of each class index in `0..num_classes`.
pub fn class_counts(labels: &[i64], num_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; num_classes];
    for &l in labels {
        if let Some(c) = counts.get_mut(l as usize) {
            *c += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_text_gives_each_phase_its_unit() {
        let reading = staging_text(StagePhase::Reading, 3 << 20, 12 << 20, 1.0);
        assert_eq!(reading, "reading 3.0 MiB/12.0 MiB (25%)  3.0 MiB/s  ETA 3.0s");
        let decoding = staging_text(StagePhase::Decoding, 1200, 60_000, 2.0);
        assert!(decoding.starts_with("decoding 1,200/60,000 images (2%)  600 images/s  ETA "), "{decoding}");
        let instant = staging_text(StagePhase::Reading, 4 << 10, 4 << 10, 0.000_001);
        assert!(instant.contains("--/s") && !instant.contains("TiB"), "too short to measure: {instant}");
    }
}

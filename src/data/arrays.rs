//! Array datasets, read straight into tensors (no staging cache: their bytes already are the
//! tensor): NumPy `.npz` files and `NAME_x.npy` + `NAME_y.npy` pairs, and CIFAR-10/100 in the
//! binary version. 2-D arrays are tables; N×H×W and N×C×H×W arrays are images.
//!
//! Listing reads only the `.npy` headers and the labels; CIFAR is read whole once (its labels are
//! spread through the file) and its summary cached.
use std::path::{Path, PathBuf};

use tch::{Kind, Tensor};

use super::error::{DataError, DataErrorKind, EntryError};
use super::listing::cifar_summary::{self, CifarFacts};
use super::readers::npy::{self, Header};
use super::readers::{cifar, zipsafe, RawEntry};
use super::types::{class_counts, ColumnRole, DatasetSummary, LoadedData, Preview, Task};
use crate::config::{DatasetConfig, ImagesConfig, TaskOverride};

/// The names the inputs and targets are looked for under, in order, when config names none.
const PAIRS: [(&str, &str); 3] = [("x", "y"), ("X", "y"), ("data", "target")];

/// One array as read: its header and (when asked for) its values, as `T`.
struct Array<T> {
    /// Where it came from, for messages (`x.npy` in an npz, or the file's name).
    name: String,
    header: Header,
    values: Option<Vec<T>>,
}

/// Inputs (as f32, what the tensor holds) and targets (as f64, so integer labels stay exact),
/// and the validation pair when the source has one.
struct Arrays {
    x: Array<f32>,
    y: Array<f64>,
    test: Option<(Array<f32>, Array<f64>)>,
}

fn image_error(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::new(path, DataErrorKind::Image(e.to_string()))
}

/// An `.npz` opened through the same zip checks as image archives: names, links, encryption,
/// declared sizes, and what each entry really unpacks to. An entry holds a whole array, so (as
/// for IDX zips) only the total limit applies, to each entry and to all of them together.
struct Npz<'a> {
    path: &'a Path,
    archive: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
    entries: Vec<RawEntry>,
    limits: zipsafe::Limits,
    /// Bytes unpacked so far, against `max_total_bytes`.
    used: u64,
}

impl<'a> Npz<'a> {
    fn open(path: &'a Path, images: &ImagesConfig) -> Result<Npz<'a>, DataError> {
        let file =
            std::fs::File::open(path).map_err(|e| image_error(path, format!("cannot be read ({e})")))?;
        let archive = zipsafe::open_zip(std::io::BufReader::new(file)).map_err(|e| image_error(path, e))?;
        let total = images.max_total_bytes;
        let limits = zipsafe::Limits { max_entry_bytes: total, max_total_bytes: total };
        let entries = zipsafe::list_entries(&archive, limits).map_err(|e| image_error(path, e))?;
        Ok(Npz { path, archive, entries, limits, used: 0 })
    }

    /// Whether it holds the array `n` (the entry `n.npy`).
    fn has(&self, n: &str) -> bool {
        self.entries.iter().any(|e| !e.is_dir && e.name == format!("{n}.npy"))
    }

    /// The arrays it holds, for messages.
    fn arrays(&self) -> Vec<&str> {
        self.entries.iter().filter_map(|e| e.name.strip_suffix(".npy")).collect()
    }

    /// Read the array `n`: its header only (checked against the size the directory declares),
    /// or all of it (unpacked through [`zipsafe::read_entry`], then checked against what it
    /// really unpacked to).
    fn read<T: npy::Element>(&mut self, n: &str, values: bool) -> Result<Array<T>, DataError> {
        let path = self.path;
        let name = format!("{n}.npy");
        let entry = self.entries.iter().find(|e| !e.is_dir && e.name == name).cloned().ok_or_else(|| {
            image_error(path, format!("has no array {n:?} (named in config.toml or looked for by default)"))
        })?;
        let limit = self.limits.max_total_bytes;
        let err = |e: EntryError| image_error(path, e);
        if !values {
            let mut r = self.archive.by_index(entry.loc).map_err(|e| {
                image_error(path, format!("entry {name}: cannot be unpacked ({e}); the archive is damaged"))
            })?;
            let header =
                npy::read_header(&mut r, &name, npy::Bounds { stored: entry.size, limit }).map_err(err)?;
            return Ok(Array { name, header, values: None });
        }
        let budget = limit.saturating_sub(self.used);
        let mut bytes = Vec::new();
        zipsafe::read_entry(&mut self.archive, entry.loc, &name, self.limits, budget, &mut bytes)
            .map_err(err)?;
        self.used += bytes.len() as u64;
        let mut r = bytes.as_slice();
        let header = npy::read_header(&mut r, &name, npy::Bounds { stored: bytes.len() as u64, limit })
            .map_err(err)?;
        let values = npy::read_values(&mut r, &header, &name).map_err(err)?;
        Ok(Array { name, header, values: Some(values) })
    }
}

/// Read one `.npy` file: its header, checked against the file's size, then (when asked for) its
/// values, streamed from the file.
fn read_npy_file<T: npy::Element>(path: &Path, values: bool, limit: u64) -> Result<Array<T>, DataError> {
    let unreadable = |e: std::io::Error| {
        image_error(path, format!("cannot be read ({e}); an NAME_x.npy needs its NAME_y.npy beside it"))
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let stored = file.metadata().map_err(unreadable)?.len();
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let strip = |e: EntryError| image_error(path, e.message);
    let header = npy::read_header(&mut r, &name, npy::Bounds { stored, limit }).map_err(strip)?;
    let values = if values { Some(npy::read_values(&mut r, &header, &name).map_err(strip)?) } else { None };
    Ok(Array { name, header, values })
}

/// Read the arrays; `values` false reads x's header only (y is always read: the labels).
fn read_arrays(
    source: &Path,
    config: &DatasetConfig,
    images: &ImagesConfig,
    values: bool,
) -> Result<Arrays, DataError> {
    let is_npz = source.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    if is_npz {
        return read_npz(source, config, images, values);
    }
    let limit = images.max_total_bytes;
    let file_name = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = npy::pair_name(&file_name).unwrap_or(&file_name).to_string();
    let dir = source.parent().unwrap_or(Path::new("."));
    let partner = |suffix: &str| -> PathBuf { dir.join(format!("{stem}_{suffix}.npy")) };
    let y_path =
        [partner("y"), partner("Y")].into_iter().find(|p| p.exists()).unwrap_or_else(|| partner("y"));
    let x = read_npy_file(source, values, limit)?;
    let y = read_npy_file(&y_path, true, limit)?;
    let (xt, yt) = (partner("x_test"), partner("y_test"));
    let test = if xt.exists() && yt.exists() {
        Some((read_npy_file(&xt, values, limit)?, read_npy_file(&yt, true, limit)?))
    } else {
        None
    };
    Ok(Arrays { x, y, test })
}

/// The arrays of an `.npz`: those config.toml names, else the first of [`PAIRS`] it holds.
fn read_npz(
    path: &Path,
    config: &DatasetConfig,
    images: &ImagesConfig,
    values: bool,
) -> Result<Arrays, DataError> {
    let mut npz = Npz::open(path, images)?;
    let (xn, yn) = match (&config.x, &config.y) {
        (Some(x), Some(y)) => (x.clone(), y.clone()),
        (x, y) => {
            let found = PAIRS.iter().find(|(a, b)| {
                x.as_deref().is_none_or(|x| x == *a)
                    && y.as_deref().is_none_or(|y| y == *b)
                    && npz.has(a)
                    && npz.has(b)
            });
            match found {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None => {
                    let arrays = npz.arrays();
                    return Err(image_error(
                        path,
                        format!(
                            "has no x/y (or X/y, data/target) arrays; it holds: {}. Name them in config.toml: \
                             [datasets.NAME] x = \"inputs\" y = \"labels\"",
                            if arrays.is_empty() { "nothing".to_string() } else { arrays.join(", ") }
                        ),
                    ));
                }
            }
        }
    };
    let x = npz.read(&xn, values)?;
    let y = npz.read(&yn, true)?;
    let (xt, yt) = (format!("{xn}_test"), format!("{yn}_test"));
    let test = if npz.has(&xt) && npz.has(&yt) {
        Some((npz.read(&xt, values)?, npz.read(&yt, true)?))
    } else {
        None
    };
    Ok(Arrays { x, y, test })
}

/// The sample shape x's shape gives: `[features]` or `[C, H, W]`.
fn sample_shape<T>(x: &Array<T>, source: &Path) -> Result<Vec<usize>, DataError> {
    let s = &x.header.shape;
    let bad = |why: &str| {
        image_error(
            source,
            format!(
                "{}: has shape {:?}; {why}. Arrays read: 2-D (samples × features), N×H×W or N×C×H×W images with C = 1 \
                 or 3 (for channels-last images save x.transpose(0, 3, 1, 2))",
                x.name, s
            ),
        )
    };
    match s.len() {
        2 => Ok(vec![s[1]]),
        3 => Ok(vec![1, s[1], s[2]]),
        4 if matches!(s[1], 1 | 3) => Ok(vec![s[1], s[2], s[3]]),
        4 => Err(bad("its second dimension is not 1 or 3 channels")),
        _ => Err(bad("it is neither a table nor a stack of images")),
    }
    .and_then(|shape| if s[0] == 0 || shape.contains(&0) { Err(bad("it is empty")) } else { Ok(shape) })
}

/// The task and the class index of each target.
fn targets(
    y: &Array<f64>,
    n: usize,
    config: &DatasetConfig,
    source: &Path,
) -> Result<(Task, Vec<f64>), DataError> {
    let values = y.values.clone().unwrap_or_default();
    let shape_ok = matches!(y.header.shape.as_slice(), [m] | [m, 1] if *m == n);
    if !shape_ok {
        return Err(image_error(
            source,
            format!(
                "{}: has shape {:?}; the targets must be one value per sample ({n} of them)",
                y.name, y.header.shape
            ),
        ));
    }
    let classify = match config.task {
        Some(TaskOverride::Classification) => true,
        Some(TaskOverride::Regression) => false,
        None => y.header.dtype.is_integer(),
    };
    if !classify {
        return Ok((Task::Regression, values));
    }
    let mut distinct: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(image_error(source, format!("{}: holds a NaN or infinite class label", y.name)));
    }
    if distinct.len() < 2 {
        return Err(image_error(
            source,
            format!("{}: holds a single class; classification needs at least two", y.name),
        ));
    }
    let classes: Vec<String> = distinct.iter().map(|v| format!("{v}")).collect();
    let index: Vec<f64> =
        values.iter().map(|v| distinct.binary_search_by(|d| d.total_cmp(v)).unwrap_or(0) as f64).collect();
    Ok((Task::Classification { classes }, index))
}

/// What the listing shows for an `.npz` or `.npy` pair.
pub fn summarize_npy(
    source: &Path,
    config: &DatasetConfig,
    images: &ImagesConfig,
) -> Result<DatasetSummary, DataError> {
    let arrays = read_arrays(source, config, images, false)?;
    let shape = sample_shape(&arrays.x, source)?;
    let n = arrays.x.header.shape[0];
    let (task, labels) = targets(&arrays.y, n, config, source)?;
    let mut notes = vec![
        format!("{}: {}", arrays.x.name, arrays.x.header.describe()),
        format!("{}: {}", arrays.y.name, arrays.y.header.describe()),
    ];
    if let Some((xt, _)) = &arrays.test {
        notes.push(format!("{} ({}) is the validation set", xt.name, xt.header.describe()));
    }
    let counts = match &task {
        Task::Classification { classes } => {
            class_counts(&labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), classes.len())
        }
        Task::Regression => Vec::new(),
    };
    let preview = if shape.len() == 1 {
        let columns: Vec<String> = (0..shape[0]).map(|i| format!("x{i}")).chain(["y".to_string()]).collect();
        let mut roles = vec![ColumnRole::Feature; shape[0]];
        roles.push(ColumnRole::Target);
        Preview::Table { columns, roles, rows: Vec::new() }
    } else {
        Preview::Images(Vec::new())
    };
    Ok(DatasetSummary {
        rows: n,
        features: shape.iter().product(),
        sample_shape: shape,
        target: arrays.y.name.trim_end_matches(".npy").to_string(),
        task,
        class_counts: counts,
        notes,
        staged: None,
        preview,
    })
}

/// Inputs as a float tensor of `[N, ...shape]`; integer images of bytes are scaled to [0, 1] as
/// decoded images are.
fn x_tensor(x: &Array<f32>, shape: &[usize]) -> Tensor {
    let values = x.values.as_deref().unwrap_or_default();
    let mut dims = vec![x.header.shape[0] as i64];
    dims.extend(shape.iter().map(|&d| d as i64));
    let t = Tensor::from_slice(values).reshape(dims);
    let bytes = x.header.dtype == npy::Dtype { kind: npy::Kind::Uint, size: 1, big_endian: false };
    if bytes && shape.len() == 3 {
        t / 255.0
    } else {
        t
    }
}

fn y_tensor(task: &Task, values: &[f64]) -> Tensor {
    match task {
        Task::Classification { .. } => {
            Tensor::from_slice(&values.iter().map(|&v| v as i64).collect::<Vec<_>>())
        }
        Task::Regression => Tensor::from_slice(&values.iter().map(|&v| v as f32).collect::<Vec<_>>()),
    }
}

/// Load an `.npz` or `.npy` pair for training.
pub fn load_npy(
    name: &str,
    source: &Path,
    config: &DatasetConfig,
    images: &ImagesConfig,
) -> Result<LoadedData, DataError> {
    let arrays = read_arrays(source, config, images, true)?;
    let shape = sample_shape(&arrays.x, source)?;
    let n = arrays.x.header.shape[0];
    let (task, labels) = targets(&arrays.y, n, config, source)?;
    let holdout = match &arrays.test {
        Some((xt, yt)) => {
            let test_shape = sample_shape(xt, source)?;
            if test_shape != shape {
                return Err(image_error(
                    source,
                    format!(
                        "{} has samples of shape {test_shape:?}, {} has {shape:?}",
                        xt.name, arrays.x.name
                    ),
                ));
            }
            let (_, raw) = targets(
                yt,
                xt.header.shape[0],
                &DatasetConfig { task: Some(TaskOverride::Regression), ..config.clone() },
                source,
            )?;
            let y = match &task {
                Task::Classification { classes } => {
                    let idx: Result<Vec<f64>, DataError> = raw
                        .iter()
                        .map(|v| {
                            classes.iter().position(|c| *c == format!("{v}")).map(|i| i as f64).ok_or_else(
                                || {
                                    image_error(
                                        source,
                                        format!("{}: class {v} does not occur in {}", yt.name, arrays.y.name),
                                    )
                                },
                            )
                        })
                        .collect();
                    idx?
                }
                Task::Regression => raw,
            };
            Some((x_tensor(xt, &shape), y_tensor(&task, &y)))
        }
        None => None,
    };
    let feature_names =
        if shape.len() == 1 { (0..shape[0]).map(|i| format!("x{i}")).collect() } else { Vec::new() };
    Ok(LoadedData {
        name: name.to_string(),
        x: x_tensor(&arrays.x, &shape),
        y: y_tensor(&task, &labels),
        task,
        feature_names,
        holdout,
    })
}

fn read_cifar(source: &Path, images: &ImagesConfig) -> Result<cifar::Cifar, DataError> {
    let files = cifar::read_source(source, images.max_total_bytes).map_err(|e| image_error(source, e))?;
    cifar::parse(&files).map_err(|e| image_error(source, e))
}

/// What the listing shows for a CIFAR dataset: read once, then from the cache in `cache_dir`
/// while the source's files keep their sizes and times (see [`cifar_summary`]).
pub fn summarize_cifar(
    source: &Path,
    images: &ImagesConfig,
    cache_dir: &Path,
) -> Result<DatasetSummary, DataError> {
    let (facts, how) = cifar_summary::facts(source, cache_dir, || cifar_facts(source, images))?;
    tracing::debug!(source = %source.display(), ?how, "CIFAR summary");
    let mut notes = vec![format!(
        "{} binary version",
        if facts.cifar100 { "CIFAR-100 (fine labels)" } else { "CIFAR-10" }
    )];
    if let Some(n) = facts.test_images {
        notes.push(format!("the test batch ({n} images) is the validation set"));
    }
    Ok(DatasetSummary {
        rows: facts.train_images,
        features: cifar::IMAGE_LEN,
        sample_shape: vec![3, 32, 32],
        target: "class".into(),
        class_counts: facts.class_counts,
        task: Task::Classification { classes: facts.classes },
        notes,
        staged: None,
        preview: Preview::Images(facts.preview),
    })
}

/// Read the whole CIFAR source for its summary.
fn cifar_facts(source: &Path, images: &ImagesConfig) -> Result<CifarFacts, DataError> {
    let c = read_cifar(source, images)?;
    let labels: Vec<i64> = c.train.1.iter().map(|&l| l as i64).collect();
    let preview = labels
        .iter()
        .take(super::spec::PREVIEW)
        .enumerate()
        .map(|(i, &l)| {
            let shape = super::readers::decode::Shape { channels: 3, height: 32, width: 32 };
            super::readers::decode::thumbnail(
                &c.train.0[i * cifar::IMAGE_LEN..(i + 1) * cifar::IMAGE_LEN],
                shape,
                &c.classes[l as usize],
            )
        })
        .collect();
    Ok(CifarFacts {
        cifar100: c.variant == cifar::Variant::Cifar100,
        class_counts: class_counts(&labels, c.classes.len()),
        train_images: labels.len(),
        test_images: c.test.as_ref().map(|(_, t)| t.len()),
        classes: c.classes,
        preview,
    })
}

fn cifar_tensors((pixels, labels): &(Vec<u8>, Vec<u8>)) -> (Tensor, Tensor) {
    let n = labels.len() as i64;
    let x = Tensor::from_slice(pixels).reshape([n, 3, 32, 32]).to_kind(Kind::Float) / 255.0;
    let y = Tensor::from_slice(&labels.iter().map(|&l| l as i64).collect::<Vec<_>>());
    (x, y)
}

/// Load a CIFAR dataset for training: `[N, 3, 32, 32]` floats in [0, 1]; the test batch is the
/// validation set.
pub fn load_cifar(name: &str, source: &Path, images: &ImagesConfig) -> Result<LoadedData, DataError> {
    let c = read_cifar(source, images)?;
    let (x, y) = cifar_tensors(&c.train);
    Ok(LoadedData {
        name: name.to_string(),
        x,
        y,
        task: Task::Classification { classes: c.classes.clone() },
        feature_names: Vec::new(),
        holdout: c.test.as_ref().map(cifar_tensors),
    })
}

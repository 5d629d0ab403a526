//! Discovery: which datasets the datasets folder (and config.toml) define, and what each holds.
//!
//! A dataset that fails to load is still listed, with its error, so the user sees why it is not
//! usable; the others stay usable.
//!
//! Which files are datasets is [`super::listing`]'s call; image datasets (folders, zips, IDX
//! files) are summarized and loaded through [`super::staging`], since their listing also says
//! whether the staging cache holds a current copy: scanning needs the cache folder
//! ([`Catalog::scan_settings`] or [`Catalog::scan_in`]).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::Tensor;

use super::csv_table::{self, CsvDataset};
use super::error::{DataError, DataErrorKind, StageError, UnknownDataset};
use super::spec::{is_zip, ImageSpec};
use super::types::{class_counts, ColumnRole, DatasetFormat, DatasetSummary, LoadedData, Preview, Targets};
use super::{arrays, listing, staging};
use crate::config::{DatasetConfig, ImagesConfig, Settings};

/// Kept at its old path for the callers that import it from here.
pub use super::types::LoadOptions;

/// One dataset: where it comes from, how config adjusts it, and what it holds (or why it can't load).
#[derive(Debug, Clone)]
pub struct DatasetEntry {
    pub name: String,
    pub source: PathBuf,
    pub format: DatasetFormat,
    pub config: DatasetConfig,
    pub summary: Result<DatasetSummary, DataError>,
}

impl DatasetEntry {
    pub fn is_usable(&self) -> bool {
        self.summary.is_ok()
    }

    /// Load the dataset as CPU tensors for training. Image datasets come from the staging cache,
    /// and are staged first (with progress) when it holds no current copy; a CSV's problems come
    /// as [`StageError::Data`].
    pub fn load(&self, options: &mut LoadOptions<'_>) -> Result<LoadedData, StageError> {
        match self.format {
            DatasetFormat::Csv if staging::table_summary::is_large(&self.source) => {
                let spec = staging::table::TableSpec {
                    name: &self.name,
                    source: &self.source,
                    config: &self.config,
                    cache_dir: options.cache_dir,
                };
                staging::table::load(&spec, options.progress)
            }
            DatasetFormat::Csv => {
                let table = csv_table::load_csv(&self.source, &self.config)?;
                Ok(csv_to_tensors(&self.name, table))
            }
            DatasetFormat::Npy => {
                Ok(arrays::load_npy(&self.name, &self.source, &self.config, options.images)?)
            }
            DatasetFormat::Cifar => Ok(arrays::load_cifar(&self.name, &self.source, options.images)?),
            _ => staging::load(&self.image_spec(options.images), options),
        }
    }

    /// How the listing and the staging read this entry as an image dataset.
    pub fn image_spec<'a>(&'a self, images: &'a ImagesConfig) -> ImageSpec<'a> {
        ImageSpec {
            name: &self.name,
            source: &self.source,
            format: self.format,
            config: &self.config,
            images,
        }
    }
}

/// Every dataset found, in name order.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub dir: PathBuf,
    pub entries: Vec<DatasetEntry>,
    /// Set when the folder itself can't be read.
    pub problem: Option<String>,
}

impl Catalog {
    /// Scan the settings' datasets folder, with its dataset tables, `[images]` and staging cache.
    pub fn scan_settings(settings: &Settings) -> Catalog {
        Catalog::scan_in(&settings.datasets_dir, &settings.datasets, &settings.images, &settings.cache_dir)
    }

    /// Scan `dir` and apply the `[datasets.*]` tables from config. Whether image datasets are
    /// staged is checked against the default per-user cache; use [`Catalog::scan_settings`] to
    /// honour `cache_dir`.
    pub fn scan(dir: &Path, configs: &BTreeMap<String, DatasetConfig>, images: &ImagesConfig) -> Catalog {
        Catalog::scan_in(dir, configs, images, &crate::paths::user_cache_dir().join("staged"))
    }

    /// Scan `dir`, checking image datasets' staged state in `cache_dir`.
    pub fn scan_in(
        dir: &Path,
        configs: &BTreeMap<String, DatasetConfig>,
        images: &ImagesConfig,
        cache_dir: &Path,
    ) -> Catalog {
        let mut problem = None;
        let mut found: Vec<(String, PathBuf, DatasetFormat)> = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(read) => {
                let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
                paths.sort();
                paths.retain(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')));
                let mut loose_idx = Vec::new();
                for path in paths {
                    match listing::detect(&path) {
                        Some(DatasetFormat::Idx) if !path.is_dir() && !is_zip(&path) => loose_idx.push(path),
                        Some(format) => found.push((dataset_name(&path), path, format)),
                        None => {}
                    }
                }
                for (name, path) in listing::loose_idx(&loose_idx) {
                    found.push((name, path, DatasetFormat::Idx));
                }
            }
            Err(e) => {
                problem = Some(format!(
                "datasets folder {} cannot be read ({e}); create it or set paths.datasets_dir in config.toml",
                dir.display()
            ))
            }
        }
        disambiguate(&mut found);

        let mut entries: Vec<DatasetEntry> = found
            .into_iter()
            .map(|(name, source, format)| {
                let config = configs.get(&name).filter(|c| c.file.is_none()).cloned().unwrap_or_default();
                let summary = summarize(&name, &source, format, &config, images, cache_dir);
                DatasetEntry { name, source, format, config, summary }
            })
            .collect();

        // Datasets defined in config.toml from a file in the folder (for example a two-class Iris).
        for (name, config) in configs {
            let Some(file) = &config.file else { continue };
            let source = dir.join(file);
            let unusable = |why: String| {
                (DatasetFormat::Csv, Err(DataError::new(&source, DataErrorKind::Unreadable(why))))
            };
            let (format, summary) = if !source.exists() {
                unusable(format!("does not exist; check `file` under [datasets.{name}] in config.toml"))
            } else {
                match listing::detect(&source) {
                    Some(format) => (format, summarize(name, &source, format, config, images, cache_dir)),
                    None => unusable(
                        "is not a dataset this workbench reads (.csv, .tsv, an image folder or .zip, IDX files, .npz, \
                         NAME_x.npy, CIFAR binary batches)"
                            .to_string(),
                    ),
                }
            };
            entries.retain(|e| &e.name != name);
            entries.push(DatasetEntry {
                name: name.clone(),
                source,
                format,
                config: config.clone(),
                summary,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Catalog { dir: dir.to_path_buf(), entries, problem }
    }

    pub fn get(&self, name: &str) -> Option<&DatasetEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The entry with this name, or an error that lists the names there are.
    pub fn require(&self, name: &str) -> Result<&DatasetEntry, UnknownDataset> {
        self.get(name).ok_or_else(|| UnknownDataset {
            name: name.to_string(),
            dir: self.dir.clone(),
            found: self.entries.iter().map(|e| e.name.clone()).collect(),
        })
    }
}

/// The name a file is known by: its stem (`iris.csv` → `iris`, `shapes.zip` → `shapes`,
/// `digits_x.npy` → `digits`, `cifar-10-binary.tar.gz` → `cifar-10-binary`); a folder by its name.
fn dataset_name(path: &Path) -> String {
    let file = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some(stem) = file.strip_suffix(".tar.gz").or_else(|| file.strip_suffix(".tgz")) {
        return stem.to_string();
    }
    if let Some(stem) = super::readers::npy::pair_name(&file) {
        return stem.to_string();
    }
    let name = if path.is_dir() { path.file_name() } else { path.file_stem() };
    name.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// When two files share a stem (`a.csv`, `a.tsv`), both are known by their full file names.
fn disambiguate(found: &mut [(String, PathBuf, DatasetFormat)]) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (name, _, _) in found.iter() {
        *counts.entry(name.clone()).or_default() += 1;
    }
    for (name, path, _) in found.iter_mut() {
        if counts[name.as_str()] > 1 {
            *name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        }
    }
}

fn summarize(
    name: &str,
    source: &Path,
    format: DatasetFormat,
    config: &DatasetConfig,
    images: &ImagesConfig,
    cache_dir: &Path,
) -> Result<DatasetSummary, DataError> {
    match format {
        // A large CSV is listed from its head (and its staged copy), never parsed whole here.
        DatasetFormat::Csv if staging::table_summary::is_large(source) => {
            staging::table_summary::summarize(name, source, config, cache_dir)
        }
        DatasetFormat::Csv => csv_table::load_csv(source, config).map(|t| csv_summary(&t)),
        DatasetFormat::Npy => arrays::summarize_npy(source, config, images),
        DatasetFormat::Cifar => arrays::summarize_cifar(source, images, cache_dir),
        _ => {
            let spec = ImageSpec { name, source, format, config, images };
            staging::summarize(&spec, cache_dir)
        }
    }
}

fn csv_summary(table: &CsvDataset) -> DatasetSummary {
    let schema = &table.schema;
    let mut notes = Vec::new();
    for (i, role) in schema.roles.iter().enumerate() {
        if let ColumnRole::Ignored(why) = role {
            notes.push(format!("column {:?} not used: {why}", schema.columns[i]));
        }
    }
    if schema.dropped_rows > 0 {
        notes.push(format!("{} rows left out (missing values or classes not kept)", schema.dropped_rows));
    }
    let class_counts = match &table.y {
        Targets::Classes(labels) => class_counts(labels, schema.task.num_classes()),
        Targets::Values(_) => Vec::new(),
    };
    DatasetSummary {
        rows: table.rows,
        features: schema.features.len(),
        sample_shape: vec![schema.features.len()],
        target: schema.target_name().to_string(),
        task: schema.task.clone(),
        class_counts,
        notes,
        staged: None,
        preview: Preview::Table {
            columns: schema.columns.clone(),
            roles: schema.roles.clone(),
            rows: table.preview.clone(),
        },
    }
}

fn csv_to_tensors(name: &str, table: CsvDataset) -> LoadedData {
    let rows = table.rows as i64;
    let width = table.schema.features.len() as i64;
    let x = Tensor::from_slice(&table.x).reshape([rows, width]);
    let y = match &table.y {
        Targets::Classes(labels) => Tensor::from_slice(labels),
        Targets::Values(values) => Tensor::from_slice(values),
    };
    LoadedData {
        name: name.to_string(),
        x,
        y,
        task: table.schema.task.clone(),
        feature_names: table.schema.feature_names(),
        holdout: None,
    }
}

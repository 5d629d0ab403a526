//! Listing: which files of the datasets folder are datasets, of what format, and a cheap look at
//! an image dataset (its [`layout`] of classes and splits, and its [`inspect`]ion: counts, shape,
//! preview). Nothing here decodes a whole dataset or touches the staging cache.
pub mod cifar_summary;
pub mod inspect;
pub mod layout;
pub mod memo;
pub mod rows;

use std::path::{Path, PathBuf};

use super::readers::{base_name, cifar, idx, npy, source, zipsafe};
use super::spec::is_zip;
use super::types::DatasetFormat;

/// The format a file has, judged by its name; `None` for files that are not datasets.
/// A `.csv` that can't be read (a dangling link to an unmounted drive, say) is still listed,
/// so the user sees why it is not usable. Folders and `.zip` files are image datasets (use
/// [`detect`] to tell IDX zips apart).
pub fn format_of(path: &Path) -> Option<DatasetFormat> {
    if path.is_dir() {
        return Some(DatasetFormat::ImageFolder);
    }
    let name = path.file_name()?.to_str()?;
    if idx::parse_name(name).is_some() {
        return Some(DatasetFormat::Idx);
    }
    if cifar::is_tar_gz(path) {
        return Some(DatasetFormat::Cifar);
    }
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "tsv" => Some(DatasetFormat::Csv),
        "zip" => Some(DatasetFormat::ImageZip),
        "npz" => Some(DatasetFormat::Npy),
        // Only the inputs of a pair name a dataset; `NAME_y.npy` goes with it.
        "npy" => npy::pair_name(name).map(|_| DatasetFormat::Npy),
        _ => None,
    }
}

/// As [`format_of`], looking inside folders and zips (their directory only) to tell IDX
/// datasets from image folders; `None` also for folders with no image or IDX file in them.
pub fn detect(path: &Path) -> Option<DatasetFormat> {
    match format_of(path)? {
        format @ (DatasetFormat::Csv | DatasetFormat::Npy | DatasetFormat::Cifar) => Some(format),
        _ => detect_images(path),
    }
}

/// What format a folder or `.zip` in the datasets folder holds, or a loose IDX file is.
fn detect_images(path: &Path) -> Option<DatasetFormat> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    if path.is_dir() {
        // A staging cache (CACHEDIR.TAG) is never a dataset, nor is a folder with no image or
        // IDX file anywhere in it (notes, scripts, an unrelated folder).
        if path.join("CACHEDIR.TAG").exists() {
            return None;
        }
        let files = source::folder_files(path).unwrap_or_default();
        if cifar::is_cifar(&files.iter().map(|f| f.rel.clone()).collect::<Vec<_>>()) {
            return Some(DatasetFormat::Cifar);
        }
        let has_idx = files.iter().any(|f| idx::parse_name(base_name(&f.rel)).is_some());
        let has_images = files.iter().any(|f| {
            matches!(layout::file_kind(&f.rel), layout::FileKind::Image | layout::FileKind::UnsupportedImage)
        });
        return match (has_idx, has_images) {
            (true, _) => Some(DatasetFormat::Idx),
            (false, true) => Some(DatasetFormat::ImageFolder),
            (false, false) => None,
        };
    }
    if is_zip(path) {
        let names = zipsafe::zip_names(path).unwrap_or_default();
        if cifar::is_cifar(&names) {
            return Some(DatasetFormat::Cifar);
        }
        let has_idx = names.iter().any(|n| idx::parse_name(base_name(n)).is_some());
        return Some(if has_idx { DatasetFormat::Idx } else { DatasetFormat::ImageZip });
    }
    idx::parse_name(&name).map(|_| DatasetFormat::Idx)
}

/// Loose IDX files grouped into datasets: `(name, source)`, the source being the training images
/// file (see [`idx`] for the naming). Groups missing a partner file are still returned, so the
/// listing shows what is wrong.
pub fn loose_idx(paths: &[PathBuf]) -> Vec<(String, PathBuf)> {
    let named: Vec<(String, PathBuf)> = paths
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| Some((p.file_name()?.to_string_lossy().into_owned(), p.clone())))
        .filter(|(n, _)| idx::parse_name(n).is_some())
        .collect();
    idx::group(&named)
        .into_iter()
        .map(|(base, files)| {
            let name = if base.is_empty() { idx::DEFAULT_NAME.to_string() } else { base.clone() };
            let source = match files {
                Ok(f) => f.train.0,
                // Any file of the group: loading it reports the group's problem.
                Err(_) => named
                    .iter()
                    .find(|(n, _)| idx::parse_name(n).is_some_and(|p| p.base == base))
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default(),
            };
            (name, source)
        })
        .collect()
}

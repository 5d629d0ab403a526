//! CIFAR-10 and CIFAR-100, binary version: records of label byte(s) and 3×32×32 pixels (red,
//! green, blue planes), in `data_batch_1..5.bin` + `test_batch.bin` (CIFAR-10) or `train.bin` +
//! `test.bin` (coarse and fine label bytes, CIFAR-100). Read from the folder the official archive
//! unpacks to, that folder inside a `.zip`, or the `.tar.gz` itself.
use std::io::{BufReader, Read};
use std::path::Path;

use super::{base_name, tar, zipsafe};
use crate::data::error::EntryError;

/// Pixels per image: 3 channels of 32×32.
pub const IMAGE_LEN: usize = 3 * 32 * 32;

/// CIFAR-10's class names, in label order (as in `batches.meta.txt`).
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Which of the two datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// One label byte, 10 classes.
    Cifar10,
    /// A coarse (20 classes) then a fine (100 classes) label byte; the fine one is used.
    Cifar100,
}

impl Variant {
    /// Bytes of one record.
    pub fn record_len(&self) -> usize {
        match self {
            Variant::Cifar10 => 1 + IMAGE_LEN,
            Variant::Cifar100 => 2 + IMAGE_LEN,
        }
    }

    /// How many (fine) classes.
    pub fn classes(&self) -> usize {
        match self {
            Variant::Cifar10 => 10,
            Variant::Cifar100 => 100,
        }
    }
}

/// What a file name is to CIFAR: `Some((variant, is_test))` for its batch files.
pub fn batch_kind(name: &str) -> Option<(Variant, bool)> {
    let base = base_name(name);
    match base {
        "test_batch.bin" => Some((Variant::Cifar10, true)),
        "train.bin" => Some((Variant::Cifar100, false)),
        "test.bin" => Some((Variant::Cifar100, true)),
        _ if base.starts_with("data_batch_") && base.ends_with(".bin") => Some((Variant::Cifar10, false)),
        _ => None,
    }
}

/// Whether a file is a batch or a class-names file of a CIFAR dataset.
pub fn wanted(name: &str) -> bool {
    batch_kind(name).is_some() || matches!(base_name(name), "batches.meta.txt" | "fine_label_names.txt")
}

/// Whether these names hold a CIFAR dataset (a training batch among them).
pub fn is_cifar(names: &[String]) -> bool {
    names.iter().any(|n| matches!(batch_kind(n), Some((_, false))))
}

/// Whether a path is a gzipped tar (`.tar.gz`, `.tgz`).
pub fn is_tar_gz(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// A CIFAR dataset, read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Cifar {
    pub variant: Variant,
    pub classes: Vec<String>,
    /// Training images, `IMAGE_LEN` bytes each (channel-first), and their labels.
    pub train: (Vec<u8>, Vec<u8>),
    /// The test batch, when there is one.
    pub test: Option<(Vec<u8>, Vec<u8>)>,
}

/// The relevant files of the source at `path` (a folder, a `.zip` or a `.tar.gz`), as
/// `(name, bytes)`, at most `limit` bytes in all.
pub fn read_source(path: &Path, limit: u64) -> Result<Vec<(String, Vec<u8>)>, EntryError> {
    let unreadable = |e: std::io::Error| EntryError::general(format!("cannot be read ({e})"));
    if path.is_dir() {
        let mut out = Vec::new();
        let mut total = 0u64;
        for f in super::source::folder_files(path).map_err(unreadable)? {
            if f.rel.ends_with('/') || !wanted(&f.rel) {
                continue;
            }
            total = total.saturating_add(f.size);
            if total > limit {
                return Err(EntryError::at(
                    &f.rel,
                    format!("takes the dataset over {limit} bytes (`max_total_bytes`)"),
                ));
            }
            let bytes = std::fs::read(&f.path)
                .map_err(|e| EntryError::at(&f.rel, format!("cannot be read ({e})")))?;
            out.push((f.rel, bytes));
        }
        return Ok(out);
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    if is_tar_gz(path) {
        let mut gz = flate2::read::GzDecoder::new(BufReader::new(file));
        return tar::read_files(&mut gz, &wanted, limit);
    }
    read_zip(BufReader::new(file), limit)
}

/// The relevant files of a zip.
pub fn read_zip<R: Read + std::io::Seek>(
    reader: R,
    limit: u64,
) -> Result<Vec<(String, Vec<u8>)>, EntryError> {
    let mut archive = zipsafe::open_zip(reader)?;
    let limits = zipsafe::Limits { max_entry_bytes: limit, max_total_bytes: limit };
    let entries = zipsafe::list_entries(&archive, limits)?;
    let mut out = Vec::new();
    let mut used = 0u64;
    for e in entries.iter().filter(|e| !e.is_dir && wanted(&e.name)) {
        let mut bytes = Vec::new();
        zipsafe::read_entry(&mut archive, e.loc, &e.name, limits, limit.saturating_sub(used), &mut bytes)?;
        used += bytes.len() as u64;
        out.push((e.name.clone(), bytes));
    }
    Ok(out)
}

/// Parse the batch files among `files` (in name order: `data_batch_1..5`).
pub fn parse(files: &[(String, Vec<u8>)]) -> Result<Cifar, EntryError> {
    let mut batches: Vec<(&str, &[u8], Variant, bool)> = files
        .iter()
        .filter_map(|(n, b)| batch_kind(n).map(|(v, t)| (n.as_str(), b.as_slice(), v, t)))
        .collect();
    batches.sort_by(|a, b| a.0.cmp(b.0));
    let variant = batches.iter().find(|b| !b.3).map(|b| b.2).ok_or_else(|| {
        EntryError::general(
            "holds no CIFAR training batch (data_batch_1.bin … for CIFAR-10, train.bin for CIFAR-100)".into(),
        )
    })?;
    let mut train = (Vec::new(), Vec::new());
    let mut test: Option<(Vec<u8>, Vec<u8>)> = None;
    for (name, bytes, v, is_test) in batches {
        if v != variant {
            continue; // `test.bin` beside CIFAR-10's batches, say: not of this dataset
        }
        let part = if is_test { test.get_or_insert_with(|| (Vec::new(), Vec::new())) } else { &mut train };
        append_records(name, bytes, variant, part)?;
    }
    let classes = class_names(files, variant);
    Ok(Cifar { variant, classes, train, test })
}

/// Check and append one batch file's records.
fn append_records(
    name: &str,
    bytes: &[u8],
    variant: Variant,
    part: &mut (Vec<u8>, Vec<u8>),
) -> Result<(), EntryError> {
    let len = variant.record_len();
    if bytes.is_empty() || !bytes.len().is_multiple_of(len) {
        return Err(EntryError::at(
            name,
            format!(
                "is {} bytes, not a whole number of {len}-byte CIFAR records (label byte{} and 3×32×32 pixels); \
                 the file is truncated or not the binary version",
                bytes.len(),
                if variant == Variant::Cifar100 { "s" } else { "" }
            ),
        ));
    }
    let labels = len - IMAGE_LEN;
    part.0.reserve(bytes.len() / len * IMAGE_LEN);
    for (i, record) in bytes.chunks_exact(len).enumerate() {
        let label = record[labels - 1];
        if label as usize >= variant.classes() {
            return Err(EntryError::at(
                name,
                format!(
                    "record {i} has label {label}, beyond the {} classes of this dataset",
                    variant.classes()
                ),
            ));
        }
        part.1.push(label);
        part.0.extend_from_slice(&record[labels..]);
    }
    Ok(())
}

/// Class names from `batches.meta.txt` / `fine_label_names.txt` when present and complete.
fn class_names(files: &[(String, Vec<u8>)], variant: Variant) -> Vec<String> {
    let meta = if variant == Variant::Cifar10 { "batches.meta.txt" } else { "fine_label_names.txt" };
    let listed: Vec<String> = files
        .iter()
        .find(|(n, _)| base_name(n) == meta)
        .map(|(_, b)| {
            String::from_utf8_lossy(b)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if listed.len() == variant.classes() {
        return listed;
    }
    match variant {
        Variant::Cifar10 => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
        Variant::Cifar100 => (0..100).map(|i| i.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(labels: &[&[u8]]) -> Vec<u8> {
        labels.iter().flat_map(|l| l.iter().copied().chain(std::iter::repeat_n(9, IMAGE_LEN))).collect()
    }

    #[test]
    fn cifar10_and_100_records() {
        let files = vec![
            ("c/data_batch_2.bin".to_string(), batch(&[&[3]])),
            ("c/data_batch_1.bin".to_string(), batch(&[&[1], &[2]])),
            ("c/test_batch.bin".to_string(), batch(&[&[9]])),
        ];
        let c = parse(&files).expect("must work");
        assert_eq!(
            (c.variant, c.train.1.clone(), c.classes[9].as_str()),
            (Variant::Cifar10, vec![1, 2, 3], "truck")
        );
        assert_eq!(c.test.expect("must work").1, [9]);
        let files = vec![("train.bin".to_string(), batch(&[&[4, 77], &[0, 99]]))];
        let c = parse(&files).expect("must work");
        assert_eq!((c.variant, c.train.1, c.train.0.len()), (Variant::Cifar100, vec![77, 99], 2 * IMAGE_LEN));
    }

    #[test]
    fn refuses_truncated_and_bad_labels() {
        let mut b = batch(&[&[1]]);
        b.pop();
        let err = parse(&[("data_batch_1.bin".to_string(), b)]).expect_err("must fail");
        assert!(
            err.message.contains("3073-byte") && err.entry.as_deref() == Some("data_batch_1.bin"),
            "{err}"
        );
        let err = parse(&[("data_batch_1.bin".to_string(), batch(&[&[10]]))]).expect_err("must fail");
        assert!(err.message.contains("label 10"), "{err}");
        assert!(parse(&[]).expect_err("must fail").message.contains("no CIFAR training batch"));
    }
}

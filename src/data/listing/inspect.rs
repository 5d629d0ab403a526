//! Cheap looks at an image dataset, for listing: a zip's directory or a folder's names give the
//! classes and counts; the first image's header gives the shape; a few images give the preview.
//! IDX files give their headers and labels (one byte per image). No other pixels are read.
use std::fs::File;
use std::io::{BufReader, Read, Seek};

use super::layout::{self, Layout};
use crate::data::error::{DataError, EntryError};
use crate::data::readers::decode::{self, Shape};
use crate::data::readers::idx;
use crate::data::readers::idx_files::{idx_labels, IdxReader};
use crate::data::readers::source::{self, SourceFile};
use crate::data::readers::{base_name, zipsafe};
use crate::data::spec::{ImageSpec, SourceKind, PREVIEW};
use crate::data::types::{DatasetFormat, DatasetSummary, ImageThumb, Preview, Split, Task};

/// What listing learns about an image dataset without decoding all of it (or what the staging
/// cache's manifest recorded when it did).
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub classes: Vec<String>,
    pub shape: Shape,
    /// Images per class, in class order, of each split (training first).
    pub splits: Vec<(Split, Vec<usize>)>,
    /// Things worth telling the user (ignored files, which folder is the validation set).
    pub notes: Vec<String>,
    pub preview: Vec<ImageThumb>,
}

impl Inspection {
    /// As the listing shows it: `staged` says whether the staging cache holds a current copy;
    /// `extra` notes follow the dataset's own.
    pub fn into_summary(self, staged: bool, extra: Vec<String>) -> DatasetSummary {
        let train = self.splits.iter().find(|(s, _)| *s == Split::Train).map(|(_, c)| c.clone());
        let mut notes = self.notes;
        notes.extend(extra);
        DatasetSummary {
            rows: train.as_ref().map(|c| c.iter().sum()).unwrap_or(0),
            features: self.shape.len(),
            sample_shape: self.shape.dims(),
            target: "class".into(),
            task: Task::Classification { classes: self.classes },
            class_counts: train.unwrap_or_default(),
            notes,
            staged: Some(staged),
            preview: Preview::Images(self.preview),
        }
    }
}

/// A cheap look at a dataset: its directory, headers, labels and the preview's images.
pub fn inspect(spec: &ImageSpec<'_>, files: &[SourceFile]) -> Result<Inspection, DataError> {
    let result = match (spec.format, spec.kind()) {
        (DatasetFormat::Idx, SourceKind::Zip) => {
            let file = File::open(spec.source).map_err(|e| spec.unreadable(e))?;
            let archive = zipsafe::open_zip(BufReader::new(file)).map_err(|e| spec.error(e))?;
            // IDX entries hold a whole split, so only the total limit applies to them.
            let total = spec.images.max_total_bytes;
            let limits = zipsafe::Limits { max_entry_bytes: total, max_total_bytes: total };
            zipsafe::list_entries(&archive, limits).map_err(|e| spec.error(e))?;
            let mut reader = IdxReader::Zip(archive);
            idx_summary(spec, &mut reader)
        }
        (DatasetFormat::Idx, _) => idx_summary(spec, &mut IdxReader::<File>::Files(files)),
        (_, SourceKind::Zip) => {
            let file = File::open(spec.source).map_err(|e| spec.unreadable(e))?;
            let mut archive = zipsafe::open_zip(BufReader::new(file)).map_err(|e| spec.error(e))?;
            let limits = spec.limits();
            let entries = zipsafe::list_entries(&archive, limits).map_err(|e| spec.error(e))?;
            let layout =
                layout::build(&entries, spec.config.classes.as_deref()).map_err(|e| spec.error(e))?;
            images_summary(spec, &layout, |item, out| {
                zipsafe::read_entry(&mut archive, item.loc, &item.name, limits, limits.max_total_bytes, out)
            })
        }
        (_, SourceKind::Folder) => {
            let layout = layout::build(&source::folder_entries(files), spec.config.classes.as_deref())
                .map_err(|e| spec.error(e))?;
            let max = spec.images.max_entry_bytes;
            images_summary(spec, &layout, |item, out| source::read_file(&files[item.loc], max, out))
        }
        (_, SourceKind::Loose) => Err(EntryError::general("is not an image dataset".into())),
    };
    result.map_err(|e| spec.error(e))
}

fn images_summary(
    spec: &ImageSpec<'_>,
    layout: &Layout,
    mut read: impl FnMut(&layout::Item, &mut Vec<u8>) -> Result<(), EntryError>,
) -> Result<Inspection, EntryError> {
    let picks = layout.preview_items(PREVIEW);
    let mut bytes = Vec::new();
    let first = &layout.items[0];
    read(first, &mut bytes)?;
    let shape = spec.shape_of(&bytes, &first.name)?;
    let color = spec.color();
    let mut preview = Vec::new();
    let mut pixels = vec![0u8; shape.len()];
    for item in picks.into_iter().map(|i| &layout.items[i]) {
        read(item, &mut bytes)?;
        decode::decode_into(
            &bytes,
            shape,
            color,
            spec.images.resize.is_some(),
            spec.images.max_entry_bytes,
            &mut pixels,
        )
        .map_err(|why| EntryError::at(&item.name, why.to_string()))?;
        preview.push(decode::thumbnail(&pixels, shape, &layout.classes[item.class]));
    }
    let mut splits = vec![(Split::Train, layout.class_counts(Split::Train))];
    if layout.count(Split::Test) > 0 {
        splits.push((Split::Test, layout.class_counts(Split::Test)));
    }
    Ok(Inspection { classes: layout.classes.clone(), shape, splits, notes: layout.notes.clone(), preview })
}

fn idx_summary<R: Read + Seek>(
    spec: &ImageSpec<'_>,
    reader: &mut IdxReader<'_, R>,
) -> Result<Inspection, EntryError> {
    let files = reader.locate()?;
    let limit = spec.images.max_total_bytes;
    let train_labels = idx_labels(reader, &files.train.1, limit)?;
    let (name, loc) = &files.train.0;
    let mut stream = reader.stream(*loc, name)?;
    let header = idx::read_images_header(&mut stream, name, limit)?;
    idx::check_counts(header.count, train_labels.len(), name, &files.train.1 .0)?;
    let first = header.count.min(PREVIEW);
    let mut first_images = vec![0u8; first * header.image_len()];
    stream
        .read_exact(&mut first_images)
        .map_err(|e| EntryError::at(name, format!("is truncated or damaged ({e})")))?;
    drop(stream);

    let mut notes = Vec::new();
    let test_labels = match &files.test {
        Some(((img_name, img_loc), labels)) => {
            let test_labels = idx_labels(reader, labels, limit)?;
            let mut stream = reader.stream(*img_loc, img_name)?;
            let test_header = idx::read_images_header(&mut stream, img_name, limit)?;
            idx::check_counts(test_header.count, test_labels.len(), img_name, &labels.0)?;
            if (test_header.rows, test_header.columns) != (header.rows, header.columns) {
                return Err(idx::size_mismatch(img_name, test_header, (header.columns, header.rows)));
            }
            notes.push(format!("{} is the validation set", base_name(img_name)));
            Some(test_labels)
        }
        None => None,
    };
    let (classes, index) = idx::label_classes(
        &train_labels,
        test_labels.as_deref(),
        spec.config.classes.as_deref(),
        &files.train.1 .0,
    )?;
    let shape = spec.idx_shape(header);
    let counts = |labels: &[u8]| {
        let mut c = vec![0usize; classes.len()];
        for &l in labels {
            if let Ok(i) = usize::try_from(index[l as usize]) {
                c[i] += 1;
            }
        }
        c
    };
    let mut splits = vec![(Split::Train, counts(&train_labels))];
    if let Some(t) = &test_labels {
        splits.push((Split::Test, counts(t)));
    }
    let mut preview = Vec::new();
    let mut out = vec![0u8; shape.len()];
    for (i, &label) in train_labels.iter().take(first).enumerate() {
        let Ok(class) = usize::try_from(index[label as usize]) else { continue };
        let img = &first_images[i * header.image_len()..(i + 1) * header.image_len()];
        decode::from_gray(img, header.columns, header.rows, shape, &mut out);
        preview.push(decode::thumbnail(&out, shape, &classes[class]));
    }
    Ok(Inspection { classes, shape, splits, notes, preview })
}

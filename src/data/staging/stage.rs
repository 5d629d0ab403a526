//! Decoding a whole dataset for the staging cache, in one sequential read of its source; the
//! content hash for the cache key is taken during that same read.
use std::io::Read;
use std::path::Path;

use super::pipeline::{decode_all, DecodeSpec, Job};
use crate::data::error::{EntryError, ReadError};
use crate::data::listing::layout::{self, Layout};
use crate::data::readers::base_name;
use crate::data::readers::decode::{self, Shape};
use crate::data::readers::idx;
use crate::data::readers::idx_files::{idx_labels, IdxReader};
use crate::data::readers::source::{self, ContentHash, SharedBytes, SourceFile};
use crate::data::readers::zipsafe::{self, Limits};
use crate::data::spec::{ImageSpec, SourceKind, PREVIEW};
use crate::data::types::{DatasetFormat, ImageThumb, Split, StagePhase, StageProgress};

/// One split, decoded: `count × shape.len()` pixel bytes and a class index per image.
pub struct Part {
    pub split: Split,
    pub pixels: Vec<u8>,
    pub labels: Vec<i64>,
    pub class_counts: Vec<usize>,
}

/// A whole dataset, decoded.
pub struct Decoded {
    pub classes: Vec<String>,
    pub shape: Shape,
    pub splits: Vec<Part>,
    pub notes: Vec<String>,
    pub preview: Vec<ImageThumb>,
    /// The content hash of the source as read (see `source::ContentHash`).
    pub content_hash: String,
}

/// Decode every image of `files` (the source's files, as fingerprinted). A zip larger than
/// memory allows is copied into `spill_dir`, the entry's staging folder, and read from there.
pub fn decode(
    spec: &ImageSpec<'_>,
    files: &[SourceFile],
    spill_dir: &Path,
    progress: &mut StageProgress<'_>,
) -> Result<Decoded, ReadError> {
    match (spec.format, spec.kind()) {
        (DatasetFormat::Idx, SourceKind::Zip) => {
            let (archive, hash) = read_zip(spec, files, spill_dir, progress)?;
            // IDX entries hold a whole split, so only the total limit applies to them.
            let total = spec.images.max_total_bytes;
            zipsafe::list_entries(&archive, Limits { max_entry_bytes: total, max_total_bytes: total })?;
            idx_decode(spec, &mut IdxReader::Zip(archive), hash, progress)
        }
        (DatasetFormat::Idx, _) => {
            // Read each file once, hashing it; keep the IDX files' bytes to parse. The reading is
            // reported as one phase over all the files' bytes.
            let mut hash = ContentHash::default();
            let mut kept = Vec::new();
            let total: u64 = files.iter().map(|f| f.size).sum();
            let mut before = 0u64;
            for f in files {
                if f.rel.ends_with('/') {
                    hash.add(&f.rel, 0, [0; 32]);
                    continue;
                }
                let mut whole = |phase, done, _| progress(phase, before + done, total.max(before + done));
                let bytes = source::read_reporting(&f.path, f.size, &mut whole)?;
                before += bytes.len() as u64;
                hash.add(&f.rel, bytes.len() as u64, source::digest(&bytes));
                if idx::parse_name(base_name(&f.rel)).is_some() {
                    kept.push((f.rel.clone(), bytes));
                }
            }
            idx_decode(spec, &mut IdxReader::<std::fs::File>::Memory(kept), hash.finish(), progress)
        }
        (_, SourceKind::Zip) => images_zip(spec, files, spill_dir, progress),
        (_, SourceKind::Folder) => images_folder(spec, files, progress),
        (_, SourceKind::Loose) => Err(EntryError::general("is not an image dataset".into()).into()),
    }
}

fn decode_spec(spec: &ImageSpec<'_>, shape: Shape) -> DecodeSpec {
    DecodeSpec {
        shape,
        color: spec.color(),
        resize: spec.images.resize.is_some(),
        max_bytes: spec.images.max_entry_bytes,
    }
}

/// Read the zip once (hashing it) and open its directory.
fn read_zip(
    spec: &ImageSpec<'_>,
    files: &[SourceFile],
    spill_dir: &Path,
    progress: &mut StageProgress<'_>,
) -> Result<(zip::ZipArchive<SharedBytes>, String), ReadError> {
    let (bytes, digest, len) =
        SharedBytes::read_once(spec.source, spill_dir, progress).map_err(|e| match e {
            ReadError::Io(e) => EntryError::general(format!("cannot be read ({e})")).into(),
            other => other,
        })?;
    let mut hash = ContentHash::default();
    hash.add(files.first().map(|f| f.rel.as_str()).unwrap_or_default(), len, digest);
    Ok((zipsafe::open_zip(bytes)?, hash.finish()))
}

fn images_zip(
    spec: &ImageSpec<'_>,
    files: &[SourceFile],
    spill_dir: &Path,
    progress: &mut StageProgress<'_>,
) -> Result<Decoded, ReadError> {
    let (mut archive, hash) = read_zip(spec, files, spill_dir, progress)?;
    let limits = spec.limits();
    let entries = zipsafe::list_entries(&archive, limits)?;
    let layout = layout::build(&entries, spec.config.classes.as_deref())?;
    let mut first = Vec::new();
    let item = &layout.items[0];
    zipsafe::read_entry(&mut archive, item.loc, &item.name, limits, limits.max_total_bytes, &mut first)?;
    let shape = spec.shape_of(&first, &item.name)?;
    // Read in the order the entries lie in the file: one pass from start to end.
    let mut order: Vec<(u64, usize)> = layout
        .items
        .iter()
        .enumerate()
        .map(|(slot, item)| {
            (archive.by_index_data(item.loc).map(|e| e.header_start()).unwrap_or(u64::MAX), slot)
        })
        .collect();
    order.sort_unstable();
    let items = &layout.items;
    let (pixels, ()) = decode_all(
        items.len(),
        decode_spec(spec, shape),
        move |send| {
            let mut used: u64 = 0;
            let mut buf = Vec::new();
            for (_, slot) in order {
                let item = &items[slot];
                let budget = limits.max_total_bytes.saturating_sub(used);
                zipsafe::read_entry(&mut archive, item.loc, &item.name, limits, budget, &mut buf)?;
                used += buf.len() as u64;
                if !send(Job { slot, name: item.name.clone(), bytes: std::mem::take(&mut buf) }) {
                    break;
                }
            }
            Ok(())
        },
        progress,
    )?;
    Ok(from_layout(&layout, shape, pixels, hash))
}

fn images_folder(
    spec: &ImageSpec<'_>,
    files: &[SourceFile],
    progress: &mut StageProgress<'_>,
) -> Result<Decoded, ReadError> {
    let layout = layout::build(&source::folder_entries(files), spec.config.classes.as_deref())?;
    let max = spec.images.max_entry_bytes;
    let mut first = Vec::new();
    let item = &layout.items[0];
    source::read_file(&files[item.loc], max, &mut first)?;
    let shape = spec.shape_of(&first, &item.name)?;
    let mut slot_of: Vec<Option<usize>> = vec![None; files.len()];
    for (slot, item) in layout.items.iter().enumerate() {
        slot_of[item.loc] = Some(slot);
    }
    let (pixels, hash) = decode_all(
        layout.items.len(),
        decode_spec(spec, shape),
        move |send| {
            // Every file, in name order: images go to the decoders, and all are hashed.
            let mut hash = ContentHash::default();
            let mut buf = Vec::new();
            for (loc, f) in files.iter().enumerate() {
                if f.rel.ends_with('/') {
                    hash.add(&f.rel, 0, [0; 32]);
                    continue;
                }
                match slot_of[loc] {
                    Some(slot) => {
                        source::read_file(f, max, &mut buf)?;
                        hash.add(&f.rel, buf.len() as u64, source::digest(&buf));
                        if !send(Job { slot, name: f.rel.clone(), bytes: std::mem::take(&mut buf) }) {
                            break;
                        }
                    }
                    None => {
                        let mut reader = source::HashingReader::new(
                            std::fs::File::open(&f.path)
                                .map_err(|e| EntryError::at(&f.rel, format!("cannot be read ({e})")))?,
                        );
                        std::io::copy(&mut reader, &mut std::io::sink())
                            .map_err(|e| EntryError::at(&f.rel, format!("cannot be read ({e})")))?;
                        let len = reader.len;
                        hash.add(&f.rel, len, reader.digest());
                    }
                }
            }
            Ok(hash.finish())
        },
        progress,
    )?;
    Ok(from_layout(&layout, shape, pixels, hash))
}

/// Split the decoded pixels (in layout order: training images first) into parts.
fn from_layout(layout: &Layout, shape: Shape, mut pixels: Vec<u8>, content_hash: String) -> Decoded {
    let preview = layout
        .preview_items(PREVIEW)
        .into_iter()
        .map(|i| {
            let item = &layout.items[i];
            decode::thumbnail(
                &pixels[i * shape.len()..(i + 1) * shape.len()],
                shape,
                &layout.classes[item.class],
            )
        })
        .collect();
    let n_train = layout.count(Split::Train);
    let test_pixels = pixels.split_off(n_train * shape.len());
    let labels = |split: Split| -> Vec<i64> {
        layout.items.iter().filter(|i| i.split == split).map(|i| i.class as i64).collect()
    };
    let mut splits = vec![Part {
        split: Split::Train,
        pixels,
        labels: labels(Split::Train),
        class_counts: layout.class_counts(Split::Train),
    }];
    if n_train < layout.items.len() {
        splits.push(Part {
            split: Split::Test,
            pixels: test_pixels,
            labels: labels(Split::Test),
            class_counts: layout.class_counts(Split::Test),
        });
    }
    Decoded {
        classes: layout.classes.clone(),
        shape,
        splits,
        notes: layout.notes.clone(),
        preview,
        content_hash,
    }
}

fn idx_decode<R: Read + std::io::Seek>(
    spec: &ImageSpec<'_>,
    reader: &mut IdxReader<'_, R>,
    content_hash: String,
    progress: &mut StageProgress<'_>,
) -> Result<Decoded, ReadError> {
    let files = reader.locate()?;
    let limit = spec.images.max_total_bytes;
    let train_labels = idx_labels(reader, &files.train.1, limit)?;
    let test_labels = match &files.test {
        Some((_, labels)) => Some(idx_labels(reader, labels, limit)?),
        None => None,
    };
    let (classes, index) = idx::label_classes(
        &train_labels,
        test_labels.as_deref(),
        spec.config.classes.as_deref(),
        &files.train.1 .0,
    )?;
    let total = (train_labels.len() + test_labels.as_ref().map_or(0, Vec::len)) as u64;
    if !progress(StagePhase::Decoding, 0, total) {
        return Err(ReadError::Stopped);
    }
    let mut done_before = 0u64;
    let mut shape: Option<Shape> = None;
    let mut splits = Vec::new();
    let mut notes = Vec::new();
    let mut parts = vec![(Split::Train, &files.train, train_labels)];
    if let (Some(pair), Some(labels)) = (&files.test, test_labels) {
        notes.push(format!("{} is the validation set", base_name(&pair.0 .0)));
        parts.push((Split::Test, pair, labels));
    }
    for (split, ((name, loc), (labels_name, _)), raw_labels) in parts {
        let mut stream = reader.stream(*loc, name)?;
        let header = idx::read_images_header(&mut stream, name, limit)?;
        idx::check_counts(header.count, raw_labels.len(), name, labels_name)?;
        let target = idx_shape_checked(spec, header, shape, name)?;
        shape = Some(target);
        let mut report = |n: usize| progress(StagePhase::Decoding, done_before + n as u64, total);
        let raw = idx::read_images(&mut stream, header, name, &mut report)?;
        done_before += header.count as u64;
        let keep: Vec<usize> = (0..header.count).filter(|&i| index[raw_labels[i] as usize] >= 0).collect();
        let labels: Vec<i64> = keep.iter().map(|&i| index[raw_labels[i] as usize]).collect();
        let same = keep.len() == header.count && target.len() == header.image_len();
        let pixels = if same {
            raw
        } else {
            let mut out = vec![0u8; keep.len() * target.len()];
            for (o, &i) in keep.iter().enumerate() {
                let img = &raw[i * header.image_len()..(i + 1) * header.image_len()];
                decode::from_gray(
                    img,
                    header.columns,
                    header.rows,
                    target,
                    &mut out[o * target.len()..(o + 1) * target.len()],
                );
            }
            out
        };
        let mut class_counts = vec![0usize; classes.len()];
        for &l in &labels {
            class_counts[l as usize] += 1;
        }
        splits.push(Part { split, pixels, labels, class_counts });
    }
    let shape = shape.ok_or_else(|| EntryError::general("holds no images".into()))?;
    let train = &splits[0];
    let preview = train
        .labels
        .iter()
        .take(PREVIEW)
        .enumerate()
        .map(|(i, &l)| {
            decode::thumbnail(
                &train.pixels[i * shape.len()..(i + 1) * shape.len()],
                shape,
                &classes[l as usize],
            )
        })
        .collect();
    Ok(Decoded { classes, shape, splits, notes, preview, content_hash })
}

/// The target shape for an IDX split; the validation images must match the training ones.
fn idx_shape_checked(
    spec: &ImageSpec<'_>,
    header: idx::ImagesHeader,
    train: Option<Shape>,
    name: &str,
) -> Result<Shape, EntryError> {
    let target = spec.idx_shape(header);
    match train {
        Some(t) if t != target => Err(idx::size_mismatch(name, header, (t.width, t.height))),
        _ => Ok(target),
    }
}

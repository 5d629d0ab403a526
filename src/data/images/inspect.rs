//! Cheap looks at an image dataset, for listing: a zip's directory or a folder's names give the
//! classes and counts; the first image's header gives the shape; a few images give the preview.
//! IDX files give their headers and labels (one byte per image). No other pixels are read.
use std::fs::File;
use std::io::{BufReader, Read, Seek};

use zip::ZipArchive;

use super::cache::{DecodeOptions, Manifest, SplitFile};
use super::decode::{self, ColorMode, Shape};
use super::idx::{self, IdxFiles, ImagesHeader};
use super::layout::{self, Layout, RawEntry};
use super::source::{Fingerprint, SourceFile};
use super::{base_name, EntryError, ImageSpec, SourceKind, Split};
use crate::data::catalog::DatasetFormat;
use crate::data::{DataError, ImageThumb};

/// How many images the preview shows.
pub const PREVIEW: usize = 8;

/// The entry names in a zip's directory (for telling IDX zips from image zips).
pub fn zip_names(path: &std::path::Path) -> std::io::Result<Vec<String>> {
    let archive = ZipArchive::new(BufReader::new(File::open(path)?)).map_err(std::io::Error::other)?;
    Ok(archive.file_names_raw().map(|n| String::from_utf8_lossy(n).into_owned()).collect())
}

/// Open a zip's directory; a damaged or truncated archive is reported as such.
pub fn open_zip<R: Read + Seek>(reader: R) -> Result<ZipArchive<R>, EntryError> {
    ZipArchive::new(reader).map_err(|e| {
        EntryError::general(format!(
            "is not a readable zip archive ({e}); it is damaged or truncated. Re-create it, or copy it again"
        ))
    })
}

/// A folder's files as layout entries; `loc` is the index in `files`.
pub fn folder_entries(files: &[SourceFile]) -> Vec<RawEntry> {
    files
        .iter()
        .enumerate()
        .map(|(loc, f)| RawEntry { name: f.rel.clone(), size: f.size, is_dir: f.rel.ends_with('/'), loc })
        .collect()
}

/// The dataset's sample shape from its first image's bytes.
pub fn shape_of(bytes: &[u8], name: &str, spec: &ImageSpec<'_>) -> Result<Shape, EntryError> {
    let header = decode::probe(bytes).map_err(|why| EntryError::at(name, why))?;
    Ok(decode::target_shape(header, ColorMode::parse(&spec.images.color), spec.images.resize))
}

/// The sample shape of IDX images.
pub fn idx_shape(header: ImagesHeader, spec: &ImageSpec<'_>) -> Shape {
    let channels = if ColorMode::parse(&spec.images.color) == ColorMode::Rgb { 3 } else { 1 };
    let (width, height) = match spec.images.resize {
        Some([w, h]) => (w, h),
        None => (header.columns, header.rows),
    };
    Shape { channels, height, width }
}

/// A manifest without files: what listing shows for a dataset that is not staged.
pub fn summary_manifest(
    spec: &ImageSpec<'_>,
    classes: Vec<String>,
    shape: Shape,
    splits: Vec<(Split, Vec<usize>)>,
    notes: Vec<String>,
    preview: &[ImageThumb],
) -> Manifest {
    Manifest {
        format: super::cache::FORMAT_VERSION,
        dataset: spec.name.to_string(),
        source: spec.source.to_path_buf(),
        fingerprint: Fingerprint::default(),
        content_hash: String::new(),
        options: DecodeOptions {
            color: ColorMode::parse(&spec.images.color),
            resize: spec.images.resize,
            classes: spec.config.classes.clone(),
        },
        classes,
        shape,
        splits: splits
            .into_iter()
            .map(|(split, counts)| SplitFile {
                split,
                file: String::new(),
                bytes: 0,
                count: counts.iter().sum(),
                class_counts: counts,
            })
            .collect(),
        notes,
        preview: preview.iter().map(Into::into).collect(),
        staged_at: String::new(),
        seconds: 0.0,
    }
}

/// The summary of a dataset that is not staged, as a manifest without files.
pub fn inspect(spec: &ImageSpec<'_>, files: &[SourceFile]) -> Result<Manifest, DataError> {
    let result = match (spec.format, spec.kind()) {
        (DatasetFormat::Idx, SourceKind::Zip) => {
            let file = File::open(spec.source).map_err(|e| spec.unreadable(e))?;
            let archive = open_zip(BufReader::new(file)).map_err(|e| spec.error(e))?;
            // IDX entries hold a whole split, so only the total limit applies to them.
            let limits = super::zipsafe::Limits {
                max_entry_bytes: spec.images.max_total_bytes,
                max_total_bytes: spec.images.max_total_bytes,
            };
            super::zipsafe::list_entries(&archive, limits).map_err(|e| spec.error(e))?;
            let mut reader = IdxReader::Zip(archive);
            idx_summary(spec, &mut reader)
        }
        (DatasetFormat::Idx, _) => idx_summary(spec, &mut IdxReader::<File>::Files(files)),
        (_, SourceKind::Zip) => {
            let file = File::open(spec.source).map_err(|e| spec.unreadable(e))?;
            let mut archive = open_zip(BufReader::new(file)).map_err(|e| spec.error(e))?;
            let limits = spec.limits();
            let entries = super::zipsafe::list_entries(&archive, limits).map_err(|e| spec.error(e))?;
            let layout =
                layout::build(&entries, spec.config.classes.as_deref()).map_err(|e| spec.error(e))?;
            images_summary(spec, &layout, |item, out| {
                super::zipsafe::read_entry(
                    &mut archive,
                    item.loc,
                    &item.name,
                    limits,
                    limits.max_total_bytes,
                    out,
                )
            })
        }
        (_, SourceKind::Folder) => {
            let layout = layout::build(&folder_entries(files), spec.config.classes.as_deref())
                .map_err(|e| spec.error(e))?;
            images_summary(spec, &layout, |item, out| read_file(&files[item.loc], spec, out))
        }
        (_, SourceKind::Loose) => Err(EntryError::general("is not an image dataset".into())),
    };
    result.map_err(|e| spec.error(e))
}

/// Read one file of a folder source whole, refusing one over `max_entry_bytes`.
pub fn read_file(file: &SourceFile, spec: &ImageSpec<'_>, out: &mut Vec<u8>) -> Result<(), EntryError> {
    if file.size > spec.images.max_entry_bytes {
        return Err(EntryError::at(
            &file.rel,
            format!(
                "is {} bytes, over the limit of {} per image (`max_entry_bytes` under [images] in config.toml)",
                file.size, spec.images.max_entry_bytes
            ),
        ));
    }
    out.clear();
    File::open(&file.path)
        .and_then(|f| f.take(spec.images.max_entry_bytes).read_to_end(out))
        .map(|_| ())
        .map_err(|e| EntryError::at(&file.rel, format!("cannot be read ({e})")))
}

fn images_summary(
    spec: &ImageSpec<'_>,
    layout: &Layout,
    mut read: impl FnMut(&layout::Item, &mut Vec<u8>) -> Result<(), EntryError>,
) -> Result<Manifest, EntryError> {
    let picks = layout.preview_items(PREVIEW);
    let mut bytes = Vec::new();
    let first = &layout.items[0];
    read(first, &mut bytes)?;
    let shape = shape_of(&bytes, &first.name, spec)?;
    let color = ColorMode::parse(&spec.images.color);
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
        .map_err(|why| EntryError::at(&item.name, why))?;
        preview.push(decode::thumbnail(&pixels, shape, &layout.classes[item.class]));
    }
    let mut splits = vec![(Split::Train, layout.class_counts(Split::Train))];
    if layout.count(Split::Test) > 0 {
        splits.push((Split::Test, layout.class_counts(Split::Test)));
    }
    Ok(summary_manifest(spec, layout.classes.clone(), shape, splits, layout.notes.clone(), &preview))
}

/// Where IDX files are read from: a folder's or a loose group's files, a zip, or files already
/// read into memory (`(name, bytes)`).
pub enum IdxReader<'a, R: Read + Seek> {
    Files(&'a [SourceFile]),
    Zip(ZipArchive<R>),
    Memory(Vec<(String, Vec<u8>)>),
}

impl<R: Read + Seek> IdxReader<'_, R> {
    /// `(name, loc)` of every file.
    pub fn names(&self) -> Vec<(String, usize)> {
        match self {
            IdxReader::Files(files) => files.iter().enumerate().map(|(i, f)| (f.rel.clone(), i)).collect(),
            IdxReader::Zip(archive) => archive
                .file_names_raw()
                .enumerate()
                .map(|(i, n)| (String::from_utf8_lossy(n).into_owned(), i))
                .collect(),
            IdxReader::Memory(files) => files.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect(),
        }
    }

    /// The IDX files of the one dataset here, as `(name, loc)`.
    pub fn locate(&self) -> Result<IdxFiles<(String, usize)>, EntryError> {
        let named: Vec<(String, (String, usize))> =
            self.names().into_iter().map(|(rel, loc)| (base_name(&rel).to_string(), (rel, loc))).collect();
        let mut groups = idx::group(&named);
        match groups.len() {
            0 => Err(EntryError::general(
                "holds no IDX files (`*-images-idx3-ubyte[.gz]` with `*-labels-idx1-ubyte[.gz]`)".into(),
            )),
            1 => groups
                .pop_first()
                .map(|(_, g)| g)
                .unwrap_or_else(|| Err(EntryError::general("no IDX files".into()))),
            _ => {
                let names: Vec<String> = groups
                    .keys()
                    .map(|k| if k.is_empty() { "(unnamed)".to_string() } else { k.clone() })
                    .collect();
                Err(EntryError::general(format!(
                    "holds the IDX files of several datasets ({}); keep one dataset per zip or folder",
                    names.join(", ")
                )))
            }
        }
    }

    /// The unpacked bytes of one file, gunzipped when its name ends in `.gz`.
    pub fn stream(&mut self, loc: usize, name: &str) -> Result<Box<dyn Read + '_>, EntryError> {
        let raw: Box<dyn Read + '_> = match self {
            IdxReader::Files(files) => Box::new(BufReader::with_capacity(
                1 << 20,
                File::open(&files[loc].path)
                    .map_err(|e| EntryError::at(name, format!("cannot be read ({e})")))?,
            )),
            IdxReader::Zip(archive) => Box::new(archive.by_index(loc).map_err(|e| {
                EntryError::at(name, format!("cannot be unpacked ({e}); the archive is damaged"))
            })?),
            IdxReader::Memory(files) => Box::new(files[loc].1.as_slice()),
        };
        Ok(idx::open(name, raw))
    }
}

/// Read a labels file whole.
pub fn idx_labels<R: Read + Seek>(
    reader: &mut IdxReader<'_, R>,
    (name, loc): &(String, usize),
    limit: u64,
) -> Result<Vec<u8>, EntryError> {
    let mut stream = reader.stream(*loc, name)?;
    idx::read_labels(&mut stream, name, limit)
}

fn idx_summary<R: Read + Seek>(
    spec: &ImageSpec<'_>,
    reader: &mut IdxReader<'_, R>,
) -> Result<Manifest, EntryError> {
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
                return Err(EntryError::at(
                    img_name,
                    format!(
                        "holds {}×{} images, but the training images are {}×{}",
                        test_header.columns, test_header.rows, header.columns, header.rows
                    ),
                ));
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
    let shape = idx_shape(header, spec);
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
    Ok(summary_manifest(spec, classes, shape, splits, notes, &preview))
}

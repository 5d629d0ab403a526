//! One image dataset to read, and how: the catalog entry's parts with the `[images]` settings,
//! how its source is stored, the files it is made of, and the shape its samples get. Shared by
//! the listing and the staging; it turns the readers' [`EntryError`]s into the user's
//! [`DataError`]s, named by path.
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{DataError, DataErrorKind, EntryError};
use super::readers::decode::{self, ColorMode, Shape};
use super::readers::idx::ImagesHeader;
use super::readers::source::{self, SourceFile};
use super::readers::zipsafe;
use super::types::DatasetFormat;
use crate::config::{DatasetConfig, ImagesConfig};

/// How many images the preview shows.
pub const PREVIEW: usize = 8;

/// How a source is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A folder in the datasets folder.
    Folder,
    /// A `.zip` file.
    Zip,
    /// Loose IDX files at the top of the datasets folder (the source names the training images).
    Loose,
}

impl SourceKind {
    /// How the source at `path` is stored.
    pub fn of(path: &Path) -> SourceKind {
        if path.is_dir() {
            SourceKind::Folder
        } else if is_zip(path) {
            SourceKind::Zip
        } else {
            SourceKind::Loose
        }
    }
}

/// Whether the path names a `.zip` file (by its extension).
pub fn is_zip(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// The files the source at `path` is made of, sorted by name: a folder's files, the zip, or the
/// loose IDX group's files. Their fingerprint is the cheap half of the cache key.
pub fn source_files(path: &Path) -> std::io::Result<Vec<SourceFile>> {
    match SourceKind::of(path) {
        SourceKind::Folder => source::folder_files(path),
        SourceKind::Zip => source::single_file(path).map(|f| vec![f]),
        SourceKind::Loose => source::loose_group_files(path),
    }
}

/// The decoding choices a staged copy reflects (part of its cache entry's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeOptions {
    pub color: ColorMode,
    pub resize: Option<[u32; 2]>,
    /// The `classes = [..]` filter from config.toml.
    pub classes: Option<Vec<String>>,
}

/// One image dataset to read: the catalog entry's parts and the `[images]` settings.
#[derive(Debug, Clone, Copy)]
pub struct ImageSpec<'a> {
    pub name: &'a str,
    pub source: &'a Path,
    pub format: DatasetFormat,
    pub config: &'a DatasetConfig,
    pub images: &'a ImagesConfig,
}

impl ImageSpec<'_> {
    /// How the source is stored.
    pub fn kind(&self) -> SourceKind {
        SourceKind::of(self.source)
    }

    /// The decoding choices from the settings.
    pub fn options(&self) -> DecodeOptions {
        DecodeOptions {
            color: self.color(),
            resize: self.images.resize,
            classes: self.config.classes.clone(),
        }
    }

    /// `[images] color`.
    pub fn color(&self) -> ColorMode {
        ColorMode::parse(&self.images.color)
    }

    /// The `[images]` limits on unpacked bytes.
    pub fn limits(&self) -> zipsafe::Limits {
        zipsafe::Limits {
            max_entry_bytes: self.images.max_entry_bytes,
            max_total_bytes: self.images.max_total_bytes,
        }
    }

    /// The user-facing error: a zip's entries are named after the zip, a folder's files by path.
    pub fn error(&self, e: EntryError) -> DataError {
        let source = self.source;
        match (e.entry, self.kind()) {
            (Some(entry), SourceKind::Zip) => {
                DataError::new(source, DataErrorKind::Image(format!("entry {entry}: {}", e.message)))
            }
            (Some(entry), SourceKind::Folder) => {
                DataError::new(source.join(entry), DataErrorKind::Image(e.message))
            }
            (Some(entry), SourceKind::Loose) => {
                let dir = source.parent().unwrap_or(Path::new("."));
                DataError::new(dir.join(entry), DataErrorKind::Image(e.message))
            }
            (None, _) => DataError::new(source, DataErrorKind::Image(e.message)),
        }
    }

    /// The source can't be read.
    pub fn unreadable(&self, e: std::io::Error) -> DataError {
        DataError::new(self.source, DataErrorKind::Unreadable(e.to_string()))
    }

    /// The files the source is made of, for the cache key.
    pub fn files(&self) -> Result<Vec<SourceFile>, DataError> {
        source_files(self.source).map_err(|e| self.unreadable(e))
    }

    /// The dataset's sample shape from its first image's bytes.
    /// Both the image as stored and the shape it becomes must fit `max_entry_bytes` once decoded,
    /// checked before any buffer is sized from them (a header can declare any size).
    pub fn shape_of(&self, bytes: &[u8], name: &str) -> Result<Shape, EntryError> {
        let header = decode::probe(bytes).map_err(|why| EntryError::at(name, why.to_string()))?;
        let stored =
            Shape { channels: if header.color { 3 } else { 1 }, height: header.height, width: header.width };
        let shape = decode::target_shape(header, self.color(), self.images.resize);
        let limit = self.images.max_entry_bytes;
        for (what, s) in [("is", stored), ("becomes (with `resize` under [images])", shape)] {
            let bytes = s.bytes();
            if bytes.is_none_or(|b| b > limit) {
                let size = bytes.map_or_else(|| "more than 2^64".to_string(), |b| b.to_string());
                return Err(EntryError::at(
                    name,
                    format!(
                        "{what} {}×{} pixels ({size} bytes once decoded), over the limit of {limit} bytes per \
                         image (`max_entry_bytes` under [images] in config.toml); shrink the images, or raise the \
                         limit if they really are that large",
                        s.width, s.height
                    ),
                ));
            }
        }
        Ok(shape)
    }

    /// The sample shape of IDX images.
    pub fn idx_shape(&self, header: ImagesHeader) -> Shape {
        let channels = if self.color() == ColorMode::Rgb { 3 } else { 1 };
        let (width, height) = match self.images.resize {
            Some([w, h]) => (w, h),
            None => (header.columns, header.rows),
        };
        Shape { channels, height, width }
    }
}

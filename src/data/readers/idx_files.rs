//! Reading IDX files from wherever a dataset keeps them: a folder's (or a loose group's) files, a
//! zip, or files already read into memory. Finds the one dataset's files among them.
use std::fs::File;
use std::io::{BufReader, Read, Seek};

use zip::ZipArchive;

use super::base_name;
use super::idx::{self, IdxFiles};
use super::source::SourceFile;
use crate::data::error::EntryError;

/// Where IDX files are read from: a folder's or a loose group's files, a zip, or files already
/// read into memory (`(name, bytes)`).
pub enum IdxReader<'a, R: Read + Seek> {
    /// The files of a folder, or of a loose group; a file's loc is its index here.
    Files(&'a [SourceFile]),
    /// A zip's entries; a file's loc is its index in the archive.
    Zip(ZipArchive<R>),
    /// Files already read whole, as `(name, bytes)`.
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

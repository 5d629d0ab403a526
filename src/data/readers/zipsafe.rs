//! Reading zip archives without trusting them: entry names that escape (zip-slip), entries that
//! unpack to far more than they should (zip bombs), links, encryption and damage are refused.
//!
//! Entries are never unpacked to disk: they are read into memory and decoded there. The name
//! checks still refuse a zip-slip archive outright, so a hostile archive is reported, not
//! half-used.
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use zip::ZipArchive;

use super::RawEntry;
use crate::data::error::EntryError;

/// The `[images]` limits on unpacked bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes one entry may unpack to.
    pub max_entry_bytes: u64,
    /// Most bytes all entries together may unpack to.
    pub max_total_bytes: u64,
}

/// The entry names in a zip's directory (for telling IDX zips from image zips).
pub fn zip_names(path: &Path) -> std::io::Result<Vec<String>> {
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

/// Refuse names that are absolute, carry a drive letter, or climb out with `..`.
pub fn check_name(name: &str) -> Result<(), EntryError> {
    let unified = name.replace('\\', "/");
    let escapes = unified.starts_with('/')
        || unified.split('/').any(|c| c == "..")
        || unified.as_bytes().get(1) == Some(&b':')
        || name.contains('\0');
    if escapes {
        return Err(EntryError::at(
            name,
            "has an absolute path or `..` in its name, which would place it outside the archive's folder \
             (a zip-slip archive); the archive is refused. Re-create it from the dataset's folder"
                .to_string(),
        ));
    }
    Ok(())
}

/// The archive's directory, checked: names, links, encryption and declared sizes.
/// Costs no decompression; for 60,000 entries it is a few milliseconds.
pub fn list_entries<R: Read + Seek>(
    archive: &ZipArchive<R>,
    limits: Limits,
) -> Result<Vec<RawEntry>, EntryError> {
    if archive.has_duplicate_names() {
        return Err(EntryError::general(
            "lists the same entry name twice; the archive is ambiguous and is refused. Re-create it"
                .to_string(),
        ));
    }
    let mut entries = Vec::with_capacity(archive.len());
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_data(index)
            .map_err(|e| EntryError::general(format!("has a damaged directory entry {index}: {e}")))?;
        let raw_name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        check_name(&raw_name)?;
        if entry.is_symlink() {
            return Err(EntryError::at(
                &raw_name,
                "is a symbolic link; archives with links are refused".to_string(),
            ));
        }
        let is_dir = entry.is_dir();
        if !is_dir && entry.encrypted() {
            return Err(EntryError::at(
                &raw_name,
                "is encrypted; store the dataset without a password".to_string(),
            ));
        }
        let size = entry.size();
        if size > limits.max_entry_bytes {
            return Err(too_big(&raw_name, size, limits.max_entry_bytes, "declares"));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(EntryError::general(format!(
                "declares {total} or more bytes once unpacked, over the limit of {} (`max_total_bytes` under \
                 [images] in config.toml); the archive is refused as a possible zip bomb. Raise the limit if the \
                 dataset really is that large",
                limits.max_total_bytes
            )));
        }
        entries.push(RawEntry { name: raw_name, size, is_dir, loc: index });
    }
    Ok(entries)
}

/// Unpack one entry into `out`, counting the bytes actually produced: more than the entry's own
/// limit, or than `budget` (what is left of the archive's total), is refused however small the
/// size its header declares.
pub fn read_entry<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
    name: &str,
    limits: Limits,
    budget: u64,
    out: &mut Vec<u8>,
) -> Result<(), EntryError> {
    out.clear();
    let entry = archive.by_index(index).map_err(|e| damaged(name, &e.to_string()))?;
    let declared = entry.size();
    let cap = limits.max_entry_bytes.min(budget);
    out.reserve(declared.min(cap) as usize);
    let got = entry.take(cap + 1).read_to_end(out);
    match got {
        Ok(n) if n as u64 > cap => {
            if cap == limits.max_entry_bytes {
                Err(too_big(name, n as u64, limits.max_entry_bytes, "unpacks to"))
            } else {
                Err(EntryError::at(
                    name,
                    format!(
                        "brings the unpacked total over the limit of {} bytes (`max_total_bytes` under [images] \
                         in config.toml); the archive is refused as a possible zip bomb",
                        limits.max_total_bytes
                    ),
                ))
            }
        }
        Ok(_) => Ok(()),
        Err(e) if e.to_string().contains("larger than its declared") => Err(EntryError::at(
            name,
            format!(
                "unpacks to more than the {declared} bytes its header declares; the archive is refused as a \
                 possible zip bomb"
            ),
        )),
        Err(e) => Err(damaged(name, &e.to_string())),
    }
}

fn too_big(name: &str, size: u64, limit: u64, verb: &str) -> EntryError {
    EntryError::at(
        name,
        format!(
            "{verb} {size} bytes, over the limit of {limit} per entry (`max_entry_bytes` under [images] in \
             config.toml); refused as a possible zip bomb. Raise the limit if the images really are that large"
        ),
    )
}

fn damaged(name: &str, why: &str) -> EntryError {
    EntryError::at(
        name,
        format!("cannot be unpacked ({why}); the archive is damaged, re-create or re-copy it"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_are_refused() {
        for bad in ["../evil.png", "a/../../evil.png", "/etc/passwd", "C:\\x.png", "a\\..\\..\\x.png"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        for good in ["a/b.png", "train/cat/..png", "./a/b.png", "a..b/c.png"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
    }
}

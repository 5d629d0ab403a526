//! MNIST's IDX files: `*-images-idx3-ubyte[.gz]` (unsigned bytes, count × rows × columns) with
//! `*-labels-idx1-ubyte[.gz]` (one unsigned byte per image).
//!
//! Naming. A file name is `PREFIX-images-idx3-ubyte` (a `.` may stand for the `-` before `idx`, as
//! in `train-images.idx3-ubyte`). The prefix's last word says the split: `train`/`training`, or
//! `t10k`/`test`/`val`/`validation` for the validation set; the words before it name the dataset.
//! - Files inside a zip or a folder make one dataset named after the zip or folder
//!   (`fashion.zip`, `datasets/emnist/`).
//! - Loose files at the top of the datasets folder are grouped by that name: `fashion-train-...`
//!   and `fashion-t10k-...` make `fashion`. The bare MNIST names (`train-images-idx3-ubyte.gz`,
//!   `t10k-...`) have no name left, and make the dataset `mnist`.
use std::collections::BTreeMap;
use std::io::Read;

use crate::data::error::{EntryError, ReadError};
use crate::data::types::Split;

/// The name loose IDX files get when their names carry no dataset name (MNIST's own names).
pub const DEFAULT_NAME: &str = "mnist";

/// What an IDX file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `idx3`: the images.
    Images,
    /// `idx1`: one label per image.
    Labels,
}

/// What an IDX file's name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxName {
    /// The dataset part of the prefix (`fashion`), empty for MNIST's own names.
    pub base: String,
    /// `None` when the prefix names no split (then it is the training set).
    pub split: Option<Split>,
    pub role: Role,
}

/// Parse `train-images-idx3-ubyte.gz` and its kin; `None` for other names.
pub fn parse_name(file_name: &str) -> Option<IdxName> {
    let lower = file_name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    let (role, before) = if let Some(p) = stem.strip_suffix("idx3-ubyte") {
        (Role::Images, p.strip_suffix(['-', '.', '_'])?.strip_suffix("images")?)
    } else if let Some(p) = stem.strip_suffix("idx1-ubyte") {
        (Role::Labels, p.strip_suffix(['-', '.', '_'])?.strip_suffix("labels")?)
    } else {
        return None;
    };
    // Keep the original spelling of the dataset part.
    let prefix = &file_name[..before.len()];
    let words: Vec<&str> = prefix.split(['-', '_', '.']).filter(|w| !w.is_empty()).collect();
    let (split, base_words) = match words.split_last() {
        Some((last, rest)) => match last.to_ascii_lowercase().as_str() {
            "train" | "training" => (Some(Split::Train), rest),
            "t10k" | "test" | "testing" | "val" | "valid" | "validation" => (Some(Split::Test), rest),
            _ => (None, &words[..]),
        },
        None => (None, &words[..]),
    };
    Some(IdxName { base: base_words.join("-"), split, role })
}

/// The files of one IDX dataset: images and labels for training, and maybe for validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFiles<T> {
    pub train: (T, T),
    pub test: Option<(T, T)>,
}

/// Group named files (`(file name, locator)`) into datasets by their base name. Each group is
/// either complete or an error that says which file lacks its partner.
pub fn group<T: Clone>(files: &[(String, T)]) -> BTreeMap<String, Result<IdxFiles<T>, EntryError>> {
    type Slots<T> = BTreeMap<Option<Split>, (Option<(String, T)>, Option<(String, T)>)>;
    let mut by_base: BTreeMap<String, Slots<T>> = BTreeMap::new();
    for (name, loc) in files {
        let Some(parsed) = parse_name(name) else { continue };
        let slot = by_base.entry(parsed.base).or_default().entry(parsed.split).or_default();
        match parsed.role {
            Role::Images => slot.0 = Some((name.clone(), loc.clone())),
            Role::Labels => slot.1 = Some((name.clone(), loc.clone())),
        }
    }
    by_base
        .into_iter()
        .map(|(base, slots)| {
            let result =
                (|| {
                    let mut pairs = BTreeMap::new();
                    for (split, (images, labels)) in slots {
                        match (images, labels) {
                            (Some(i), Some(l)) => {
                                pairs.insert(split, (i.1, l.1));
                            }
                            (Some((name, _)), None) => return Err(EntryError::at(
                                &name,
                                "has no labels file beside it (a `...-labels-idx1-ubyte` file with the same \
                                 prefix); add it"
                                    .to_string(),
                            )),
                            (None, Some((name, _))) => return Err(EntryError::at(
                                &name,
                                "has no images file beside it (a `...-images-idx3-ubyte` file with the same \
                                 prefix); add it"
                                    .to_string(),
                            )),
                            (None, None) => {}
                        }
                    }
                    let train = pairs.remove(&Some(Split::Train)).or_else(|| pairs.remove(&None));
                    let test = pairs.remove(&Some(Split::Test));
                    if !pairs.is_empty() {
                        return Err(EntryError::general(
                        "has IDX files both with and without `train` in their names; keep one training set"
                            .to_string(),
                    ));
                    }
                    match train {
                        Some(train) => Ok(IdxFiles { train, test }),
                        None => Err(EntryError::general(
                            "has IDX files for validation (`t10k`/`test`) but none for training (`train`)"
                                .to_string(),
                        )),
                    }
                })();
            (base, result)
        })
        .collect()
}

/// An images file's header: how many images, of what size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImagesHeader {
    pub count: usize,
    pub rows: u32,
    pub columns: u32,
}

impl ImagesHeader {
    pub fn image_len(&self) -> usize {
        self.rows as usize * self.columns as usize
    }
}

/// Wrap `reader` in a gunzip when the name ends in `.gz`.
pub fn open<'a>(name: &str, reader: impl Read + 'a) -> Box<dyn Read + 'a> {
    if name.to_ascii_lowercase().ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    }
}

fn read_u32s<const N: usize>(reader: &mut dyn Read, name: &str, what: &str) -> Result<[u32; N], EntryError> {
    let mut bytes = vec![0u8; 4 * N];
    reader.read_exact(&mut bytes).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "it is too short".to_string()
        } else {
            e.to_string()
        };
        EntryError::at(name, format!("has no complete {what} header ({why}); it is not an IDX file"))
    })?;
    let mut out = [0u32; N];
    for (i, v) in out.iter_mut().enumerate() {
        *v = u32::from_be_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
    }
    Ok(out)
}

fn check_magic(magic: u32, want_dims: u32, name: &str, what: &str) -> Result<(), EntryError> {
    if magic == 0x0800 | want_dims {
        return Ok(());
    }
    Err(EntryError::at(
        name,
        format!(
            "has the magic number 0x{magic:08X}, but an IDX {what} file starts with 0x{:08X} (unsigned bytes, {} \
             dimension{}); it is not an IDX {what} file, or it is damaged",
            0x0800 | want_dims,
            want_dims,
            if want_dims == 1 { "" } else { "s" }
        ),
    ))
}

/// Read and check an images file's header. `limit` bounds the bytes the images may take.
pub fn read_images_header(reader: &mut dyn Read, name: &str, limit: u64) -> Result<ImagesHeader, EntryError> {
    let [magic, count, rows, columns] = read_u32s::<4>(reader, name, "images")?;
    check_magic(magic, 3, name, "images")?;
    if rows == 0 || columns == 0 || count == 0 {
        return Err(EntryError::at(
            name,
            format!("declares {count} images of {columns}×{rows}; there is nothing to train on"),
        ));
    }
    // Three u32s can overflow a u64 (found by tests/readers_fuzz.rs): saturate, then compare.
    let bytes = (count as u64).saturating_mul(rows as u64).saturating_mul(columns as u64);
    if bytes > limit {
        return Err(EntryError::at(
            name,
            format!(
                "declares {bytes} bytes of images, over the limit of {limit} (`max_total_bytes` under [images] in \
                 config.toml); raise the limit if the dataset really is that large"
            ),
        ));
    }
    Ok(ImagesHeader { count: count as usize, rows, columns })
}

/// Read `count` images after the header, `chunk` images at a time, calling `done` after each
/// chunk (false from it stops the reading with [`ReadError::Stopped`]); the file must end right
/// after them.
pub fn read_images(
    reader: &mut dyn Read,
    header: ImagesHeader,
    name: &str,
    done: &mut dyn FnMut(usize) -> bool,
) -> Result<Vec<u8>, ReadError> {
    let total = header.count * header.image_len();
    let mut pixels = vec![0u8; total];
    let chunk = 2048 * header.image_len();
    let mut filled = 0;
    while filled < total {
        let end = (filled + chunk).min(total);
        read_full(reader, &mut pixels[filled..end], name, || {
            format!(
                "is truncated: its header declares {} images of {}×{} ({total} bytes), but it ends sooner",
                header.count, header.columns, header.rows
            )
        })?;
        filled = end;
        if !done(filled / header.image_len()) {
            return Err(ReadError::Stopped);
        }
    }
    expect_end(reader, name, &format!("the {} images its header declares", header.count))?;
    Ok(pixels)
}

/// Read a labels file whole: its header, then one byte per image.
pub fn read_labels(reader: &mut dyn Read, name: &str, limit: u64) -> Result<Vec<u8>, EntryError> {
    let [magic, count] = read_u32s::<2>(reader, name, "labels")?;
    check_magic(magic, 1, name, "labels")?;
    if count as u64 > limit {
        return Err(EntryError::at(
            name,
            format!("declares {count} labels, over the limit of {limit} bytes"),
        ));
    }
    let mut labels = vec![0u8; count as usize];
    read_full(reader, &mut labels, name, || {
        format!("is truncated: its header declares {count} labels, but it ends sooner")
    })?;
    expect_end(reader, name, &format!("the {count} labels its header declares"))?;
    Ok(labels)
}

fn read_full(
    reader: &mut dyn Read,
    buf: &mut [u8],
    name: &str,
    short: impl Fn() -> String,
) -> Result<(), EntryError> {
    reader.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            EntryError::at(name, short())
        } else {
            EntryError::at(name, format!("cannot be read ({e}); it is damaged, re-copy it"))
        }
    })
}

fn expect_end(reader: &mut dyn Read, name: &str, what: &str) -> Result<(), EntryError> {
    let mut probe = [0u8; 1];
    match reader.read(&mut probe) {
        Ok(0) => Ok(()),
        Ok(_) => Err(EntryError::at(
            name,
            format!("has bytes left over after {what}; it is damaged or not an IDX file"),
        )),
        Err(e) => {
            Err(EntryError::at(name, format!("cannot be read to its end ({e}); it is damaged, re-copy it")))
        }
    }
}

/// The validation images (`header`, of the file `name`) are not the training images' size,
/// `(columns, rows)`.
pub fn size_mismatch(name: &str, header: ImagesHeader, train: (u32, u32)) -> EntryError {
    let (columns, rows) = train;
    EntryError::at(
        name,
        format!(
            "holds {}×{} images, but the training images are {columns}×{rows}",
            header.columns, header.rows
        ),
    )
}

/// Check that images and labels agree in number.
pub fn check_counts(
    images: usize,
    labels: usize,
    images_name: &str,
    labels_name: &str,
) -> Result<(), EntryError> {
    if images == labels {
        return Ok(());
    }
    Err(EntryError::at(
        images_name,
        format!(
            "holds {images} images, but its labels file {labels_name} holds {labels} labels; they must match one to \
             one. Use the labels file that came with these images"
        ),
    ))
}

/// Classes from label values: the distinct training labels in numeric order, named by their
/// value, or those kept by config's `classes`. Returns the names and each byte value's class index
/// (-1 for values not kept). Validation labels must be among the training ones.
pub fn label_classes(
    train: &[u8],
    test: Option<&[u8]>,
    kept: Option<&[String]>,
    labels_name: &str,
) -> Result<(Vec<String>, [i64; 256]), EntryError> {
    let mut seen = [false; 256];
    for &l in train {
        seen[l as usize] = true;
    }
    if let Some(&bad) = test.unwrap_or_default().iter().find(|&&l| !seen[l as usize]) {
        return Err(EntryError::at(
            labels_name,
            format!("has label {bad} in the validation set that no training image has; the files do not belong together"),
        ));
    }
    let all: Vec<String> = (0..256).filter(|&v| seen[v]).map(|v| v.to_string()).collect();
    let names = match kept {
        Some(kept) => {
            if let Some(missing) = kept.iter().find(|k| !all.contains(k)) {
                return Err(EntryError::unknown_class(missing, &all));
            }
            kept.to_vec()
        }
        None => all,
    };
    if names.len() < 2 {
        return Err(EntryError::at(
            labels_name,
            format!("has a single class ({}); classification needs at least two", names.join("")),
        ));
    }
    let mut index = [-1i64; 256];
    for (i, name) in names.iter().enumerate() {
        if let Ok(v) = name.parse::<usize>() {
            index[v] = i as i64;
        }
    }
    Ok((names, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_base_split_and_role() {
        let n = parse_name("train-images-idx3-ubyte.gz").expect("must work");
        assert_eq!((n.base.as_str(), n.split, n.role), ("", Some(Split::Train), Role::Images));
        let n = parse_name("t10k-labels.idx1-ubyte").expect("must work");
        assert_eq!((n.base.as_str(), n.split, n.role), ("", Some(Split::Test), Role::Labels));
        let n = parse_name("emnist-balanced-test-images-idx3-ubyte").expect("must work");
        assert_eq!((n.base.as_str(), n.split), ("emnist-balanced", Some(Split::Test)));
        let n = parse_name("digits-images-idx3-ubyte").expect("must work");
        assert_eq!((n.base.as_str(), n.split), ("digits", None));
        assert!(parse_name("train-images.png").is_none());
        assert!(parse_name("notes-idx3-ubyte").is_none());
    }

    #[test]
    fn groups_pair_images_with_labels() {
        let files: Vec<(String, usize)> = [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "fashion-train-images-idx3-ubyte",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), i))
        .collect();
        let groups = group(&files);
        assert_eq!(groups[""].as_ref().expect("must work"), &IdxFiles { train: (0, 1), test: Some((2, 3)) });
        let err = groups["fashion"].as_ref().expect_err("must fail");
        assert!(err.message.contains("no labels file"), "{}", err.message);
    }

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(data);
        out
    }

    #[test]
    fn headers_are_checked() {
        let good = idx(0x803, &[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut r: &[u8] = &good;
        let h = read_images_header(&mut r, "x", 1000).expect("must work");
        assert_eq!(read_images(&mut r, h, "x", &mut |_| true).expect("must work"), [1, 2, 3, 4, 5, 6, 7, 8]);

        let wrong = idx(0x801, &[2, 2, 2], &[0; 8]);
        let err = read_images_header(&mut &wrong[..], "x", 1000).expect_err("must fail");
        assert!(err.message.contains("magic number 0x00000801"), "{}", err.message);

        let short = idx(0x803, &[2, 2, 2], &[0; 7]);
        let mut r: &[u8] = &short;
        let h = read_images_header(&mut r, "x", 1000).expect("must work");
        let err = read_images(&mut r, h, "x", &mut |_| true).expect_err("must fail");
        assert!(matches!(&err, ReadError::Entry(e) if e.message.contains("truncated")), "{err}");
        let mut r: &[u8] = &good[16..];
        let stopped = read_images(&mut r, h, "x", &mut |_| false).expect_err("must stop");
        assert!(matches!(stopped, ReadError::Stopped), "{stopped}");

        let labels = idx(0x801, &[3], &[0, 1, 2, 9]);
        assert!(read_labels(&mut &labels[..], "l", 1000)
            .expect_err("must fail")
            .message
            .contains("left over"));
        assert!(check_counts(2, 3, "i", "l").expect_err("must fail").message.contains("holds 2 images"));
    }
}

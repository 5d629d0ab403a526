//! The ImageFolder layout: from the entry names of a folder or a zip to classes, splits and images.
//!
//! ```text
//! CLASS/IMAGE                      one split; validation is cut from it (val_fraction)
//! train/CLASS/IMAGE                with test/CLASS/IMAGE or val/CLASS/IMAGE as the validation set
//! WRAPPER/...                      one top-level folder around either layout is looked through
//! ```
//! Classes are the class folders' names in sorted order (as torchvision's `ImageFolder` does);
//! images sit anywhere below their class folder. Names here are relative, `/`-separated.
use std::collections::{BTreeMap, BTreeSet};

use crate::data::error::EntryError;
use crate::data::readers::{is_clutter, RawEntry};
use crate::data::types::Split;

/// One image of the dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub split: Split,
    /// Index into [`Layout::classes`].
    pub class: usize,
    /// The entry's name in the source (as in [`RawEntry::name`]).
    pub name: String,
    pub size: u64,
    pub loc: usize,
}

/// Classes, images and what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub classes: Vec<String>,
    /// Sorted by split, class, then name: the order samples have in the staged tensors.
    pub items: Vec<Item>,
    /// Things worth telling the user (ignored files, which folder is the validation set).
    pub notes: Vec<String>,
}

impl Layout {
    pub fn count(&self, split: Split) -> usize {
        self.items.iter().filter(|i| i.split == split).count()
    }

    /// Images per class in `split`, in class order.
    pub fn class_counts(&self, split: Split) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for item in self.items.iter().filter(|i| i.split == split) {
            counts[item.class] += 1;
        }
        counts
    }

    /// The first few training images, one class after another, for the preview: their
    /// positions in [`Layout::items`].
    pub fn preview_items(&self, max: usize) -> Vec<usize> {
        let mut per_class: Vec<Vec<usize>> = vec![Vec::new(); self.classes.len()];
        for (i, item) in self.items.iter().enumerate().filter(|(_, i)| i.split == Split::Train) {
            per_class[item.class].push(i);
        }
        let mut picked = Vec::new();
        for round in 0..max {
            for class in &per_class {
                if picked.len() == max {
                    return picked;
                }
                if let Some(item) = class.get(round) {
                    picked.push(*item);
                }
            }
        }
        picked
    }
}

/// What a file is, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A `.png`, `.jpg` or `.jpeg` file.
    Image,
    /// Another image format the workbench does not decode (`.gif`, `.bmp`, ...).
    UnsupportedImage,
    /// Operating-system clutter that is skipped silently (`.DS_Store`, `Thumbs.db`, `__MACOSX/`).
    Clutter,
    /// Anything else (`README.txt`, `labels.csv`).
    Other,
}

/// Classify a relative name by its last component.
pub fn file_kind(name: &str) -> FileKind {
    let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or(name);
    let lower = base.to_ascii_lowercase();
    if is_clutter(name) || lower == "thumbs.db" || lower == "desktop.ini" {
        return FileKind::Clutter;
    }
    match lower.rsplit_once('.').map(|(_, ext)| ext) {
        Some("png" | "jpg" | "jpeg") => FileKind::Image,
        Some(
            "gif" | "bmp" | "tif" | "tiff" | "webp" | "ppm" | "pgm" | "pbm" | "pnm" | "avif" | "heic"
            | "heif" | "ico" | "tga" | "svg" | "jxl" | "jp2",
        ) => FileKind::UnsupportedImage,
        _ => FileKind::Other,
    }
}

/// A class folder's full name, and its images with their full names.
type ClassDir<'a> = (String, Vec<(&'a RawEntry, String)>);

/// An image file outside any class folder is an error; other files there are only noted.
fn check_top_level_file(full: &str, place: &str) -> Result<(), EntryError> {
    match file_kind(full) {
        FileKind::Image | FileKind::UnsupportedImage => Err(EntryError::at(
            full,
            format!("is not inside a class folder; put each image in {place} (one folder per class)"),
        )),
        _ => Ok(()),
    }
}

/// Which split a top-level folder name stands for.
pub fn split_of(dir: &str) -> Option<SplitDir> {
    match dir.to_ascii_lowercase().as_str() {
        "train" | "training" => Some(SplitDir::Train),
        "val" | "valid" | "validation" => Some(SplitDir::Val),
        "test" | "testing" => Some(SplitDir::Test),
        _ => None,
    }
}

/// A top-level split folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SplitDir {
    /// `train/` or `training/`.
    Train,
    /// `val/`, `valid/` or `validation/`: preferred as the validation set.
    Val,
    /// `test/` or `testing/`: the validation set when there is no `val/`.
    Test,
}

/// Work out the layout. `classes_kept` is the `classes = [..]` filter from config.toml.
pub fn build(entries: &[RawEntry], classes_kept: Option<&[String]>) -> Result<Layout, EntryError> {
    let mut notes = Vec::new();
    // Drop clutter and normalise names: no leading `./`, no trailing `/`.
    let mut list: Vec<(Vec<&str>, &RawEntry)> = entries
        .iter()
        .filter(|e| !is_clutter(&e.name))
        .map(|e| (e.name.split('/').filter(|c| !c.is_empty() && *c != ".").collect::<Vec<_>>(), e))
        .filter(|(parts, _)| !parts.is_empty())
        .collect();

    // Look through one wrapper folder (`shapes/train/...` in shapes.zip) unless it is a split, and
    // only when every file sits at least two folders below it (`a/1.png` is one class, not a wrapper).
    let mut wrappers = Vec::new();
    loop {
        let tops: BTreeSet<&str> = list.iter().map(|(p, _)| p[0]).collect();
        let deep = list.iter().all(|(p, e)| p.len() > 2 || e.is_dir);
        match tops.iter().next() {
            Some(top) if tops.len() == 1 && deep && split_of(top).is_none() && wrappers.len() < 3 => {
                wrappers.push(top.to_string());
                list = list
                    .into_iter()
                    .filter(|(p, _)| p.len() > 1)
                    .map(|(p, e)| (p[1..].to_vec(), e))
                    .collect();
            }
            _ => break,
        }
    }
    let full_name = |parts: &[&str]| -> String {
        let mut all: Vec<&str> = wrappers.iter().map(String::as_str).collect();
        all.extend_from_slice(parts);
        all.join("/")
    };

    let split_dirs: BTreeMap<SplitDir, &str> = list
        .iter()
        .filter(|(p, e)| p.len() > 1 || e.is_dir)
        .filter_map(|(p, _)| Some((split_of(p[0])?, p[0])))
        .collect();
    let has_splits = !split_dirs.is_empty();
    let holdout = if split_dirs.contains_key(&SplitDir::Val) {
        if let Some(test) = split_dirs.get(&SplitDir::Test) {
            notes.push(format!("{test}/ is not used: {}/ is the validation set", split_dirs[&SplitDir::Val]));
        }
        Some(SplitDir::Val)
    } else {
        split_dirs.contains_key(&SplitDir::Test).then_some(SplitDir::Test)
    };
    if has_splits && !split_dirs.contains_key(&SplitDir::Train) {
        return Err(EntryError::general(format!(
            "has a {}/ folder but no train/ folder; put the training images in train/CLASS/",
            split_dirs.values().next().copied().unwrap_or("test")
        )));
    }

    // (split, class) -> the class folder's full name and the images in it; none is an error.
    let mut class_dirs: BTreeMap<(Split, String), ClassDir<'_>> = BTreeMap::new();
    let mut ignored: BTreeSet<String> = BTreeSet::new();
    for (parts, entry) in &list {
        let full = full_name(parts);
        let (split, depth) = match (has_splits, split_of(parts[0])) {
            (false, _) => (Split::Train, 0),
            (true, Some(SplitDir::Train)) => (Split::Train, 1),
            (true, Some(dir)) if Some(dir) == holdout => (Split::Test, 1),
            (true, Some(_)) => continue, // a split folder that is not used (noted above)
            (true, None) => {
                if parts.len() == 1 && !entry.is_dir {
                    check_top_level_file(&full, "train/CLASS/")?;
                    ignored.insert(full);
                } else {
                    ignored.insert(format!("{}/", full_name(&parts[..1])));
                }
                continue;
            }
        };
        let rest = &parts[depth..];
        if rest.is_empty() {
            continue;
        }
        if rest.len() == 1 && !entry.is_dir {
            let place = if has_splits { format!("{}/CLASS/", parts[0]) } else { "CLASS/".to_string() };
            check_top_level_file(&full, &place)?;
            ignored.insert(full);
            continue;
        }
        let folder = full_name(&parts[..depth + 1]);
        let slot = class_dirs.entry((split, rest[0].to_string())).or_insert_with(|| (folder, Vec::new()));
        if entry.is_dir {
            continue;
        }
        match file_kind(&full) {
            FileKind::Image => slot.1.push((entry, full)),
            FileKind::Clutter => {}
            FileKind::UnsupportedImage | FileKind::Other => {
                let ext = full.rsplit_once('.').map(|(_, e)| format!(" (.{e})")).unwrap_or_default();
                return Err(EntryError::at(
                    &full,
                    format!(
                        "unsupported format{ext}: only PNG and JPEG images are read; convert it or move it out of \
                         the class folder"
                    ),
                ));
            }
        }
    }
    if !ignored.is_empty() {
        notes
            .push(format!("not part of the dataset: {}", ignored.into_iter().collect::<Vec<_>>().join(", ")));
    }
    for (folder, images) in class_dirs.values() {
        if images.is_empty() {
            return Err(EntryError::at(
                folder,
                "is an empty class folder; add PNG or JPEG images to it, or remove it".to_string(),
            ));
        }
    }

    let mut classes: Vec<String> =
        class_dirs.keys().filter(|(s, _)| *s == Split::Train).map(|(_, c)| c.clone()).collect();
    if classes.is_empty() {
        return Err(EntryError::general(
            "holds no PNG or JPEG images in class folders; lay it out as CLASS/IMAGE.png, or train/CLASS/ and \
             test/CLASS/"
                .to_string(),
        ));
    }
    for (split, class) in class_dirs.keys() {
        if *split == Split::Test && !classes.contains(class) {
            return Err(EntryError::general(format!(
                "the validation folder has a class {class:?} that train/ does not have; add its training images \
                 to train/{class}/ or remove it"
            )));
        }
    }
    if let Some(kept) = classes_kept {
        for name in kept {
            if !classes.contains(name) {
                return Err(EntryError::unknown_class(name, &classes));
            }
        }
        classes = kept.to_vec();
        notes.push(format!("only the classes {} are used (config.toml)", classes.join(", ")));
    }
    if classes.len() < 2 {
        return Err(EntryError::general(format!(
            "has a single class folder ({}); classification needs at least two",
            classes.join("")
        )));
    }

    let mut items = Vec::new();
    for ((split, class), (_, images)) in class_dirs {
        let Some(index) = classes.iter().position(|c| *c == class) else { continue };
        for (entry, name) in images {
            items.push(Item { split, class: index, name, size: entry.size, loc: entry.loc });
        }
    }
    items.sort_by(|a, b| (a.split, a.class, &a.name).cmp(&(b.split, b.class, &b.name)));
    if let Some(dir) = holdout {
        let name = split_dirs[&dir];
        notes.push(format!(
            "{name}/ is the validation set ({} images)",
            items.iter().filter(|i| i.split == Split::Test).count()
        ));
    }
    Ok(Layout { classes, items, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(names: &[&str]) -> Vec<RawEntry> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| RawEntry { name: n.to_string(), size: 10, is_dir: n.ends_with('/'), loc: i })
            .collect()
    }

    #[test]
    fn flat_layout_sorts_classes_and_images() {
        let l = build(&entries(&["b/2.png", "a/1.jpg", "b/1.PNG", "README.txt"]), None).expect("must work");
        assert_eq!(l.classes, ["a", "b"]);
        let names: Vec<&str> = l.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a/1.jpg", "b/1.PNG", "b/2.png"]);
        assert_eq!(l.class_counts(Split::Train), [1, 2]);
        assert!(l.notes.iter().any(|n| n.contains("README.txt")), "{:?}", l.notes);
    }

    #[test]
    fn splits_under_a_wrapper_folder() {
        let l = build(
            &entries(&["shapes/", "shapes/train/a/1.png", "shapes/train/b/1.png", "shapes/test/a/9.png"]),
            None,
        )
        .expect("must work");
        assert_eq!(l.count(Split::Train), 2);
        assert_eq!(l.count(Split::Test), 1);
        assert_eq!(l.items[2].name, "shapes/test/a/9.png");
    }

    #[test]
    fn val_wins_over_test() {
        let l = build(&entries(&["train/a/1.png", "train/b/1.png", "val/a/2.png", "test/b/3.png"]), None)
            .expect("must work");
        assert_eq!(l.count(Split::Test), 1);
        assert_eq!(l.items.iter().find(|i| i.split == Split::Test).expect("must work").name, "val/a/2.png");
        assert!(l.notes.iter().any(|n| n.contains("test/ is not used")));
    }

    #[test]
    fn refuses_what_is_not_a_dataset() {
        let err = build(&entries(&["a/1.png", "b/"]), None).expect_err("must fail");
        assert_eq!(err.entry.as_deref(), Some("b"));
        assert!(err.message.contains("empty class folder"));
        let err = build(&entries(&["a/1.png", "b/x.gif"]), None).expect_err("must fail");
        assert_eq!(err.entry.as_deref(), Some("b/x.gif"));
        assert!(err.message.contains("unsupported format (.gif)"));
        let err = build(&entries(&["a/1.png", "loose.png"]), None).expect_err("must fail");
        assert!(err.message.contains("not inside a class folder"));
        let err = build(&entries(&["a/1.png"]), None).expect_err("must fail");
        assert!(err.message.contains("single class"));
        let err = build(&entries(&["test/a/1.png"]), None).expect_err("must fail");
        assert!(err.message.contains("no train/ folder"));
        let err = build(&entries(&["train/a/1.png", "train/b/1.png", "test/c/1.png"]), None)
            .expect_err("must fail");
        assert!(err.message.contains("class \"c\""));
    }

    #[test]
    fn the_classes_filter_keeps_and_renumbers() {
        let kept = vec!["c".to_string(), "a".to_string()];
        let l = build(&entries(&["a/1.png", "b/1.png", "c/1.png"]), Some(&kept)).expect("must work");
        assert_eq!(l.classes, ["c", "a"]);
        assert_eq!(l.items.len(), 2);
        assert_eq!(l.items[0].name, "c/1.png");
    }

    #[test]
    fn preview_takes_classes_in_turn() {
        let l = build(&entries(&["a/1.png", "a/2.png", "a/3.png", "b/1.png"]), None).expect("must work");
        let names: Vec<&str> = l.preview_items(3).iter().map(|&i| l.items[i].name.as_str()).collect();
        assert_eq!(names, ["a/1.png", "b/1.png", "a/2.png"]);
    }
}

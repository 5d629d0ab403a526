//! Bad image datasets: each gets a clear error that names the entry; nothing is staged or
//! half-written, nothing lands outside the cache or in the datasets folder, and the other datasets
//! stay usable.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::Path;

use common::png_edit::with_idat;
use common::*;
use workbench::config::ImagesConfig;
use workbench::data::staging::cache::Cache;
use workbench::data::StageError;

/// `dark`/`light` classes of 8×8 PNGs, `n` each: `(name, bytes)`.
fn good_entries(n: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (class, value) in [("dark", 20u8), ("light", 200u8)] {
        for i in 0..n {
            out.push((format!("{class}/{i:03}.png"), png_gray(8, 8, value + i as u8)));
        }
    }
    out
}

/// A datasets folder with `bad.zip` (from `entries`) beside a good CSV; and an empty cache.
fn setup(entries: &[(String, Vec<u8>)]) -> (tempfile::TempDir, tempfile::TempDir) {
    let dir = tempdir();
    write(dir.path(), "bad.zip", zip_bytes(entries));
    write(dir.path(), "table.csv", "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n");
    (dir, tempdir())
}

/// Load `name` and return its error; checks the other dataset is still usable, that nothing was
/// staged (under any name) and that the datasets folder is untouched.
fn load_error(dir: &Path, cache: &Path, name: &str, images: &ImagesConfig) -> String {
    let before = snapshot(dir);
    let catalog = scan_images(dir, cache, images);
    assert!(catalog.get("table").unwrap().summary.is_ok(), "the other dataset stays usable");
    let entry = catalog.get(name).unwrap();
    let (result, _) = load_counting(entry, cache, images);
    let err = result.expect_err("a bad dataset must not load");
    assert!(matches!(err, StageError::Data(_)), "the dataset is at fault, not the cache: {err}");
    let err = err.to_string();
    eprintln!("{err}");
    assert!(Cache::new(cache).list().unwrap().is_empty(), "nothing staged or half-written: {err}");
    assert_eq!(snapshot(dir), before, "the datasets folder is untouched");
    err
}

/// The listing's problem for `name`, if any.
fn listing_error(dir: &Path, cache: &Path, name: &str, images: &ImagesConfig) -> Option<String> {
    let catalog = scan_images(dir, cache, images);
    catalog.get(name).unwrap().summary.as_ref().err().map(|e| e.to_string())
}

/// Replace every occurrence of `from` with `to` (same length) in `bytes`.
fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

#[test]
fn a_corrupt_or_truncated_zip_is_named_and_the_rest_stays_usable() {
    let (dir, cache) = setup(&good_entries(3));
    write(dir.path(), "noise.zip", (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>());
    let good = zip_bytes(&good_entries(3));
    write(dir.path(), "cut.zip", &good[..good.len() / 2]);
    for name in ["noise", "cut"] {
        let err = listing_error(dir.path(), cache.path(), name, &ImagesConfig::default())
            .expect("listed with a problem");
        assert!(err.contains(&format!("{name}.zip: is not a readable zip archive")), "{err}");
        let err = load_error(dir.path(), cache.path(), name, &ImagesConfig::default());
        assert!(err.contains("damaged or truncated"), "{err}");
    }
    let catalog = scan_images(dir.path(), cache.path(), &ImagesConfig::default());
    assert!(catalog.get("bad").unwrap().summary.is_ok(), "a good zip beside them is usable");
}

#[test]
fn a_damaged_entry_is_named() {
    let mut bytes = zip_bytes(&good_entries(12));
    // Flip a byte in the packed data of dark/011.png (after its 30-byte local header and name).
    let name = b"dark/011.png";
    let header = bytes.windows(name.len()).position(|w| w == name).expect("local header") - 30;
    bytes[header + 30 + name.len() + 8] ^= 0x55;
    let dir = tempdir();
    write(dir.path(), "bad.zip", &bytes);
    write(dir.path(), "table.csv", "a,label\n1,x\n2,y\n3,x\n");
    let cache = tempdir();
    let err = load_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());
    assert!(err.contains("entry dark/011.png") && err.contains("damaged"), "{err}");
}

#[test]
fn a_truncated_image_is_named() {
    let mut entries = good_entries(12);
    let png = entries[13].1.clone();
    entries[13].1 = png[..png.len() / 2].to_vec();
    let (dir, cache) = setup(&entries);
    let err = load_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());
    assert!(err.contains("bad.zip: entry light/001.png: cannot be decoded as PNG"), "{err}");
    assert!(err.contains("truncated or damaged"), "{err}");
}

#[test]
fn a_png_with_a_corrupt_compressed_stream_but_valid_crcs_is_named() {
    let good = good_entries(12);
    assert_eq!(with_idat(&good[13].1, |_| {}), good[13].1, "the rewrite alone changes nothing");
    // A wrong Adler-32 (the zlib stream's last four bytes): the PNG decoder alone would not see it.
    let bad_sum = with_idat(&good[13].1, |d| {
        let n = d.len();
        d[n - 1] ^= 0x5a;
    });
    // Broken deflate data in the middle of the stream.
    let broken = with_idat(&good[13].1, |d| {
        let mid = d.len() / 2;
        for b in &mut d[mid - 1..mid + 2] {
            *b ^= 0xff;
        }
    });
    for bad in [bad_sum, broken] {
        let mut entries = good.clone();
        entries[13].1 = bad;
        let (dir, cache) = setup(&entries);
        let err = load_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());
        assert!(err.contains("bad.zip: entry light/001.png"), "{err}");
        assert!(err.contains("PNG") && err.contains("corrupt"), "{err}");
    }
}

#[test]
fn an_image_of_another_size_is_named_unless_resizing() {
    let mut entries = good_entries(12);
    entries[20].1 = png_gray(10, 9, 200);
    let (dir, cache) = setup(&entries);
    let err = load_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());
    assert!(
        err.contains("entry light/008.png: is 10×9 pixels, but the dataset's first image is 8×8"),
        "{err}"
    );
    assert!(err.contains("resize = [8, 8]"), "{err}");

    let resize = ImagesConfig { resize: Some([8, 8]), ..ImagesConfig::default() };
    let catalog = scan_images(dir.path(), cache.path(), &resize);
    let (data, _) = load_counting(catalog.get("bad").unwrap(), cache.path(), &resize);
    assert_eq!(data.unwrap().x.size(), [24, 1, 8, 8]);
}

#[test]
fn an_unsupported_format_is_named() {
    let mut entries = good_entries(3);
    entries.push(("light/anim.gif".into(), b"GIF89a\x01\x00\x01\x00".to_vec()));
    let (dir, cache) = setup(&entries);
    let err =
        listing_error(dir.path(), cache.path(), "bad", &ImagesConfig::default()).expect("refused at listing");
    assert!(err.contains("entry light/anim.gif: unsupported format (.gif)"), "{err}");
    load_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());

    // Named .png, but not a PNG: judged by its bytes.
    let mut entries = good_entries(12);
    entries[5].1 = b"GIF89a\x01\x00\x01\x00....".to_vec();
    let (dir, cache) = setup(&entries);
    let err = load_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());
    assert!(err.contains("entry dark/005.png: is not a PNG or JPEG image (unsupported format)"), "{err}");
}

#[test]
fn an_empty_class_folder_is_named_in_a_zip_and_in_a_folder() {
    let mut entries: Vec<(String, Vec<u8>)> =
        good_entries(3).into_iter().map(|(n, b)| (format!("train/{n}"), b)).collect();
    entries.push(("train/empty/".into(), Vec::new()));
    let (dir, cache) = setup(&entries);
    let err = listing_error(dir.path(), cache.path(), "bad", &ImagesConfig::default()).expect("refused");
    assert!(err.contains("entry train/empty: is an empty class folder"), "{err}");
    load_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());

    let dir = tempdir();
    for (name, bytes) in good_entries(3) {
        std::fs::create_dir_all(dir.path().join("pics").join(name.split('/').next().unwrap())).unwrap();
        write(&dir.path().join("pics"), &name, bytes);
    }
    std::fs::create_dir_all(dir.path().join("pics/hollow")).unwrap();
    write(dir.path(), "table.csv", "a,label\n1,x\n2,y\n3,x\n");
    let err = load_error(dir.path(), cache.path(), "pics", &ImagesConfig::default());
    assert!(err.contains("pics/hollow: is an empty class folder"), "{err}");
}

#[test]
fn zip_slip_entries_are_refused_and_nothing_is_written_outside_the_cache() {
    for (safe, evil) in [("aa/evil.png", "../evil.png"), ("xx/abs-evil.png", "/x/abs-evil.png")] {
        let mut entries = good_entries(3);
        entries.push((safe.to_string(), png_gray(8, 8, 1)));
        let mut bytes = zip_bytes(&entries);
        assert_eq!(patch(&mut bytes, safe.as_bytes(), evil.as_bytes()), 2, "local and central headers");
        let dir = tempdir();
        let datasets = dir.path().join("datasets");
        std::fs::create_dir(&datasets).unwrap();
        write(&datasets, "bad.zip", &bytes);
        write(&datasets, "table.csv", "a,label\n1,x\n2,y\n3,x\n");
        let cache = dir.path().join("cache");
        let err =
            listing_error(&datasets, &cache, "bad", &ImagesConfig::default()).expect("refused at listing");
        assert!(
            err.contains(&format!("entry {evil}: has an absolute path or `..`")) && err.contains("zip-slip"),
            "{err}"
        );
        load_error(&datasets, &cache, "bad", &ImagesConfig::default());
        let around: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!around.iter().any(|n| n.contains("evil")), "nothing written beside the folders: {around:?}");
        assert!(!Path::new("/x/abs-evil.png").exists());
    }
}

#[test]
fn zip_bombs_by_declared_size_are_refused() {
    let mut entries = good_entries(3);
    entries.push(("light/big.png".into(), vec![0u8; 4000]));
    let (dir, cache) = setup(&entries);
    let small = ImagesConfig { max_entry_bytes: 2000, ..ImagesConfig::default() };
    let err = listing_error(dir.path(), cache.path(), "bad", &small).expect("refused");
    assert!(
        err.contains("entry light/big.png: declares 4000 bytes, over the limit of 2000 per entry"),
        "{err}"
    );
    assert!(err.contains("zip bomb") && err.contains("max_entry_bytes"), "{err}");
    load_error(dir.path(), cache.path(), "bad", &small);

    let (dir, cache) = setup(&good_entries(10));
    let total = ImagesConfig { max_total_bytes: 600, ..ImagesConfig::default() };
    let err = load_error(dir.path(), cache.path(), "bad", &total);
    assert!(err.contains("over the limit of 600 (`max_total_bytes`"), "{err}");
}

#[test]
fn a_zip_bomb_that_lies_about_its_size_is_refused_while_reading() {
    let mut entries = good_entries(12);
    entries.push(("light/zzz.png".into(), vec![0u8; 1 << 20]));
    let mut bytes = zip_bytes(&entries);
    // Declare 100 bytes where 1 MiB unpacks, in the local header (offset 22) and the directory
    // (offset 24).
    let name = b"light/zzz.png";
    for (sig, name_len_at, name_at, size_at) in [(b"PK\x03\x04", 26, 30, 22), (b"PK\x01\x02", 28, 46, 24)] {
        let at = (0..bytes.len() - 50)
            .find(|&i| {
                &bytes[i..i + 4] == sig
                    && u16::from_le_bytes([bytes[i + name_len_at], bytes[i + name_len_at + 1]]) as usize
                        == name.len()
                    && &bytes[i + name_at..i + name_at + name.len()] == name
            })
            .expect("header of the entry");
        bytes[at + size_at..at + size_at + 4].copy_from_slice(&100u32.to_le_bytes());
    }
    let dir = tempdir();
    write(dir.path(), "bad.zip", &bytes);
    write(dir.path(), "table.csv", "a,label\n1,x\n2,y\n3,x\n");
    let cache = tempdir();
    let listed = listing_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());
    assert!(listed.is_none(), "the headers look fine: {listed:?}");
    let err = load_error(dir.path(), cache.path(), "bad", &ImagesConfig::default());
    assert!(
        err.contains("entry light/zzz.png: unpacks to more than the 100 bytes its header declares"),
        "{err}"
    );
    assert!(err.contains("zip bomb"), "{err}");
}

#[test]
fn idx_files_with_wrong_magic_numbers_or_counts_are_named() {
    let cases: [(&str, Vec<u8>, Vec<u8>, &str); 4] = [
        ("magic", idx_labels(&[0; 20]), idx_labels(&[0, 1, 0, 1, 0]), "magic number 0x00000801"),
        ("labels-magic", idx_images(5, 2, 2, &[0; 20]), idx_images(5, 1, 1, &[0; 5]), "labels"),
        (
            "count",
            idx_images(5, 2, 2, &[0; 20]),
            idx_labels(&[0, 1, 0, 1]),
            "holds 5 images, but its labels file",
        ),
        ("short", idx_images(5, 2, 2, &[0; 16]), idx_labels(&[0, 1, 0, 1, 0]), "is truncated"),
    ];
    for (case, images, labels, want) in cases {
        let dir = tempdir();
        let cache = tempdir();
        write(dir.path(), &format!("{case}-train-images-idx3-ubyte"), &images);
        write(dir.path(), &format!("{case}-train-labels-idx1-ubyte"), &labels);
        write(dir.path(), "table.csv", "a,label\n1,x\n2,y\n3,x\n");
        let err = load_error(dir.path(), cache.path(), case, &ImagesConfig::default());
        assert!(err.contains(want), "{case}: {err}");
        let file = if case == "labels-magic" { "labels-idx1-ubyte" } else { "images-idx3-ubyte" };
        assert!(err.contains(&format!("{case}-train-{file}")), "{case}: names the file: {err}");
        if case == "labels-magic" {
            assert!(err.contains("magic number 0x00000803"), "{err}");
        }
        if case == "count" {
            assert!(err.contains("count-train-labels-idx1-ubyte holds 4 labels"), "{err}");
        }
    }
}

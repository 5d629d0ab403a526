//! Property tests: arbitrary bytes to every reader of untrusted input (the CSV sniffer and
//! parser, IDX, NPY/NPZ, CIFAR, tar and zip) end in an error or a value, never a panic or a hang.
//! 256 cases each, so the suite stays quick; inputs are up to a few KiB, some starting with a
//! valid magic so the cases reach past the first check.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;
use workbench::config::{DatasetConfig, ImagesConfig};
use workbench::data::arrays;
use workbench::data::csv_table::parse_csv;
use workbench::data::readers::{cifar, idx, npy, tar, zipsafe};

/// Bytes with a chance of a given prefix.
fn with_prefix(prefix: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..4096)).prop_map(move |(p, mut tail)| {
        if p {
            let mut v = prefix.to_vec();
            v.append(&mut tail);
            v
        } else {
            tail
        }
    })
}

/// Text-like bytes: mostly digits, separators, quotes and newlines.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(b"0123456789.,;\t\"\n\r -eE".to_vec()),
            1 => any::<u8>(),
        ],
        0..2048,
    )
}

const LIMIT: u64 = 1 << 20;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn csv_never_panics(bytes in prop_oneof![csvish(), proptest::collection::vec(any::<u8>(), 0..2048)]) {
        let _ = parse_csv(Path::new("fuzz.csv"), &bytes, &DatasetConfig::default());
    }

    #[test]
    fn idx_never_panics(bytes in prop_oneof![
        with_prefix(&[0, 0, 8, 3]),
        with_prefix(&[0, 0, 8, 1]),
    ]) {
        let mut r = bytes.as_slice();
        if let Ok(header) = idx::read_images_header(&mut r, "fuzz", LIMIT) {
            let _ = idx::read_images(&mut r, header, "fuzz", &mut |_| true);
        }
        let _ = idx::read_labels(&mut bytes.as_slice(), "fuzz", LIMIT);
        let _ = idx::read_labels(&mut idx::open("fuzz.gz", bytes.as_slice()), "fuzz.gz", LIMIT);
    }

    #[test]
    fn npy_never_panics(bytes in prop_oneof![
        with_prefix(b"\x93NUMPY\x01\x00"),
        with_prefix(b"\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortran_order': False, 'shape': ("),
        with_prefix(b"\x93NUMPY\x02\x00"),
    ]) {
        let mut r = bytes.as_slice();
        if let Ok(header) = npy::read_header(&mut r, "fuzz.npy") {
            let _ = npy::read_values(&mut r, &header, "fuzz.npy", LIMIT);
        }
    }

    #[test]
    fn npz_and_npy_pairs_never_panic(x in with_prefix(b"PK\x03\x04"), y in proptest::collection::vec(any::<u8>(), 0..256)) {
        let dir = tempfile::tempdir().unwrap();
        let images = ImagesConfig { max_total_bytes: LIMIT, ..ImagesConfig::default() };
        std::fs::write(dir.path().join("f.npz"), &x).unwrap();
        let _ = arrays::summarize_npy(&dir.path().join("f.npz"), &DatasetConfig::default(), &images);
        let _ = arrays::load_npy("f", &dir.path().join("f.npz"), &DatasetConfig::default(), &images);
        std::fs::write(dir.path().join("p_x.npy"), &x).unwrap();
        std::fs::write(dir.path().join("p_y.npy"), &y).unwrap();
        let _ = arrays::load_npy("p", &dir.path().join("p_x.npy"), &DatasetConfig::default(), &images);
    }

    #[test]
    fn cifar_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..8192), n in 0usize..3) {
        let name = ["data_batch_1.bin", "train.bin", "test_batch.bin"][n];
        let _ = cifar::parse(&[(name.to_string(), bytes.clone())]);
        let _ = cifar::parse(&[("data_batch_1.bin".to_string(), bytes), ("test.bin".to_string(), vec![1; 3074])]);
    }

    #[test]
    fn tar_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = tar::read_files(&mut bytes.as_slice(), &|_| true, LIMIT);
        // A valid header followed by garbage.
        let mut v = tar::write(&[("a.bin", &bytes[..bytes.len().min(600)])]);
        v.truncate(v.len() / 2 + bytes.len() % 100);
        v.extend_from_slice(&bytes);
        let _ = tar::read_files(&mut v.as_slice(), &|_| true, LIMIT);
    }

    #[test]
    fn zip_never_panics(bytes in prop_oneof![with_prefix(b"PK\x03\x04"), with_prefix(b"PK\x05\x06")]) {
        let _ = cifar::read_zip(Cursor::new(bytes.clone()), LIMIT);
        if let Ok(mut archive) = zipsafe::open_zip(Cursor::new(bytes)) {
            let limits = zipsafe::Limits { max_entry_bytes: LIMIT, max_total_bytes: LIMIT };
            if let Ok(entries) = zipsafe::list_entries(&archive, limits) {
                let mut out = Vec::new();
                for e in entries {
                    let _ = zipsafe::read_entry(&mut archive, e.loc, &e.name, limits, LIMIT, &mut out);
                }
            }
        }
    }

    /// Zips that are valid archives of random entries: the zip reader gets past the directory.
    #[test]
    fn valid_zips_of_random_entries_never_panic(entries in proptest::collection::vec(
        (proptest::sample::select(vec!["x.npy", "y.npy", "data_batch_1.bin", "a/../b", "/abs", "c/test_batch.bin"]),
         proptest::collection::vec(any::<u8>(), 0..4000)), 0..4)) {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let mut seen = std::collections::BTreeSet::new();
        for (name, bytes) in &entries {
            if seen.insert(*name) {
                w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
                w.write_all(bytes).unwrap();
            }
        }
        let bytes = w.finish().unwrap().into_inner();
        let _ = cifar::read_zip(Cursor::new(bytes.clone()), LIMIT);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("z.npz"), &bytes).unwrap();
        let images = ImagesConfig { max_total_bytes: LIMIT, ..ImagesConfig::default() };
        let _ = arrays::load_npy("z", &dir.path().join("z.npz"), &DatasetConfig::default(), &images);
    }
}

//! Property tests: arbitrary bytes to every reader of untrusted input (the CSV sniffer and
//! parser, IDX, NPY/NPZ, CIFAR, tar and zip, TensorBoard event files) end in an error or a value,
//! never a panic or a hang; NPY headers and event records built to lie about their sizes (huge
//! dims, lengths, varints) are refused before anything of that size is allocated.
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
use workbench::runs::external::proto::{self, summary, tensor_shape_proto};
use workbench::runs::external::{encode_record, masked_crc32c, parse_record, EventFileReader, Frame};

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

/// One dimension of an NPY shape as written in its header: small, any u64, past u64, or not a number.
fn npy_dim() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..6).prop_map(|d| d.to_string()),
        any::<u64>().prop_map(|d| d.to_string()),
        proptest::sample::select(vec![
            "99999999999999999999999",
            "-1",
            "3L",
            "",
            " ",
            "1e9",
            "0x10",
            "(",
            ")"
        ])
        .prop_map(String::from),
    ]
}

/// A whole `.npy`: magic, a version (some unknown), a header length (sometimes a lie), a dict
/// with arbitrary descr, order and shape, then a few bytes of values.
fn npy_file() -> impl Strategy<Value = Vec<u8>> {
    let descr = proptest::sample::select(vec![
        "<f4",
        "<f8",
        ">f8",
        "<f2",
        "|u1",
        "<i8",
        ">u4",
        "|b1",
        "|b2",
        "<f3",
        "<c8",
        "|O",
        "<U10",
        "",
        "f4",
        "<f",
        "<f99999999999999999999",
    ]);
    let shape = (proptest::collection::vec(npy_dim(), 0..5), any::<bool>())
        .prop_map(|(dims, trailing)| format!("({}{})", dims.join(", "), if trailing { "," } else { "" }));
    (
        descr,
        any::<bool>(),
        shape,
        0u8..5,
        any::<Option<u16>>(),
        proptest::collection::vec(any::<u8>(), 0..256),
    )
        .prop_map(|(descr, fortran, shape, version, lie, tail)| {
            let order = if fortran { "True" } else { "False" };
            let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}\n");
            let mut out = b"\x93NUMPY".to_vec();
            out.extend_from_slice(&[version, 0]);
            let len = lie.map_or(dict.len(), usize::from);
            if version == 1 {
                out.extend_from_slice(&(len as u16).to_le_bytes());
            } else {
                out.extend_from_slice(&(len as u32).to_le_bytes());
            }
            out.extend_from_slice(dict.as_bytes());
            out.extend_from_slice(&tail);
            out
        })
}

/// One piece of an event file: a good record of random data (prost sees arbitrary varints), a
/// length header with a valid CRC and any length, an Event whose tensor has arbitrary dims, or
/// raw bytes.
fn event_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|data| {
            let mut out = Vec::new();
            encode_record(&data, &mut out);
            out
        }),
        // Varints of up to ten bytes, all continuation bits set, as a record's data.
        (0u8..=255, 1usize..12).prop_map(|(tag, n)| {
            let mut data = vec![tag];
            data.extend(std::iter::repeat_n(0xFF, n));
            let mut out = Vec::new();
            encode_record(&data, &mut out);
            out
        }),
        (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..32)).prop_map(|(len, tail)| {
            let mut out = len.to_le_bytes().to_vec();
            out.extend_from_slice(&masked_crc32c(&out).to_le_bytes());
            out.extend_from_slice(&tail);
            out
        }),
        (
            proptest::collection::vec(any::<i64>(), 0..4),
            0i32..4,
            proptest::collection::vec(any::<f32>(), 0..3)
        )
            .prop_map(|(dims, dtype, float_val)| {
                use prost::Message;
                let tensor = proto::TensorProto {
                    dtype,
                    tensor_shape: Some(proto::TensorShapeProto {
                        dim: dims
                            .into_iter()
                            .map(|size| tensor_shape_proto::Dim { size, name: String::new() })
                            .collect(),
                        unknown_rank: false,
                    }),
                    float_val,
                    ..Default::default()
                };
                let value = summary::Value {
                    tag: "t".into(),
                    value: Some(summary::value::Value::Tensor(tensor)),
                    ..Default::default()
                };
                let event = proto::Event {
                    wall_time: 1.0,
                    step: 1,
                    what: Some(proto::event::What::Summary(proto::Summary { value: vec![value] })),
                };
                let mut out = Vec::new();
                encode_record(&event.encode_to_vec(), &mut out);
                out
            }),
        proptest::collection::vec(any::<u8>(), 0..32),
    ]
}

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
        let bounds = npy::Bounds { stored: bytes.len() as u64, limit: LIMIT };
        if let Ok(header) = npy::read_header(&mut r, "fuzz.npy", bounds) {
            let _ = npy::read_values::<f64>(&mut r, &header, "fuzz.npy");
        }
    }

    /// Headers built to lie: whatever they declare, an accepted header's values fit in the bytes
    /// after it and under the limit, so reading them allocates no more than the file holds.
    #[test]
    fn npy_headers_never_panic_or_promise_more_than_the_file_holds(bytes in npy_file(), limit in 0u64..4096) {
        let bounds = npy::Bounds { stored: bytes.len() as u64, limit };
        let mut r = bytes.as_slice();
        if let Ok(header) = npy::read_header(&mut r, "fuzz.npy", bounds) {
            let data = header.data_bytes().unwrap();
            prop_assert!(data <= r.len() as u64 && data <= limit, "{header:?} from {} bytes", bytes.len());
            let values = npy::read_values::<f32>(&mut r, &header, "fuzz.npy").unwrap();
            prop_assert_eq!(values.len(), header.count().unwrap());
        }
    }

    /// Event files of good, lying and damaged records: never a panic; the reader never claims
    /// more than the file holds, and a framed record never runs past its buffer.
    #[test]
    fn event_records_never_panic(pieces in proptest::collection::vec(event_piece(), 0..6)) {
        let mut bytes = Vec::new();
        proto_file_version(&mut bytes);
        for p in &pieces {
            bytes.extend_from_slice(p);
        }
        let mut at = 0;
        while let Ok(Frame::Record { size, .. }) = parse_record(&bytes[at..]) {
            prop_assert!(size <= bytes.len() - at);
            at += size;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.out.tfevents.1.fuzz");
        std::fs::write(&path, &bytes).unwrap();
        let mut reader = EventFileReader::new(&path);
        let _ = reader.read_new();
        let _ = reader.read_new();
        prop_assert!(reader.offset() <= bytes.len() as u64);
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
        let _ = arrays::summarize_npy(&dir.path().join("p_x.npy"), &DatasetConfig::default(), &images);
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

/// The first record of every event file.
fn proto_file_version(out: &mut Vec<u8>) {
    workbench::runs::external::encode_file_version(1.0, out);
}

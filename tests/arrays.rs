//! Array datasets: NumPy `.npz` and `.npy` pairs, CIFAR-10/100 binary batches (folder, zip,
//! `.tar.gz`): listed with their shapes, loaded as tensors, and trained.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;
use workbench::config::DatasetConfig;
use workbench::data::readers::{cifar, npy, tar};
use workbench::data::{DatasetFormat, LoadOptions, LoadedData, Task};
use workbench::train::{ModelKind, TrainMsg};

/// A tiny deterministic generator (no rand dependency).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as f32) / (1u64 << 31) as f32
    }
}

/// Two Gaussian-ish blobs in 4 features: class 0 around -1, class 1 around +1.
fn blobs(n: usize) -> (Vec<f32>, Vec<u8>) {
    let mut rng = Lcg(7);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for i in 0..n {
        let class = (i % 2) as u8;
        let centre = if class == 0 { -1.0 } else { 1.0 };
        for _ in 0..4 {
            x.push(centre + (rng.next() - 0.5) * 1.5);
        }
        y.push(class);
    }
    (x, y)
}

/// Write a file, making its folders.
fn put(dir: &std::path::Path, name: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn int64(values: &[u8]) -> Vec<u8> {
    values.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect()
}

fn npz(arrays: &[(&str, Vec<u8>)]) -> Vec<u8> {
    zip_bytes(&arrays.iter().map(|(n, b)| (format!("{n}.npy"), b.clone())).collect::<Vec<_>>())
}

fn load(entry: &workbench::data::DatasetEntry) -> LoadedData {
    let cache = tempdir();
    let images = workbench::config::ImagesConfig::default();
    let mut progress = |_, _, _| true;
    let mut options = LoadOptions { cache_dir: cache.path(), images: &images, progress: &mut progress };
    entry.load(&mut options).expect("loads")
}

#[test]
fn an_npz_table_is_listed_with_shape_and_dtype_and_learned_by_logreg_and_mlp() {
    let dir = tempdir();
    let (x, y) = blobs(200);
    write(
        dir.path(),
        "blobs.npz",
        npz(&[("x", npy::write_f32(&[200, 4], &x)), ("y", npy::write_raw("<i8", &[200], int64(&y)))]),
    );
    let catalog = scan(dir.path());
    let entry = catalog.get("blobs").expect("blobs.npz is listed");
    assert_eq!(entry.format, DatasetFormat::Npy);
    let s = entry.summary.as_ref().expect("usable");
    assert_eq!((s.rows, s.sample_shape.as_slice()), (200, &[4][..]));
    assert_eq!(s.task, Task::Classification { classes: vec!["0".into(), "1".into()] });
    assert_eq!(s.class_counts, [100, 100]);
    assert!(s.notes.iter().any(|n| n == "x.npy: float32 [200, 4]"), "{:?}", s.notes);
    assert!(s.notes.iter().any(|n| n == "y.npy: int64 [200]"), "{:?}", s.notes);

    for model in [ModelKind::Logreg, ModelKind::Mlp] {
        let runs = tempdir();
        let mut sp = spec("blobs", model);
        sp.epochs = 20;
        let out = train(entry, sp, runs.path());
        let acc = out.epochs().last().and_then(|e| e.val_metric);
        assert!(acc.is_some_and(|a| a >= 0.9), "{model}: {acc:?} / {:?}", out.last());
    }
}

#[test]
fn npy_pairs_big_endian_and_named_arrays() {
    let dir = tempdir();
    // NAME_x.npy (big-endian float64) with NAME_y.npy (uint8), and a validation pair.
    let x: Vec<u8> = (0..6).flat_map(|i| (i as f64 * 0.5).to_be_bytes()).collect();
    write(dir.path(), "pairs_x.npy", npy::write_raw(">f8", &[3, 2], x.clone()));
    write(dir.path(), "pairs_y.npy", npy::write_raw("|u1", &[3], vec![1, 0, 1]));
    write(dir.path(), "pairs_x_test.npy", npy::write_raw(">f8", &[3, 2], x));
    write(dir.path(), "pairs_y_test.npy", npy::write_raw("|u1", &[3], vec![0, 0, 1]));
    // An npz whose arrays config names.
    let (bx, by) = blobs(10);
    write(
        dir.path(),
        "named.npz",
        npz(&[("inputs", npy::write_f32(&[10, 4], &bx)), ("labels", npy::write_raw("|u1", &[10], by))]),
    );
    let named = DatasetConfig { x: Some("inputs".into()), y: Some("labels".into()), ..Default::default() };
    let catalog = scan_with(dir.path(), "named", named);
    let pairs = catalog.get("pairs").expect("pairs_x.npy is listed as `pairs`");
    assert_eq!(catalog.entries.len(), 2, "{:?}", catalog.entries.iter().map(|e| &e.name).collect::<Vec<_>>());
    let s = pairs.summary.as_ref().expect("usable");
    assert!(s.notes.iter().any(|n| n.contains("pairs_x.npy: float64 [3, 2]")), "{:?}", s.notes);
    assert!(
        s.notes.iter().any(|n| n.contains("pairs_x_test.npy") && n.contains("validation")),
        "{:?}",
        s.notes
    );
    let data = load(pairs);
    assert_eq!(data.x.size(), [3, 2]);
    assert_eq!(data.x.double_value(&[2, 1]), 2.5, "big-endian float64 read right");
    assert_eq!(Vec::<i64>::try_from(&data.y).unwrap(), [1, 0, 1]);
    let (_, hy) = data.holdout.as_ref().expect("the _test pair is the validation set");
    assert_eq!(Vec::<i64>::try_from(hy).unwrap(), [0, 0, 1]);

    let named = catalog.get("named").expect("named.npz");
    assert_eq!(named.summary.as_ref().expect("config names the arrays").rows, 10);
    // Without the names, the error lists the arrays and says how to name them.
    let catalog = scan(dir.path());
    let err = catalog.get("named").unwrap().summary.as_ref().expect_err("no x/y arrays").to_string();
    assert!(err.contains("inputs, labels") && err.contains("x = \"inputs\""), "{err}");
}

#[test]
fn fortran_order_and_odd_shapes_are_refused_with_what_to_do() {
    let dir = tempdir();
    let mut x = npy::write_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let at = x.windows(5).position(|w| w == b"False").unwrap();
    x[at..at + 5].copy_from_slice(b"True ");
    write(dir.path(), "f.npz", npz(&[("x", x), ("y", npy::write_raw("|u1", &[2], vec![0, 1]))]));
    write(
        dir.path(),
        "five.npz",
        npz(&[
            ("x", npy::write_f32(&[2, 1, 1, 1, 1], &[0.0, 1.0])),
            ("y", npy::write_raw("|u1", &[2], vec![0, 1])),
        ]),
    );
    let catalog = scan(dir.path());
    let err = catalog.get("f").unwrap().summary.as_ref().expect_err("fortran").to_string();
    assert!(err.contains("f.npz") && err.contains("Fortran") && err.contains("ascontiguousarray"), "{err}");
    let err = catalog.get("five").unwrap().summary.as_ref().expect_err("5-D").to_string();
    assert!(err.contains("[2, 1, 1, 1, 1]") && err.contains("N×C×H×W"), "{err}");
}

#[test]
fn an_npz_of_images_trains_lenet5() {
    let dir = tempdir();
    let n = 40;
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let class = (i % 2) as u8;
        x.extend(std::iter::repeat_n(if class == 0 { 30u8 } else { 220 }, 16 * 16));
        y.push(class);
    }
    write(
        dir.path(),
        "imgs.npz",
        npz(&[
            ("X", npy::write_raw("|u1", &[n, 1, 16, 16], x)),
            ("y", npy::write_raw("<i8", &[n], int64(&y))),
        ]),
    );
    let catalog = scan(dir.path());
    let entry = catalog.get("imgs").unwrap();
    let s = entry.summary.as_ref().expect("usable");
    assert_eq!(s.sample_shape, [1, 16, 16]);
    let data = load(entry);
    assert_eq!(data.x.size(), [40, 1, 16, 16]);
    assert!(data.x.max().double_value(&[]) <= 1.0, "uint8 images are scaled to [0, 1]");
    let runs = tempdir();
    let mut sp = spec("imgs", ModelKind::Lenet5);
    sp.epochs = 2;
    let out = train(entry, sp, runs.path());
    assert!(matches!(out.last(), TrainMsg::Finished { .. }), "{:?}", out.last());
}

/// CIFAR records: class 0 dark, class 1 light (and other labels as given).
fn cifar_batch(labels: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        out.extend_from_slice(l);
        let fine = *l.last().unwrap();
        out.extend(std::iter::repeat_n(if fine == 0 { 20 } else { 230 }, cifar::IMAGE_LEN));
    }
    out
}

fn cifar10_files() -> Vec<(String, Vec<u8>)> {
    let train: Vec<&[u8]> = (0..20).map(|i| if i % 2 == 0 { &[0u8][..] } else { &[1u8][..] }).collect();
    vec![
        ("cifar-10-batches-bin/data_batch_1.bin".into(), cifar_batch(&train)),
        ("cifar-10-batches-bin/data_batch_2.bin".into(), cifar_batch(&train)),
        ("cifar-10-batches-bin/test_batch.bin".into(), cifar_batch(&[&[0], &[1], &[1], &[0]])),
        ("cifar-10-batches-bin/readme.html".into(), b"<html>".to_vec()),
    ]
}

#[test]
fn cifar10_in_its_folder_a_zip_and_the_tar_gz_lists_loads_and_trains_lenet5() {
    let dir = tempdir();
    let files = cifar10_files();
    for (name, bytes) in &files {
        put(dir.path(), name, bytes);
    }
    write(dir.path(), "cifar10zip.zip", zip_bytes(&files));
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    write(dir.path(), "cifar-10-binary.tar.gz", gzip(&tar::write(&refs)));
    let catalog = scan(dir.path());
    for name in ["cifar-10-batches-bin", "cifar10zip", "cifar-10-binary"] {
        let entry = catalog.get(name).unwrap_or_else(|| panic!("{name} is listed"));
        assert_eq!(entry.format, DatasetFormat::Cifar, "{name}");
        let s = entry.summary.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((s.rows, s.sample_shape.as_slice()), (40, &[3, 32, 32][..]), "{name}");
        assert_eq!(s.class_counts[..3], [20, 20, 0], "{name}");
        assert!(s.task.num_classes() == 10 && s.notes.iter().any(|n| n.contains("CIFAR-10")), "{name}");
        let data = load(entry);
        assert_eq!(data.x.size(), [40, 3, 32, 32]);
        assert_eq!(data.holdout.as_ref().unwrap().0.size(), [4, 3, 32, 32]);
    }
    let runs = tempdir();
    let mut sp = spec("cifar-10-batches-bin", ModelKind::Lenet5);
    sp.epochs = 3;
    let out = train(catalog.get("cifar-10-batches-bin").unwrap(), sp, runs.path());
    assert!(matches!(out.last(), TrainMsg::Finished { .. }), "{:?}", out.last());
}

#[test]
fn cifar100_uses_fine_labels_and_damage_names_the_file() {
    let dir = tempdir();
    put(dir.path(), "cifar-100-binary/train.bin", cifar_batch(&[&[3, 0], &[3, 57], &[4, 99]]));
    put(dir.path(), "cifar-100-binary/test.bin", cifar_batch(&[&[3, 57]]));
    let mut bad = cifar_batch(&[&[1], &[2]]);
    bad.truncate(bad.len() - 100);
    put(dir.path(), "broken/data_batch_1.bin", bad);
    let catalog = scan(dir.path());
    let entry = catalog.get("cifar-100-binary").unwrap();
    assert_eq!(entry.format, DatasetFormat::Cifar);
    let data = load(entry);
    assert_eq!(Vec::<i64>::try_from(&data.y).unwrap(), [0, 57, 99], "the fine labels");
    assert_eq!(data.task.num_classes(), 100);
    let err = catalog.get("broken").unwrap().summary.as_ref().expect_err("truncated").to_string();
    assert!(err.contains("data_batch_1.bin") && err.contains("3073-byte"), "{err}");
}

#[test]
fn lenet5_on_small_images_names_the_resize_setting() {
    let dir = tempdir();
    let x = vec![0u8; 4 * 8 * 8];
    write(
        dir.path(),
        "small.npz",
        npz(&[
            ("x", npy::write_raw("|u1", &[4, 8, 8], x)),
            ("y", npy::write_raw("|u1", &[4], vec![0, 1, 0, 1])),
        ]),
    );
    let catalog = scan(dir.path());
    let s = catalog.get("small").unwrap().summary.as_ref().expect("usable");
    assert_eq!(s.sample_shape, [1, 8, 8], "N×H×W is one channel");
    let err = ModelKind::Lenet5.check_fits(s).expect_err("too small").0;
    assert!(err.contains("at least 12×12") && err.contains("8×8"), "{err}");
    assert!(err.contains("[images]") && err.contains("resize = [28, 28]"), "{err}");
}

#[test]
fn a_cifar_summary_is_read_once_then_cached_by_size_and_time() {
    use std::time::Duration;
    use workbench::config::ImagesConfig;
    use workbench::data::arrays::summarize_cifar;
    use workbench::data::listing::cifar_summary::{self, FactsSource, CIFAR_SUMMARIES};
    let (dir, cache) = (tempdir(), tempdir());
    for (name, bytes) in cifar10_files() {
        put(dir.path(), &name, bytes);
    }
    let src = dir.path().join("cifar-10-batches-bin");
    let images = ImagesConfig::default();
    let first = summarize_cifar(&src, &images, cache.path()).unwrap();
    assert_eq!((first.rows, &first.class_counts[..3]), (40, &[20, 20, 0][..]));
    assert!(cache.path().join(CIFAR_SUMMARIES).is_file(), "the summary is cached");

    // Relabel a batch as class 9, keeping its size and time: a listing that read it would see that.
    let batch = src.join("data_batch_1.bin");
    let mtime = std::fs::metadata(&batch).unwrap().modified().unwrap();
    let nines: Vec<&[u8]> = vec![&[9u8][..]; 20];
    std::fs::write(&batch, cifar_batch(&nines)).unwrap();
    let set_time = |t| std::fs::File::options().write(true).open(&batch).unwrap().set_modified(t).unwrap();
    set_time(mtime);
    let second = summarize_cifar(&src, &images, cache.path()).unwrap();
    assert_eq!(second, first, "the second listing comes from the cache");
    let (_, how) = cifar_summary::facts(&src, cache.path(), || -> Result<_, String> {
        panic!("a cached source must not be read")
    })
    .unwrap();
    assert_eq!(how, FactsSource::Cache);

    // A new time: the files are read again and the new labels show.
    set_time(mtime + Duration::from_secs(5));
    let third = summarize_cifar(&src, &images, cache.path()).unwrap();
    assert_eq!((third.class_counts[0], third.class_counts[1], third.class_counts[9]), (10, 10, 20));
}

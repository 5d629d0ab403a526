//! Image datasets: listing, staging and its cache (reuse, change, interruption), IDX files, the
//! CLI's `stage` and `cache`, and lenet5 learning the shipped shapes.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::process::Command;

use common::*;
use workbench::config::ImagesConfig;
use workbench::data::staging::cache::Cache;
use workbench::data::{DatasetFormat, Preview, StageError, StagePhase, Task};
use workbench::runs::load_run;
use workbench::train::{ModelKind, TrainMsg};

/// A small two-class dataset: dark and light `size`×`size` images, `n` per class and split.
fn two_class_entries(size: u32, n: usize, with_test: bool) -> Vec<(String, Vec<u8>)> {
    let mut entries = Vec::new();
    let splits: &[&str] = if with_test { &["train/", "test/"] } else { &[""] };
    for split in splits {
        for (class, value) in [("dark", 20u8), ("light", 200u8)] {
            for i in 0..n {
                entries.push((format!("{split}{class}/{i:03}.png"), png_gray(size, size, value + i as u8)));
            }
        }
    }
    entries
}

fn images() -> ImagesConfig {
    ImagesConfig::default()
}

#[test]
fn the_shipped_shapes_list_with_classes_counts_size_and_staged_state() {
    let cache = tempdir();
    let catalog = scan_images(&shipped_datasets(), cache.path(), &images());
    let shapes = catalog.get("shapes").expect("datasets/shapes.zip is listed");
    assert_eq!(shapes.format, DatasetFormat::ImageZip);
    let s = shapes.summary.as_ref().expect("shapes is usable");
    let classes = ["circle", "cross", "square", "triangle"].map(String::from).to_vec();
    assert_eq!(s.task, Task::Classification { classes });
    assert_eq!(s.class_counts, [100, 100, 100, 100]);
    assert_eq!((s.rows, s.sample_shape.as_slice(), s.features), (400, &[1, 28, 28][..], 784));
    assert_eq!(s.staged, Some(false));
    assert!(s.notes.iter().any(|n| n.contains("test/ is the validation set (100 images)")), "{:?}", s.notes);
    let Preview::Images(thumbs) = &s.preview else { panic!("an image preview") };
    assert_eq!(thumbs.len(), 8);
    assert_eq!(thumbs[0].label, "circle");
    assert_eq!(thumbs[1].label, "cross", "the preview takes the classes in turn");
    assert!(thumbs.iter().all(|t| (t.width, t.height, t.channels, t.pixels.len()) == (28, 28, 1, 784)));

    // Staged, the listing comes from the cache's manifest, with the same figures.
    let (loaded, calls) = load_counting(shapes, cache.path(), &images());
    let data = loaded.expect("shapes stages");
    assert!(calls > 0, "staging reports progress");
    assert_eq!(data.x.size(), [400, 1, 28, 28]);
    let holdout = data.holdout.as_ref().expect("test/ is the holdout");
    assert_eq!(holdout.0.size(), [100, 1, 28, 28]);
    let (min, max) = (data.x.min().double_value(&[]), data.x.max().double_value(&[]));
    assert!(min >= 0.0 && max <= 1.0 && max > 0.5, "pixels scaled to [0, 1]: {min}..{max}");

    let again = scan_images(&shipped_datasets(), cache.path(), &images());
    let s2 = again.get("shapes").unwrap().summary.as_ref().unwrap();
    assert_eq!(s2.staged, Some(true));
    assert_eq!((&s2.task, &s2.class_counts, &s2.sample_shape), (&s.task, &s.class_counts, &s.sample_shape));
    assert_eq!(s2.preview, s.preview, "the manifest keeps the same preview");
}

#[test]
fn lenet5_learns_the_shipped_shapes() {
    let catalog = shipped_catalog();
    let shapes = catalog.get("shapes").unwrap();
    let runs = tempdir();
    // The config's defaults (batch 16, Adam at 0.01) with fewer epochs than its 100.
    let mut s = spec("shapes", ModelKind::Lenet5);
    s.epochs = 8;
    let out = train(shapes, s, runs.path());
    let epochs = out.epochs();
    assert!(matches!(out.last(), TrainMsg::Finished { .. }), "{:?}", out.last());
    let acc = epochs.last().and_then(|e| e.val_metric).unwrap();
    assert!(acc >= 0.9, "validation accuracy {acc} after {} epochs", epochs.len());
    assert!(epochs.last().unwrap().train_loss < epochs[0].train_loss);

    let record = load_run(&out.run_dir()).expect("run.toml");
    let data = &record.meta.data;
    assert_eq!((data.train_samples, data.val_samples), (400, 100), "test/ is the validation set");
    assert_eq!(data.sample_shape, [1, 28, 28]);
    assert_eq!(data.mean.len(), 1, "one mean per channel, from the training images");
    assert_eq!(data.placement, "all data in memory");
}

#[test]
fn mlp_and_logreg_take_images_flattened() {
    let dir = tempdir();
    write(dir.path(), "tiny.zip", zip_bytes(&two_class_entries(12, 12, false)));
    let cache = tempdir();
    let catalog = scan_images(dir.path(), cache.path(), &images());
    let tiny = catalog.get("tiny").unwrap();
    for model in [ModelKind::Logreg, ModelKind::Mlp] {
        let runs = tempdir();
        let mut s = spec("tiny", model);
        s.epochs = 15;
        let out = train(tiny, s, runs.path());
        let acc = out.epochs().last().and_then(|e| e.val_metric);
        assert!(acc.is_some_and(|a| a >= 0.9), "{model}: {acc:?} / {:?}", out.last());
    }
}

#[test]
fn staging_is_reused_and_a_changed_source_is_staged_again() {
    let dir = tempdir();
    let cache = tempdir();
    let zip = write(dir.path(), "pics.zip", zip_bytes(&two_class_entries(8, 5, true)));
    let catalog = scan_images(dir.path(), cache.path(), &images());
    let entry = catalog.get("pics").unwrap();

    let (first, calls) = load_counting(entry, cache.path(), &images());
    assert_eq!(first.unwrap().len(), 10);
    assert!(calls > 0, "the first load stages");
    let started = std::time::Instant::now();
    let (second, calls) = load_counting(entry, cache.path(), &images());
    assert_eq!(second.unwrap().len(), 10);
    assert_eq!(calls, 0, "a current cache entry is loaded, not staged");
    assert!(started.elapsed().as_secs_f64() < 1.0, "loading the staged copy took {:?}", started.elapsed());

    // The same bytes with a new time: checked by hash, found unchanged, not staged again.
    let f = std::fs::File::options().write(true).open(&zip).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
    let listed = scan_images(dir.path(), cache.path(), &images());
    assert_eq!(
        listed.get("pics").unwrap().summary.as_ref().unwrap().staged,
        Some(false),
        "time changed: not known current"
    );
    let settings = images();
    let spec = entry.image_spec(&settings);
    let report = workbench::data::staging::stage(&spec, cache.path(), &mut |_, _, _| true).unwrap();
    assert!(!report.staged_now && report.rehashed, "{report:?}");
    let listed = scan_images(dir.path(), cache.path(), &images());
    assert_eq!(
        listed.get("pics").unwrap().summary.as_ref().unwrap().staged,
        Some(true),
        "the key took the new time"
    );

    // New content: staged again, and the new images are what loads.
    write(dir.path(), "pics.zip", zip_bytes(&two_class_entries(8, 7, true)));
    let (third, calls) = load_counting(entry, cache.path(), &images());
    assert_eq!(third.unwrap().len(), 14);
    assert!(calls > 0, "a changed source is staged again");
    let entries: Vec<_> = Cache::new(cache.path()).list().unwrap();
    assert_eq!(entries.len(), 1, "the new entry replaced the old one: {entries:?}");
}

#[test]
fn same_size_different_content_is_caught_by_the_hash() {
    // Raw IDX files keep their size when a pixel changes, so only the hash can tell.
    let dir = tempdir();
    let cache = tempdir();
    let pixels: Vec<u8> = (0..6 * 16).map(|i| (i * 7 % 256) as u8).collect();
    let images_file = write(dir.path(), "train-images-idx3-ubyte", idx_images(6, 4, 4, &pixels));
    write(dir.path(), "train-labels-idx1-ubyte", idx_labels(&[0, 1, 0, 1, 0, 1]));
    let catalog = scan_images(dir.path(), cache.path(), &images());
    let mnist = catalog.get("mnist").expect("loose MNIST-named files make `mnist`");
    let (data, _) = load_counting(mnist, cache.path(), &images());
    let pixel = |x: &tch::Tensor| (x.double_value(&[0, 0, 0, 1]) * 255.0).round();
    assert_eq!(pixel(&data.unwrap().x), 7.0);

    let mut changed = idx_images(6, 4, 4, &pixels);
    changed[16 + 1] = 255;
    std::fs::write(&images_file, &changed).unwrap();
    let f = std::fs::File::options().write(true).open(&images_file).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
    let (data, calls) = load_counting(mnist, cache.path(), &images());
    assert!(calls > 0, "staged again");
    assert_eq!(pixel(&data.unwrap().x), 255.0, "the changed pixel is what loads");
}

#[test]
fn interrupted_staging_is_never_reused() {
    let dir = tempdir();
    let cache = tempdir();
    write(dir.path(), "pics.zip", zip_bytes(&two_class_entries(8, 40, false)));
    let catalog = scan_images(dir.path(), cache.path(), &images());
    let entry = catalog.get("pics").unwrap();
    let settings = images();
    let spec = entry.image_spec(&settings);

    // Interrupted in the middle (a panic stands in for the process going away).
    let interrupted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        workbench::data::staging::stage(&spec, cache.path(), &mut |phase, done, _| {
            if phase == StagePhase::Decoding && done > 0 {
                panic!("interrupted");
            }
            true
        })
        .is_ok()
    }));
    assert!(interrupted.is_err());
    assert!(Cache::new(cache.path()).list().unwrap().is_empty(), "nothing is left behind under any name");
    let listed = scan_images(dir.path(), cache.path(), &images());
    assert_eq!(listed.get("pics").unwrap().summary.as_ref().unwrap().staged, Some(false));

    // Stage properly, then fake what a killed process leaves: a `.staging-*` copy (complete but
    // never renamed), and damage the real entry's tensor file.
    let report = workbench::data::staging::stage(&spec, cache.path(), &mut |_, _, _| true).unwrap();
    let leftover = cache
        .path()
        .join(format!(".staging-{}-999999999-0", report.entry_dir.file_name().unwrap().to_string_lossy()));
    std::fs::create_dir(&leftover).unwrap();
    // Its stager: a process of this host that is gone (999999999 is above any pid_max).
    let stager =
        workbench::data::staging::stager::Stager { host: workbench::runs::host_name(), pid: 999_999_999 };
    std::fs::write(
        leftover.join(workbench::data::staging::stager::STAGER_FILE),
        toml::to_string(&stager).unwrap(),
    )
    .unwrap();
    for f in std::fs::read_dir(&report.entry_dir).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), leftover.join(f.file_name())).unwrap();
    }
    let train_file = report.entry_dir.join("train.safetensors");
    let len = std::fs::metadata(&train_file).unwrap().len();
    std::fs::File::options().write(true).open(&train_file).unwrap().set_len(len / 2).unwrap();

    let listed = scan_images(dir.path(), cache.path(), &images());
    assert_eq!(
        listed.get("pics").unwrap().summary.as_ref().unwrap().staged,
        Some(false),
        "a truncated entry is not staged"
    );
    let (data, calls) = load_counting(entry, cache.path(), &images());
    assert_eq!(data.unwrap().len(), 80);
    assert!(calls > 0, "staged again rather than reading the truncated file or the leftover");
    assert!(!leftover.exists(), "the dead process's leftover is removed");

    // An entry whose manifest is gone is not complete either.
    std::fs::remove_file(report.entry_dir.join("manifest.json")).unwrap();
    let (_, calls) = load_counting(entry, cache.path(), &images());
    assert!(calls > 0);
}

/// A run stopped (or the TUI quit) while its dataset is being staged doesn't wait for the
/// staging to finish: the progress callback says stop, the decoders wind down, nothing is kept.
#[test]
fn a_stop_while_staging_abandons_it_and_keeps_nothing() {
    let dir = tempdir();
    let cache = tempdir();
    write(dir.path(), "pics.zip", zip_bytes(&two_class_entries(8, 50, false)));
    let catalog = scan_images(dir.path(), cache.path(), &images());
    let entry = catalog.get("pics").unwrap();
    let settings = images();
    let image_spec = entry.image_spec(&settings);

    // Stopped while the zip is read (the copy from a slow drive), then while its images decode.
    for stop_in in [StagePhase::Reading, StagePhase::Decoding] {
        let (mut calls_after_stop, mut stopped) = (0, false);
        let err = workbench::data::staging::stage(&image_spec, cache.path(), &mut |phase, _, _| {
            calls_after_stop += usize::from(stopped);
            stopped |= phase == stop_in;
            !stopped
        })
        .unwrap_err();
        assert!(matches!(err, StageError::Stopped), "{stop_in:?}: {err}");
        assert!(err.to_string().contains("staging was stopped before it finished"), "{stop_in:?}: {err}");
        assert!(stopped && calls_after_stop == 0, "{stop_in:?}: no progress after the stop");
        let left: Vec<_> =
            std::fs::read_dir(cache.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(left.iter().all(|n| !n.to_string_lossy().starts_with("pics")), "no entry for pics: {left:?}");
        assert!(Cache::new(cache.path()).list().unwrap().is_empty(), "nothing kept: {left:?}");
    }

    // Through a run: the worker reports it stopped, with no run folder, rather than failed.
    let runs = tempdir();
    let control = workbench::train::RunControl::new();
    let stopper = control.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut s = spec("pics", ModelKind::Mlp);
    s.epochs = 1;
    let mut req = request(entry, s, runs.path());
    req.cache_dir = cache.path().to_path_buf();
    let handle = workbench::train::spawn_run(req, control, move |m| {
        if matches!(m, TrainMsg::Loading { total, .. } if total > 0) {
            stopper.request_stop(workbench::train::StopReason::User);
        }
        tx.send(m).is_ok()
    })
    .unwrap();
    let messages: Vec<TrainMsg> = rx.iter().collect();
    handle.join();
    let last = messages.last().unwrap();
    assert!(
        matches!(last, TrainMsg::Stopped { run_dir: None, reason: workbench::train::StopReason::User, .. }),
        "{last:?}"
    );
    assert!(!messages.iter().any(|m| matches!(m, TrainMsg::Started { .. })), "training never began");
    assert!(Cache::new(cache.path()).list().unwrap().is_empty());
    assert!(!runs.path().exists() || std::fs::read_dir(runs.path()).unwrap().next().is_none());

    // And the next use stages it whole.
    let report = workbench::data::staging::stage(&image_spec, cache.path(), &mut |_, _, _| true).unwrap();
    assert!(report.entry_dir.exists());

    // Loose IDX files (MNIST as downloaded) report their reading over all files' bytes, and stop
    // in either phase too.
    let idx_dir = tempdir();
    let pixels: Vec<u8> = (0..6 * 16).map(|i| (i * 7 % 256) as u8).collect();
    write(idx_dir.path(), "train-images-idx3-ubyte", idx_images(6, 4, 4, &pixels));
    write(idx_dir.path(), "train-labels-idx1-ubyte", idx_labels(&[0, 1, 0, 1, 0, 1]));
    let catalog = scan_images(idx_dir.path(), cache.path(), &images());
    let mnist = catalog.get("mnist").unwrap().image_spec(&settings);
    let mut seen = Vec::new();
    workbench::data::staging::stage(&mnist, cache.path(), &mut |phase, done, total| {
        seen.push((phase, done, total));
        true
    })
    .unwrap();
    let bytes = (16 + 6 * 16 + 8 + 6) as u64;
    assert_eq!(seen.first(), Some(&(StagePhase::Reading, 0, bytes)), "{seen:?}");
    assert!(seen.contains(&(StagePhase::Reading, bytes, bytes)), "all bytes read: {seen:?}");
    assert_eq!(seen.last(), Some(&(StagePhase::Decoding, 6, 6)), "{seen:?}");
    Cache::new(cache.path()).clear(None).unwrap();
    for stop_in in [StagePhase::Reading, StagePhase::Decoding] {
        let err = workbench::data::staging::stage(&mnist, cache.path(), &mut |phase, _, _| phase != stop_in)
            .unwrap_err();
        assert!(matches!(err, StageError::Stopped), "{stop_in:?}: {err}");
        assert!(Cache::new(cache.path()).list().unwrap().is_empty());
    }
}

#[test]
fn an_unwritable_cache_is_a_clear_error_and_nothing_is_written_to_the_datasets_folder() {
    let dir = tempdir();
    write(dir.path(), "pics.zip", zip_bytes(&two_class_entries(8, 3, false)));
    let before = snapshot(dir.path());
    let elsewhere = tempdir();
    let not_a_dir = write(elsewhere.path(), "cache", "not a folder");
    let catalog = scan_images(dir.path(), &not_a_dir, &images());
    let (err, _) = load_counting(catalog.get("pics").unwrap(), &not_a_dir, &images());
    let err = err.unwrap_err();
    assert!(matches!(&err, StageError::Cache { dir, .. } if dir == &not_a_dir), "{err}");
    let err = err.to_string();
    assert!(err.contains("could not be staged") && err.contains("cache_dir"), "{err}");
    std::fs::remove_file(&not_a_dir).unwrap();

    let cache = tempdir();
    let (ok, _) = load_counting(catalog.get("pics").unwrap(), cache.path(), &images());
    ok.unwrap();
    assert_eq!(snapshot(dir.path()), before, "the datasets folder is untouched");
}

#[test]
fn folders_jpeg_rgb_and_the_color_and_resize_settings() {
    let dir = tempdir();
    let cache = tempdir();
    for (class, rgb) in [("red", [220, 30, 30]), ("blue", [30, 30, 220])] {
        std::fs::create_dir_all(dir.path().join("colors").join(class)).unwrap();
        for i in 0..3 {
            let name = format!("colors/{class}/{i}.jpg");
            write(dir.path(), &name, rgb_image(10, 10, rgb, image::ImageFormat::Jpeg));
        }
    }
    let catalog = scan_images(dir.path(), cache.path(), &images());
    let colors = catalog.get("colors").unwrap();
    assert_eq!(colors.format, DatasetFormat::ImageFolder);
    let s = colors.summary.as_ref().unwrap();
    assert_eq!(s.sample_shape, [3, 10, 10], "colour JPEGs give three channels");
    let (data, _) = load_counting(colors, cache.path(), &images());
    let data = data.unwrap();
    // blue comes first (sorted classes): its blue channel is bright, its red one dark.
    assert!(data.x.double_value(&[0, 2, 5, 5]) > 0.7 && data.x.double_value(&[0, 0, 5, 5]) < 0.3);

    let gray = ImagesConfig { color: "gray".into(), resize: Some([6, 4]), ..ImagesConfig::default() };
    let catalog = scan_images(dir.path(), cache.path(), &gray);
    let colors = catalog.get("colors").unwrap();
    assert_eq!(colors.summary.as_ref().unwrap().sample_shape, [1, 4, 6], "[C, H, W] after resize = [6, 4]");
    let (data, _) = load_counting(colors, cache.path(), &gray);
    assert_eq!(data.unwrap().x.size(), [6, 1, 4, 6]);
    assert_eq!(Cache::new(cache.path()).list().unwrap().len(), 2, "other settings are another entry");
}

#[test]
fn mnist_idx_files_loose_gzipped_and_zipped() {
    let dir = tempdir();
    let cache = tempdir();
    let px = |n: usize| -> Vec<u8> { (0..n * 144).map(|i| (i % 251) as u8).collect() };
    write(dir.path(), "train-images-idx3-ubyte.gz", gzip(&idx_images(20, 12, 12, &px(20))));
    write(
        dir.path(),
        "train-labels-idx1-ubyte.gz",
        gzip(&idx_labels(&[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4])),
    );
    write(dir.path(), "t10k-images-idx3-ubyte.gz", gzip(&idx_images(4, 12, 12, &px(4))));
    write(dir.path(), "t10k-labels-idx1-ubyte.gz", gzip(&idx_labels(&[1, 4, 9, 3])));
    let zipped = vec![
        ("digits/train-images.idx3-ubyte".to_string(), idx_images(6, 12, 12, &px(6))),
        ("digits/train-labels.idx1-ubyte".to_string(), idx_labels(&[0, 1, 0, 1, 2, 2])),
    ];
    write(dir.path(), "digits.zip", zip_bytes(&zipped));

    let catalog = scan_images(dir.path(), cache.path(), &images());
    let names: Vec<&str> = catalog.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["digits", "mnist"]);
    let mnist = catalog.get("mnist").unwrap();
    assert_eq!(mnist.format, DatasetFormat::Idx);
    let s = mnist.summary.as_ref().unwrap();
    let classes: Vec<String> = ["1", "2", "3", "4", "5", "6", "7", "8", "9"].map(String::from).to_vec();
    assert_eq!(s.task, Task::Classification { classes });
    assert_eq!(s.class_counts, [2, 2, 4, 2, 3, 1, 1, 2, 3]);
    assert_eq!(s.sample_shape, [1, 12, 12]);
    let (data, _) = load_counting(mnist, cache.path(), &images());
    let data = data.unwrap();
    assert_eq!(data.x.size(), [20, 1, 12, 12]);
    assert_eq!(
        Vec::<i64>::try_from(&data.y.narrow(0, 0, 3)).unwrap(),
        [2, 0, 3],
        "labels 3, 1, 4 as class indices"
    );
    assert_eq!(data.holdout.as_ref().unwrap().0.size(), [4, 1, 12, 12]);

    let digits = catalog.get("digits").unwrap();
    assert_eq!(digits.summary.as_ref().unwrap().class_counts, [2, 2, 2]);
    let (data, _) = load_counting(digits, cache.path(), &images());
    assert!(data.unwrap().holdout.is_none());
}

#[test]
fn stage_and_cache_commands() {
    let dir = tempdir();
    let cache = tempdir();
    write(dir.path(), "pics.zip", zip_bytes(&two_class_entries(8, 4, true)));
    write(dir.path(), "table.csv", "a,b,label\n1,2,x\n3,4,y\n5,6,x\n");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_workbench"))
            .args([
                "--datasets-dir",
                &dir.path().display().to_string(),
                "--cache-dir",
                &cache.path().display().to_string(),
            ])
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("run workbench");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["stage", "pics"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("pics: staging, reading 3.2 KiB/3.2 KiB (100%)")
            && out.contains("pics: staging, decoding 16/16 images (100%)")
            && out.contains("images/s  ETA"),
        "{out}"
    );
    assert!(out.contains("staged 16 images (8 train, 8 validation), 8×8 gray"), "{out}");
    assert!(
        !out.contains('\r') && !out.contains('\x1b'),
        "plain lines when stdout is not a terminal: {out:?}"
    );

    let (code, out, _) = run(&["stage"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("pics: already staged"), "{out}");
    let (_, out, _) = run(&["stage", "table"]);
    assert!(out.contains("nothing to stage"), "{out}");
    let (code, _, err) = run(&["stage", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("error: no dataset named \"nope\"") && err.lines().count() == 1, "{err}");

    let (code, out, _) = run(&["cache", "list"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("1 entry") && out.contains("pics") && out.contains("current"), "{out}");
    let (_, out, _) = run(&["datasets"]);
    assert!(out.contains("1×8×8"), "{out}");
    assert!(out.contains("staged: yes"), "{out}");
    let (code, out, _) = run(&["cache", "clear"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("removed 1 entry"), "{out}");
    assert!(Cache::new(cache.path()).list().unwrap().is_empty());
    assert!(cache.path().exists());
}

#[test]
fn images_are_standardized_per_channel_with_training_statistics() {
    use tch::{Device, Kind, Tensor};
    use workbench::data::LoadedData;
    use workbench::train::models::Head;
    use workbench::train::prepare::{prepare, Placement};

    tch::manual_seed(3);
    // Three channels with different levels; the holdout is brighter than the training images.
    let level = Tensor::from_slice(&[0.2f32, 0.5, 0.8]).reshape([1, 3, 1, 1]);
    let x = Tensor::rand([40, 3, 4, 4], (Kind::Float, Device::Cpu)) * 0.1 + &level;
    let xv = Tensor::rand([10, 3, 4, 4], (Kind::Float, Device::Cpu)) * 0.1 + &level + 0.1;
    let y = Tensor::from_slice(&[0i64, 1].repeat(20));
    let yv = Tensor::from_slice(&[0i64, 1].repeat(5));
    let classes = vec!["a".to_string(), "b".to_string()];
    let data = LoadedData {
        name: "t".into(),
        x,
        y,
        task: Task::Classification { classes },
        feature_names: Vec::new(),
        holdout: Some((xv, yv)),
    };
    let p = prepare(&data, Head::Softmax, 0.2, true, Device::Cpu, None).unwrap();
    assert_eq!(p.placement, Placement::OnDevice, "no budget: everything in place");
    let over = prepare(&data, Head::Softmax, 0.2, true, Device::Cpu, Some(1)).unwrap();
    assert_eq!(over.placement, Placement::StreamFromHost, "over the budget: batches stream");
    assert_eq!((p.mean.len(), p.std.len()), (3, 3), "one statistic per channel");
    assert!((p.mean[2] - 0.85).abs() < 0.02, "{:?}", p.mean);
    let per_channel =
        |t: &Tensor| Vec::<f64>::try_from(t.mean_dim([0i64, 2, 3].as_slice(), false, Kind::Double)).unwrap();
    assert!(per_channel(&p.x_train).iter().all(|m| m.abs() < 1e-4), "training images centred");
    let val = per_channel(&p.val.as_ref().unwrap().0);
    assert!(val.iter().all(|m| *m > 2.0), "the holdout uses the training statistics, not its own: {val:?}");
    assert_eq!(p.train_len(), 40, "the holdout replaces val_fraction");
}

#[test]
fn folders_without_images_and_the_cache_itself_are_not_datasets() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("notes/drafts")).unwrap();
    write(&dir.path().join("notes"), "todo.txt", "nothing to see");
    write(dir.path(), "pics.zip", zip_bytes(&two_class_entries(8, 2, false)));
    // A cache inside the datasets folder (cache_dir pointed there) is skipped too.
    let cache = dir.path().join("cache");
    let catalog = scan_images(dir.path(), &cache, &images());
    load_counting(catalog.get("pics").unwrap(), &cache, &images()).0.unwrap();
    let again = scan_images(dir.path(), &cache, &images());
    let names: Vec<&str> = again.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["pics"]);
}

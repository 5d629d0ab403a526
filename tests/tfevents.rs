//! External runs: TensorBoard event files written by the real `torch.utils.tensorboard` and a
//! Lightning CSVLogger folder (tests/fixtures/tfevents/, made by scripts/make_tfevents_fixtures.py),
//! read back through `ExternalFollower`; growing files, cut records, corrupt records, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::copy_dir;

use workbench::runs::events::{ExternalKind, RunEvent, ScalarPoint};
use workbench::runs::external::{
    encode_file_version, encode_scalar_event, parse_record, read_event_file, EventFileReader,
    ExternalFollower, Frame, ScalarStyle, HEADER_LEN,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tfevents")
}

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(snapshot(&e.path()));
        } else {
            out.insert(e.path(), std::fs::read(e.path()).unwrap());
        }
    }
    out
}

/// A run's last `External`: its kind, hparams and problem.
type ExternalSeen = (ExternalKind, Vec<(String, String)>, Option<String>);

#[derive(Default, Debug)]
struct Seen {
    external: BTreeMap<String, ExternalSeen>,
    scalars: BTreeMap<(String, String), Vec<ScalarPoint>>,
    removed: Vec<String>,
}

fn collect(events: Vec<RunEvent>, seen: &mut Seen) {
    for e in events {
        match e {
            RunEvent::External { key, kind, hparams, problem, .. } => {
                seen.external.insert(key, (kind, hparams, problem));
            }
            RunEvent::Scalars { key, tag, points } => {
                assert!(seen.external.contains_key(&key), "Scalars for {key} before its External");
                seen.scalars.entry((key, tag)).or_default().extend(points)
            }
            RunEvent::Removed { key } => seen.removed.push(key),
            other => panic!("unexpected event {other:?}"),
        }
    }
}

/// Split an event file into its framed records.
fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match parse_record(&bytes[pos..]).unwrap() {
            Frame::Record { size, .. } => {
                out.push(bytes[pos..pos + size].to_vec());
                pos += size;
            }
            Frame::Incomplete => panic!("fixture ends in a cut record"),
        }
    }
    out
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// Warnings logged (tracing) while `f` runs on this thread.
fn warnings_during<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let r = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    (r, text.lines().filter(|l| l.contains("WARN")).map(str::to_string).collect())
}

#[test]
fn fixtures_written_by_pytorch_read_back_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixtures(), tmp.path());
    let before = snapshot(tmp.path());
    let mut follower = ExternalFollower::new(vec![tmp.path().to_path_buf()]);
    let mut seen = Seen::default();
    collect(follower.poll(), &mut seen);

    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert_eq!(seen.external.len(), expected.len(), "runs found: {:?}", seen.external.keys());
    for (run, want) in expected {
        let key = if run.starts_with("lightning") { run.clone() } else { format!("tb/{run}") };
        let (kind, hparams, problem) = &seen.external[&key];
        let want_kind =
            if run.starts_with("lightning") { ExternalKind::LightningCsv } else { ExternalKind::TensorBoard };
        assert_eq!(*kind, want_kind, "{key}");
        assert_eq!(*problem, None, "{key}");
        let want_h: BTreeMap<String, String> = want["hparams"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(hparams.iter().cloned().collect::<BTreeMap<_, _>>(), want_h, "{key} hparams");
        let tags = want["tags"].as_object().unwrap();
        let got_tags: Vec<&String> = seen.scalars.keys().filter(|(k, _)| *k == key).map(|(_, t)| t).collect();
        assert_eq!(got_tags.len(), tags.len(), "{key} tags: {got_tags:?}");
        for (tag, points) in tags {
            let got = &seen.scalars[&(key.clone(), tag.clone())];
            let points = points.as_array().unwrap();
            assert_eq!(got.len(), points.len(), "{key} {tag}");
            for (g, w) in got.iter().zip(points) {
                let w = w.as_array().unwrap();
                assert_eq!(g.step, w[0].as_i64().unwrap(), "{key} {tag}");
                if let Some(t) = w[1].as_f64() {
                    assert_eq!(g.wall_time, t, "{key} {tag} wall time");
                } else if want_kind == ExternalKind::LightningCsv {
                    assert!(g.wall_time.is_nan());
                }
                let v = w[2].as_f64().unwrap();
                assert!((g.value - v).abs() <= 1e-12 * v.abs().max(1.0), "{key} {tag}: {} vs {v}", g.value);
                assert_eq!(g.epoch, w.get(3).and_then(|e| e.as_u64()).map(|e| e as u32), "{key} {tag} epoch");
            }
        }
    }
    // Repeat polls with nothing new say nothing, and nothing in the folders was written.
    assert!(follower.poll().is_empty());
    assert_eq!(snapshot(tmp.path()), before);
}

#[test]
fn a_growing_file_is_read_as_it_grows_and_a_cut_record_waits() {
    let fixture = fixtures().join("tb/exp-b/version_0/events.out.tfevents.1767225600.fixture.0");
    let all = std::fs::read(&fixture).unwrap();
    let recs = records(&all);
    let (full, problem) = read_event_file(&fixture).unwrap();
    assert_eq!(problem, None);

    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("live");
    std::fs::create_dir(&run).unwrap();
    let path = run.join("events.out.tfevents.1.host.2.0");
    let mut follower = ExternalFollower::new(vec![tmp.path().to_path_buf()]);
    let mut seen = Seen::default();
    append(&path, &recs[..3].concat());
    collect(follower.poll(), &mut seen);
    assert!(seen.external.contains_key("live"));
    let count = |seen: &Seen| seen.scalars.values().map(Vec::len).sum::<usize>();
    assert_eq!(count(&seen), 2, "records 1 and 2 hold one point each");

    for rec in &recs[3..] {
        // Half a record: nothing new, no problem, no warning.
        let half = rec.len() / 2;
        append(&path, &rec[..half]);
        let before = count(&seen);
        let (events, warnings) = warnings_during(|| follower.poll());
        assert!(events.is_empty(), "a cut record gave {events:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
        append(&path, &rec[half..]);
        collect(follower.poll(), &mut seen);
        assert_eq!(count(&seen), before + 1);
    }
    assert!(seen.external["live"].2.is_none());
    for (tag, points) in &full.scalars {
        assert_eq!(&seen.scalars[&("live".to_string(), tag.clone())], points, "{tag}");
    }
}

#[test]
fn a_corrupt_record_is_skipped_with_one_warning_and_the_rest_is_read() {
    let fixture = fixtures().join("tb/exp-a/events.out.tfevents.1767225600.fixture.0");
    let mut bytes = std::fs::read(&fixture).unwrap();
    let recs = records(&bytes);
    let (full, _) = read_event_file(&fixture).unwrap();
    let total: usize = full.scalars.values().map(Vec::len).sum();
    // Flip one byte in the data of the 6th record.
    let offset: usize = recs[..5].iter().map(Vec::len).sum();
    bytes[offset + HEADER_LEN + 3] ^= 0x20;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("events.out.tfevents.9.x.1.0");
    std::fs::write(&path, &bytes).unwrap();

    let mut reader = EventFileReader::new(&path);
    let (batch, warnings) = warnings_during(|| reader.read_new().unwrap());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("events.out.tfevents.9.x.1.0"), "{}", warnings[0]);
    assert!(warnings[0].contains(&format!("byte {offset}")), "{}", warnings[0]);
    assert_eq!(batch.corrupt, 1);
    assert_eq!(batch.scalars.values().map(Vec::len).sum::<usize>(), total - 1);
    assert_eq!(reader.problem(), None);
    assert_eq!(reader.offset(), bytes.len() as u64);
    // Read once: the warning is not repeated on the next poll.
    let (again, warnings) = warnings_during(|| reader.read_new().unwrap());
    assert_eq!((again.records, warnings.len()), (0, 0));
}

#[test]
fn a_bad_length_marks_the_file_damaged_from_there_and_keeps_what_came_before() {
    let fixture = fixtures().join("tb/exp-a/events.out.tfevents.1767225600.fixture.0");
    let mut bytes = std::fs::read(&fixture).unwrap();
    let recs = records(&bytes);
    let offset: usize = recs[..4].iter().map(Vec::len).sum();
    bytes[offset + 2] ^= 0x01;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("events.out.tfevents.9.x.1.0");
    std::fs::write(&path, &bytes).unwrap();
    let mut reader = EventFileReader::new(&path);
    let batch = reader.read_new().unwrap();
    assert_eq!(batch.records, 4);
    assert_eq!(batch.scalars.values().map(Vec::len).sum::<usize>(), 3);
    let problem = reader.problem().unwrap();
    assert!(problem.contains(&format!("damaged from byte {offset}")), "{problem}");
}

#[test]
fn a_file_that_is_not_an_event_file_is_listed_with_its_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("exp-x");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("events.out.tfevents.x"), "this is a text file, not TensorBoard's\n").unwrap();
    let mut follower = ExternalFollower::new(vec![tmp.path().to_path_buf()]);
    let mut seen = Seen::default();
    collect(follower.poll(), &mut seen);
    let (kind, _, problem) = &seen.external["exp-x"];
    assert_eq!(*kind, ExternalKind::TensorBoard);
    let problem = problem.as_deref().unwrap();
    assert!(
        problem.contains("events.out.tfevents.x") && problem.contains("not a TensorBoard event file"),
        "{problem}"
    );
    assert!(seen.scalars.is_empty());
    assert!(follower.poll().is_empty(), "the problem is reported once");
}

#[test]
fn writer_styles_and_hparams_yaml_beside_event_files() {
    // Lightning's TensorBoardLogger writes hparams.yaml beside its event files.
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("lightning_logs/version_3");
    std::fs::create_dir_all(&run).unwrap();
    let mut bytes = Vec::new();
    encode_file_version(1.0, &mut bytes);
    encode_scalar_event("a", 1, 10.0, 0.5, ScalarStyle::Simple, &mut bytes);
    encode_scalar_event("a", 2, 11.0, 0.25, ScalarStyle::TensorFloat, &mut bytes);
    encode_scalar_event("a", 3, 12.0, 0.1, ScalarStyle::TensorDoubleContent, &mut bytes);
    std::fs::write(run.join("events.out.tfevents.5.h.1.0"), &bytes).unwrap();
    std::fs::write(run.join("hparams.yaml"), "lr: 0.01\nlayers: 3\n").unwrap();
    let mut follower = ExternalFollower::new(vec![tmp.path().to_path_buf()]);
    let mut seen = Seen::default();
    collect(follower.poll(), &mut seen);
    let key = "lightning_logs/version_3".to_string();
    let values: Vec<(i64, f64)> =
        seen.scalars[&(key.clone(), "a".into())].iter().map(|p| (p.step, p.value)).collect();
    assert_eq!(values, [(1, 0.5), (2, 0.25), (3, 0.1)]);
    assert_eq!(seen.external[&key].1, [("layers".into(), "3".into()), ("lr".into(), "0.01".into())]);
    // hparams.yaml changes: External again with the new values.
    std::fs::write(run.join("hparams.yaml"), "lr: 0.02\nlayers: 3\nextra: yes\n").unwrap();
    collect(follower.poll(), &mut seen);
    assert_eq!(seen.external[&key].1.len(), 3);
    // The folder goes: Removed.
    std::fs::remove_dir_all(&run).unwrap();
    collect(follower.poll(), &mut seen);
    assert_eq!(seen.removed, [key]);
}

#[test]
fn lightning_csv_partial_lines_and_a_rewritten_header() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("csv/version_0");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("hparams.yaml"), "lr: 0.1\n").unwrap();
    let csv = run.join("metrics.csv");
    std::fs::write(&csv, "epoch,step,train_loss\n0,0,1.5\n0,1,1.").unwrap();
    let mut follower = ExternalFollower::new(vec![tmp.path().join("csv")]);
    let mut seen = Seen::default();
    collect(follower.poll(), &mut seen);
    let key = |t: &str| ("version_0".to_string(), t.to_string());
    assert_eq!(seen.external["version_0"].0, ExternalKind::LightningCsv);
    assert_eq!(seen.scalars[&key("train_loss")].len(), 1, "the cut line waits");
    append(&csv, b"25\n");
    collect(follower.poll(), &mut seen);
    let vals: Vec<f64> = seen.scalars[&key("train_loss")].iter().map(|p| p.value).collect();
    assert_eq!(vals, [1.5, 1.25]);
    // Lightning rewrites the file with a new header when a metric first appears: old rows are
    // not reported twice, the new ones are.
    std::fs::write(&csv, "epoch,step,train_loss,val_loss\n0,0,1.5,\n0,1,1.25,\n0,1,,0.9\n").unwrap();
    collect(follower.poll(), &mut seen);
    assert_eq!(seen.scalars[&key("train_loss")].len(), 2);
    let val = &seen.scalars[&key("val_loss")];
    assert_eq!((val.len(), val[0].step, val[0].value, val[0].epoch), (1, 1, 0.9, Some(0)));
}

#[test]
fn several_roots_keep_names_unique() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    encode_scalar_event("x", 0, 0.0, 1.0, ScalarStyle::Simple, &mut bytes);
    for root in [a.path(), b.path()] {
        std::fs::create_dir_all(root.join("logs/run1")).unwrap();
        std::fs::write(root.join("logs/run1/events.out.tfevents.1.h.1.0"), &bytes).unwrap();
    }
    let mut follower = ExternalFollower::new(vec![a.path().join("logs"), b.path().join("logs")]);
    let mut seen = Seen::default();
    collect(follower.poll(), &mut seen);
    assert_eq!(seen.external.keys().collect::<Vec<_>>(), ["logs-2/run1", "logs/run1"]);
}

#[test]
fn random_and_truncated_bytes_give_errors_never_a_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let real = std::fs::read(fixtures().join("tb/exp-a/events.out.tfevents.1767225600.fixture.1")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("events.out.tfevents.f");
    for i in 0..600 {
        let mut bytes: Vec<u8> = match i % 3 {
            0 => (0..next() % 300).map(|_| next() as u8).collect(),
            1 => real[..(next() as usize % real.len())].to_vec(),
            _ => real.clone(),
        };
        if i % 3 != 1 && !bytes.is_empty() {
            for _ in 0..1 + next() % 4 {
                let at = next() as usize % bytes.len();
                bytes[at] = next() as u8;
            }
        }
        let _ = parse_record(&bytes);
        std::fs::write(&path, &bytes).unwrap();
        let mut reader = EventFileReader::new(&path);
        let (first, _) = warnings_during(|| reader.read_new());
        let batch = first.unwrap();
        assert!(reader.offset() <= bytes.len() as u64);
        assert!(batch.corrupt <= batch.records);
    }
}

/// `add_hparams` (exp-a) and `hparams.yaml` (Lightning) land in the diff table: a name the
/// workbench knows (`lr`, `batch_size`) shares its row, the others get their own, and a run
/// that did not log one shows `-`.
#[test]
fn logged_hyperparameters_show_in_the_diff_table() {
    use workbench::app::compare::diff_rows;
    use workbench::app::run_view::RunView;
    let mut views: BTreeMap<String, RunView> = BTreeMap::new();
    for root in [fixtures().join("tb"), fixtures().join("lightning")] {
        for event in ExternalFollower::new(vec![root.clone()]).poll() {
            let key = event.key().to_string();
            let n = views.len();
            views.entry(key.clone()).or_insert_with(|| RunView::new(&key, root.clone(), n)).apply(event);
        }
    }
    let runs: Vec<&RunView> = ["exp-a", "exp-b/version_0", "version_0"].iter().map(|k| &views[*k]).collect();
    let rows = diff_rows(&runs);
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no row {name}: {rows:?}"))
            .values
            .clone()
    };
    assert_eq!(row("lr"), ["0.1", "-", "0.001"]);
    assert_eq!(row("batch size"), ["32", "-", "64"]);
    assert_eq!(row("optimizer"), ["sgd", "-", "-"]);
    assert_eq!(row("nesterov"), ["1", "-", "-"]);
    assert_eq!(row("model"), ["-", "-", "mlp"]);
    assert_eq!(row("hidden"), ["-", "-", "128"]);
    assert!(rows.iter().all(|r| r.name != "batch_size"), "one row per parameter: {rows:?}");
}

//! `workbench sweep` for real on the CPU: a 12-cell Iris grid through the queue on two CPU
//! slots, its record, `show`'s best and seed groups checked against the run folders, `best`,
//! `extend`, `stop`, a command sweep with placeholders, and each bad grid refused.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use workbench::runs::{load_run, RunStatus};

/// A project: the Iris CSV, config.toml with two CPU slots and short runs, runs/ beside it.
fn project() -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::copy(shipped_datasets().join("iris.csv"), dir.path().join("datasets/iris.csv")).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[train]\ndataset = \"iris\"\nepochs = 3\nthreads = 1\ndevice = \"cpu\"\n[queue]\ncpu_slots = 2\n[commands]\nstop_grace_s = 1\n",
    )
    .unwrap();
    dir
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = workbench_with_path(dir, args, None);
    assert!(out.status.success(), "{args:?}: {}\n{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let out = workbench_with_path(dir, args, None);
    assert!(!out.status.success(), "{args:?} should be refused: {}", text(&out.stdout));
    text(&out.stderr)
}

fn show(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&ok(dir, &["sweep", "show", name, "--json"])).unwrap()
}

/// Wait until every cell of the sweep has ended.
fn wait_ended(dir: &Path, name: &str, limit: Duration) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let shown = show(dir, name);
        let going = shown["results"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| matches!(c["status"].as_str(), Some("queued" | "running" | "paused")))
            .count();
        if going == 0 {
            return shown;
        }
        assert!(Instant::now() < deadline, "{going} cells still going: {shown:#}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn pid_alive(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists() && {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit(')').next().and_then(|r| r.split_whitespace().next()) != Some("Z")
    }
}

#[test]
fn a_grid_of_twelve_iris_cells_runs_once_each_and_show_reads_them_right() {
    let dir = project();
    let grid = ["--lr", "0.1,0.01", "--batch-size", "16,32", "--seed", "1,2,3"];
    // --dry-run prints the cells and makes nothing.
    let mut args = vec!["sweep", "--name", "g", "--dry-run"];
    args.extend(grid);
    let dry = ok(dir.path(), &args);
    assert!(dry.contains("sweep g: 12 run(s): lr × batch_size × seed"), "{dry}");
    assert!(
        dry.contains("lr=0.1 batch_size=16 seed=1") && dry.contains("lr=0.01 batch_size=32 seed=3"),
        "{dry}"
    );
    assert!(!dir.path().join("runs").exists(), "a dry run makes no folder");

    let mut args = vec!["sweep", "--name", "g"];
    args.extend(grid);
    let out = ok(dir.path(), &args);
    assert!(out.contains("queued sweep g: 12 run(s)"), "{out}");
    let record = std::fs::read_to_string(dir.path().join("runs/sweeps/g/sweep.toml")).unwrap();
    assert!(record.contains("command_line = ") && record.contains("--batch-size 16,32"), "{record}");
    let e = refused(dir.path(), &["sweep", "--name", "g", "--lr", "0.1,0.2"]);
    assert!(e.contains("a sweep named \"g\" exists"), "{e}");

    let shown = wait_ended(dir.path(), "g", Duration::from_secs(400));
    let cells = shown["results"]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 12);
    // Every cell ran once, with its values, as a run of the sweep.
    let mut seen = BTreeMap::new();
    let mut best_in_folders = f64::MIN;
    let mut by_group: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for cell in cells {
        assert_eq!(cell["status"], "finished", "{cell}");
        let run = load_run(&dir.path().join("runs").join(cell["run"].as_str().unwrap())).unwrap();
        assert_eq!(run.meta.sweep.as_deref(), Some("g"));
        let values = &run.meta.sweep_cell;
        let h = &run.meta.hyperparameters;
        assert_eq!(values["lr"].parse::<f64>().unwrap(), h.lr);
        assert_eq!(values["batch_size"], h.batch_size.to_string());
        assert_eq!(values["seed"], h.seed.to_string());
        assert_eq!(run.epochs.len(), 3);
        *seen.entry(values.clone()).or_insert(0) += 1;
        let (best, _) = run.best_metric().unwrap();
        // (serde_json reads floats back to within an ulp)
        assert!((cell["best"].as_f64().unwrap() - best).abs() < 1e-12, "{cell} vs {best}");
        best_in_folders = best_in_folders.max(best);
        by_group.entry((values["lr"].clone(), values["batch_size"].clone())).or_default().push(best);
    }
    assert_eq!(seen.len(), 12, "12 distinct cells");
    assert!(seen.values().all(|n| *n == 1), "each ran once: {seen:?}");
    assert!((cells[0]["best"].as_f64().unwrap() - best_in_folders).abs() < 1e-12, "sorted best first");
    // The seed groups: recomputed here.
    let groups = shown["results"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 4);
    for g in groups {
        let key = (
            g["values"]["lr"].as_str().unwrap().to_string(),
            g["values"]["batch_size"].as_str().unwrap().to_string(),
        );
        let x = &by_group[&key];
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let std = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt();
        assert_eq!(g["n"], 3);
        assert!((g["mean"].as_f64().unwrap() - mean).abs() < 1e-12, "{g} vs {mean}");
        assert!((g["std"].as_f64().unwrap() - std).abs() < 1e-12, "{g} vs {std}");
    }
    let text = ok(dir.path(), &["sweep", "show", "g"]);
    assert!(text.contains("by setting, over the seeds") && text.contains("finished 12"), "{text}");
    let best = ok(dir.path(), &["sweep", "best", "g"]);
    let top = &groups[0]["values"];
    assert!(
        best.contains(&format!(
            "best: lr={} batch_size={}",
            top["lr"].as_str().unwrap(),
            top["batch_size"].as_str().unwrap()
        )),
        "{best}"
    );
    assert!(best.contains("workbench train --batch-size") && best.contains("--dataset iris"), "{best}");
    let csv_path = dir.path().join("g.csv");
    ok(dir.path(), &["sweep", "show", "g", "--csv", csv_path.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(csv.starts_with("lr,batch_size,seed,status,device,metric,best"), "{csv}");
    assert_eq!(csv.lines().count(), 13);
    let list = ok(dir.path(), &["sweep", "list"]);
    assert!(list.contains("g  12 cells  finished 12"), "{list}");

    // extend adds only the new cells; stop takes them out again and leaves no process.
    let dry = ok(dir.path(), &["sweep", "extend", "g", "--lr", "0.1,0.3", "--dry-run"]);
    assert!(dry.contains("6 new cell(s)") && dry.contains("lr=0.3") && !dry.contains("lr=0.1 "), "{dry}");
    let out = ok(dir.path(), &["sweep", "extend", "g", "--lr", "0.3"]);
    assert!(out.contains("queued 6 new cell(s); it has 18 now"), "{out}");
    ok(dir.path(), &["sweep", "stop", "g"]);
    let shown = wait_ended(dir.path(), "g", Duration::from_secs(60));
    let cells = shown["results"]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 18);
    for cell in cells {
        let meta =
            workbench::runs::read_meta(&dir.path().join("runs").join(cell["run"].as_str().unwrap())).unwrap();
        assert!(!pid_alive(meta.pid) || meta.pid == 0, "{} left running", cell["run"]);
        assert!(
            matches!(meta.status, RunStatus::Finished | RunStatus::Stopped | RunStatus::Interrupted),
            "{meta:?}"
        );
    }
}

const SCRIPT: &str = r#"
import sys
x = float(sys.argv[sys.argv.index("--x") + 1])
for step in range(1, 4):
    print(f"step={step} loss={x / step}")
"#;

#[test]
fn a_command_sweep_fills_its_placeholders() {
    let dir = project();
    std::fs::write(dir.path().join("script.py"), SCRIPT).unwrap();
    let out = ok(
        dir.path(),
        &[
            "sweep",
            "--name",
            "c",
            "--device",
            "cpu",
            "--grid",
            "x=3,1,2",
            "--",
            "python3",
            "script.py",
            "--x",
            "{x}",
        ],
    );
    assert!(out.contains("queued sweep c: 3 run(s): x"), "{out}");
    let shown = wait_ended(dir.path(), "c", Duration::from_secs(120));
    assert_eq!(shown["results"]["judged"]["metric"], "loss");
    let cells = shown["results"]["cells"].as_array().unwrap();
    let order: Vec<&str> = cells.iter().map(|c| c["values"]["x"].as_str().unwrap()).collect();
    assert_eq!(order, ["1", "2", "3"], "the lowest loss first");
    assert!((cells[0]["best"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    let run = load_run(&dir.path().join("runs").join(cells[0]["run"].as_str().unwrap())).unwrap();
    assert_eq!(run.meta.command.as_ref().unwrap().argv, ["python3", "script.py", "--x", "1"]);
    let best = ok(dir.path(), &["sweep", "best", "c"]);
    assert!(best.contains("workbench run -- python3 script.py --x 1"), "{best}");
    let e = refused(dir.path(), &["sweep", "--grid", "y=1,2", "--", "python3", "script.py", "--x", "{x}"]);
    assert!(e.contains("`y` is used by no {y}"), "{e}");
}

#[test]
fn bad_grids_are_refused_with_the_reason_and_make_nothing() {
    let dir = project();
    let cases: [(&[&str], &str); 7] = [
        (&["sweep", "--lr", "0.1,0.01", "--random", "0"], "--random 0 draws no cells"),
        (&["sweep", "--lrr", "0.1,0.01"], "--lrr"),
        (&["sweep", "--grid", "lr=0.1,0.2", "--grid", "lr=0.3", "--", "echo", "{lr}"], "--lr is given twice"),
        (&["sweep", "--epochs", "50:10:step:10"], "yields nothing"),
        (&["sweep", "--lr", "1e-4:1e-1:log:1001"], "more than 1000: add --yes"),
        (&["sweep", "--epochs", "5"], "nothing varies"),
        (&["sweep", "--lr", "0.1,-1"], "lr=-1: --lr -1 is not valid"),
    ];
    for (args, says) in cases {
        let e = refused(dir.path(), args);
        assert!(e.contains(says), "{args:?}: {e}");
    }
    let runs = dir.path().join("runs");
    let made = std::fs::read_dir(&runs)
        .map(|r| r.filter_map(Result::ok).filter(|e| e.file_name() != "sweeps").count())
        .unwrap_or(0);
    assert_eq!(made, 0, "no run folder for a refused sweep");
}

/// `R` on the board: the failed and stopped cells go back to the queue as new runs with the same
/// values; the earlier runs stay on disk and in the record. And `e`'s band chart is written.
#[test]
fn requeued_cells_are_new_runs_and_the_earlier_ones_stay() {
    use workbench::queue::dispatch::QueueLock;
    let dir = project();
    let runs = dir.path().join("runs");
    // No run starts while the test holds the queue's lock: the cells stay queued.
    let lock = QueueLock::acquire(&runs).unwrap();
    ok(dir.path(), &["sweep", "--name", "r", "--lr", "0.1,0.01", "--seed", "1,2"]);
    ok(dir.path(), &["sweep", "stop", "r"]);
    let record = workbench::sweep::record::SweepRecord::load(&runs, "r").unwrap();
    let before: Vec<String> = record.cells.iter().map(|c| c.run.clone()).collect();
    for run in &before {
        assert_eq!(workbench::runs::read_meta(&runs.join(run)).unwrap().status, RunStatus::Stopped);
    }

    let text = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    let file = workbench::config::parse_config(&text).unwrap();
    let settings =
        workbench::config::Settings::from_file(file, dir.path(), Some(dir.path().join("config.toml")));
    let catalog = workbench::data::Catalog::scan_settings(&settings);
    let report = workbench::device::probe();
    let again = &before[..2];
    let count = workbench::sweep::requeue::requeue_cells(&settings, &catalog, &report, "r", again).unwrap();
    assert_eq!(count, 2);
    let record = workbench::sweep::record::SweepRecord::load(&runs, "r").unwrap();
    for (cell, old) in record.cells.iter().zip(&before) {
        if again.contains(old) {
            assert_ne!(&cell.run, old, "a new run for the cell");
            assert_eq!(cell.earlier, std::slice::from_ref(old));
            let meta = workbench::runs::read_meta(&runs.join(&cell.run)).unwrap();
            assert_eq!(meta.status, RunStatus::Queued);
            assert_eq!((meta.sweep.as_deref(), &meta.sweep_cell), (Some("r"), &cell.values));
            assert_eq!(meta.hyperparameters.lr.to_string(), cell.values["lr"]);
            assert!(runs.join(old).join("run.toml").exists(), "the earlier run stays on disk");
        } else {
            assert_eq!(&cell.run, old, "a cell not asked for is left alone");
        }
    }
    let err = workbench::sweep::requeue::requeue_cells(&settings, &catalog, &report, "r", again).unwrap_err();
    assert!(err.to_string().contains("none of those runs is a cell of sweep r"), "{err}");
    ok(dir.path(), &["sweep", "stop", "r"]);
    drop(lock);

    // The band chart of a group, as `e` writes it.
    let band = workbench::sweep::band::band(&[vec![(1.0, 0.5), (2.0, 0.8)], vec![(1.0, 0.6), (2.0, 0.9)]]);
    let chart = workbench::sweep::export::BandChart {
        title: "lr=0.1",
        metric: "val_accuracy",
        x_name: "epoch",
        band: &band,
        colour: workbench::runs::palette::family_colour(0, 0),
    };
    let written = workbench::sweep::export::write_band(&dir.path().join("band-lr_0.1"), &chart).unwrap();
    assert_eq!(written, [dir.path().join("band-lr_0.1.svg"), dir.path().join("band-lr_0.1.png")]);
    let svg = std::fs::read_to_string(&written[0]).unwrap();
    assert!(svg.contains("lr=0.1: val_accuracy (mean of 2 seeds, min to max shaded)"), "{svg}");
    assert!(std::fs::read(&written[1]).unwrap().starts_with(b"\x89PNG"));
}

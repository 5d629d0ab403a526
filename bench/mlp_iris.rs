//! The workbench's `mlp` (4-16-3) on Iris with Adam at batch size 16, on the CPU: steps per second
//! of the real training engine, for the side-by-side comparison with bench/mlp_iris_reference.py
//! (bench/bench_mlp_iris.sh runs both).
//!
//! It drives the library exactly as a run does: the catalog loads `datasets/iris.csv`,
//! [`prepare_run`] makes the seeded split and the model, and [`run_loop`] trains, with validation
//! after each epoch. Only `run_loop` is timed, as the reference times only its loop. What is left
//! out is the run folder (metrics CSV, checkpoint), which the reference has no counterpart for.
//!
//! A `[[bench]]` target with `harness = false`, so `cargo bench --bench mlp_iris -- --epochs 1000`
//! builds it with the release settings and runs it. cargo passes `--bench` to it then; without
//! that flag (as when `cargo test --all-targets` runs every target) it makes a short smoke run
//! instead, so the test suite keeps it working without paying for a benchmark.
//!
//! Flags: `--epochs N` (default 1000), `--seed N` (42), `--threads N` (`tch::set_num_threads`;
//! 0, the default, keeps libtorch's), `--datasets DIR` (the shipped `datasets/`).
//! Prints one JSON object, with the same keys as the reference.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use workbench::config::{ImagesConfig, TrainConfig};
use workbench::data::catalog::LoadOptions;
use workbench::data::Catalog;
use workbench::train::engine::{run_loop, LoopEvent};
use workbench::train::worker::prepare_run;
use workbench::train::{EpochMetrics, ModelKind, OptimizerKind, RunControl, TrainSpec};

struct Args {
    epochs: u32,
    seed: u64,
    threads: i32,
    datasets: PathBuf,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        epochs: 1000,
        seed: 42,
        threads: 0,
        datasets: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets"),
    };
    let mut bench = false;
    let mut epochs_given = false;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--bench" => bench = true,
            "--epochs" => {
                args.epochs = value()?.parse().context("--epochs")?;
                epochs_given = true;
            }
            "--seed" => args.seed = value()?.parse().context("--seed")?,
            "--threads" => args.threads = value()?.parse().context("--threads")?,
            "--datasets" => args.datasets = PathBuf::from(value()?),
            other => bail!("unknown flag {other:?}; use --epochs N, --seed N, --threads N, --datasets DIR"),
        }
    }
    if !bench && !epochs_given {
        args.epochs = 3; // run as a test target: a smoke run only
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if args.threads > 0 {
        tch::set_num_threads(args.threads);
    }
    let spec = TrainSpec {
        dataset: "iris".into(),
        model: ModelKind::Mlp.into(),
        device: "cpu".into(),
        epochs: args.epochs,
        batch_size: 16,
        lr: 0.01,
        optimizer: OptimizerKind::Adam,
        seed: args.seed,
        val_fraction: 0.2,
        standardize: true,
        hidden: vec![16],
        ..TrainSpec::from_config("iris", &TrainConfig::default())
    };

    let images = ImagesConfig::default();
    let catalog = Catalog::scan(&args.datasets, &BTreeMap::new(), &images);
    let entry = catalog.require("iris")?;
    let cache = std::env::temp_dir();
    let mut options = LoadOptions { cache_dir: &cache, images: &images, progress: &mut |_, _, _| true };
    let data = entry.load(&mut options)?;
    let (prepared, mut learner) =
        prepare_run(&spec, &data, tch::Device::Cpu, None).map_err(|e| anyhow!(e))?;

    let control = RunControl::new();
    let mut last: Option<EpochMetrics> = None;
    let mut steps = 0u64;
    let mut emit = |event: LoopEvent| {
        match event {
            LoopEvent::Steps { losses, .. } => steps += losses.len() as u64,
            LoopEvent::Epoch(m) => last = Some(m),
            LoopEvent::Paused | LoopEvent::Resumed => {}
        }
        Ok(true)
    };
    let start = Instant::now();
    let end = run_loop(learner.as_mut(), &prepared, &spec, &control, &mut emit)?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(reason) = end.stopped {
        bail!("the run stopped early: {reason:?}");
    }

    let last = last.as_ref();
    let report = serde_json::json!({
        "impl": "workbench",
        "version": format!("tch 0.24, libtorch {}", option_env!("WORKBENCH_LIBTORCH_BUILD_VERSION").unwrap_or("?")),
        "threads": tch::get_num_threads(),
        "epochs": spec.epochs,
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": steps as f64 / seconds,
        "train_loss": last.map(|m| m.train_loss),
        "val_loss": last.and_then(|m| m.val_loss),
        "val_acc": last.and_then(|m| m.val_metric),
    });
    println!("{report}");
    Ok(())
}

//! GPU checks. They run only where CUDA is usable and say so, with the reason, where it is not.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;
use workbench::train::{ModelKind, TrainMsg};

/// The reason to skip, printed so a skipped test is never silent. It is written to stderr
/// directly, past the test harness's capture, so it shows in every `cargo test` run.
fn skip_reason(test: &str) -> Option<String> {
    use std::io::Write;
    let report = workbench::device::probe();
    let why =
        report.cuda.is_empty().then(|| report.cuda_unavailable.unwrap_or_else(|| "no CUDA device".into()))?;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: no usable GPU: {why}");
    Some(why)
}

#[test]
fn cuda_devices_have_a_name_and_memory() {
    if skip_reason("cuda_devices_have_a_name_and_memory").is_some() {
        return;
    }
    let report = workbench::device::probe();
    for d in &report.cuda {
        assert!(!d.name.is_empty() && d.total_memory_bytes > (1 << 30), "{d:?}");
    }
}

#[test]
fn a_cuda_run_gives_the_cpu_curve() {
    if skip_reason("a_cuda_run_gives_the_cpu_curve").is_some() {
        return;
    }
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap();
    let curve = |device: &str| {
        let runs = tempdir();
        let mut s = spec("iris", ModelKind::Mlp);
        s.epochs = 20;
        s.device = device.into();
        let out = train(iris, s, runs.path());
        assert!(matches!(out.last(), TrainMsg::Finished { .. }), "{device}: {:?}", out.last());
        out.epochs().iter().map(|e| (e.train_loss, e.val_loss.unwrap())).collect::<Vec<_>>()
    };
    let (cpu, gpu) = (curve("cpu"), curve("cuda"));
    assert_eq!(cpu.len(), gpu.len());
    for (i, (c, g)) in cpu.iter().zip(&gpu).enumerate() {
        assert!(
            (c.0 - g.0).abs() < 1e-4 && (c.1 - g.1).abs() < 1e-4,
            "epoch {}: cpu {c:?} cuda {g:?}",
            i + 1
        );
    }
}

//! Training on the CPU: learning, reproducibility, ADALINE's two implementations, control, failures.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use workbench::runs::{load_run, RunStatus};
use workbench::train::models::load_checkpoint;
use workbench::train::{spawn_run, ModelKind, OptimizerKind, RunControl, StopReason, TrainMsg};

#[test]
fn the_loss_falls_and_mlp_and_logreg_reach_090_on_iris() {
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap();
    for model in [ModelKind::Mlp, ModelKind::Logreg] {
        let runs = tempdir();
        let mut s = spec("iris", model);
        s.epochs = 60;
        let out = train(iris, s, runs.path());
        let epochs = out.epochs();
        assert_eq!(epochs.len(), 60, "{model}: {:?}", out.last());
        let (first, last) = (&epochs[0], &epochs[59]);
        assert!(
            last.train_loss < first.train_loss * 0.5,
            "{model}: loss {} -> {}",
            first.train_loss,
            last.train_loss
        );
        let acc = last.val_metric.unwrap();
        assert!(acc >= 0.9, "{model}: validation accuracy {acc}");
        assert!(matches!(out.last(), TrainMsg::Finished { .. }));
    }
}

#[test]
fn linreg_and_mlp_fit_a_regression_target() {
    let dir = tempdir();
    let mut text = String::from("x1,x2,y\n");
    for i in 0..200 {
        let (a, b) = ((i % 17) as f64 / 4.0, (i % 11) as f64 / 3.0);
        text.push_str(&format!("{a},{b},{}\n", 3.0 * a - 2.0 * b + 0.5));
    }
    write(dir.path(), "line.csv", text);
    let catalog = scan(dir.path());
    for model in [ModelKind::Linreg, ModelKind::Mlp] {
        let runs = tempdir();
        let mut s = spec("line", model);
        s.epochs = 60;
        s.lr = 0.05;
        let out = train(catalog.get("line").unwrap(), s, runs.path());
        let last = out.epochs().last().cloned().unwrap();
        assert_eq!(last.metric, workbench::train::MetricKind::Mse);
        assert!(last.val_metric.unwrap() < 0.05, "{model}: val MSE {:?}", last.val_metric);
    }
}

#[test]
fn the_same_seed_gives_the_same_curve_and_another_seed_does_not() {
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap();
    let curve = |seed: u64| {
        let runs = tempdir();
        let mut s = spec("iris", ModelKind::Mlp);
        s.epochs = 5;
        s.seed = seed;
        let out = train(iris, s, runs.path());
        (out.step_losses(), out.epochs().iter().map(|e| e.val_loss.unwrap()).collect::<Vec<_>>())
    };
    let a = curve(7);
    assert_eq!(a.0.len(), 5 * 8, "120 training rows in batches of 16 is 8 steps an epoch");
    assert_eq!(a, curve(7));
    assert_ne!(a.0, curve(8).0);
}

/// A training set over the device's budget streams its batches from host memory. On a GPU that
/// adds pinning and a copy per batch; the arithmetic must not change, so the curve is the same as
/// with all the data in place. (The CPU runs the same code path without the pinning.)
#[test]
fn data_over_the_device_budget_streams_and_gives_the_same_curve() {
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap();
    let run = |budget: Option<u64>| {
        let runs = tempdir();
        let mut s = spec("iris", ModelKind::Mlp);
        s.epochs = 3;
        let mut req = request(iris, s, runs.path());
        req.device_budget = budget;
        let out = train_request(req);
        let placement = out
            .messages
            .iter()
            .find_map(|m| match m {
                TrainMsg::Started { placement, .. } => Some(placement.clone()),
                _ => None,
            })
            .expect("a Started message");
        let val: Vec<f64> = out.epochs().iter().map(|e| e.val_loss.unwrap()).collect();
        (placement, out.step_losses(), val)
    };
    let (in_place, steps_a, val_a) = run(None);
    let (streamed, steps_b, val_b) = run(Some(1000));
    assert_eq!(in_place, "all data in memory");
    assert!(streamed.contains("batches are copied one at a time"), "{streamed}");
    assert_eq!(steps_a.len(), 3 * 8);
    assert_eq!(steps_a, steps_b);
    assert_eq!(val_a, val_b);
}

#[test]
fn adaline_and_adaline_autograd_give_the_same_weights() {
    let catalog = shipped_catalog();
    let data = catalog.get("iris-binary").unwrap();
    for (optimizer, lr) in [(OptimizerKind::Sgd, 0.01), (OptimizerKind::Adam, 0.01)] {
        let weights = |model: ModelKind| {
            let runs = tempdir();
            let mut s = spec("iris-binary", model);
            s.optimizer = optimizer;
            s.lr = lr;
            s.epochs = 20;
            let out = train(data, s, runs.path());
            let acc = out.epochs().last().unwrap().val_metric.unwrap();
            let record = load_run(&out.run_dir()).unwrap();
            let learner = load_checkpoint(&record, tch::Device::Cpu).unwrap();
            let vars = learner.var_store().variables();
            let w = Vec::<f32>::try_from(&vars["weight"]).unwrap();
            let b = Vec::<f32>::try_from(&vars["bias"]).unwrap();
            (w, b, acc)
        };
        let (w1, b1, acc1) = weights(ModelKind::Adaline);
        let (w2, b2, acc2) = weights(ModelKind::AdalineAutograd);
        assert_eq!(w1.len(), 4);
        for (x, y) in w1.iter().chain(&b1).zip(w2.iter().chain(&b2)) {
            assert!((x - y).abs() < 1e-5, "{optimizer}: {w1:?} {b1:?} vs {w2:?} {b2:?}");
        }
        assert!(w1.iter().any(|&w| w.abs() > 1e-3), "the weights moved from zero");
        assert!(
            acc1 >= 0.95 && acc2 >= 0.95,
            "{optimizer}: setosa vs versicolor is separable: {acc1} {acc2}"
        );
    }
}

#[test]
fn a_model_that_does_not_fit_the_task_is_refused() {
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap().summary.as_ref().unwrap();
    let e = ModelKind::Adaline.check_fits(iris).unwrap_err().0;
    assert!(e.contains("needs exactly 2 classes, but the dataset has 3"), "{e}");
    assert!(ModelKind::Linreg.check_fits(iris).unwrap_err().0.contains("holds classes"));
    assert!(ModelKind::Lenet5.check_fits(iris).unwrap_err().0.contains("CNN for images"));
    assert!(ModelKind::Mlp.check_fits(iris).is_ok());
}

#[test]
fn a_diverging_run_fails_with_a_clear_message() {
    let dir = tempdir();
    let mut text = String::from("x,y\n");
    for i in 0..64 {
        text.push_str(&format!("{},{}\n", i * 1000, i * 5000));
    }
    write(dir.path(), "big.csv", text);
    let catalog = scan(dir.path());
    let runs = tempdir();
    let mut s = spec("big", ModelKind::Linreg);
    s.standardize = false;
    s.optimizer = OptimizerKind::Sgd;
    s.lr = 10.0;
    s.epochs = 50;
    let out = train(catalog.get("big").unwrap(), s, runs.path());
    let TrainMsg::Failed { error, run_dir, .. } = out.last() else {
        panic!("expected a failure: {:?}", out.last())
    };
    assert!(error.contains("training diverged at epoch 1"), "{error}");
    assert!(error.contains("Lower the learning rate (it is 10)"), "{error}");
    let record = load_run(run_dir.as_ref().unwrap()).unwrap();
    assert_eq!(record.meta.status, RunStatus::Failed);
    assert!(record.meta.reason.unwrap().contains("diverged"));
    assert_eq!(record.meta.failure_kind, Some(workbench::runs::FailureKind::Diverged), "the kind is kept");
}

#[test]
fn stop_pause_and_resume_between_batches() {
    let catalog = shipped_catalog();
    let iris = catalog.get("iris").unwrap();
    let runs = tempdir();
    let mut s = spec("iris", ModelKind::Mlp);
    s.epochs = 100_000;
    let (tx, rx) = mpsc::channel();
    let control = RunControl::new();
    let handle =
        spawn_run(request(iris, s, runs.path()), control.clone(), move |m| tx.send(m).is_ok()).unwrap();
    let wait_for = |pred: &dyn Fn(&TrainMsg) -> bool| loop {
        let m = rx.recv_timeout(Duration::from_secs(30)).expect("message in time");
        if pred(&m) {
            return m;
        }
    };
    wait_for(&|m| matches!(m, TrainMsg::Epoch { metrics, .. } if metrics.epoch >= 2));
    handle.set_paused(true);
    wait_for(&|m| matches!(m, TrainMsg::Paused { .. }));
    // While paused, no epoch completes.
    std::thread::sleep(Duration::from_millis(200));
    let during: Vec<TrainMsg> = rx.try_iter().collect();
    assert!(!during.iter().any(|m| matches!(m, TrainMsg::Epoch { .. })), "{during:?}");
    handle.set_paused(false);
    wait_for(&|m| matches!(m, TrainMsg::Resumed { .. }));
    wait_for(&|m| matches!(m, TrainMsg::Epoch { .. }));
    handle.stop(StopReason::User);
    let last = wait_for(&|m| m.is_final());
    let TrainMsg::Stopped { reason, run_dir, last: Some(metrics), .. } = last else { panic!("{last:?}") };
    assert_eq!(reason, StopReason::User);
    handle.join();
    let record = load_run(&run_dir.unwrap()).unwrap();
    assert_eq!(record.meta.status, RunStatus::Stopped);
    assert_eq!(record.epochs.len() as u32, metrics.epoch, "every finished epoch is on disk");
    assert!(record.checkpoint_path().is_some(), "a stopped run keeps a checkpoint");
}

#[test]
fn dropping_the_handle_marks_the_run_interrupted() {
    let catalog = shipped_catalog();
    let runs = tempdir();
    let mut s = spec("iris", ModelKind::Mlp);
    s.epochs = 100_000;
    let (tx, rx) = mpsc::channel();
    let handle =
        spawn_run(request(catalog.get("iris").unwrap(), s, runs.path()), RunControl::new(), move |m| {
            tx.send(m).is_ok()
        })
        .unwrap();
    let dir = loop {
        if let TrainMsg::Started { run_dir, .. } = rx.recv_timeout(Duration::from_secs(30)).unwrap() {
            break run_dir;
        }
    };
    drop(handle); // as when the program quits mid-run
    assert_eq!(load_run(&dir).unwrap().meta.status, RunStatus::Interrupted);
}

#[test]
fn zero_epochs_is_a_normal_run() {
    let catalog = shipped_catalog();
    let runs = tempdir();
    let mut s = spec("iris", ModelKind::Logreg);
    s.epochs = 0;
    let out = train(catalog.get("iris").unwrap(), s, runs.path());
    assert!(matches!(out.last(), TrainMsg::Finished { last: None, .. }), "{:?}", out.last());
    assert!(out.epochs().is_empty());
}

#[test]
fn a_batch_larger_than_the_data_and_no_validation_work() {
    let catalog = shipped_catalog();
    let runs = tempdir();
    let mut s = spec("iris", ModelKind::Logreg);
    s.epochs = 3;
    s.batch_size = 1000;
    s.val_fraction = 0.0;
    let out = train(catalog.get("iris").unwrap(), s, runs.path());
    let epochs = out.epochs();
    assert_eq!(epochs.len(), 3);
    assert_eq!(epochs[2].global_step, 3, "one batch per epoch");
    assert_eq!(epochs[2].val_loss, None);
}

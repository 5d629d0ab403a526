//! A stand-in for the PyTorch tutorial's TensorBoard example, for the README's capture on a machine
//! without PyTorch: it writes `runs/<NAME>/events.out.tfevents.*` as `SummaryWriter` would (the
//! project's own record writer, the one the tests check against PyTorch-written fixtures), a few
//! points a second, so `workbench --logdir runs` can be watched following it live.
//!
//!     cargo run --example tb_demo -- runs/mnist-sgd 600
//!
//! Tags: `loss/train` every 10 batches, `accuracy/val` and `loss/val` every epoch (100 batches),
//! `lr`, and a gradient norm per layer (`grad_norm/layerNN`), so there are dozens to pick from.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workbench::runs::external::{encode_file_version, encode_scalar_event, ScalarStyle};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "runs/demo".into()));
    let steps: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(600);
    std::fs::create_dir_all(&dir).expect("create the log folder");
    let now = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let name = format!("events.out.tfevents.{}.demo.{}", now() as u64, std::process::id());
    let mut file = std::fs::File::create(dir.join(name)).expect("create the event file");
    let mut buf = Vec::new();
    encode_file_version(now(), &mut buf);
    // A deterministic wobble instead of a random generator (no extra dependency).
    let noise = |i: i64| ((i * 7919 % 101) as f64 / 101.0 - 0.5) * 0.08;
    for step in 0..steps {
        let t = now();
        let lr = 0.1 * 0.5f64.powi((step / 200) as i32);
        if step % 10 == 0 {
            let loss = 2.3 * (-(step as f64) / 180.0).exp() + 0.08 + noise(step);
            encode_scalar_event("loss/train", step, t, loss, ScalarStyle::Simple, &mut buf);
            encode_scalar_event("lr", step, t, lr, ScalarStyle::Simple, &mut buf);
            for layer in 0..24 {
                let g = (1.0 + layer as f64 * 0.1) * (-(step as f64) / 300.0).exp() + noise(step + layer);
                encode_scalar_event(
                    &format!("grad_norm/layer{layer:02}"),
                    step,
                    t,
                    g,
                    ScalarStyle::Simple,
                    &mut buf,
                );
            }
        }
        if step % 100 == 99 {
            let epoch = (step + 1) as f64 / 100.0;
            let acc = 0.98 - 0.6 * (-epoch / 1.5).exp();
            encode_scalar_event("accuracy/val", step, t, acc, ScalarStyle::Simple, &mut buf);
            let vloss = 2.0 * (-epoch / 1.2).exp() + 0.12;
            encode_scalar_event("loss/val", step, t, vloss, ScalarStyle::Simple, &mut buf);
        }
        // SummaryWriter flushes every few seconds; here every 10 batches.
        if step % 10 == 9 {
            file.write_all(&buf).expect("write");
            file.flush().expect("flush");
            buf.clear();
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    file.write_all(&buf).expect("write");
}

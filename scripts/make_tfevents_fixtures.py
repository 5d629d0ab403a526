#!/usr/bin/env python3
"""Make the fixtures of tests/fixtures/tfevents/ with the real torch.utils.tensorboard.SummaryWriter.

    python3 -m venv /tmp/tbvenv && /tmp/tbvenv/bin/pip install torch==2.11.0 tensorboard numpy
    /tmp/tbvenv/bin/python scripts/make_tfevents_fixtures.py tests/fixtures/tfevents

Writes, under OUT:
- tb/exp-a/: old-style scalars (`simple_value`): loss/train, accuracy/val, lr; then `add_hparams` with
  run_name="." so the hyperparameters land in the same run (a second event file in exp-a/);
- tb/exp-b/version_0/: new-style scalars (`new_style=True`: a 0-dim DT_FLOAT tensor with the `scalars`
  plugin) and lr with `double_precision=True` (DT_DOUBLE);
- lightning/version_0/: metrics.csv + hparams.yaml in Lightning's CSVLogger format, written here with
  Python's csv module (Lightning itself is not installed): sorted column names, `epoch` and `step` columns,
  sparse rows (training rows leave the validation cells empty and the other way round);
- expected.json: every run's tags with [step, wall_time, value] as the reader must return them
  (float32-rounded where the file stores a float32) and the hyperparameters.
Event files are renamed to a fixed name (events.out.tfevents.<time>.fixture.<n>) so reruns diff cleanly;
wall times are fixed (walltime=...) for the same reason.
"""
import csv
import glob
import json
import os
import shutil
import sys

import numpy as np
from torch.utils.tensorboard import SummaryWriter

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def f32(x):
    return float(np.float32(x))


def rename_event_files(folder):
    for n, path in enumerate(sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*")))):
        os.rename(path, os.path.join(folder, f"events.out.tfevents.{int(T0)}.fixture.{n}"))


def exp_a(out, expected):
    d = os.path.join(out, "tb", "exp-a")
    tags = {"loss/train": [], "accuracy/val": [], "lr": []}
    w = SummaryWriter(log_dir=d)
    for step in range(12):
        t = T0 + step
        loss = 2.0 * 0.8**step + 0.01 * step
        w.add_scalar("loss/train", loss, step, walltime=t)
        tags["loss/train"].append([step, t, f32(loss)])
        lr = 0.1 * 0.5 ** (step // 4)
        w.add_scalar("lr", lr, step, walltime=t)
        tags["lr"].append([step, t, f32(lr)])
        if step % 3 == 2:
            acc = 0.5 + step / 30
            w.add_scalar("accuracy/val", acc, step, walltime=t)
            tags["accuracy/val"].append([step, t, f32(acc)])
    w.flush()
    # run_name="." keeps the session in this run (by default add_hparams makes a sub-folder run).
    hparams = {"lr": 0.1, "batch_size": 32, "optimizer": "sgd", "nesterov": True}
    w.add_hparams(hparams, {"hparam/accuracy": 0.9}, run_name=".", global_step=11)
    w.close()
    # add_hparams logs each metric as a scalar with its own wall time: read it back for the truth.
    tags["hparam/accuracy"] = [[11, None, f32(0.9)]]
    rename_event_files(d)
    expected["exp-a"] = {
        "tags": tags,
        # torch's add_hparams tests isinstance(v, (int, float)) before bool: True is stored as the number 1.
        "hparams": {"lr": "0.1", "batch_size": "32", "optimizer": "sgd", "nesterov": "1"},
    }


def exp_b(out, expected):
    d = os.path.join(out, "tb", "exp-b", "version_0")
    tags = {"loss/train": [], "lr": []}
    w = SummaryWriter(log_dir=d)
    for step in range(0, 100, 10):
        t = T0 + 100 + step / 10
        loss = 1.0 / (1 + step)
        w.add_scalar("loss/train", loss, step, walltime=t, new_style=True)
        tags["loss/train"].append([step, t, f32(loss)])
        lr = 1e-3 * (1 - step / 100) + 1e-9
        w.add_scalar("lr", lr, step, walltime=t, new_style=True, double_precision=True)
        tags["lr"].append([step, t, lr])
    w.close()
    rename_event_files(d)
    expected["exp-b/version_0"] = {"tags": tags, "hparams": {}}


def lightning(out, expected):
    d = os.path.join(out, "lightning", "version_0")
    os.makedirs(d)
    rows, tags = [], {"train_loss": [], "val_loss": [], "val_acc": []}
    step = 0
    for epoch in range(3):
        for _ in range(4):
            loss = round(1.5 / (step + 1) + 0.05, 6)
            rows.append({"epoch": epoch, "step": step, "train_loss": loss})
            tags["train_loss"].append([step, None, loss, epoch])
            step += 1
        vl, va = round(1.0 / (epoch + 2), 6), round(0.6 + 0.1 * epoch, 6)
        rows.append({"epoch": epoch, "step": step - 1, "val_loss": vl, "val_acc": va})
        tags["val_loss"].append([step - 1, None, vl, epoch])
        tags["val_acc"].append([step - 1, None, va, epoch])
    keys = sorted({k for r in rows for k in r})  # Lightning's _ExperimentWriter sorts its keys
    with open(os.path.join(d, "metrics.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=keys, lineterminator="\n")
        wr.writeheader()
        wr.writerows(rows)
    with open(os.path.join(d, "hparams.yaml"), "w") as f:
        f.write("batch_size: 64\nhidden: 128\nlr: 0.001\nmodel: mlp\n")
    expected["lightning/version_0"] = {
        "tags": tags,
        "hparams": {"batch_size": "64", "hidden": "128", "lr": "0.001", "model": "mlp"},
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/tfevents"
    for sub in ("tb", "lightning"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    expected = {}
    exp_a(out, expected)
    exp_b(out, expected)
    lightning(out, expected)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

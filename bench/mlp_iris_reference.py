#!/usr/bin/env python3
"""The workbench's `mlp` on Iris, written as ordinary PyTorch 2.11: the reference for bench/mlp_iris.rs.

It follows the workbench's procedure step by step (src/train/prepare.rs, models.rs, engine.rs,
rng.rs), so with the same seed both sides draw the same random numbers and train the same model:

- data: the 4 numeric columns of datasets/iris.csv as float32; classes are the sorted species names;
- under manual_seed(seed): randperm(N) splits it (train = the first N - n_val rows, validation = the
  rest, n_val = round(N * val_fraction) clamped to [1, N-1]); features are standardised with the
  training rows' mean and population std (a std <= 1e-12 becomes 1);
- then, with no reseed, the model: nn.Linear's default initialisation is U(+-1/sqrt(fan_in)),
  weight then bias, layer by layer, which is what the workbench draws;
- epoch e (1-based): manual_seed(seed * 1000003 + e), randperm(n_train), one gather of the
  training set, batches are consecutive slices of it; cross-entropy (mean); Adam; the epoch's
  train loss is the sample-weighted mean of its batch losses; then validation loss and accuracy.

Only the training loop (every epoch, validation included, as in the workbench's loop) is timed;
imports, CSV reading and preparation are not.

Threads: neither side sets a thread count, so both run with libtorch's default (one intra-op
thread per physical core; the same libgomp/MKL from the torch 2.11.0 wheel). `--threads N` sets
torch.set_num_threads(N) here; bench/mlp_iris.rs has the same flag.

Prints one JSON object: steps, seconds, steps_per_s, train_loss, val_loss, val_acc, threads.
"""
import argparse
import csv
import json
import math
import pathlib
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MASK63 = (1 << 63) - 1


def load_iris(path):
    """Features (float32) and class indices (sorted class names), as the workbench reads them."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    features = [c for c in rows[0] if c != "species"]
    classes = sorted({r["species"] for r in rows})
    x = torch.tensor([[float(r[c]) for c in features] for r in rows], dtype=torch.float32)
    y = torch.tensor([classes.index(r["species"]) for r in rows], dtype=torch.int64)
    return x, y


def split_size(n, val_fraction):
    # Rust's f64::round rounds halves away from zero; Python's round() would round them to even.
    return min(max(math.floor(n * val_fraction + 0.5), 1), n - 1) if val_fraction > 0 and n >= 2 else 0


def main():
    here = pathlib.Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps libtorch's default")
    p.add_argument("--data", default=str(here.parent / "datasets" / "iris.csv"))
    args = p.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    x, y = load_iris(args.data)
    n = len(x)

    # Split, standardisation and initialisation draw from one stream seeded with the run's seed.
    torch.manual_seed(args.seed & MASK63)
    perm = torch.randperm(n)
    n_train = n - split_size(n, args.val_fraction)
    x_train, y_train = x[perm[:n_train]], y[perm[:n_train]]
    x_val, y_val = x[perm[n_train:]], y[perm[n_train:]]
    mean = x_train.mean(0, keepdim=True)
    std, _ = torch.std_mean(x_train, 0, correction=0, keepdim=True)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    x_train, x_val = (x_train - mean) / std, (x_val - mean) / std

    model = nn.Sequential(nn.Linear(x.shape[1], args.hidden), nn.ReLU(), nn.Linear(args.hidden, 3))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)

    steps = 0
    train_loss = val_loss = val_acc = None
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        torch.manual_seed((args.seed * 1_000_003 + epoch) & MASK63)
        order = torch.randperm(n_train)
        xe, ye = x_train[order], y_train[order]
        model.train()
        total = 0.0
        for i in range(0, n_train, args.batch_size):
            xb, yb = xe[i : i + args.batch_size], ye[i : i + args.batch_size]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
            steps += 1
        train_loss = total / n_train
        model.eval()
        with torch.no_grad():
            out = model(x_val)
            val_loss = F.cross_entropy(out, y_val).item()
            val_acc = (out.argmax(1) == y_val).float().mean().item()
    seconds = time.perf_counter() - start

    print(
        json.dumps(
            {
                "impl": "pytorch",
                "version": torch.__version__,
                "threads": torch.get_num_threads(),
                "epochs": args.epochs,
                "steps": steps,
                "seconds": seconds,
                "steps_per_s": steps / seconds,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_acc": val_acc,
            }
        )
    )


if __name__ == "__main__":
    main()

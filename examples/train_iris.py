#!/usr/bin/env python3
"""Train a small MLP on the Iris CSV with plain PyTorch: no workbench import.

Run it under the workbench and it becomes a run like any other:

    workbench run --device cpu -- python3 examples/train_iris.py --epochs 50

It prints one line per epoch, `epoch=3 loss=0.812 val_loss=0.790 val_acc=0.733`, which the
workbench reads as metrics, and, when torch.utils.tensorboard can be imported, also writes
TensorBoard files to $WORKBENCH_RUN_DIR (the run's folder), which the workbench reads too.
CUDA_VISIBLE_DEVICES, set by the workbench from the device you chose, decides the GPU.
"""
import argparse
import csv
import os
import random

import torch
from torch import nn


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    classes = sorted({r["species"] for r in rows})
    features = [k for k in rows[0] if k != "species"]
    x = torch.tensor([[float(r[k]) for k in features] for r in rows])
    y = torch.tensor([classes.index(r["species"]) for r in rows])
    return x, y, len(classes)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(here, "..", "datasets", "iris.csv"))
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x, y, classes = load(args.data)
    order = torch.randperm(len(x))
    x, y = x[order], y[order]
    cut = int(len(x) * 0.8)
    mean, std = x[:cut].mean(0), x[:cut].std(0)
    x = (x - mean) / std
    x_train, y_train = x[:cut].to(device), y[:cut].to(device)
    x_val, y_val = x[cut:].to(device), y[cut:].to(device)

    model = nn.Sequential(nn.Linear(x.shape[1], args.hidden), nn.ReLU(), nn.Linear(args.hidden, classes))
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()

    writer = None
    run_dir = os.environ.get("WORKBENCH_RUN_DIR")
    if run_dir:
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(run_dir)
        except ImportError:
            writer = None  # tensorboard is not installed: the printed lines are enough

    print(f"training on {device} with {cut} rows, validating on {len(x) - cut}")
    try:
        for epoch in range(1, args.epochs + 1):
            model.train()
            optimizer.zero_grad()
            loss = loss_fn(model(x_train), y_train)
            loss.backward()
            optimizer.step()
            model.eval()
            with torch.no_grad():
                logits = model(x_val)
                val_loss = loss_fn(logits, y_val).item()
                val_acc = (logits.argmax(1) == y_val).float().mean().item()
            print(f"epoch={epoch} loss={loss.item():.4f} val_loss={val_loss:.4f} val_acc={val_acc:.4f}")
            if writer is not None:
                writer.add_scalar("train/loss", loss.item(), epoch)
                writer.add_scalar("val/loss", val_loss, epoch)
                writer.add_scalar("val/acc", val_acc, epoch)
    except KeyboardInterrupt:
        # `workbench stop` (or `x` in the TUI) sends SIGINT first: finish cleanly.
        print("stopped: keeping what was logged")
    finally:
        if writer is not None:
            writer.close()


if __name__ == "__main__":
    main()

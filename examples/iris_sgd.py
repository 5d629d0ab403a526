#!/usr/bin/env python3
"""Softmax regression on a classification CSV, in plain Python (standard library only).

It knows nothing of the workbench: it takes its settings as flags and prints one line per epoch,
`epoch=3 loss=0.812 val_loss=0.790 val_acc=0.733`, which the workbench reads as metrics. The
shipped config.toml makes it the command `iris-sgd`, so it shows in the TUI's model picker:

    [commands.iris-sgd]
    run = ["python3", "examples/iris_sgd.py", "--data", "{dataset}", "--lr", "{lr}", "--epochs", "{epochs}"]
    [commands.iris-sgd.params]
    lr = 0.1
    epochs = 60

The last column of the CSV is the label; the others are numbers. `--delay` sleeps after each
epoch, so a short run can be watched (and stopped) live.
"""
import argparse
import csv
import math
import random
import signal
import sys
import time


def load(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    header, rows = rows[0], rows[1:]
    classes = sorted({r[-1] for r in rows})
    x = [[float(v) for v in r[:-1]] for r in rows]
    y = [classes.index(r[-1]) for r in rows]
    # Standardize each feature, as the workbench's own models do by default.
    for j in range(len(header) - 1):
        column = [row[j] for row in x]
        mean = sum(column) / len(column)
        std = math.sqrt(sum((v - mean) ** 2 for v in column) / len(column)) or 1.0
        for row in x:
            row[j] = (row[j] - mean) / std
    return x, y, len(classes)


def softmax_loss(w, b, row, label):
    logits = [sum(wi * xi for wi, xi in zip(wk, row)) + bk for wk, bk in zip(w, b)]
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    total = sum(exps)
    probs = [e / total for e in exps]
    return probs, -math.log(max(probs[label], 1e-12))


def evaluate(w, b, x, y):
    loss, right = 0.0, 0
    for row, label in zip(x, y):
        probs, l = softmax_loss(w, b, row, label)
        loss += l
        right += probs.index(max(probs)) == label
    return loss / len(x), right / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()

    x, y, k = load(args.data)
    order = list(range(len(x)))
    random.Random(args.seed).shuffle(order)
    cut = len(order) * 4 // 5
    train = [(x[i], y[i]) for i in order[:cut]]
    val_x, val_y = [x[i] for i in order[cut:]], [y[i] for i in order[cut:]]
    w = [[0.0] * len(x[0]) for _ in range(k)]
    b = [0.0] * k
    rng = random.Random(args.seed)

    for epoch in range(1, args.epochs + 1):
        rng.shuffle(train)
        total = 0.0
        for row, label in train:
            probs, loss = softmax_loss(w, b, row, label)
            total += loss
            for c in range(k):
                grad = probs[c] - (1.0 if c == label else 0.0)
                b[c] -= args.lr * grad
                for j, v in enumerate(row):
                    w[c][j] -= args.lr * grad * v
        val_loss, val_acc = evaluate(w, b, val_x, val_y)
        print(f"epoch={epoch} loss={total / len(train):.4f} val_loss={val_loss:.4f} val_acc={val_acc:.3f}")
        time.sleep(args.delay)


if __name__ == "__main__":
    # Stopped from the workbench (SIGINT first): end quietly, as a script with a handler would.
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    main()

#!/usr/bin/env python3
"""PyTorch reference for the GPU mlp benchmark: mlp 4-16-3 on Iris (80% train split, standardised),
Adam 0.01, batch 16, all tensors on the device, the same loop as the workbench (shuffle each epoch,
step per batch, validation after each epoch). Prints one JSON line: steps/s and samples/s of the
training loop, and the seconds from the interpreter's start to the first finished step (CUDA
start-up included).

    python bench/mlp_iris_gpu_reference.py --device cuda --epochs 300
"""
import argparse
import csv
import json
import time

T0 = time.perf_counter()
import torch  # noqa: E402  (imported after T0: its start-up counts towards the first step)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", default="datasets/iris.csv")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    rows = list(csv.reader(open(args.csv)))[1:]
    classes = sorted({r[-1] for r in rows})
    x = torch.tensor([[float(v) for v in r[:-1]] for r in rows])
    y = torch.tensor([classes.index(r[-1]) for r in rows])
    perm = torch.randperm(len(rows))
    cut = int(len(rows) * 0.8)
    tr, va = perm[:cut], perm[cut:]
    mean, std = x[tr].mean(0), x[tr].std(0)
    x = (x - mean) / std
    xt, yt, xv, yv = x[tr].to(dev), y[tr].to(dev), x[va].to(dev), y[va].to(dev)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    first_step = None
    steps = 0
    start = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(len(xt), device=dev)
        for i in range(0, len(xt), args.batch_size):
            idx = order[i : i + args.batch_size]
            loss = loss_fn(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            if first_step is None:
                torch.cuda.synchronize() if dev.type == "cuda" else None
                first_step = time.perf_counter() - T0
        with torch.no_grad():
            val = loss_fn(model(xv), yv).item()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - start
    print(json.dumps({"steps_per_s": steps / secs, "samples_per_s": steps * args.batch_size / secs,
                      "seconds": secs, "first_step_s": first_step, "val_loss": val, "torch": torch.__version__}))


if __name__ == "__main__":
    main()

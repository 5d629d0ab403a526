#!/usr/bin/env python3
"""PyTorch reference, all tensors on the device: decode every PNG of the zip once (PIL), scale to
[0, 1], standardise with the training statistics, move everything to the device, then train one
epoch of lenet5 with batches cut from the device tensors. Prints one JSON line.

    python bench/lenet5_tensors_reference.py --zip target/bench-images/datasets/shapes60k.zip
"""
import argparse
import io
import time
import zipfile

import numpy as np
import torch
from PIL import Image

from lenet5_ref import LeNet5, report, step, sync, train_items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zip", required=True)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)

    start = time.perf_counter()
    classes, items = train_items(args.zip)
    zf = zipfile.ZipFile(args.zip)
    first = np.asarray(Image.open(io.BytesIO(zf.read(items[0][0]))).convert("L"))
    pixels = np.empty((len(items), 1, *first.shape), dtype=np.uint8)
    for i, (name, _) in enumerate(items):
        pixels[i, 0] = np.asarray(Image.open(io.BytesIO(zf.read(name))).convert("L"))
    decode_s = time.perf_counter() - start

    x = torch.from_numpy(pixels).float().div_(255)
    y = torch.tensor([c for _, c in items])
    mean, std = x.mean(dim=(0, 2, 3), keepdim=True), x.std(dim=(0, 2, 3), keepdim=True, correction=0)
    x = ((x - mean) / std).to(device)
    y = y.to(device)
    n = len(items)
    model = LeNet5(1, first.shape[0], first.shape[1], len(classes)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)

    sync(device)
    start = time.perf_counter()
    perm = torch.randperm(n).to(device)
    xe, ye = x.index_select(0, perm), y.index_select(0, perm)
    total = torch.zeros((), device=device)
    for i in range(0, n, args.batch_size):
        xb, yb = xe[i : i + args.batch_size], ye[i : i + args.batch_size]
        total += step(model, opt, xb, yb) * len(xb)
    loss = total.item() / n
    sync(device)
    epoch_s = time.perf_counter() - start
    report(version="tensors", images=n, decode_s=decode_s, epoch_s=epoch_s, samples_per_s=n / epoch_s, train_loss=loss)


if __name__ == "__main__":
    main()

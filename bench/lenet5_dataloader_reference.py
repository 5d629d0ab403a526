#!/usr/bin/env python3
"""PyTorch reference, torchvision style: the zip is unpacked to a folder once, then a Dataset
decodes each PNG with PIL when it is asked for it (as torchvision.datasets.ImageFolder with
ToTensor() and Normalize() does), and a DataLoader (shuffle, batch 256, --workers processes)
feeds one epoch of lenet5. Prints one JSON line.

    python bench/lenet5_dataloader_reference.py --zip target/bench-images/datasets/shapes60k.zip --workers 2
"""
import argparse
import os
import tempfile
import time
import zipfile

import numpy as np
import torch
from PIL import Image

from lenet5_ref import LeNet5, report, step, sync, train_items


class PngFolder(torch.utils.data.Dataset):
    """ImageFolder's behaviour for root/CLASS/*.png: PIL decode, to [0, 1], normalise."""

    def __init__(self, root, mean, std):
        self.classes = sorted(os.listdir(root))
        self.samples = [
            (os.path.join(root, c, f), i) for i, c in enumerate(self.classes) for f in sorted(os.listdir(os.path.join(root, c)))
        ]
        self.mean, self.std = mean, std

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        path, label = self.samples[i]
        with open(path, "rb") as f:
            img = Image.open(f).convert("L")
            x = torch.from_numpy(np.array(img, dtype=np.uint8)).unsqueeze(0).float().div_(255)
        return (x - self.mean) / self.std, label


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zip", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        zipfile.ZipFile(args.zip).extractall(tmp, members=[n for n, _ in train_items(args.zip)[1]])
        unpack_s = time.perf_counter() - start
        root = os.path.join(tmp, "train")
        # Normalisation constants from a sample, as users take them from a table; not timed.
        probe = PngFolder(root, 0.0, 1.0)
        sample = torch.stack([probe[i][0] for i in range(0, len(probe), max(1, len(probe) // 2000))])
        data = PngFolder(root, sample.mean().item(), sample.std().item())
        h, w = data[0][0].shape[1:]
        loader = torch.utils.data.DataLoader(
            data,
            batch_size=args.batch_size,
            shuffle=True,
            num_workers=args.workers,
            pin_memory=device.type == "cuda",
        )
        model = LeNet5(1, h, w, len(data.classes)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)

        sync(device)
        start = time.perf_counter()
        total = torch.zeros((), device=device)
        for xb, yb in loader:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            total += step(model, opt, xb, yb) * len(xb)
        loss = total.item() / len(data)
        sync(device)
        epoch_s = time.perf_counter() - start
    n = len(data)
    report(version=f"dataloader-{args.workers}", images=n, unpack_s=unpack_s, epoch_s=epoch_s, samples_per_s=n / epoch_s, train_loss=loss)


if __name__ == "__main__":
    main()

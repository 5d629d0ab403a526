"""Shared by the lenet5 reference scripts: the workbench's LeNet-5 and its training epoch in PyTorch.

The model matches src/train/models.rs: conv 5x5 (padding 2) -> ReLU -> max-pool 2, conv 5x5 ->
ReLU -> max-pool 2, then 120 -> 84 -> classes with ReLU between; PyTorch's default initialisation
(the workbench uses the same U(+-1/sqrt(fan_in))); Adam; cross-entropy; a fresh random order of
the samples each epoch.
"""
import zipfile

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self, channels, height, width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        h, w = (height // 2 - 4) // 2, (width // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * h * w, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def train_items(zip_path):
    """(classes, [(entry name, class index)]) of the zip's train/CLASS/*.png, sorted like ImageFolder."""
    names = sorted(n for n in zipfile.ZipFile(zip_path).namelist() if n.startswith("train/") and n.endswith(".png"))
    classes = sorted({n.split("/")[1] for n in names})
    index = {c: i for i, c in enumerate(classes)}
    return classes, [(n, index[n.split("/")[1]]) for n in names]


def step(model, opt, xb, yb):
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.detach()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def report(**figures):
    """One JSON line for bench/bench_images.sh."""
    import json

    figures["threads"] = torch.get_num_threads()
    figures["torch"] = torch.__version__
    print(json.dumps(figures), flush=True)

"""A training script as the PyTorch TensorBoard tutorial writes it, to watch with `workbench --logdir runs`.

It logs with torch.utils.tensorboard.SummaryWriter only; nothing in it knows the workbench. The data
are generated (two noisy spirals), so it needs no download:

    python examples/tensorboard_demo.py runs/spiral-sgd     # one shell
    workbench --logdir runs                                 # another (over SSH, in tmux)
"""
import math
import sys
import time

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

logdir = sys.argv[1] if len(sys.argv) > 1 else "runs/spiral-sgd"
torch.manual_seed(0)
n = 2000
t = torch.rand(n) * 3 * math.pi
label = torch.randint(0, 2, (n,))
r = t / (3 * math.pi)
angle = t + label * math.pi
x = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], 1) + 0.03 * torch.randn(n, 2)
train_x, val_x, train_y, val_y = x[:1600], x[1600:], label[:1600], label[1600:]

model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.5)
loss_fn = nn.CrossEntropyLoss()
writer = SummaryWriter(logdir)
step = 0
for epoch in range(60):
    for i in range(0, 1600, 32):
        optimizer.zero_grad()
        loss = loss_fn(model(train_x[i:i + 32]), train_y[i:i + 32])
        loss.backward()
        optimizer.step()
        step += 1
        if step % 10 == 0:
            writer.add_scalar("loss/train", loss.item(), step)
            writer.add_scalar("lr", scheduler.get_last_lr()[0], step)
            writer.flush()
        time.sleep(0.01)
    scheduler.step()
    with torch.no_grad():
        out = model(val_x)
        writer.add_scalar("loss/val", loss_fn(out, val_y).item(), step)
        writer.add_scalar("accuracy/val", (out.argmax(1) == val_y).float().mean().item(), step)
writer.add_hparams({"lr": 0.1, "momentum": 0.9, "batch_size": 32}, {"hparam/accuracy": (out.argmax(1) == val_y).float().mean().item()})
writer.close()

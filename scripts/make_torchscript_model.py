"""Write models/iris_mlp.pt: a small TorchScript MLP for Iris that `workbench train --model iris_mlp` trains.

The workbench's contract for a TorchScript model (docs/models.md, "TorchScript modules"):
- `forward(x)` takes one tensor: [batch, features] for tables, [batch, C, H, W] for images;
- it returns class logits [batch, classes] for classification, or [batch] / [batch, 1] for regression;
- every parameter is trained; the workbench's optimizer, seed, data split and checkpoints apply.

    python scripts/make_torchscript_model.py models/iris_mlp.pt

PyTorch 2.11 still writes and reads TorchScript but marks it deprecated in favour of torch.export,
whose programs libtorch can't train; layer stacks in config.toml are the first choice.
(scripts/make_torchscript_model.cpp writes the same module with libtorch alone.)
"""
import sys

import torch
from torch import nn


class IrisMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [batch, 4] features; returns [batch, 3] class logits
        return self.fc2(torch.relu(self.fc1(x)))


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "models/iris_mlp.pt"
    torch.manual_seed(0)
    torch.jit.script(IrisMLP()).save(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Write the TorchScript modules the tests refuse: tests/fixtures/torchscript/{no_params,frozen}.pt.

A module with no parameter, or with every parameter frozen (requires_grad off), has nothing the
workbench can train; tests/user_models.rs checks that it says so. Run from the repository root:

    python scripts/make_test_modules.py
"""
from pathlib import Path

import torch
from torch import nn


class NoParams(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # [batch, 4] -> [batch, 3] "logits" with nothing to learn
        return x[:, :3] * 2.0


class Frozen(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def main() -> None:
    out = Path("tests/fixtures/torchscript")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name, module in [("no_params", NoParams()), ("frozen", Frozen())]:
        torch.jit.script(module).save(str(out / f"{name}.pt"))
        print(f"wrote {out / name}.pt")


if __name__ == "__main__":
    main()

"""A script that knows nothing of the workbench: it prints its metrics as `key=value` pairs.

docs/scripts.md runs it as `workbench run --device cpu -- python3 examples/fit.py`, and
tests/docs.rs checks that example. Standard library only.
"""
import time

for step in range(1, 4):
    print(f"step={step} loss={1.0 / step:.3f} acc: {0.5 + step / 10:.2f}")
    time.sleep(0.1)

#!/usr/bin/env python3
"""The reference side of bench/bench_tfevents.sh: read an event file with TensorBoard's own
EventAccumulator (size_guidance scalars=0, tensors=0: keep every point) and print one JSON line.
EventAccumulator keeps `simple_value` scalars under Scalars() and new-style tensor scalars (the
`scalars` plugin) under Tensors(); both are counted.

    python bench/tfevents_reference.py PATH
"""
import json
import sys
import time

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main():
    path = sys.argv[1]
    t = time.perf_counter()
    acc = EventAccumulator(path, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    points = sum(len(acc.Scalars(tag)) for tag in tags["scalars"])
    points += sum(len(acc.Tensors(tag)) for tag in tags["tensors"])
    s = time.perf_counter() - t
    print(json.dumps({"points": points, "seconds": s}))


if __name__ == "__main__":
    main()

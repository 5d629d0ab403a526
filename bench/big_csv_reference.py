"""The reference for bench/bench_big_csv.sh: pandas.read_csv + torch.tensor on one numeric CSV.

BIG_CSV_DUMP=PATH: write the float32 features there (little-endian, row by row) after the clock stops.
Prints one JSON line: rows, seconds, peak RSS (ru_maxrss of this process, bytes). When torch is
not installed, the float32 array pandas gives (`to_numpy(np.float32)`) stands in for the tensor,
and the line says so ("tensor": "numpy"). torch is imported before the clock starts, so the
figure is pandas' reading and the conversion only (the workbench's includes its process start).
"""
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

try:  # imported before the clock starts: only reading and converting are timed
    import torch
except ImportError:
    torch = None

path = sys.argv[1]
start = time.perf_counter()
df = pd.read_csv(path)
x = df.iloc[:, :-1].to_numpy(np.float32)
label = df.iloc[:, -1]
# Text labels (a DataFrame.to_csv file's) become class indices, as the workbench makes them.
y = pd.factorize(label)[0].astype(np.int64) if not pd.api.types.is_numeric_dtype(label) else label.to_numpy(np.int64)
if torch is not None:
    x, y, kind = torch.tensor(x), torch.tensor(y), "torch"
else:
    kind = "numpy"
seconds = time.perf_counter() - start
if os.environ.get("BIG_CSV_DUMP"):  # the float32 features, for a bit-for-bit comparison
    np.ascontiguousarray(x.numpy() if kind == "torch" else x).astype("<f4").tofile(os.environ["BIG_CSV_DUMP"])
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"rows": len(df), "seconds": seconds, "peak_rss": rss, "tensor": kind}))

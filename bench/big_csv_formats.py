"""Generators for bench/bench_big_csv.sh: one numeric CSV of about MB MiB in a given float format.

    python big_csv_formats.py FORMAT PATH MB

Every file has 10 feature columns (f0..f9) and a last `label` column. A block of 20,000 rows is
made once and repeated to the size asked for, so the generation costs little next to the runs.
FORMAT is one of:
  short     4-decimal floats (-45.1234) and an integer class: the benchmark's first data
  pandas    `DataFrame.to_csv` itself: float64 values of every magnitude written at full
            precision (-991503.8111638229, 1.2345678901234567e-05), text labels (cat, dog, ...)
  exponent  exponent notation, lower and upper case (4.123457e-05, -3.25E+12), integer class
  signs     a leading `+` and no leading zero (+12.5, .5, -.25, +.75), integer class
  integers  integers in every feature (-40213, 7), integer class
  naninf    full-precision floats with `nan`, `inf` and `-inf` cells (as pandas reads them)
"""
import random
import sys

FORMATS = ["short", "pandas", "exponent", "signs", "integers", "naninf"]
ROWS_PER_BLOCK = 20_000
FEATURES = 10


def pandas_block(rnd):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(rnd.randrange(1 << 30))
    scale = 10.0 ** rng.integers(-6, 7, size=(ROWS_PER_BLOCK, FEATURES))
    data = {f"f{i}": rng.normal(size=ROWS_PER_BLOCK) * scale[:, i] for i in range(FEATURES)}
    labels = np.array(["cat", "dog", "bird", "fish"])
    data["label"] = labels[rng.integers(0, len(labels), size=ROWS_PER_BLOCK)]
    text = pd.DataFrame(data).to_csv(index=False)
    return text.split("\n", 1)[1]  # the header is written once, before the blocks


def cell(fmt, rnd):
    v = rnd.uniform(-100, 100)
    if fmt == "short":
        return f"{v:.4f}"
    if fmt == "exponent":
        e = rnd.choice(["e", "E"])
        return f"{v * 10.0 ** rnd.randint(-12, 12):.6{e}}"
    if fmt == "signs":
        if rnd.random() < 0.5:  # no leading zero: .5, -.25, +.75
            return rnd.choice(["+", "-", ""]) + f".{rnd.randint(0, 99999)}"
        return ("+" if v >= 0 else "-") + f"{abs(v):.3f}"
    if fmt == "integers":
        return str(rnd.randint(-50_000, 50_000))
    if fmt == "naninf":
        r = rnd.random()
        if r < 0.01:
            return rnd.choice(["nan", "inf", "-inf"])
        return repr(v * 10.0 ** rnd.randint(-6, 6))
    raise SystemExit(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def block(fmt, rnd):
    if fmt == "pandas":
        return pandas_block(rnd)
    rows = (",".join(cell(fmt, rnd) for _ in range(FEATURES)) + f",{rnd.randrange(10)}\n" for _ in range(ROWS_PER_BLOCK))
    return "".join(rows)


def main():
    fmt, path, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rnd = random.Random(1)
    text = block(fmt, rnd)
    with open(path, "w") as f:
        f.write(",".join(f"f{i}" for i in range(FEATURES)) + ",label\n")
        written = 0
        while written < mb << 20:
            f.write(text)
            written += len(text)


if __name__ == "__main__":
    main()

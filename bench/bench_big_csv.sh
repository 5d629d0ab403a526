#!/usr/bin/env bash
# Large CSVs (issue 9): parse + stage a generated numeric CSV (default 1 GB) with the workbench
# (`workbench stage big`, then the staged copy loaded by a second `stage`) against pandas.read_csv +
# torch.tensor (bench/big_csv_reference.py) on the same file, side by side: rows/s and peak RSS
# (/usr/bin/time), ratios; then `workbench datasets` with and without the file in the folder.
# Two times for each side, each with its ratio: the parse (timed inside each process: the
# workbench's staging from the head read to the entry written, pandas' read_csv + torch.tensor)
# and the whole command (the process's wall time: the workbench's start and libtorch's loading,
# Python's start and its imports of pandas and torch).
#
#   PYTHON=/path/to/venv/bin/python bench/bench_big_csv.sh
#   BIG_CSV_MB=1024        size of the generated file (deleted at the end)
#   BIG_CSV_BIN=target/release/workbench   the binary (default: target/debug/workbench, built here)
#   BIG_CSV_FORMATS="short pandas exponent signs integers naninf"   instead: one row per float format
#                  (bench/big_csv_formats.py), each ratio against pandas.read_csv, and how many of the
#                  staged float32 values differ bit for bit from pandas' (BIG_CSV_REPEAT=N: best of N;
#                  the CPU seconds, user + system of each whole process, say what a busy machine hides)
# Targets: at least 2x pandas' rows/s, at most 0.5x its peak RSS; listing at most 0.2 s slower.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv-torch/bin/python}
MB=${BIG_CSV_MB:-1024}
BIN=${BIG_CSV_BIN:-target/debug/workbench}
"$PYTHON" -c 'import pandas' || { echo "error: $PYTHON has no pandas; set PYTHON" >&2; exit 1; }
[ -x "$BIN" ] || { echo "error: build the workbench first (cargo build), or set BIG_CSV_BIN" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/data" "$tmp/empty" "$tmp/cache" "$tmp/runs"
export WORKBENCH_DATASETS_DIR="$tmp/data" WORKBENCH_CACHE_DIR="$tmp/cache" WORKBENCH_RUNS_DIR="$tmp/runs"

measure() {  # prints "seconds peak_rss_bytes" of a command
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
    awk '{print $1, $2 * 1024}' "$tmp/time"
}

# Every float format (bench/big_csv_formats.py): the workbench and pandas on the same file, one
# after the other, BIG_CSV_REPEAT times (the best of each side kept), and the staged features
# compared bit for bit with pandas' float32 values.
if [ -n "${BIG_CSV_FORMATS:-}" ]; then
    echo "| format | MiB | rows | workbench parse s | pandas s | ratio (pandas / ours) | whole command ratio | CPU s (ours / pandas) | float32 values that differ |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for fmt in $BIG_CSV_FORMATS; do
        rm -rf "$tmp/cache" "$tmp/data"/*; mkdir -p "$tmp/cache"
        "$PYTHON" bench/big_csv_formats.py "$fmt" "$tmp/data/big.csv" "$MB"
        cat "$tmp/data/big.csv" > /dev/null; sync
        best_ours="" best_ours_s="" best_ref="" best_ref_s="" refused="" ours_cpu="" ref_cpu=""
        for _ in $(seq "${BIG_CSV_REPEAT:-1}"); do
            rm -rf "$tmp/cache"; mkdir -p "$tmp/cache"
            if /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$BIN" stage big --json > "$tmp/out" 2> "$tmp/err"; then
                p=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])' < "$tmp/out")
                read -r w u k < "$tmp/time"
                ours_cpu=$(python3 -c "print(min(x for x in [$u + $k, ${ours_cpu:-1e9}]))")
                best_ours=$(python3 -c "print(min(x for x in [$p, ${best_ours:-1e9}]))")
                best_ours_s=$(python3 -c "print(min(x for x in [$w, ${best_ours_s:-1e9}]))")
            else
                refused=$(grep -v '^\s*$' "$tmp/err" | head -3 | tr '\n' ' ')
            fi
            BIG_CSV_DUMP="$tmp/ref.f32" /usr/bin/time -f "%e %U %S" -o "$tmp/time" "$PYTHON" bench/big_csv_reference.py "$tmp/data/big.csv" > "$tmp/ref.json"
            p=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])' < "$tmp/ref.json")
            read -r w u k < "$tmp/time"
            ref_cpu=$(python3 -c "print(min(x for x in [$u + $k, ${ref_cpu:-1e9}]))")
            best_ref=$(python3 -c "print(min(x for x in [$p, ${best_ref:-1e9}]))")
            best_ref_s=$(python3 -c "print(min(x for x in [$w, ${best_ref_s:-1e9}]))")
        done
        "$PYTHON" - "$fmt" "$tmp" "$(stat -c %s "$tmp/data/big.csv")" "$best_ours" "$best_ours_s" "$best_ref" "$best_ref_s" "$refused" "$ours_cpu" "$ref_cpu" <<'PY'
import glob, json, sys
import numpy as np
fmt, tmp, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
ours, ours_s, ref, ref_s, refused, ours_cpu, ref_cpu = sys.argv[4:11]
rows = json.load(open(f"{tmp}/ref.json"))["rows"]
if refused:
    print(f"| {fmt} | {size / 2**20:,.0f} | {rows:,} | refused: {refused.strip()} | {float(ref):.2f} | | | | |")
    sys.exit()
theirs = np.fromfile(f"{tmp}/ref.f32", dtype="<f4")
staged = glob.glob(f"{tmp}/cache/tables/*/x.f32")
mine = np.fromfile(staged[0], dtype="<f4") if staged else np.array([], dtype="<f4")
same = mine.shape == theirs.shape
# Bit for bit: NaN equals NaN only when both sides hold it.
differ = int((mine.view("<u4") != theirs.view("<u4")).sum()) if same else f"shapes {mine.shape} vs {theirs.shape}"
ours, ours_s, ref, ref_s = map(float, (ours, ours_s, ref, ref_s))
print(f"| {fmt} | {size / 2**20:,.0f} | {rows:,} | {ours:.2f} | {ref:.2f} | {ref / ours:.2f}x | {ref_s / ours_s:.2f}x | "
      f"{float(ours_cpu):.2f} / {float(ref_cpu):.2f} | {differ} of {theirs.size:,} |")
PY
    done
    exit 0
fi

# 10 float features and an integer class (0-9): ~90 bytes a row.
"$PYTHON" bench/big_csv_formats.py short "$tmp/data/big.csv" "$MB"
file="$tmp/data/big.csv"
size=$(stat -c %s "$file")
cat "$file" > /dev/null  # both sides start from a warm page cache
sync  # and from a quiet disk: the generated file's write-back would otherwise slow whichever runs first

read -r ours_s ours_rss < <(measure "$BIN" stage big --json)
ours_parse=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])' < "$tmp/out")
read -r again_s again_rss < <(measure "$BIN" stage big --quiet)
read -r ref_s ref_rss < <(measure "$PYTHON" bench/big_csv_reference.py "$file")
ref=$(cat "$tmp/out")
rows=$(echo "$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])')
list_with=$( { /usr/bin/time -f "%e %M" "$BIN" datasets > /dev/null; } 2>&1 | tail -1)
WORKBENCH_DATASETS_DIR="$tmp/empty" list_without=$( { /usr/bin/time -f "%e %M" "$BIN" datasets > /dev/null; } 2>&1 | tail -1)
rm -rf "$tmp/cache"  # a listing before any staging: the head, and an estimate of the rows
list_fresh=$( { /usr/bin/time -f "%e %M" "$BIN" datasets > /dev/null; } 2>&1 | tail -1)

python3 - "$size" "$rows" "$ours_s" "$ours_rss" "$again_s" "$again_rss" "$ref" "$list_with" "$list_without" "$list_fresh" "$ours_parse" "$ref_s" <<'PY'
import json, sys
size, rows = int(sys.argv[1]), int(sys.argv[2])
ours_s, ours_rss, again_s, again_rss = map(float, sys.argv[3:7])
ref = json.loads(sys.argv[7])
lw, lo, lf = ([float(v) for v in a.split()] for a in sys.argv[8:11])
ours_parse, ref_s = float(sys.argv[11]), float(sys.argv[12])
mib = lambda b: f"{b / 2**20:,.0f} MiB"
tensor = (rows * 10 * 4 + rows * 8)
print(f"file: {size / 2**20:,.0f} MiB, {rows:,} rows x 10 features; tensors {mib(tensor)}")
print("| | parse s | rows/s | whole command s | peak RSS |\n|---|---|---|---|---|")
print(f"| workbench stage (parse + stage) | {ours_parse:.2f} | {rows / ours_parse:,.0f} | {ours_s:.2f} | {mib(ours_rss)} |")
print(f"| workbench stage again (staged copy) | | | {again_s:.2f} | {mib(again_rss)} |")
label = "torch.tensor" if ref["tensor"] == "torch" else "to_numpy(float32) (no torch installed)"
print(f"| pandas.read_csv + {label} | {ref['seconds']:.2f} | {rows / ref['seconds']:,.0f} | {ref_s:.2f} | {mib(ref['peak_rss'])} |")
print(f"speed ratio (pandas / ours): parse {ref['seconds'] / ours_parse:.2f}x, whole command {ref_s / ours_s:.2f}x "
      f"(target >= 2x); peak RSS ratio (ours / pandas): {ours_rss / ref['peak_rss']:.2f} (target <= 0.5); "
      f"ours / tensors: {ours_rss / tensor:.2f}")
print(f"workbench datasets: {lo[0]:.2f} s without the file, {lw[0]:.2f} s with it (staged), "
      f"{lf[0]:.2f} s with it before staging; peak RSS {mib(lo[1]*1024)} / {mib(lw[1]*1024)} / {mib(lf[1]*1024)}")
PY

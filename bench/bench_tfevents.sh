#!/usr/bin/env bash
# Reading TensorBoard event files: records/s of the workbench's reader (src/runs/external/,
# bench/tfevents_read.rs) against TensorBoard's own EventAccumulator (bench/tfevents_reference.py,
# size_guidance scalars=0, tensors=0) on the same generated file of scalars, side by side; then what
# re-polling a grown file costs. Prints a table and appends a dated record to BENCHMARKS.md.
#
#   ./dev bench tfevents            (or: PYTHON=/path/to/venv/bin/python bench/bench_tfevents.sh)
#   TFE_BENCH_MB=200                size of the generated event file
#   TFE_BENCH_REPEAT=3              reads on the workbench side (median); the reference reads once
#   TFE_BENCH_PROFILE=bench         cargo profile of the Rust side (`dev` builds faster)
#   TFE_BENCH_RECORD=0              print only; do not append to BENCHMARKS.md
# Target (issue 12): at least 5x EventAccumulator's records/s; a re-poll costs only what was appended.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv-torch/bin/python}
MB=${TFE_BENCH_MB:-200}
REPEAT=${TFE_BENCH_REPEAT:-3}
PROFILE=${TFE_BENCH_PROFILE:-bench}
RECORD=${TFE_BENCH_RECORD:-1}

"$PYTHON" -c 'import tensorboard' || {
    echo "error: $PYTHON has no tensorboard; pip install tensorboard there or set PYTHON" >&2
    exit 1
}
bin=$(cargo bench --bench tfevents_read --profile "$PROFILE" --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "tfevents_read" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "error: could not build the benchmark (cargo bench --bench tfevents_read --no-run)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
file="$tmp/events.out.tfevents.1767225600.bench.1.0"
"$bin" gen "$file" "$MB" >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
ours=$("$bin" read "$file" "$REPEAT")
ref=$("$PYTHON" bench/tfevents_reference.py "$file")
grow=$("$bin" grow "$file" 1)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

table=$(OURS="$ours" REF="$ref" GROW="$grow" python3 - <<'PY'
import json, os
o, r, g = (json.loads(os.environ[k]) for k in ("OURS", "REF", "GROW"))
assert o["points"] == r["points"], f"the two sides read different points: {o['points']} vs {r['points']}"
ref_rate = o["records"] / r["seconds"]
print(f"| file | records | points | workbench s (median) | workbench records/s | EventAccumulator s | EventAccumulator records/s | ratio |")
print(f"|---|---|---|---|---|---|---|---|")
print(f"| {o['bytes'] / 1e6:.0f} MB | {o['records']:,} | {o['points']:,} | {o['seconds']:.3f} | {o['records_per_s']:,.0f} | {r['seconds']:.1f} | {ref_rate:,.0f} | {o['records_per_s'] / ref_rate:.1f}x |")
print()
print(f"Following a growing file: a first read of {g['base_bytes'] / 1e6:.0f} MB took {g['base_s']:.3f} s; an idle re-poll (nothing new) "
      f"{g['idle_repoll_s'] * 1e6:.0f} µs; after {g['appended_bytes'] / 1e6:.2f} MB ({g['appended_records']:,} records) were appended, "
      f"the re-poll took {g['repoll_s'] * 1e3:.1f} ms, {g['repoll_s'] / g['base_s'] * 100:.1f}% of the first read for "
      f"{g['appended_bytes'] / g['base_bytes'] * 100:.1f}% of its bytes.")
PY
)
echo "$table"

if [ "$RECORD" = "1" ]; then
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
    cores=$(nproc)
    tb=$("$PYTHON" -c 'import tensorboard; print(tensorboard.__version__)')
    INTRO="Records per second reading one generated event file of scalars (three tags; \`simple_value\` and
new-style tensor scalars alternating, as PyTorch's SummaryWriter writes them): the workbench's reader
(src/runs/external/, bench/tfevents_read.rs: \`read_event_file\`, CRC-32C checked, every point kept) against
TensorBoard's own \`EventAccumulator\` (bench/tfevents_reference.py, \`size_guidance={\"scalars\": 0, \"tensors\": 0}\`, every
point kept: it files new-style scalars under its tensors), on the same file in the same run; both must return the same number of points. Then the cost of
following a growing file: an idle re-poll, and a re-poll after 1 MB was appended to a file already read.

**How to run.** \`./dev bench tfevents\` (or \`PYTHON=venv/bin/python bench/bench_tfevents.sh\`; set
\`TFE_BENCH_MB\`, \`TFE_BENCH_REPEAT\`, \`TFE_BENCH_PROFILE\`, or \`TFE_BENCH_RECORD=0\` to only print).

**Target.** At least 5x EventAccumulator's records/s (issue 12); a re-poll reads only what was appended.

Recorded runs follow, newest last."
    {
        echo "### $(date -u '+%Y-%m-%d %H:%M UTC'), $cpu ($cores cores), load average $load_before before, $load_after after"
        echo
        echo "Command: \`bench/bench_tfevents.sh\` (TFE_BENCH_MB=$MB, TFE_BENCH_REPEAT=$REPEAT, cargo profile \`$PROFILE\`; tensorboard $tb, Python $("$PYTHON" -c 'import platform; print(platform.python_version())'))"
        echo
        echo "$table"
    } | python3 bench/record.py "## Reading TensorBoard event files vs EventAccumulator" "$INTRO"
    echo "appended a record to BENCHMARKS.md"
fi

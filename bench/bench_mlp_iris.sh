#!/usr/bin/env bash
# mlp (4-16-3) on Iris, batch 16, Adam, CPU: steps/s of the workbench's engine (bench/mlp_iris.rs)
# against the same training in PyTorch (bench/mlp_iris_reference.py), side by side on this machine.
# Alternating runs, median of each side; the final losses of the two must agree to 1e-6 or the
# script fails. Prints a table and appends a dated record to BENCHMARKS.md.
#
#   ./dev bench mlp                      (or: PYTHON=.venv-torch/bin/python bench/bench_mlp_iris.sh)
#   MLP_BENCH_EPOCHS=1000                epochs per run (8 steps each)
#   MLP_BENCH_REPEAT=5                   runs of each side, alternating
#   MLP_BENCH_THREADS="0 1"              intra-op thread settings to measure, each on both sides;
#                                        0 is libtorch's default (one per core), the figure the
#                                        target is judged on
#   MLP_BENCH_RECORD=0                   print only; do not append to BENCHMARKS.md
#   MLP_BENCH_PROFILE=dev                the cargo profile to build the benchmark with: dev (default;
#                                        what `./dev run` builds) or release
# Target (issue 23): the workbench at least 5x PyTorch's steps/s at both thread settings.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv-torch/bin/python}
EPOCHS=${MLP_BENCH_EPOCHS:-1000}
REPEAT=${MLP_BENCH_REPEAT:-5}
THREADS=${MLP_BENCH_THREADS:-"0 1"}
RECORD=${MLP_BENCH_RECORD:-1}
PROFILE=${MLP_BENCH_PROFILE:-dev}

"$PYTHON" -c 'import torch; assert torch.__version__.startswith("2.11.0"), torch.__version__' || {
    echo "error: $PYTHON has no torch 2.11.0; run ./dev gpu-torch or set PYTHON" >&2
    exit 1
}
# Build with the chosen profile and find the benchmark's executable.
bin=$(cargo bench --profile "$PROFILE" --bench mlp_iris --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "mlp_iris" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "error: could not build the mlp_iris benchmark (cargo bench --profile $PROFILE --bench mlp_iris --no-run)" >&2; exit 1; }

# The section's introduction, used when BENCHMARKS.md has no such section yet.
INTRO="Steps per second of \`mlp\` (4-16-3) on Iris, batch size 16, Adam (lr 0.01), seed 42, on the CPU: the
workbench's real engine (bench/mlp_iris.rs: \`worker::prepare_run\` and \`engine::run_loop\`, validation after
each epoch) against the same training written in plain PyTorch 2.11 (bench/mlp_iris_reference.py), in one run
on one machine, alternating. Both follow the workbench's procedure (seeded split, standardisation,
initialisation, per-epoch seeded batch order), so their final losses must agree to 1e-6; the script fails
otherwise. Only the training loop is timed. Target: the workbench at least 5x PyTorch's steps/s at both thread
settings (issue 23). Run it with
\`./dev bench mlp\`."

rust() { "$bin" --bench --epochs "$EPOCHS" --threads "$1"; }
py() { "$PYTHON" bench/mlp_iris_reference.py --epochs "$EPOCHS" --threads "$1"; }

# How busy the machine is: the load average, and the share of CPU time other work took over 2 s
# (the load average still counts the previous benchmark for a minute after it ends).
busy_pct() {
    python3 -c 'import time
def snap():
    f = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return sum(f), f[3] + f[4]
t0, i0 = snap(); time.sleep(2); t1, i1 = snap()
print(round(100 * (1 - (i1 - i0) / max(t1 - t0, 1))))'
}
busy_before=$(busy_pct)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for threads in $THREADS; do
    for i in $(seq 1 "$REPEAT"); do
        # Alternate which side goes first, so neither always runs on a warmer or quieter machine.
        if [ $((i % 2)) -eq 1 ]; then rust "$threads"; py "$threads"; else py "$threads"; rust "$threads"; fi | sed "s/^{/{\"setting\": $threads, /" >>"$results"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
busy_after=$(busy_pct)

report=$(python3 - "$results" "$EPOCHS" "$REPEAT" "$load_before" "$load_after" "$THREADS" "$busy_before" "$busy_after" "$PROFILE" <<'PY'
import json, statistics, subprocess, sys, time
path, epochs, repeat, load_before, load_after, settings, busy_before, busy_after, profile = sys.argv[1:]
runs = [json.loads(line) for line in open(path)]
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
rows, worst, failed, worst_ratio = [], 0.0, False, None
for setting in settings.split():
    mine = [r for r in runs if r["setting"] == int(setting)]
    wb = [r for r in mine if r["impl"] == "workbench"]
    pt = [r for r in mine if r["impl"] == "pytorch"]
    med = lambda rs: statistics.median(r["steps_per_s"] for r in rs)
    for a, b in zip(wb, pt):
        for key in ("train_loss", "val_loss"):
            diff = abs(a[key] - b[key])
            worst = max(worst, diff)
            if not diff <= 1e-6:
                failed = True
                print(f"LOSS MISMATCH ({key}): workbench {a[key]!r} vs pytorch {b[key]!r}", file=sys.stderr)
    ratio = med(wb) / med(pt)
    label = f"libtorch default ({wb[0]['threads']})" if setting == "0" else setting
    rows.append((label, med(wb), med(pt), ratio, min(r["steps_per_s"] for r in wb), max(r["steps_per_s"] for r in wb),
                 min(r["steps_per_s"] for r in pt), max(r["steps_per_s"] for r in pt)))
    worst_ratio = ratio if worst_ratio is None else min(worst_ratio, ratio)
losses = runs[0]
print(f"### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu} ({cores} cores), load average {load_before} before, "
      f"{load_after} after; other work took {busy_before}% of the CPU just before, {busy_after}% just after\n")
command = "./dev bench mlp" if profile == "dev" else f"MLP_BENCH_PROFILE={profile} ./dev bench mlp"
print(f"Command: `{command}` ({epochs} epochs = {losses['steps']} steps a run, median of {repeat} alternating runs a side; "
      f"the workbench built in the {profile} profile{' (what ./dev run builds)' if profile == 'dev' else ''})\n")
print("| intra-op threads (both sides) | workbench steps/s | PyTorch 2.11 steps/s | ratio | workbench range | PyTorch range |")
print("|---|---|---|---|---|---|")
for label, w, p, r, wlo, whi, plo, phi in rows:
    print(f"| {label} | {w:,.0f} | {p:,.0f} | **{r:.2f}x** | {wlo:,.0f}-{whi:,.0f} | {plo:,.0f}-{phi:,.0f} |")
print()
verdict = "ok" if worst_ratio >= 5 else "MISSED"
if max(int(busy_before), int(busy_after)) > 10:
    # Other work takes the cores both sides need (and the default threads' OpenMP regions wait for
    # a second core), so such figures say little about either side.
    print(f"**Machine busy** (other work took {busy_before}% / {busy_after}% of the CPU before / after): "
          "these figures are unreliable; rerun on a quiet machine.\n")
print(f"Target >= 5x at every thread setting: {verdict} (lowest {worst_ratio:.2f}x). "
      f"Final losses: train {losses['train_loss']:.10g}, validation {losses['val_loss']:.10g} "
      f"(accuracy {losses['val_acc']:.4f}); largest difference between the sides {worst:.3g} "
      f"({'agree to 1e-6' if not failed else 'DISAGREE'}).")
sys.exit(2 if failed else 0)
PY
) || status=$?
echo "$report"
if [ "${status:-0}" -ne 0 ]; then
    echo "FAILED: the workbench and PyTorch did not reach the same final losses (see above); nothing recorded" >&2
    exit 1
fi
if [ "$RECORD" = 1 ]; then
    echo "$report" | python3 bench/record.py "## mlp on Iris vs PyTorch (CPU)" "$INTRO"
fi

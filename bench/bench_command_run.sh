#!/usr/bin/env bash
# The cost of running a command under `workbench run` (issue 17's targets):
#  1. overhead: a script printing 100,000 metric lines a second for 10 s, its own wall time under
#     `workbench run` against the same script run bare (stdout to /dev/null both ways): <= 1.05x,
#     and every line it printed is a point in the run's scalars.csv;
#  2. idle: a script that prints nothing for 60 s: the run process (the supervisor) costs under
#     1% of one core (its utime + stime from /proc over the wall time).
#
#   bash bench/bench_command_run.sh               # the binary ./dev run builds (target/debug)
#   WORKBENCH=target/release/workbench CMD_RATE=100000 CMD_SECONDS=10 CMD_IDLE_S=60 CMD_REPEAT=3 ...
#   CMD_RECORD=0 ...                              # print only; don't append to BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
WB=${WORKBENCH:-target/debug/workbench}
RATE=${CMD_RATE:-100000}
SECONDS_=${CMD_SECONDS:-10}
IDLE=${CMD_IDLE_S:-60}
REPEAT=${CMD_REPEAT:-3}
PY=${PYTHON_BARE:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
[ -x "$WB" ] || { echo "error: $WB is not built; run ./dev run once (or cargo build), or set WORKBENCH" >&2; exit 1; }

# The printer keeps to a schedule: RATE lines a second in chunks of 1,000, each chunk at its time.
# If its output is not drained as fast as it comes, its writes block and its wall time grows.
cat >"$WORK/printer.py" <<'PY'
import sys, time
rate, seconds, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
chunk = 1000
total = int(rate * seconds)
start = time.perf_counter()
step = 0
while step < total:
    lines = "".join(f"step={s} loss={1.0 / (s + 1):.6f} acc: {s % 1000 / 1000:.3f}\n" for s in range(step, step + chunk))
    sys.stdout.write(lines)
    sys.stdout.flush()
    step += chunk
    ahead = start + step / rate - time.perf_counter()
    if ahead > 0:
        time.sleep(ahead)
with open(out, "a") as f:
    f.write(f"{time.perf_counter() - start:.4f}\n")
PY
cat >"$WORK/idle.py" <<'PY'
import sys, time
time.sleep(float(sys.argv[1]))
PY

for i in $(seq "$REPEAT"); do
    echo "overhead run $i/$REPEAT ..." >&2
    "$PY" "$WORK/printer.py" "$RATE" "$SECONDS_" "$WORK/bare" >/dev/null
    "$WB" --runs-dir "$WORK/runs" run --device cpu --name "printer-$i" -- \
        "$PY" "$WORK/printer.py" "$RATE" "$SECONDS_" "$WORK/under" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
done
# Every printed line's loss is a point: count them in each run's scalars.csv.
lines_expected=$(python3 -c "print(int($RATE * $SECONDS_))")
missing=0
for d in "$WORK"/runs/*/; do
    got=$(grep -c ',loss,' "$d/scalars.csv" || true)
    [ "$got" -eq "$lines_expected" ] || { echo "  $(basename "$d"): $got of $lines_expected loss points" >&2; missing=1; }
done

echo "idle run ($IDLE s) ..." >&2
"$WB" --runs-dir "$WORK/idle-runs" run --device cpu --detach --name idle -- "$PY" "$WORK/idle.py" "$IDLE" >/dev/null
dir=$(ls -d "$WORK"/idle-runs/*/)
pid=""
for _ in $(seq 50); do
    pid=$(sed -n 's/^pid = \([0-9]*\)$/\1/p' "$dir/run.toml")
    [ -n "$pid" ] && [ "$pid" != 0 ] && break
    sleep 0.1
done
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
sleep 2   # past the start: the first samples and the git look-up
t0=$(date +%s.%N); c0=$(ticks)
sleep $((IDLE - 6))
t1=$(date +%s.%N); c1=$(ticks)
hz=$(getconf CLK_TCK)
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done

python3 - "$WORK" "$RATE" "$SECONDS_" "$REPEAT" "$missing" "$t0" "$t1" "$c0" "$c1" "$hz" "$WB" "$IDLE" <<'PY' | tee "$WORK/record.md"
import datetime, os, platform, statistics, subprocess, sys
work, rate, seconds, repeat, missing, t0, t1, c0, c1, hz, wb, idle = sys.argv[1:13]
bare = [float(x) for x in open(f"{work}/bare")]
under = [float(x) for x in open(f"{work}/under")]
ratio = statistics.median(under) / statistics.median(bare)
cpu = (float(c1) - float(c0)) / float(hz) / (float(t1) - float(t0)) * 100
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
profile = "release" if "/release/" in wb else "dev profile (what ./dev run builds)"
load = os.getloadavg()[0]
print(f"### {datetime.date.today()} · {model}, {os.cpu_count()} cores · load {load:.1f} · {profile}")
print()
print(f"`bash bench/bench_command_run.sh` (WORKBENCH={wb}, {rate} lines/s for {seconds} s, median of {repeat})")
print()
print("| figure | bare | under `workbench run` | ratio or share | target |")
print("|---|---|---|---|---|")
ok = "ok" if ratio <= 1.05 else "MISSED"
print(f"| printer's wall time | {statistics.median(bare):.3f} s | {statistics.median(under):.3f} s | {ratio:.3f}x ({ok}) | <= 1.05x |")
lines_ok = "every line in scalars.csv" if missing == "0" else "LINES MISSING from scalars.csv"
print(f"| {int(float(rate) * float(seconds)):,} lines a run | | | {lines_ok} | all |")
ok = "ok" if cpu < 1.0 else "MISSED"
print(f"| idle supervisor over {idle} s | | | {cpu:.3f}% of a core ({ok}) | < 1% |")
print()
print(f"bare runs: {', '.join(f'{x:.3f}' for x in bare)}; under: {', '.join(f'{x:.3f}' for x in under)}")
PY
if [ "${CMD_RECORD:-1}" = 1 ]; then
    python3 bench/record.py "## Command runs: overhead and an idle supervisor" \
"**What is measured.** \`workbench run\` supervises a user's command: it drains its stdout and stderr, parses metric lines into \`scalars.csv\`, samples telemetry and follows the control file. (1) A Python script keeps to a schedule of 100,000 metric lines a second (\`step=N loss=... acc: ...\`) for 10 s; its own wall time run bare (stdout to /dev/null) against under \`workbench run --device cpu\` (the foreground, output shown, here to /dev/null); a supervisor that drained slower than the script prints would block its writes and stretch its time. Every run's \`scalars.csv\` must hold one loss point per line. (2) A script that sleeps 60 s under \`workbench run --detach\`: the run process's utime + stime from /proc over 54 s of it. **Targets** (issue 17): <= 1.05x, and < 1% of one core." <"$WORK/record.md"
fi

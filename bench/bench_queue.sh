#!/usr/bin/env bash
# Queue benchmarks (issue 18), on the CPU:
# 1. from a slot freed to the next run started: cpu_slots = 1, N short Iris runs queued; for each
#    run after the first, its `[queue] taken_at` less the time its predecessor's run.toml was last
#    written (its end). Target: median <= 0.5 s.
# 2. 100 queued short Iris runs on 2 CPU slots: the wall time of `workbench queue start` against
#    (the sum of each run's own time, from taken to its run.toml's last write) / 2. Target <= 1.3x.
# 3. the TUI with 500 queued runs: first frame and frame time (bench/queue_pane.rs). Targets
#    <= 1 s and <= 5 ms.
# Runs are queued while this script holds runs/.queue.lock (flock), so none starts before the
# dispatcher is timed. Appends a dated record to BENCHMARKS.md.
#
# QUEUE_BENCH_BIN (default target/debug/workbench; `./dev bench` builds release: pass
# target/release/workbench), QUEUE_BENCH_RUNS (100), QUEUE_BENCH_LATENCY_RUNS (12),
# QUEUE_BENCH_EPOCHS (20: about 0.1 s of training on Iris), QUEUE_BENCH_PROFILE (dev).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${QUEUE_BENCH_BIN:-target/debug/workbench}")
RUNS=${QUEUE_BENCH_RUNS:-100}
LATENCY_RUNS=${QUEUE_BENCH_LATENCY_RUNS:-12}
EPOCHS=${QUEUE_BENCH_EPOCHS:-20}
# The profile bench/queue_pane.rs is built with (dev: what the tests built already).
PROFILE=${QUEUE_BENCH_PROFILE:-dev}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A project in $1 with cpu_slots = $2 and $3 queued Iris runs, queued while the lock is held.
project() {
    local dir=$1 slots=$2 n=$3
    mkdir -p "$dir/datasets" "$dir/runs"
    cp datasets/iris.csv "$dir/datasets/"
    printf '[train]\nthreads = 1\nepochs = %s\n\n[queue]\ncpu_slots = %s\n' "$EPOCHS" "$slots" > "$dir/config.toml"
    (cd "$dir" && XDG_STATE_HOME="$dir/state" flock runs/.queue.lock \
        sh -c "seq $n | xargs -P 2 -I{} '$BIN' train --dataset iris --device cpu --queue --quiet > /dev/null")
}

# Work the queue in $1 in the foreground; prints the wall seconds.
dispatch() {
    local dir=$1
    (cd "$dir" && XDG_STATE_HOME="$dir/state" python3 -c '
import subprocess, sys, time
t = time.monotonic()
subprocess.run([sys.argv[1], "queue", "start"], check=True, stdout=subprocess.DEVNULL)
print(time.monotonic() - t)' "$BIN")
}

project "$work/latency" 1 "$LATENCY_RUNS"
dispatch "$work/latency" > /dev/null
project "$work/throughput" 2 "$RUNS"
wall=$(dispatch "$work/throughput")
pane=$(cargo bench --quiet --profile "$PROFILE" --bench queue_pane 2>/dev/null | tail -1)

record=$(python3 - "$work" "$wall" "$pane" "$BIN" "$RUNS" "$LATENCY_RUNS" "$EPOCHS" "$PROFILE" <<'PY'
import datetime, json, os, statistics, subprocess, sys, time, tomllib
work, wall, pane, binary = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
runs, latency_runs, epochs, pane_profile = sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]

def folders(project):
    out = []
    root = os.path.join(work, project, "runs")
    for name in os.listdir(root):
        path = os.path.join(root, name, "run.toml")
        if not os.path.isfile(path):
            continue
        meta = tomllib.load(open(path, "rb"))
        taken = datetime.datetime.fromisoformat(meta["queue"]["taken_at"].replace("Z", "+00:00")).timestamp()
        out.append((taken, os.stat(path).st_mtime, meta["status"]))
    return sorted(out)

lat = folders("latency")
assert all(s == "finished" for _, _, s in lat), lat
gaps = [b[0] - a[1] for a, b in zip(lat, lat[1:])]
thr = folders("throughput")
assert all(s == "finished" for _, _, s in thr), [s for _, _, s in thr]
own = sum(end - taken for taken, end, _ in thr)
ratio = wall / (own / 2)
ok = lambda good: "ok" if good else "MISSED"
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
load = " ".join(open("/proc/loadavg").read().split()[:3])
profile = "release" if "/release/" in binary else "dev (our code opt-level 1, dependencies 2, line tables: Cargo.toml)"
print(f"### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu} ({cores} cores), load average {load}\n")
print(f"Command: `bash bench/bench_queue.sh` (binary: {binary}, {profile} profile; {epochs} epochs of mlp on Iris per run, "
      f"`--threads 1`; {latency_runs} runs for the latency, {runs} for the throughput; bench/queue_pane.rs in the {pane_profile} profile)\n")
print("| measure | figure | target | |\n|---|---|---|---|")
print(f"| slot freed → next run started | median {statistics.median(gaps)*1000:.0f} ms, max {max(gaps)*1000:.0f} ms over {len(gaps)} | <= 0.5 s | {ok(statistics.median(gaps) <= 0.5)} |")
print(f"| {len(thr)} runs on 2 CPU slots: wall / (sum of own times / 2) | {ratio:.3f} ({wall:.1f} s against {own/2:.1f} s; own time median {statistics.median(e - t for t, e, _ in thr):.2f} s) | <= 1.3x | {ok(ratio <= 1.3)} |")
print(f"| TUI, {pane['queued']} queued runs: first frame | {pane['first_frame_ms']:.0f} ms | <= 1 s | {ok(pane['first_frame_ms'] <= 1000)} |")
print(f"| TUI, {pane['queued']} queued runs: update + frame | median {pane['update_draw_median_ms']:.2f} ms, p95 {pane['update_draw_p95_ms']:.2f} ms | <= 5 ms | {ok(pane['update_draw_median_ms'] <= 5)} |")
print(f"| queue watcher's look (scan + decision), {pane['queued']} queued | median {pane['watcher_look_median_ms']:.2f} ms, p95 {pane['watcher_look_p95_ms']:.2f} ms | - | |")
PY
)
echo "$record"
echo "$record" | python3 bench/record.py "## Queue (CPU)" \
  "The queue of issue 18 on the CPU (bench/bench_queue.sh): how soon a freed slot is taken, how close the dispatcher keeps two CPU slots to full, and the TUI with 500 queued runs (bench/queue_pane.rs). A run's own time counts from the dispatcher taking it to its run.toml's last write, so it includes the run process's start (libtorch's load), which dominates a 0.1 s run."

#!/usr/bin/env bash
# TUI benchmarks: start-up, bytes to the terminal during a run (120x40, default fps), training
# throughput with the TUI open against headless `workbench train`, and frame time with 1,000,000
# loss points. Appends a dated record to BENCHMARKS.md.
# Targets (issue 3): overhead ratio >= 0.97, <= 20 KB/s, frame <= 5 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${TUI_BENCH_EPOCHS:-10000}
REPEAT=${TUI_BENCH_REPEAT:-5}

cargo build --release --quiet
frame=$(cargo bench --quiet --bench frame_time 2>/dev/null | tail -1)
tui=$(python3 bench/tui_bench.py target/release/workbench --epochs "$EPOCHS" --repeat "$REPEAT" --json)

record=$(python3 - "$frame" "$tui" <<'PY'
import json, subprocess, sys, time
frame, tui = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ok = lambda good: "ok" if good else "MISSED"
cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[:3]
rows = [
    ("start-up to first frame", f"{tui['startup_s']*1000:.0f} ms", "-", ""),
    ("bytes written while idle", f"{tui['idle_bytes_in_3s']} bytes in 3 s", "0", ok(tui['idle_bytes_in_3s'] == 0)),
    ("TUI / headless throughput", f"{tui['tui_over_headless']:.3f} ({tui['tui_samples_per_s']:,.0f} / {tui['headless_samples_per_s']:,.0f} samples/s)", ">= 0.97", ok(tui['tui_over_headless'] >= 0.97)),
    ("bytes to the terminal", f"{tui['bytes_per_s']/1000:.2f} KB/s over a {tui['run_seconds']:.0f} s run", "<= 20 KB/s", ok(tui['bytes_per_s'] <= 20000)),
    ("frame, 1M points, full history", f"median {frame['full_median_ms']:.2f} ms, p95 {frame['full_p95_ms']:.2f} ms", "<= 5 ms", ok(frame['full_median_ms'] <= 5)),
    ("frame, 1M points, recent steps", f"median {frame['recent_median_ms']:.2f} ms, p95 {frame['recent_p95_ms']:.2f} ms", "<= 5 ms", ok(frame['recent_median_ms'] <= 5)),
    ("frame, 1M points, log y + smoothing", f"median {frame['log_smooth_median_ms']:.2f} ms, p95 {frame['log_smooth_p95_ms']:.2f} ms", "<= 5 ms", ok(frame['log_smooth_median_ms'] <= 5)),
]
print(f"### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu} ({cores} cores), load average {' '.join(load)}\n")
print("Command: `./dev bench tui`\n")
print("| measure | figure | target | |\n|---|---|---|---|")
for a, b, c, d in rows:
    print(f"| {a} | {b} | {c} | {d} |")
PY
)
echo "$record"
echo "$record" | python3 bench/record.py "## TUI (CPU)" \
  "Start-up (launch to first frame), bytes written to the terminal during a run at 120x40 and the default 10 fps (both through a real pseudo-terminal, bench/tui_bench.py), training throughput with the TUI open against headless \`workbench train\` for the same run (Iris, mlp, ${EPOCHS} epochs, alternating, median of ${REPEAT}), and the time to draw one 120x40 frame with 1,000,000 loss points (bench/frame_time.rs)."

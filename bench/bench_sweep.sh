#!/usr/bin/env bash
# `workbench sweep` of 1,000 cells (issue 19's targets): printing them with --dry-run (<= 0.5 s),
# and queueing them (<= 5 s: every cell planned, its folder made, marked and queued). The
# dispatcher is stopped at once and the queued runs taken out, so nothing trains. Then the TUI's
# sweep board over a finished sweep of 1,000 runs (bench/sweep_board.rs): first frame <= 1 s,
# redraw <= 5 ms.
#
#   bash bench/bench_sweep.sh                 # the binary ./dev run builds (target/debug)
#   WORKBENCH=target/release/workbench SWEEP_REPEAT=5 SWEEP_RECORD=0 ...
set -euo pipefail
cd "$(dirname "$0")/.."
WB=${WORKBENCH:-target/debug/workbench}
REPEAT=${SWEEP_REPEAT:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
[ -x "$WB" ] || { echo "error: $WB is not built; run ./dev run once (or cargo build), or set WORKBENCH" >&2; exit 1; }
mkdir -p "$WORK/datasets"
cp datasets/iris.csv "$WORK/datasets/"
printf '[train]\ndataset = "iris"\nepochs = 1\nthreads = 1\ndevice = "cpu"\n[queue]\ncpu_slots = 1\n' >"$WORK/config.toml"
# 10 learning rates x 100 seeds.
GRID=(--lr 1e-4:1e-1:log:10 --seed 1:100:step:1)
secs() { python3 -c 'import sys,time; t=time.perf_counter(); import subprocess; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); print(f"{time.perf_counter()-t:.3f}")' "$@"; }
dry=(); queued=()
for i in $(seq "$REPEAT"); do
    echo "run $i/$REPEAT ..." >&2
    dry+=("$(cd "$WORK" && secs "$OLDPWD/$WB" sweep --name "d$i" "${GRID[@]}" --dry-run)")
    queued+=("$(cd "$WORK" && secs "$OLDPWD/$WB" sweep --name "q$i" "${GRID[@]}")")
    (cd "$WORK" && "$OLDPWD/$WB" queue stop >/dev/null && "$OLDPWD/$WB" sweep stop "q$i" >/dev/null 2>&1 || true)
done
cells=$(grep -c '^\[\[cells\]\]' "$WORK/runs/sweeps/q1/sweep.toml")
echo "the sweep board (cargo bench --bench sweep_board) ..." >&2
board=$(cargo bench --quiet --profile "${SWEEP_BOARD_PROFILE:-dev}" --bench sweep_board 2>/dev/null | tail -1)
python3 - "$WB" "$cells" "${dry[*]}" "${queued[*]}" "$board" <<'PY' | tee "$WORK/record.md"
import datetime, json, os, platform, statistics, sys
wb, cells, dry, queued = sys.argv[1], int(sys.argv[2]), [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
board = json.loads(sys.argv[5])
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
profile = "release" if "/release/" in wb else "dev profile (what ./dev run builds)"
print(f"### {datetime.date.today()} · {model}, {os.cpu_count()} cores · load {os.getloadavg()[0]:.1f} · {profile}")
print()
print(f"`bash bench/bench_sweep.sh` (WORKBENCH={wb}; 10 learning rates x 100 seeds = {cells} cells; median of {len(dry)})")
print()
print("| figure | median | runs | target |")
print("|---|---|---|---|")
m = statistics.median(dry)
print(f"| `--dry-run`: print the cells | {m:.3f} s | {', '.join(f'{x:.3f}' for x in dry)} | <= 0.5 s ({'ok' if m <= 0.5 else 'MISSED'}) |")
m = statistics.median(queued)
print(f"| queue them (plan, folder, mark, queue each) | {m:.3f} s | {', '.join(f'{x:.3f}' for x in queued)} | <= 5 s ({'ok' if m <= 5 else 'MISSED'}) |")
print()
print(f"The sweep board over a finished sweep of {board['runs']} runs ({board['groups']} learning rates x 10 seeds, 100 epochs each), {board['size']}, `cargo bench --bench sweep_board` (dev profile):")
print()
print("| figure | median | p95 | target |")
print("|---|---|---|---|")
f = board["first_frame_ms"]
print(f"| first frame (poll 1,000 folders, update, `b`, draw) | {f:.0f} ms | | <= 1 s ({'ok' if f <= 1000 else 'MISSED'}) |")
for view in ["table", "band", "values"]:
    med, p95 = board[f"{view}_redraw_median_ms"], board[f"{view}_redraw_p95_ms"]
    print(f"| redraw, {view} view | {med:.2f} ms | {p95:.2f} ms | <= 5 ms ({'ok' if p95 <= 5 else 'MISSED'}) |")
print(f"| the table built again when a run changes (in the update, not per frame) | {board['table_build_ms']:.2f} ms | | |")
PY
if [ "${SWEEP_RECORD:-1}" = 1 ]; then
    python3 bench/record.py "## Sweeps: 1,000 cells" \
"**What is measured.** \`workbench sweep\` over a grid of 1,000 cells (10 log-spaced learning rates x 100 seeds) on Iris: with \`--dry-run\` (the grid expanded and printed), and queued (each cell planned as \`workbench train\` plans a run, its folder made with \`sweep\` and \`[sweep_cell]\` in run.toml, and handed to the queue). The dispatcher is stopped and the runs taken out right after, so nothing trains. And the TUI's sweep board over a finished sweep of 1,000 run folders: the first frame, and redraws of its three views. **Targets** (issue 19): <= 0.5 s and <= 5 s; board first draw <= 1 s, redraw <= 5 ms." <"$WORK/record.md"
fi

#!/usr/bin/env bash
# The telemetry thread's cost to training: the same run with and without the sampler
# (WORKBENCH_NO_TELEMETRY=1 turns it off), alternating, median training time of each side.
# Target (issue 8): at most 1% slower with the sampler.
#
#   bash bench/telemetry_cost.sh                      # CPU, mlp on iris
#   TEL_DEVICE=cuda WORKBENCH=./workbench bash bench/telemetry_cost.sh
#   TEL_EPOCHS=1500 TEL_REPEAT=7 ...
set -euo pipefail
cd "$(dirname "$0")/.."
WB=${WORKBENCH:-target/debug/workbench}
DEVICE=${TEL_DEVICE:-cpu}
EPOCHS=${TEL_EPOCHS:-1500}
REPEAT=${TEL_REPEAT:-7}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
one() { # SIDE: train once, append the last epoch's elapsed_s to WORK/SIDE
    local side=$1 envs=()
    [ "$side" = off ] && envs=(WORKBENCH_NO_TELEMETRY=1)
    env "${envs[@]}" "$WB" --datasets-dir datasets --runs-dir "$WORK/runs-$side" train --dataset iris --model mlp \
        --epochs "$EPOCHS" --device "$DEVICE" --threads 1 --quiet >/dev/null
    local run
    run=$(ls -td "$WORK/runs-$side"/*/ | head -1)
    [ "$side" = off ] && [ -e "$run/telemetry.csv" ] && { echo "error: the sampler ran with WORKBENCH_NO_TELEMETRY" >&2; exit 1; }
    tail -1 "$run/metrics.csv" | cut -d, -f6 >>"$WORK/$side"
}
for i in $(seq "$REPEAT"); do
    echo "run $i/$REPEAT ..." >&2
    if [ $((i % 2)) -eq 1 ]; then one on; one off; else one off; one on; fi
done
python3 - "$WORK" "$EPOCHS" "$REPEAT" "$DEVICE" <<'PY'
import statistics, sys
work, epochs, repeat, device = sys.argv[1:5]
on = [float(x) for x in open(f"{work}/on")]
off = [float(x) for x in open(f"{work}/off")]
m_on, m_off = statistics.median(on), statistics.median(off)
cost = (m_on / m_off - 1) * 100
print(f"telemetry cost ({device}, mlp on iris, {epochs} epochs, median of {repeat}): with sampler {m_on:.3f} s, "
      f"without {m_off:.3f} s: {cost:+.2f}% ({'ok' if cost <= 1.0 else 'MISSED'}, target <= 1%)")
print(f"  with: {', '.join(f'{x:.3f}' for x in on)}; without: {', '.join(f'{x:.3f}' for x in off)}")
PY

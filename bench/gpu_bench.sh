#!/usr/bin/env bash
# The GPU benchmarks of issue 8, each printing its ratio; run by scripts/gpu_check.sh (from the
# folder `./dev gpu-pack` makes) or from a checkout with a built binary. UNPROVEN until a GPU is
# lent: no line of this has run on a GPU yet.
#   1. lenet5, one epoch of 60,000 28x28 images, batch 256: workbench vs PyTorch with tensors on the
#      device vs the DataLoader version (bench/bench_images.sh with IMAGES_BENCH_DEVICE=cuda);
#      targets >= 1.0x and >= 2x;
#   2. mlp 4-16-3 on Iris on the GPU vs PyTorch on the GPU, same loop; target >= 3x samples/s;
#   3. time from start to the first GPU step (a 1-epoch run's wall time is its upper bound);
#   4. the telemetry thread's cost (bench/telemetry_cost.sh on the GPU); target <= 1%.
#
#   WORKBENCH=./workbench PYTHON=python3 bash bench/gpu_bench.sh
#   GPU_BENCH_DEVICE=cpu ...   a dry run of the plumbing on a CPU machine
set -euo pipefail
cd "$(dirname "$0")/.."
WB=${WORKBENCH:-target/debug/workbench}
PY=${PYTHON:-python3}
DEVICE=${GPU_BENCH_DEVICE:-cuda}
EPOCHS=${GPU_BENCH_MLP_EPOCHS:-300}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
wb() { "$WB" --datasets-dir datasets --runs-dir "$WORK/runs" "$@"; }

echo "== 2. mlp 4-16-3 on Iris, $EPOCHS epochs, batch 16, Adam, $DEVICE"
wb train --dataset iris --model mlp --epochs "$EPOCHS" --device "$DEVICE" --quiet >/dev/null
run=$(ls -td "$WORK"/runs/*/ | head -1)
# metrics.csv: epoch,train_loss,val_loss,val_metric,samples_per_s,elapsed_s,step
wb_sps=$(tail -n +2 "$run/metrics.csv" | cut -d, -f5 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
ref=$("$PY" bench/mlp_iris_gpu_reference.py --device "$DEVICE" --epochs "$EPOCHS")
echo "workbench: $wb_sps samples/s (median epoch); pytorch: $ref"
"$PY" -c 'import json,sys; r=json.loads(sys.argv[2]); w=float(sys.argv[1]); x=w/r["samples_per_s"]
print(f"mlp ratio: {x:.2f}x PyTorch on {sys.argv[3]} ({\"ok\" if x >= 3 else \"MISSED\"}, target >= 3x)")' "$wb_sps" "$ref" "$DEVICE"

echo "== 3. start to first step on $DEVICE"
t0=$(date +%s.%N)
wb train --dataset iris --model mlp --epochs 1 --device "$DEVICE" --quiet >/dev/null
t1=$(date +%s.%N)
"$PY" -c 'import json,sys; r=json.loads(sys.argv[3])
print(f"first step: workbench <= {float(sys.argv[2])-float(sys.argv[1]):.2f} s (whole 1-epoch run, CUDA start-up included); "
      f"PyTorch {r[\"first_step_s\"]:.2f} s (import torch to first step)")' "$t0" "$t1" "$ref"

echo "== 4. telemetry thread cost on $DEVICE"
TEL_DEVICE=$DEVICE TEL_REPEAT=${GPU_BENCH_TEL_REPEAT:-3} TEL_EPOCHS=${GPU_BENCH_TEL_EPOCHS:-300} WORKBENCH="$WB" \
    bash bench/telemetry_cost.sh

echo "== 1. lenet5, one epoch of 60,000 28x28 images, batch 256, $DEVICE"
if [ "${GPU_BENCH_SKIP_LENET:-0}" = 1 ]; then
    echo "lenet5: skipped (GPU_BENCH_SKIP_LENET=1)"
elif ! "$PY" -c 'import PIL, numpy' 2>/dev/null; then
    echo "lenet5: not run: the PyTorch references need PIL and numpy in $PY (pip install pillow numpy)"
    exit 1
else
    IMAGES_BENCH_DEVICE=$DEVICE IMAGES_BENCH_REPEAT=${GPU_BENCH_LENET_REPEAT:-1} WORKBENCH="$WB" PYTHON="$PY" \
        bash bench/bench_images.sh | grep -E "one epoch|^### |Command" | sed 's/^/lenet5 ratio: /'
fi

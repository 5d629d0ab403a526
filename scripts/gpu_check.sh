#!/usr/bin/env bash
# Proof of everything GPU-side, on a machine with PyTorch 2.11's CUDA libraries and no Rust
# (see docs GPU.md). Built and packed elsewhere by `./dev gpu-pack`, which puts this script, the
# workbench binary, the prebuilt test binaries and the bench scripts into one folder; run it there:
#
#   ./gpu_check.sh                # or ./dev gpu-check in a checkout (builds the pack first)
#
# Prints one summary (PASS / FAIL / SKIP / N/A per check) and exits non-zero on any FAIL.
# On a CPU-only machine it checks what can be checked: libtorch_cuda.so loads, and the reason CUDA
# is unusable names the missing driver, not a missing library. Budget: under 8 minutes.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
WB=${WORKBENCH:-$HERE/workbench}
PY=${PYTHON:-python3}
TESTS=${GPU_CHECK_TESTS:-$HERE/tests}
BENCH=${GPU_CHECK_BENCH:-$HERE/bench}
DATA=${GPU_CHECK_DATA:-$HERE/datasets}
QUICK=${GPU_CHECK_QUICK:-0}   # 1: skip the benchmarks
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
SUMMARY=()
FAILED=0
record() { # STATUS NAME DETAIL
    SUMMARY+=("$(printf '%-5s %-28s %s' "$1" "$2" "$3")")
    [ "$1" = FAIL ] && FAILED=1
    printf '[gpu-check] %s %s: %s\n' "$1" "$2" "$3" >&2
}
wb() { "$WB" --datasets-dir "$DATA" --runs-dir "$WORK/runs" --cache-dir "$WORK/cache" "$@"; }

# Use this machine's PyTorch libtorch (LD_LIBRARY_PATH wins over the baked-in rpath).
if T=$("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2>/dev/null); then
    export LD_LIBRARY_PATH="$T/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    record PASS "python torch" "$("$PY" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)')"
else
    T=""
    record SKIP "python torch" "no torch in $PY: the binary's own libtorch is used"
fi
[ -x "$WB" ] || { echo "error: no workbench binary at $WB (run ./dev gpu-pack)" >&2; exit 1; }

# 1. Devices as the workbench sees them.
wb devices --json >"$WORK/devices.json" 2>"$WORK/devices.err" || record FAIL devices "$(tail -1 "$WORK/devices.err")"
wb devices | sed 's/^/    /' >&2
facts=$("$PY" - "$WORK/devices.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d.get("telemetry", {})
print(len(d["cuda"]))
print((d.get("cuda_unavailable") or "").replace("\n", " "))
print((t.get("reason") or "").replace("\n", " "))
PY
)
GPUS=$(sed -n 1p <<<"$facts"); CUDA_WHY=$(sed -n 2p <<<"$facts"); TEL_WHY=$(sed -n 3p <<<"$facts")
GPUS=${GPUS:-0}
if [ "$GPUS" -gt 0 ]; then
    record PASS devices "$GPUS CUDA device(s): $("$PY" -c 'import json,sys; print(", ".join(d["name"] for d in json.load(open(sys.argv[1]))["cuda"]))' "$WORK/devices.json")"
    [ -z "$TEL_WHY" ] && record PASS "telemetry (NVML)" "available" || record FAIL "telemetry (NVML)" "$TEL_WHY"
else
    # CPU-only: libtorch_cuda.so must load, and the reason must name the driver, not a library.
    if [ -n "$T" ] && [ -f "$T/lib/libtorch_cuda.so" ]; then
        if echo "$CUDA_WHY" | grep -qi "driver" && ! echo "$CUDA_WHY" | grep -qi "cannot open shared object"; then
            record PASS "cuda reason (no GPU)" "$CUDA_WHY"
        else
            record FAIL "cuda reason (no GPU)" "should name the missing driver: $CUDA_WHY"
        fi
    else
        record SKIP "cuda reason (no GPU)" "no libtorch_cuda.so here (install torch==2.11.0 with CUDA): $CUDA_WHY"
    fi
    record N/A "telemetry (NVML)" "$TEL_WHY"
fi

# 2. The GPU tests, from prebuilt test binaries (they skip, saying why, without a GPU).
if [ -x "$TESTS/gpu" ]; then
    if (cd "$HERE" && WORKBENCH_TEST_REPO="$HERE" timeout 240 "$TESTS/gpu" --test-threads=1 >"$WORK/gpu-tests.txt" 2>&1); then
        record PASS "tests/gpu.rs" "$(grep -E '^test result' "$WORK/gpu-tests.txt" | tail -1) $(grep -c SKIPPED "$WORK/gpu-tests.txt") skipped"
    else
        record FAIL "tests/gpu.rs" "$(grep -E 'FAILED|panicked' "$WORK/gpu-tests.txt" | head -3 | tr '\n' ' ')"
    fi
else
    record SKIP "tests/gpu.rs" "no prebuilt test binary at $TESTS/gpu"
fi

DEV=cpu; [ "$GPUS" -gt 0 ] && DEV=cuda

# 3. A short race, 4. a move CPU -> GPU -> CPU: subcommands another part of the work adds.
for sub in race move; do
    if wb help "$sub" >/dev/null 2>&1; then
        if [ "$sub" = race ]; then
            args=(race --dataset iris --model mlp --epochs 30 --quiet)
        else
            args=(move --help)
        fi
        if timeout 120 "$WB" --datasets-dir "$DATA" --runs-dir "$WORK/runs" "${args[@]}" >"$WORK/$sub.txt" 2>&1; then
            record PASS "$sub" "$(tail -1 "$WORK/$sub.txt")"
        else
            record FAIL "$sub" "$(tail -2 "$WORK/$sub.txt" | tr '\n' ' ')"
        fi
    else
        record N/A "$sub" "this workbench has no '$sub' subcommand yet"
    fi
done

# 5. Out of memory: a model far too big fails as out_of_memory with advice, and the next run works.
# CPU: the first weight alone is 32 GB, under a 16 GB address-space limit. GPU: 120000x120000
# weights (58 GB) are made on the host (the model is built on the CPU, then moved), fit a 80-141 GB
# GPU, but with their gradients and Adam's two moments (230 GB) they can't: a real CUDA OOM.
if [ "$DEV" = cpu ]; then oom_hidden=2000000000,1000; else oom_hidden=120000,120000; fi
( [ "$DEV" = cpu ] && ulimit -v 16000000; timeout 300 "$WB" --datasets-dir "$DATA" --runs-dir "$WORK/runs" \
    train --dataset iris --model mlp --hidden "$oom_hidden" --epochs 1 --device "$DEV" --quiet ) \
    >"$WORK/oom.txt" 2>&1
oom_rc=$?
if [ "$oom_rc" -ne 0 ] && grep -q "out of memory" "$WORK/oom.txt" && grep -q "batch size" "$WORK/oom.txt" \
    && grep -rqs 'failure_kind = "out_of_memory"' "$WORK/runs"; then
    if timeout 120 "$WB" --datasets-dir "$DATA" --runs-dir "$WORK/runs" train --dataset iris --model mlp \
        --epochs 5 --device "$DEV" --quiet >"$WORK/after-oom.txt" 2>&1; then
        record PASS "out of memory ($DEV)" "failed as out_of_memory, next run finished"
    else
        record FAIL "out of memory ($DEV)" "the run after it failed: $(tail -1 "$WORK/after-oom.txt")"
    fi
else
    record FAIL "out of memory ($DEV)" "exit $oom_rc: $(grep -m1 -i 'error\|memory' "$WORK/oom.txt")"
fi

# 6. A run's telemetry: telemetry.csv has rows, with GPU columns on a GPU.
if timeout 120 "$WB" --datasets-dir "$DATA" --runs-dir "$WORK/tel" train --dataset iris --model mlp \
    --epochs 150 --device "$DEV" --quiet >"$WORK/tel.txt" 2>&1; then
    csv=$(ls "$WORK"/tel/*/telemetry.csv 2>/dev/null | head -1)
    rows=$(( $(wc -l <"${csv:-/dev/null}") - 1 ))
    header=$(head -1 "${csv:-/dev/null}")
    if [ "$rows" -ge 1 ] && { [ "$DEV" = cpu ] || echo "$header" | grep -q gpu0_util_percent; }; then
        record PASS "telemetry.csv" "$rows rows: $header"
    else
        record FAIL "telemetry.csv" "rows $rows, header '$header'"
    fi
else
    record FAIL "telemetry.csv" "the run failed: $(tail -1 "$WORK/tel.txt")"
fi

# 7. The GPU benchmarks (bench/gpu_bench.sh prints ratios; unproven until run on a GPU).
if [ "$QUICK" = 1 ]; then
    record SKIP benchmarks "GPU_CHECK_QUICK=1"
elif [ "$GPUS" -eq 0 ]; then
    record N/A benchmarks "no GPU"
elif [ -x "$BENCH/gpu_bench.sh" ]; then
    if WORKBENCH="$WB" PYTHON="$PY" timeout 300 "$BENCH/gpu_bench.sh" >"$WORK/bench.txt" 2>&1; then
        record PASS benchmarks "$(grep -E 'ratio|x ' "$WORK/bench.txt" | tr '\n' ';')"
    else
        record FAIL benchmarks "$(tail -3 "$WORK/bench.txt" | tr '\n' ' ')"
    fi
    sed 's/^/    /' "$WORK/bench.txt" >&2
else
    record SKIP benchmarks "no $BENCH/gpu_bench.sh"
fi

echo "== workbench gpu-check: $(date -u +%FT%TZ), $(hostname), $(( $(date +%s) - START )) s =="
printf '%s\n' "${SUMMARY[@]}"
[ "$FAILED" = 0 ] && echo "RESULT: PASS" || echo "RESULT: FAIL"
exit "$FAILED"

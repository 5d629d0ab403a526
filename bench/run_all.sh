#!/usr/bin/env bash
# Run the benchmarks: every bench/bench_*.sh, or only those whose names contain an argument
# (`./dev bench mlp`). `./dev bench` sets PYTHON to the project's PyTorch 2.11 venv and builds the
# release binary first. Each script prints its own table and appends a dated record to
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-.venv-torch/bin/python}
status=0
for script in bench/bench_*.sh; do
    name=$(basename "$script" .sh)
    if [ $# -gt 0 ]; then
        match=0
        for want in "$@"; do [[ $name == *"$want"* ]] && match=1; done
        [ $match -eq 1 ] || continue
    fi
    echo "== $name"
    bash "$script" || { echo "!! $name failed"; status=1; }
done
exit $status

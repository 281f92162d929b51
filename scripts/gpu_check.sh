#!/usr/bin/env bash
# The GPU check, run on the lent GPU machine: build for sm_90, the whole test suite, the CUDA tests
# under compute-sanitizer (memcheck, racecheck), then the benchmarks. Logs go to $OUT (or ./gpu_check).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check}
mkdir -p "$OUT"
status=0
step() {  # step NAME CMD...: runs a step, logs it, remembers a failure, keeps going
    local name=$1; shift
    echo "== $name: $*"
    if "$@" >"$OUT/$name.log" 2>&1; then echo "   ok"; else echo "   FAILED (see $OUT/$name.log)"; status=1; fi
    tail -n 5 "$OUT/$name.log"
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$OUT/gpu.txt" 2>&1
step build env CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=90 -DGRADCORE_CUDA=ON" \
    pip install --no-build-isolation --no-deps -v .
step tests python -m pytest -q -p no:cacheprovider tests
step cuda_tests python -m pytest -q -p no:cacheprovider -m cuda tests
# API errors are expected (the out-of-memory test), so only memory and race reports fail the run.
SAN="compute-sanitizer --error-exitcode 1 --target-processes all --report-api-errors no"
GRADCORE_HYPOTHESIS_PROFILE=ci-gpu step memcheck $SAN --tool memcheck python -m pytest -q -p no:cacheprovider -x -m cuda tests
GRADCORE_HYPOTHESIS_PROFILE=ci-gpu step racecheck $SAN --tool racecheck python -m pytest -q -p no:cacheprovider -x -m cuda tests/test_cuda.py tests/test_ops.py
step bench python benchmarks/run.py --device cuda --json "$OUT/cuda.json"
exit $status

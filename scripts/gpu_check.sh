#!/usr/bin/env bash
# The GPU check, run on a lent GPU machine (no network): scripts/gpu_check.sh [build] [test] [conv] [sanitize] [bench]
# (no argument: all five, in that order). Each step runs alone and logs to $OUT (or ./gpu_check):
#   build     offline install for sm_90 (pip --no-build-isolation --no-deps; scikit-build-core, pybind11,
#             cmake and ninja installed already, or from WHEELHOUSE=DIR), then checks the real device is usable
#   test      the whole suite, then the -m cuda tests alone (they must not be skipped)
#   conv      the conv2d kernels alone (no other new op needed): both CUDA variants against the CPU twins and
#             torch, the Python layer's conv tests on the device, then their timings ($OUT/conv_timing.json)
#   sanitize  compute-sanitizer memcheck over the -m cuda tests and racecheck over the shared-memory kernels'
#             tests; sanitizer findings are counted apart from test failures, and no run stops at a failure
#   bench     benchmarks/run.py --device cuda (JSON in $OUT/cuda.json)
# Exit status: 0 all good; 1 a step failed or the sanitizer found something; 2 no GPU visible.
# It never uses the emulated device: GRADCORE_EMULATE_CUDA is cleared.
set -uo pipefail
cd "$(dirname "$0")/.."
unset GRADCORE_EMULATE_CUDA
OUT=${OUT:-gpu_check}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-python3}
PYTEST=("$PY" -m pytest -q -p no:cacheprovider -rfEs)
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}

if ! nvidia-smi -L >"$OUT/gpu.txt" 2>&1 || ! grep -q "^GPU " "$OUT/gpu.txt"; then
    echo "gpu_check: no GPU is visible (nvidia-smi -L: $(head -c 200 "$OUT/gpu.txt")); nothing was run" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >>"$OUT/gpu.txt" 2>&1
echo "gpu_check: $(sed -n 1p "$OUT/gpu.txt"); logs in $OUT"

# run NAME LIMIT_S CMD...: runs CMD with a time limit, output to $OUT/NAME.log; returns its status
run() {
    local name=$1 limit=$2
    shift 2
    echo "== $name: $*"
    local start=$SECONDS rc=0
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1 || rc=$?
    [ "$rc" = 124 ] && echo "   TIMED OUT after ${limit}s" | tee -a "$OUT/$name.log"
    echo "   exit $rc in $((SECONDS - start))s; last lines of $OUT/$name.log:"
    tail -n 4 "$OUT/$name.log" | sed 's/^/   | /'
    return "$rc"
}

step_build() {
    # Offline: the build tools come from a local wheelhouse when one is named, else they must be installed.
    if [ -n "${WHEELHOUSE:-}" ]; then
        run wheels 300 "$PY" -m pip install --no-index --find-links "$WHEELHOUSE" \
            scikit-build-core pybind11 cmake ninja numpy pytest hypothesis || return 1
    fi
    if ! "$PY" -c "import scikit_build_core, pybind11" 2>/dev/null; then
        echo "== build: scikit-build-core and pybind11 are not installed (set WHEELHOUSE=DIR of wheels)"
        return 1
    fi
    run build 540 env CMAKE_ARGS="-DCMAKE_CUDA_ARCHITECTURES=90 -DGRADCORE_CUDA=ON ${CMAKE_ARGS:-}" \
        "$PY" -m pip install --no-build-isolation --no-deps --no-index -v . || return 1
    run device 60 "$PY" -c "import gradcore as gc; assert not gc.cuda.EMULATED; \
assert gc.cuda.is_available(), 'built, but gradcore sees no CUDA device'; \
print(gc.cuda.get_device_name(), gc.cuda.memory_stats())"
}

step_test() {
    local rc=0
    run test 540 "${PYTEST[@]}" tests || rc=1
    # The device cases must have run: a skip of a cuda test here is a failure of the check.
    run cuda_tests 300 "${PYTEST[@]}" -m cuda tests || rc=1
    if grep -E "^SKIPPED .*(no CUDA device|built without CUDA)" "$OUT/cuda_tests.log"; then
        echo "   cuda tests were skipped on a GPU machine"
        rc=1
    fi
    return "$rc"
}

# sanitize_with TOOL LIMIT PYTEST_ARGS...: findings and test failures reported separately
sanitize_with() {
    # TOOL may carry a run name after a colon (racecheck:conv), so one tool can run twice with separate logs.
    local tool=${1%%:*} name=${1/:/_} limit=$2
    shift 2
    rm -f "$OUT/$name".sanitizer.*.log
    # API errors are expected (the out-of-memory tests), so only memory and race reports count.
    run "$name" "$limit" env GRADCORE_HYPOTHESIS_PROFILE=ci-gpu "$SANITIZER" --tool "$tool" \
        --target-processes all --report-api-errors no --log-file "$OUT/$name.sanitizer.%p.log" \
        "${PYTEST[@]}" "$@"
    local tests_rc=$?
    if grep -qE "^SKIPPED .*(no CUDA device|built without CUDA)" "$OUT/$name.log"; then
        echo "   $name: cuda tests were skipped: nothing was checked"
        tests_rc=1
    fi
    local findings
    # memcheck ends with "ERROR SUMMARY: N errors", racecheck with "hazards displayed (N errors, ...)".
    findings=$(cat "$OUT/$name".sanitizer.*.log 2>/dev/null |
        sed -n -e 's/.*ERROR SUMMARY: \([0-9][0-9]*\) error.*/\1/p' \
            -e 's/.*hazards displayed (\([0-9][0-9]*\) error.*/\1/p' | awk '{s += $1} END {print s + 0}')
    echo "   $name: $findings sanitizer finding(s) (reports: $OUT/$name.sanitizer.*.log); pytest exit $tests_rc"
    [ "$findings" = 0 ] && [ "$tests_rc" = 0 ]
}

step_sanitize() {
    local rc=0
    SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
    if [ ! -x "$SANITIZER" ]; then
        echo "== sanitize: compute-sanitizer not found (PATH, /usr/local/cuda/bin)"
        return 1
    fi
    sanitize_with memcheck 360 -m cuda tests || rc=1
    sanitize_with racecheck 200 -m cuda tests/test_cuda.py tests/test_cuda_coverage.py \
        -k "reduction or argmax or softmax or matmul or variants" || rc=1
    # The conv kernels' shared-memory tiles (implicit GEMM), on the small float32 cases of both variants.
    sanitize_with racecheck:conv 300 -m cuda tests/test_cuda_conv.py \
        -k "(variants_match and float32 and not 8x32x28) or empty or int32" || rc=1
    return "$rc"
}

step_conv() {
    local rc=0
    run conv_tests 400 "${PYTEST[@]}" tests/test_cuda_conv.py tests/test_conv.py tests/test_conv_cuda_sim.py || rc=1
    if grep -E "^SKIPPED .*(needs a real GPU|no CUDA device|built without CUDA)" "$OUT/conv_tests.log"; then
        echo "   conv tests were skipped on a GPU machine"
        rc=1
    fi
    run conv_timing 300 "$PY" scripts/conv_cuda_timing.py --json "$OUT/conv_timing.json" || rc=1
    return "$rc"
}

step_bench() {
    run bench 540 "$PY" benchmarks/run.py --device cuda --json "$OUT/cuda.json"
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(build test conv sanitize bench)
status=0
for s in "${steps[@]}"; do
    case "$s" in
    build | test | conv | sanitize | bench) "step_$s" || { status=1; echo "== step $s FAILED"; } ;;
    *)
        echo "gpu_check: unknown step '$s' (build, test, conv, sanitize, bench)" >&2
        exit 1
        ;;
    esac
done
[ "$status" = 0 ] && echo "gpu_check: all steps passed" || echo "gpu_check: some steps failed (logs in $OUT)"
exit "$status"

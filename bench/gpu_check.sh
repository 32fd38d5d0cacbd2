#!/usr/bin/env bash
# The checks that need a GPU, in one command for the lent CUDA machine (see bench/RESULTS.md, "CUDA kernels"):
# build nas_ext for the GPU it finds (sm_90 on Hopper), run the kernel tests and every CUDA-marked test,
# bench/bench_gpu.py, the whole suite with the GPU visible, and compute-sanitizer memcheck on the CUDA parity
# tests. Each stage has its own time limit and log under $OUT, so a hang or crash in one still returns the rest.
# Uses the machine's python3 and its packages (no downloads there); pure-Python wheels it lacks can be put in
# .whl/ (cleanlab, termcolor for the confident-learning tests).
set -u
OUT=${OUT:-/tmp/nas-gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
SITE=/tmp/nas-site
ARCH=${NAS_CUDA_ARCHS:-90}
BUDGET=${GPU_CHECK_BUDGET:-480}

stage() {  # stage NAME SECONDS COMMAND...: run with a limit, log to $OUT/NAME.log, report the exit status
    local name=$1 limit=$2; shift 2
    local left=$((BUDGET - SECONDS))
    if ((left < 20)); then echo "== $name: skipped (budget spent)"; return; fi
    ((limit > left)) && limit=$left
    echo "== $name (limit ${limit}s)"
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start))s"
    tail -n 15 "$OUT/$name.log"
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/nas-wheels .whl/*.whl
fi
stage build 240 python3 -m pip install -q --no-build-isolation --no-deps --no-compile --target "$SITE" \
    -C cmake.define.NAS_CUDA_ARCHS="$ARCH" -C build-dir=/tmp/nas-build "$ROOT"
export PYTHONPATH=$SITE:/tmp/nas-wheels
(cd /tmp && python3 -c "import nas_ext, torch; i = nas_ext.build_info(); print(i, torch.__version__); \
assert i['cuda'] and torch.cuda.is_available(), 'no CUDA build or no GPU'") || exit 1
PYTEST=(python3 -P -m pytest -q -p no:cacheprovider -p no:benchmark -o addopts="-ra --strict-markers --import-mode=importlib")
stage cuda-tests 150 "${PYTEST[@]}" -n 8 tests/nas_ext
stage cuda-marked 120 "${PYTEST[@]}" -n 4 tests -m cuda
stage bench-gpu 240 python3 -P bench/bench_gpu.py
stage full-suite 200 "${PYTEST[@]}" -n 14 tests
stage memcheck 90 compute-sanitizer --tool memcheck --error-exitcode 9 "${PYTEST[@]}" -x tests/nas_ext/test_cuda_parity.py

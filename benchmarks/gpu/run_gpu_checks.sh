#!/usr/bin/env bash
# Build, check and benchmark the CUDA butterfly op on a machine with a GPU, in one go.
#
#   benchmarks/gpu/run_gpu_checks.sh [--no-sanitizers] [--quick-bench]
#
# Stages (each logs to its own file; the last lines printed are the summary):
#   1 build      the CPU and CUDA libraries (kfront.core.build), for the GPU present     build.log
#   2 tests      tests/test_cuda_op.py, tests/test_cuda_benchmark.py, tests/test_compiled_op.py   tests.log
#   3 benchmark  benchmarks/bench_butterfly_cuda.py                     bench_butterfly_cuda_<gpu>.md/.json
#   4 sanitize   compute-sanitizer memcheck and racecheck over benchmarks/gpu/sanitize_op.py  sanitize.log
# Output goes to $OUT when set, else benchmarks/results/. Needs python3 with a CUDA build of torch, pytest
# and nvcc; no network. Expected duration on one H200: ~1.5 min build, ~1 min tests, ~1 min benchmark,
# 1-2 min sanitizers (capped at 2 min per tool; they run last, skip them with --no-sanitizers). Exits
# non-zero if the build, a test, the benchmark or a sanitizer check failed.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${OUT:-$root/benchmarks/results}"
mkdir -p "$out"
sanitizers=1
bench_args=()
for arg in "$@"; do
    case "$arg" in
        --no-sanitizers) sanitizers=0 ;;
        --quick-bench) bench_args+=(--quick) ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

python="${PYTHON:-python3}"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export MAX_JOBS="${MAX_JOBS:-16}"
export KFRONT_BUILD_DIR="${KFRONT_BUILD_DIR:-/tmp/kfront-build}"
# ninja and other console scripts live next to the interpreter of a virtual environment.
export PATH="$("$python" -c 'import os, sys; print(os.path.join(sys.prefix, "bin"))'):$PATH"

status=0
summary=()
note() { summary+=("$1"); echo "== $1"; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

# --- environment ---------------------------------------------------------------------------------------
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 || true
    "$python" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda",
torch.version.cuda, "device", torch.cuda.get_device_name() if torch.cuda.is_available() else None)'
    command -v nvcc && nvcc --version | tail -2
    command -v ninja && ninja --version
    git -C "$root" rev-parse HEAD 2>/dev/null && git -C "$root" status --short 2>/dev/null | head -20
} > "$out/env.txt" 2>&1
cat "$out/env.txt"

arch="$("$python" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())' 2>/dev/null)"
if [[ -z "$arch" ]]; then
    echo "no CUDA device visible to torch" >&2
    exit 1
fi
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$arch}"
if [[ -z "${CUDA_HOME:-}" ]]; then
    cuda_home="$("$python" -c 'from torch.utils.cpp_extension import CUDA_HOME; print(CUDA_HOME or "")' 2>/dev/null)"
    if [[ -z "$cuda_home" || ! -x "$cuda_home/bin/nvcc" ]]; then
        # nvcc may be a wrapper: take the toolkit from the include path it reports.
        inc="$(nvcc --dryrun -E -x cu /dev/null 2>&1 | sed -n 's/^#\$ INCLUDES="-I\([^"]*\)".*/\1/p' | head -1)"
        [[ -n "$inc" ]] && cuda_home="$(cd "$inc/../../.." 2>/dev/null && pwd)"
    fi
    [[ -n "$cuda_home" ]] && export CUDA_HOME="$cuda_home"
fi
echo "TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST CUDA_HOME=${CUDA_HOME:-?} MAX_JOBS=$MAX_JOBS"

# --- 1 build -------------------------------------------------------------------------------------------
t0=$(date +%s)
if timeout 420 "$python" -m kfront.core.build --verbose --strict > "$out/build.log" 2>&1; then
    note "build: ok ($(elapsed $t0)); $(grep 'backend (cuda)' "$out/build.log")"
else
    note "build: FAILED ($(elapsed $t0)), see build.log"
    tail -60 "$out/build.log"
    printf '%s\n' "${summary[@]}"
    exit 1
fi

# --- 2 tests -------------------------------------------------------------------------------------------
t0=$(date +%s)
tests=(tests/test_cuda_op.py tests/test_cuda_benchmark.py)
[[ -f tests/test_compiled_op.py ]] && tests+=(tests/test_compiled_op.py)
per_test=()
"$python" -c 'import pytest_timeout' 2> /dev/null && per_test=(--timeout=240)
timeout 300 "$python" -m pytest -q -p no:cacheprovider "${per_test[@]}" "${tests[@]}" > "$out/tests.log" 2>&1
rc=$?
if [[ $rc -eq 0 ]]; then
    note "tests: ok ($(elapsed $t0)): $(tail -1 "$out/tests.log")"
else
    status=1
    note "tests: FAILED rc=$rc ($(elapsed $t0)): $(tail -1 "$out/tests.log")"
    grep -E "^(FAILED|ERROR)|Error|assert" "$out/tests.log" | head -40
fi

# --- 3 benchmark ---------------------------------------------------------------------------------------
t0=$(date +%s)
slug="$("$python" -c 'import re, torch; print(re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name().lower()).strip("-"))')"
report="$out/bench_butterfly_cuda_$slug.md"
if timeout 360 "$python" benchmarks/bench_butterfly_cuda.py --out "$report" "${bench_args[@]}" > "$out/bench.log" 2>&1; then
    note "benchmark: ok ($(elapsed $t0)), $report"
else
    status=1
    note "benchmark: FAILED ($(elapsed $t0)), see bench.log"
    tail -40 "$out/bench.log"
fi

# --- 4 compute-sanitizer -------------------------------------------------------------------------------
if [[ $sanitizers -eq 1 ]] && command -v compute-sanitizer > /dev/null; then
    t0=$(date +%s)
    : > "$out/sanitize.log"
    for tool in memcheck racecheck; do
        echo "### compute-sanitizer --tool $tool" >> "$out/sanitize.log"
        PYTORCH_NO_CUDA_MEMORY_CACHING=1 timeout 120 compute-sanitizer --tool "$tool" --error-exitcode 9 \
            --print-limit 20 "$python" benchmarks/gpu/sanitize_op.py >> "$out/sanitize.log" 2>&1
        rc=$?
        if [[ $rc -eq 0 ]]; then
            note "sanitizer $tool: clean"
        elif [[ $rc -eq 124 ]]; then
            note "sanitizer $tool: timed out (not a finding), see sanitize.log"
        elif grep -q "Device not supported\|Unable to\|LibraryNotLoaded" "$out/sanitize.log"; then
            note "sanitizer $tool: could not run on this machine (rc=$rc), see sanitize.log"
        else
            status=1
            note "sanitizer $tool: FAILED rc=$rc, see sanitize.log"
            grep -E "=========|FAIL" "$out/sanitize.log" | head -20
        fi
    done
    note "sanitizers took $(elapsed $t0)"
fi

# --- summary -------------------------------------------------------------------------------------------
[[ -f "$report" ]] && cat "$report"
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
exit $status

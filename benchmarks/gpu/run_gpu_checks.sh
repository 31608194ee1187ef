#!/usr/bin/env bash
# Build, check and benchmark the CUDA side of kfront on a machine with a GPU, in one command that ends by a
# deadline.
#
#   benchmarks/gpu/run_gpu_checks.sh [--deadline SECONDS] [--out DIR] [--bench-args "ARGS"]
#                                    [--frontend-args "ARGS"] [--epoch-args "ARGS"] [--skip STAGE,...] [--dry-run]
#
# Stages, in this order (correctness, then speed, then the slow sanitizers), each given min(its cap, the time
# left before the deadline) and skipped when less than 20 s is left; expected times on one H200 (predictions
# until a run prints them in summary.txt):
#   build      240 s cap  the CPU and CUDA libraries (python -m kfront.core --strict)      ~60-90 s, ~5 s warm
#   tests      150 s cap  the CUDA tests only: tests/test_op.py and tests/test_power_op.py on cuda,
#                         tests/test_cuda_op.py, tests/test_cuda_frontend.py, the benchmark's quick run and
#                         tests/test_frontend_compile.py::test_cuda_matches_cpu           ~60-90 s
#   bench      150 s cap  benchmarks/bench_butterfly_cuda.py (ARGS appended)              ~80-100 s
#   frontend    60 s cap  benchmarks/bench_frontend.py --device cuda --batch 64 (ARGS appended) ~15 s
#   epoch      120 s cap  benchmarks/gpu/recipe_epoch.py: 2 epochs of conf/timit_{mfcc,kaleido_mfcc}.yaml on the
#                         built-in corpus's shapes (ARGS appended)                        ~40-60 s
#   memcheck    60 s cap  compute-sanitizer over benchmarks/gpu/sanitize_op.py          ~30-60 s
#   racecheck   60 s cap  the same with --tool racecheck                                  ~30-60 s
# With the default deadline of 360 s (KFRONT_GPU_DEADLINE) a cold machine reaches the sanitizers with about a
# minute left, and a warm rerun (the build cached in build/gpu-cache) has about a minute more.
#
# Output, in --out (default $OUT if set, else benchmarks/results/), 8 files at most:
#   summary.txt  every stage's status, rewritten after each stage (a run cut short still says what passed)
#   build.log  tests.log  run.log (benchmarks and sanitizers)
#   bench_butterfly_cuda_<gpu>.md/.json  bench_frontend_cuda_<gpu>.md  recipe_epoch_cuda_<gpu>.md
# Needs python3 (PYTHON) with a CUDA build of torch, pytest and nvcc; no network. Exit status: 0 all ran and
# passed, 1 a stage failed, 2 bad arguments, 3 no GPU, 4 nothing failed but the deadline cut a stage.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
stages=(build tests bench frontend epoch memcheck racecheck)
declare -A cap=([build]=240 [tests]=150 [bench]=150 [frontend]=60 [epoch]=120 [memcheck]=60 [racecheck]=60)
min_stage="${KFRONT_GPU_MIN_STAGE:-20}"  # seconds a stage needs at least to be started (a knob for tests)

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die_usage() { echo "run_gpu_checks.sh: $1 (see --help)" >&2; exit 2; }

deadline="${KFRONT_GPU_DEADLINE:-360}"
out="${OUT:-$root/benchmarks/results}"
bench_args="" frontend_args="" epoch_args="" skip="" dry_run=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --dry-run) dry_run=1 ;;
        --deadline|--out|--bench-args|--frontend-args|--epoch-args|--skip)
            [[ $# -ge 2 ]] || die_usage "$1 needs a value"
            case "$1" in
                --deadline) deadline="$2" ;;
                --out) out="$2" ;;
                --bench-args) bench_args="$2" ;;
                --frontend-args) frontend_args="$2" ;;
                --epoch-args) epoch_args="$2" ;;
                --skip) skip="$2" ;;
            esac
            shift ;;
        --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
        *) die_usage "unknown argument: $1" ;;
    esac
    shift
done
[[ "$deadline" =~ ^[0-9]+$ && "$deadline" -gt 0 ]] || die_usage "--deadline must be a positive number of seconds, got '$deadline'"
for s in ${skip//,/ }; do
    [[ " ${stages[*]} " == *" $s "* ]] || die_usage "--skip: unknown stage '$s' (stages: ${stages[*]})"
done
read -r -a bench_extra <<< "$bench_args"
read -r -a frontend_extra <<< "$frontend_args"
read -r -a epoch_extra <<< "$epoch_args"

python="${PYTHON:-python3}"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export MAX_JOBS="${MAX_JOBS:-16}"
export KFRONT_BUILD_DIR="${KFRONT_BUILD_DIR:-$root/build/gpu-cache}"  # inside the ignored build/: kept when warm
start=$(date +%s)
declare -A status
for s in "${stages[@]}"; do status[$s]="pending"; done
gpu="?" arch="?" final=""

elapsed() { echo $(( $(date +%s) - start )); }
write_summary() {
    mkdir -p "$out"
    {
        echo "kfront GPU checks on $gpu (compute capability $arch), deadline ${deadline} s, $(elapsed) s elapsed"
        for s in "${stages[@]}"; do printf '%-10s %s\n' "$s" "${status[$s]}"; done
        if [[ -n "$final" ]]; then echo "$final"; fi
    } > "$out/summary.txt.tmp" && mv "$out/summary.txt.tmp" "$out/summary.txt"
}

# run_stage NAME LOG CMD...: CMD under a timeout of min(cap, time left); the stage's status goes to the summary.
run_stage() {
    local name=$1 log=$2 limit left t0 rc
    shift 2
    if [[ ",$skip," == *",$name,"* ]]; then
        status[$name]="skipped (--skip)"; write_summary; return 0
    fi
    left=$(( deadline - $(elapsed) ))
    limit=$(( left < cap[$name] ? left : cap[$name] ))
    if (( limit < min_stage )); then
        status[$name]="skipped: ${left} s left of the ${deadline} s deadline"; write_summary; return 0
    fi
    if (( dry_run )); then
        status[$name]="would run (timeout ${limit} s): $*"; return 0
    fi
    status[$name]="running (timeout ${limit} s)"; write_summary
    echo "### $name: $* (timeout ${limit} s, at $(elapsed) s)" >> "$log"
    t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
    rc=$?
    if [[ $rc -eq 0 ]]; then
        status[$name]="ok ($(( $(date +%s) - t0 )) s)"
    elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
        status[$name]="TIMEOUT after $(( $(date +%s) - t0 )) s (limit ${limit} s), see $(basename "$log")"
    else
        status[$name]="FAILED rc=$rc ($(( $(date +%s) - t0 )) s), see $(basename "$log")"
    fi
    write_summary
    return $rc
}

if (( dry_run )); then
    gpu="(dry run)" arch="(dry run)" slug="gpu"
else
    mkdir -p "$out"
    {
        date -u
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 || true
        "$python" benchmarks/gpu/gpu_info.py env 2>&1
        command -v nvcc && nvcc --version | tail -2
        command -v ninja && ninja --version
        command -v compute-sanitizer || echo "compute-sanitizer: not installed"
        git -C "$root" rev-parse HEAD 2>/dev/null && git -C "$root" status --short 2>/dev/null | head -20
    } > "$out/build.log" 2>&1
    cat "$out/build.log"
    arch="$("$python" benchmarks/gpu/gpu_info.py arch 2>> "$out/build.log")"
    if [[ -z "$arch" ]]; then
        for s in "${stages[@]}"; do status[$s]="not run"; done
        final="result: no CUDA device visible to $python: nothing run"
        write_summary
        cat "$out/summary.txt"
        exit 3
    fi
    gpu="$("$python" -c 'import torch; print(torch.cuda.get_device_name())')"
    slug="$("$python" benchmarks/gpu/gpu_info.py slug)"
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
    # ninja and other console scripts live next to the interpreter of a virtual environment.
    PATH="$("$python" -c 'import os, sys; print(os.path.join(sys.prefix, "bin"))'):$PATH"
    export PATH
    echo "TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST CUDA_HOME=${CUDA_HOME:-?} MAX_JOBS=$MAX_JOBS" \
         "KFRONT_BUILD_DIR=$KFRONT_BUILD_DIR" | tee -a "$out/build.log"
    write_summary
fi

# --- 1 build: nothing else can run without it ------------------------------------------------------------------
if ! run_stage build "$out/build.log" "$python" -m kfront.core --verbose --strict; then
    for s in "${stages[@]:1}"; do status[$s]="not run: the build failed"; done
    final="result: FAILED (build)"
    write_summary
    tail -40 "$out/build.log"
    cat "$out/summary.txt"
    exit 1
fi
(( dry_run )) || status[build]+="; $(grep -h 'backend (cuda)' "$out/build.log" | tail -1)"

# --- 2 tests: CUDA only (-k cuda keeps the device-parametrized tests' cuda runs) --------------------------------
tests=(tests/test_op.py tests/test_power_op.py tests/test_cuda_op.py tests/test_cuda_frontend.py
       tests/test_cuda_benchmark.py::test_quick_run tests/test_frontend_compile.py::test_cuda_matches_cpu)
per_test=()
(( dry_run )) || { "$python" -c 'import pytest_timeout' 2> /dev/null && per_test=(--timeout=120); }
run_stage tests "$out/tests.log" "$python" -m pytest -q -rfE -p no:cacheprovider "${per_test[@]}" -k cuda "${tests[@]}"
(( dry_run )) || status[tests]+=": $(tail -1 "$out/tests.log")"

# --- 3 benchmarks --------------------------------------------------------------------------------------------
run_stage bench "$out/run.log" "$python" benchmarks/bench_butterfly_cuda.py \
    --out "$out/bench_butterfly_cuda_$slug.md" "${bench_extra[@]}"
run_stage frontend "$out/run.log" "$python" benchmarks/bench_frontend.py --device cuda --batch 64 --out "$out/bench_frontend_cuda_$slug.md" \
    "${frontend_extra[@]}"
run_stage epoch "$out/run.log" "$python" benchmarks/gpu/recipe_epoch.py --out "$out/recipe_epoch_cuda_$slug.md" \
    "${epoch_extra[@]}"

# --- 4 compute-sanitizer, last: slow, and not available on every machine -------------------------------------
for tool in memcheck racecheck; do
    if [[ ",$skip," != *",$tool,"* ]] && ! command -v compute-sanitizer > /dev/null; then
        status[$tool]="skipped: compute-sanitizer not installed"
        continue
    fi
    # Without the caching allocator every tensor is its own allocation, so memcheck sees out-of-bounds accesses.
    run_stage "$tool" "$out/run.log" env PYTORCH_NO_CUDA_MEMORY_CACHING=1 compute-sanitizer --tool "$tool" \
        --error-exitcode 9 --print-limit 20 "$python" benchmarks/gpu/sanitize_op.py
    if [[ "${status[$tool]}" == FAILED* ]] && tail -30 "$out/run.log" | grep -q "Device not supported\|Unable to\|LibraryNotLoaded"; then
        status[$tool]="could not run on this machine (${status[$tool]})"
    fi
done

# --- summary -------------------------------------------------------------------------------------------------
rc=0
for s in "${stages[@]}"; do
    case "${status[$s]}" in
        FAILED*) rc=1 ;;
        TIMEOUT*|skipped:*[0-9]" s left"*) [[ $rc -eq 0 ]] && rc=4 ;;
    esac
done
case $rc in
    0) final="result: everything that ran passed" ;;
    1) final="result: FAILED" ;;
    4) final="result: nothing failed, but the deadline cut stages short" ;;
esac
if (( dry_run )); then
    printf '%-10s %s\n' "output" "$out"
    for s in "${stages[@]}"; do printf '%-10s %s\n' "$s" "${status[$s]}"; done
    exit 0
fi
write_summary
for f in "$out/bench_butterfly_cuda_$slug.md" "$out/bench_frontend_cuda_$slug.md" "$out/recipe_epoch_cuda_$slug.md"; do
    [[ -f "$f" ]] && cat "$f"
done
cat "$out/summary.txt"
exit $rc

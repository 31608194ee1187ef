#!/usr/bin/env bash
# Build, check and benchmark the CUDA side of kfront on a machine with a GPU, in one command that ends by a
# deadline.
#
#   benchmarks/gpu/run_gpu_checks.sh [--deadline SECONDS] [--out DIR] [--bench-args "ARGS"]
#                                    [--frontend-args "ARGS"] [--epoch-args "ARGS"] [--skip STAGE,...]
#                                    [--dry-run] [--no-device]
#
# Stages, in this order (correctness first, then speed, then the slowest check with the time left), each given
# min(its cap, the time left before the deadline) and skipped when less than 20 s is left; expected times on one
# H200 (predictions until a run prints them in summary.txt):
#   build      240 s cap  the CPU and CUDA libraries (python -m kfront.core --strict --cuda) ~60-90 s, ~5 s warm
#   tests      150 s cap  the CUDA tests only (C++ and Triton): the pytest arguments in
#                         benchmarks/gpu/cuda_tests.txt, shared out between processes by benchmarks/gpu/run_tests.py
#                         (the CPU count less two, at most 14; KFRONT_GPU_TEST_PROCESSES): the Triton kernels'
#                         ~150 compilations, a few seconds each on one core, run side by side     ~60-90 s
#   memcheck    60 s cap  compute-sanitizer --tool memcheck over benchmarks/gpu/sanitize_op.py     ~30-60 s
#   bench      150 s cap  benchmarks/bench_butterfly_cuda.py (ARGS appended)              ~80-100 s
#   frontend    60 s cap  benchmarks/bench_frontend.py --device cuda --batch 64 (ARGS appended) ~15 s
#   epoch      120 s cap  benchmarks/gpu/recipe_epoch.py: 2 epochs of conf/timit_{mfcc,kaleido_mfcc}.yaml on the
#                         built-in corpus's shapes (ARGS appended)                        ~40-60 s
#   racecheck  the rest   the same with --tool racecheck                                  ~30-60 s
# The sanitizers run their cases until 30 s before their limit (sanitize_op.py --budget) and say how many they
# checked. The clock starts with the script: the imports and nvidia-smi before the build count. The default
# deadline of 400 s (KFRONT_GPU_DEADLINE) leaves a 420 s command room for a stage's 10 s kill grace and the
# last summary.
#
# --no-device: a rehearsal on a machine without a GPU (benchmarks/gpu/rehearse.sh runs it against the GPU
# machine's torch): the same build, then instead of running each stage, what can be checked without a device:
# the test selection collected, each benchmark imported with its arguments parsed, the sanitizer command lines
# accepted by compute-sanitizer (if installed) and sanitize_op.py. TORCH_CUDA_ARCH_LIST defaults to 9.0 there.
#
# Output, in --out (default $OUT if set, else benchmarks/results/), flat, 8 files at most:
#   summary.txt  every stage's status and one-line verdict, rewritten after each stage (a run cut short still
#                says what passed)
#   build.log  tests.log  run.log (benchmarks and sanitizers)
#   bench_butterfly_cuda_<gpu>.md/.json  bench_frontend_cuda_<gpu>.md  recipe_epoch_cuda_<gpu>.md
# Needs python3 (PYTHON) with a CUDA build of torch, pytest and nvcc; no network. Exit status: 0 all ran and
# passed, 1 a stage failed, 2 bad arguments, 3 no GPU, 4 nothing failed but the deadline cut a stage.
set -uo pipefail
start=$(date +%s)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
stages=(build tests memcheck bench frontend epoch racecheck)
declare -A cap=([build]=240 [tests]=150 [memcheck]=60 [bench]=150 [frontend]=60 [epoch]=120 [racecheck]=100000)
min_stage="${KFRONT_GPU_MIN_STAGE:-20}"  # seconds a stage needs at least to be started (a knob for tests)
sanitizer_margin=30  # a sanitizer's start-up and its last case, after its budget

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die_usage() { echo "run_gpu_checks.sh: $1 (see --help)" >&2; exit 2; }

deadline="${KFRONT_GPU_DEADLINE:-400}"
out="${OUT:-$root/benchmarks/results}"
bench_args="" frontend_args="" epoch_args="" skip="" dry_run=0 no_device=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --dry-run) dry_run=1 ;;
        --no-device) no_device=1 ;;
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
selection=()  # the tests stage's pytest arguments: one per line of the file, # comments
while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"; line="${line%"${line##*[![:space:]]}"}"
    [[ -z "$line" || "$line" == \#* ]] || selection+=("$line")
done < "$root/benchmarks/gpu/cuda_tests.txt"

python="${PYTHON:-python3}"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export MAX_JOBS="${MAX_JOBS:-16}"
export KFRONT_BUILD_DIR="${KFRONT_BUILD_DIR:-$root/build/gpu-cache}"  # inside the ignored build/: kept when warm
export TRITON_CACHE_DIR="${TRITON_CACHE_DIR:-$root/build/triton-cache}"  # compiled once: tests, benchmarks, reruns
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

# stage_limit NAME: the seconds stage NAME may run if it starts now.
stage_limit() {
    local left=$(( deadline - $(elapsed) ))
    echo $(( left < cap[$1] ? left : cap[$1] ))
}

# verdict NAME TEXT: the one line the summary gives a stage, from its output.
verdict() {
    local name=$1 text=$2 pass fail
    if (( no_device )) && [[ $name != build ]]; then
        grep -v '^\s*$' <<< "$text" | tail -1; return
    fi
    case $name in
        build) grep -h 'backend (cuda)\|^build directory' <<< "$text" |
               sed 's/^kfront butterfly //; s/^build directory: .* (\(.*\))$/built in \1/' | paste -sd ';' - ;;
        bench) pass=$(grep -c '| PASS |' <<< "$text"); fail=$(grep -c '| FAIL |' <<< "$text")
               echo "targets: $pass PASS, $fail FAIL$(awk -F' *[|] *' \
                   '/[|] FAIL [|]/ { printf "%s%s n=%s", (k++ ? "; " : ": "), $2, $3 }' <<< "$text")" ;;
        frontend) pass=$(grep -c '| yes |' <<< "$text"); fail=$(grep -c '| NO |' <<< "$text")
                  echo "targets: $pass met, $fail not met" ;;
        memcheck|racecheck) echo "$(grep -h 'ERROR SUMMARY' <<< "$text" | tail -1 | sed 's/^=* *//');" \
                                 "$(grep -h '^PASSED\|^FAILED\|unavailable' <<< "$text" | tail -1)" ;;
        *) grep -v '^\s*$' <<< "$text" | tail -1 ;;
    esac
}

# run_stage NAME LOG CMD...: CMD under a timeout of min(cap, time left); the stage's status and verdict go to the
# summary.
run_stage() {
    local name=$1 log=$2 limit t0 rc offset text
    shift 2
    if [[ ",$skip," == *",$name,"* ]]; then
        status[$name]="skipped (--skip)"; write_summary; return 0
    fi
    limit=$(stage_limit "$name")
    if (( limit < min_stage )); then
        status[$name]="skipped: $(( deadline - $(elapsed) )) s left of the ${deadline} s deadline"; write_summary; return 0
    fi
    if (( dry_run )); then
        status[$name]="would run (timeout ${limit} s): $*"; return 0
    fi
    status[$name]="running (timeout ${limit} s)"; write_summary
    echo "### $name: $* (timeout ${limit} s, at $(elapsed) s)" >> "$log"
    offset=$(wc -c < "$log")
    t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >> "$log" 2>&1
    rc=$?
    text="$(tail -c +$(( offset + 1 )) "$log")"
    if [[ $rc -eq 0 ]]; then
        status[$name]="ok ($(( $(date +%s) - t0 )) s): $(verdict "$name" "$text")"
    elif [[ $rc -eq 124 || $rc -eq 137 ]]; then
        status[$name]="TIMEOUT after $(( $(date +%s) - t0 )) s (limit ${limit} s), see $(basename "$log")"
    else
        status[$name]="FAILED rc=$rc ($(( $(date +%s) - t0 )) s), see $(basename "$log"): $(verdict "$name" "$text")"
    fi
    write_summary
    return $rc
}

find_cuda_home() {
    [[ -n "${CUDA_HOME:-}" ]] && return
    local cuda_home inc
    cuda_home="$(timeout 60 "$python" -c 'from torch.utils.cpp_extension import CUDA_HOME; print(CUDA_HOME or "")' 2>/dev/null)"
    if [[ -z "$cuda_home" || ! -x "$cuda_home/bin/nvcc" ]]; then
        # nvcc may be a wrapper: take the toolkit from the include path it reports.
        inc="$(nvcc --dryrun -E -x cu /dev/null 2>&1 | sed -n 's/^#\$ INCLUDES="-I\([^"]*\)".*/\1/p' | head -1)"
        [[ -n "$inc" ]] && cuda_home="$(cd "$inc/../../.." 2>/dev/null && pwd)"
    fi
    [[ -n "$cuda_home" ]] && export CUDA_HOME="$cuda_home"
}

if (( dry_run )); then
    gpu="(dry run)" arch="(dry run)" slug="gpu"
else
    mkdir -p "$out"
    {
        date -u
        (( no_device )) || timeout 20 nvidia-smi --format=csv \
            --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem 2>&1 || true
        timeout 60 "$python" benchmarks/gpu/gpu_info.py env 2>&1
        command -v nvcc && nvcc --version | tail -2
        command -v ninja && ninja --version
        command -v compute-sanitizer && compute-sanitizer --version | tail -1 || echo "compute-sanitizer: not installed"
        git -C "$root" rev-parse HEAD 2>/dev/null && git -C "$root" status --short 2>/dev/null | head -20
    } > "$out/build.log" 2>&1
    cat "$out/build.log"
    if (( no_device )); then
        gpu="no device (rehearsal)" arch="${TORCH_CUDA_ARCH_LIST:-9.0}" slug="no-device"
    else
        # one process for the three answers: each start imports torch, and the clock is running
        read -r arch slug gpu < <(timeout 60 "$python" benchmarks/gpu/gpu_info.py device 2>> "$out/build.log")
        if [[ -z "${arch:-}" ]]; then
            gpu="no CUDA device" arch="-"
            for s in "${stages[@]}"; do status[$s]="not run"; done
            final="result: no CUDA device visible to $python: nothing run"
            write_summary
            cat "$out/summary.txt"
            exit 3
        fi
    fi
    export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-$arch}"
    find_cuda_home
    # ninja and other console scripts live next to the interpreter of a virtual environment.
    PATH="$("$python" -c 'import os, sys; print(os.path.join(sys.prefix, "bin"))'):$PATH"
    export PATH
    echo "TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST CUDA_HOME=${CUDA_HOME:-?} MAX_JOBS=$MAX_JOBS" \
         "KFRONT_BUILD_DIR=$KFRONT_BUILD_DIR (at $(elapsed) s)" | tee -a "$out/build.log"
    write_summary
fi

# Without a device each benchmark and sanitizer stage is checked, not run: its script imported and its arguments
# parsed, compute-sanitizer's options accepted.
stand_in=()
(( no_device )) && stand_in=("$python" benchmarks/gpu/gpu_info.py parse)

# --- 1 build: nothing else can run without it ------------------------------------------------------------------
if ! run_stage build "$out/build.log" "$python" -m kfront.core --verbose --strict --cuda; then
    for s in "${stages[@]:1}"; do status[$s]="not run: the build failed"; done
    final="result: FAILED (build)"
    write_summary
    tail -40 "$out/build.log"
    cat "$out/summary.txt"
    exit 1
fi

# --- 2 tests: CUDA only (the selection's -k cuda keeps the cuda and cuda-triton runs), in several processes ------
per_test=()
(( dry_run || no_device )) || { "$python" -c 'import pytest_timeout' 2> /dev/null && per_test=(--timeout=120); }
test_mode=()  # run_tests.py's default: the CPU count less two, at most 14
[[ -n "${KFRONT_GPU_TEST_PROCESSES:-}" ]] && test_mode=(--processes "$KFRONT_GPU_TEST_PROCESSES")
(( no_device )) && test_mode=(--collect-only --processes "${KFRONT_GPU_TEST_PROCESSES:-4}")
run_stage tests "$out/tests.log" "$python" benchmarks/gpu/run_tests.py "${test_mode[@]}" "${per_test[@]}" \
    "${selection[@]}"

# --- compute-sanitizer: memcheck right after the tests (it checks correctness), racecheck last ------------------
# Torch handles some CUDA API errors itself (a probe that fails on purpose): not reported, the kernel checks stay.
sanitize() {
    local tool=$1 budget installed=1
    command -v compute-sanitizer > /dev/null || installed=0
    if [[ ",$skip," != *",$tool,"* ]] && (( !installed && !no_device )); then
        status[$tool]="skipped: compute-sanitizer not installed"
        return
    fi
    budget=$(( $(stage_limit "$tool") - sanitizer_margin ))
    (( budget < 5 )) && budget=5
    local cmd=(compute-sanitizer --tool "$tool" --report-api-errors no --error-exitcode 9 --print-limit 20
               "$python" benchmarks/gpu/sanitize_op.py --budget "$budget")
    if (( no_device && installed )); then
        run_stage "$tool" "$out/run.log" "$python" benchmarks/gpu/gpu_info.py sanitizer "${cmd[@]}"
    elif (( no_device )); then
        run_stage "$tool" "$out/run.log" "${stand_in[@]}" "${cmd[@]:10}"
        [[ "${status[$tool]}" == ok* ]] && status[$tool]+=" (compute-sanitizer not installed: its options unchecked)"
    else
        # Without the caching allocator every tensor is its own allocation, so memcheck sees out-of-bounds accesses.
        run_stage "$tool" "$out/run.log" env PYTORCH_NO_CUDA_MEMORY_CACHING=1 "${cmd[@]}"
    fi
    if [[ "${status[$tool]}" == FAILED* ]] && tail -30 "$out/run.log" | grep -q "Device not supported\|Unable to\|LibraryNotLoaded"; then
        status[$tool]="could not run on this machine (${status[$tool]})"
    fi
}
sanitize memcheck

# --- 3 benchmarks --------------------------------------------------------------------------------------------
run_stage bench "$out/run.log" "${stand_in[@]:-$python}" benchmarks/bench_butterfly_cuda.py \
    --out "$out/bench_butterfly_cuda_$slug.md" "${bench_extra[@]}"
run_stage frontend "$out/run.log" "${stand_in[@]:-$python}" benchmarks/bench_frontend.py --device cuda --batch 64 \
    --out "$out/bench_frontend_cuda_$slug.md" "${frontend_extra[@]}"
run_stage epoch "$out/run.log" "${stand_in[@]:-$python}" benchmarks/gpu/recipe_epoch.py \
    --out "$out/recipe_epoch_cuda_$slug.md" "${epoch_extra[@]}"

sanitize racecheck

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
(( no_device )) && final="$final (no device: built, collected and parsed; nothing ran on a GPU)"
if (( dry_run )); then
    printf '%-10s %s\n' "output" "$out"
    for s in "${stages[@]}"; do printf '%-10s %s\n' "$s" "${status[$s]}"; done
    exit 0
fi
# What comes back from the machine: at most 8 files, none in a subfolder.
files=$(find "$out" -mindepth 1 -type f | wc -l)
nested=$(find "$out" -mindepth 2 | wc -l)
(( files > 8 || nested > 0 )) && final="$final; WARNING: $files files, $nested nested in $out (at most 8, flat)"
write_summary
for f in "$out/bench_butterfly_cuda_$slug.md" "$out/bench_frontend_cuda_$slug.md" "$out/recipe_epoch_cuda_$slug.md"; do
    [[ -f "$f" ]] && cat "$f"
done
cat "$out/summary.txt"
exit $rc

#!/usr/bin/env bash
# Rehearse the GPU run on a machine without a GPU, against the GPU machine's own torch, so that the one run on a
# GPU reaches the questions only a GPU can answer.
#
#   benchmarks/gpu/rehearse.sh [--venv DIR] [--python PY] [--out FILE] [--keep-cache]
#
#   1. A scratch virtual environment (default build/gpu-rehearsal-venv, ignored by git; about 5 GB) with
#      torch==2.11.0 from the package index (a CUDA 13 build, as on the GPU machine) and only the GPU image's
#      other packages: numpy scipy matplotlib PyYAML tqdm torchaudio==2.11.0 transformers onnx onnxruntime pytest
#      ninja (triton comes with torch). Reused when it already has them; none of the packages the image lacks
#      (soundfile, librosa, pyroomacoustics, kaldi-native-fbank, speechbrain, espnet) may be in it.
#   2. compute-sanitizer of CUDA 13.0 (part of the image's toolkit; here unpacked from the
#      nvidia-cuda-sanitizer-api wheel under build/) to check the sanitizer command lines, which it parses
#      even without a device.
#   3. benchmarks/gpu/run_gpu_checks.sh --no-device with CUDA_HOME set to the toolkit of the nvcc on PATH and
#      TORCH_CUDA_ARCH_LIST=9.0, from a cold build cache (unless --keep-cache): the build of the CPU and CUDA
#      libraries exactly as the GPU run does it (python -m kfront.core --strict --cuda, kfront.core.build), the GPU
#      test selection collected, every benchmark imported with its arguments parsed, the sanitizer commands checked.
#   4. The CUDA library loaded in a fresh process (every symbol resolved) and the dispatcher asked which ops have
#      CUDA kernels.
#   5. The CPU tests of the selected test files (-k "not cuda") under torch 2.11: the CPU references, opcheck and
#      torch.compile the GPU run's tests rely on.
# Everything is printed and written to --out (default benchmarks/results/gpu_rehearsal.txt); exit status 0 when
# every step passed. Needs python3.12 (the GPU machine's Python; any python3 otherwise, which the output says),
# nvcc 13 on PATH, a C++ compiler and the package index; on 2 cores 5.5 minutes the first time (packages in pip's
# cache; downloading them adds minutes), 3.5 after.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv="$root/build/gpu-rehearsal-venv"
report="$root/benchmarks/results/gpu_rehearsal.txt"
python=""
keep_cache=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --venv) venv="$2"; shift ;;
        --python) python="$2"; shift ;;
        --out) report="$2"; shift ;;
        --keep-cache) keep_cache=1 ;;
        *) echo "rehearse.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
GPU_PYTHON="3.12"
TORCH="2.11.0"
PACKAGES=(torch=="$TORCH" torchaudio=="$TORCH" numpy scipy matplotlib PyYAML tqdm transformers onnx onnxruntime
          pytest ninja)
ABSENT=(soundfile librosa pyroomacoustics kaldi_native_fbank speechbrain espnet espnet2)
work="$root/build/gpu-rehearsal"
mkdir -p "$work" "$(dirname "$report")"
exec > >(tee "$report") 2>&1
failed=0
step() { echo; echo "== $*"; }
fail() { echo "FAILED: $*"; failed=1; }

changes=$(git status --short -- . ":(exclude)${report#"$root/"}" 2> /dev/null | grep -q . && echo " (with uncommitted changes)")
echo "kfront GPU rehearsal (no GPU here): $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$changes"

step "1. scratch environment with the GPU image's packages"
if [[ -z "$python" ]]; then
    python=python3
    # the GPU machine's Python: on PATH, or one that pyenv has (its shim fails where that version is not selected)
    for candidate in "python$GPU_PYTHON" "$(pyenv root 2> /dev/null)"/versions/"$GPU_PYTHON".*/bin/"python$GPU_PYTHON"; do
        if "$candidate" -c pass 2> /dev/null; then python="$candidate"; break; fi
    done
fi
version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"  # the venv is remade for another Python
have="import sys, torch, torchaudio, transformers, onnxruntime, pytest; assert torch.__version__.startswith('$TORCH+')
assert '%d.%d' % sys.version_info[:2] == '$version'"
if ! "$venv/bin/python" -c "$have" 2> /dev/null; then
    t0=$(date +%s)
    # remade from scratch, but only a folder this script made: a --venv given by hand is never deleted
    if [[ -e "$venv" && "$venv" != "$root/build/gpu-rehearsal-venv" && ! -e "$venv/.kfront-rehearsal" ]]; then
        fail "$venv exists and was not made by this script: not replaced (give --venv a new folder)"; exit 1
    fi
    rm -rf "$venv"
    if ! "$python" -m venv "$venv" || ! "$venv/bin/python" -m pip install -q "${PACKAGES[@]}" > "$work/pip.log" 2>&1; then
        tail -20 "$work/pip.log"; fail "installing ${PACKAGES[*]}"
    fi
    touch "$venv/.kfront-rehearsal"
    echo "installed in $(( $(date +%s) - t0 )) s"
fi
py="$venv/bin/python"
"$py" - "$GPU_PYTHON" "${ABSENT[@]}" <<'EOF' || fail "the scratch environment"
import importlib.util, sys
gpu_python, absent = sys.argv[1], sys.argv[2:]
import torch, torchaudio, triton, numpy
here = ".".join(sys.version.split()[0].split(".")[:2])
note = "the GPU machine's too" if here == gpu_python else f"the GPU machine runs Python {gpu_python}: a difference"
print(f"python {sys.version.split()[0]} ({note}); torch {torch.__version__} (CUDA {torch.version.cuda}, "
      f"device visible: {torch.cuda.is_available()}); torchaudio {torchaudio.__version__}; triton {triton.__version__}; "
      f"numpy {numpy.__version__}")
present = [m for m in absent if importlib.util.find_spec(m) is not None]
print("packages the GPU image lacks, absent here too:", "yes" if not present else f"NO, installed: {present}")
sys.exit(1 if present or not torch.version.cuda else 0)
EOF

step "2. compute-sanitizer (CUDA 13.0) for the sanitizer command lines"
sanitizer_bin="$work/sanitizer/nvidia/cu13/bin"
if [[ ! -x "$sanitizer_bin/compute-sanitizer" ]] && ! command -v compute-sanitizer > /dev/null; then
    rm -rf "$work/sanitizer-wheel" && "$py" -m pip download -q --no-deps -d "$work/sanitizer-wheel" \
        "nvidia-cuda-sanitizer-api>=13.0,<13.1" 2>&1 | grep -v "^WARNING: Location"
    "$py" -c "import sys, zipfile, glob; zipfile.ZipFile(glob.glob(sys.argv[1] + '/*.whl')[0]).extractall(sys.argv[2])" \
        "$work/sanitizer-wheel" "$work/sanitizer" && chmod +x "$sanitizer_bin"/* 2> /dev/null
fi
[[ -x "$sanitizer_bin/compute-sanitizer" ]] && PATH="$sanitizer_bin:$PATH"
command -v compute-sanitizer > /dev/null && compute-sanitizer --version | tail -1 || echo "compute-sanitizer: unavailable"

step "3. run_gpu_checks.sh --no-device"
nvcc_bin="$(command -v nvcc)" || { fail "nvcc not on PATH"; exit 1; }
inc="$(nvcc --dryrun -E -x cu /dev/null 2>&1 | sed -n 's/^#\$ INCLUDES="-I\([^"]*\)".*/\1/p' | head -1)"
export CUDA_HOME="${CUDA_HOME:-$(cd "$inc/../../.." 2> /dev/null && pwd)}"  # nvcc on PATH may be a wrapper
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"
export KFRONT_BUILD_DIR="$work/cache"
echo "nvcc $("$CUDA_HOME/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') (CUDA_HOME: the toolkit of" \
     "the nvcc on PATH), TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST, MAX_JOBS=$MAX_JOBS on $(nproc) cores"
(( keep_cache )) || rm -rf "$KFRONT_BUILD_DIR"
rm -rf "$work/out"
PYTHON="$py" OUT="$work/out" bash "$root/benchmarks/gpu/run_gpu_checks.sh" --no-device > "$work/checks.txt" 2>&1
rc=$?
grep -h "^python " "$work/checks.txt"
cat "$work/out/summary.txt"
[[ $rc -eq 0 ]] || fail "run_gpu_checks.sh --no-device exited $rc (logs in ${work#"$root/"}/out)"
build_s=$(sed -n 's/^build *ok (\([0-9]*\) s).*/\1/p' "$work/out/summary.txt")
echo "build time: ${build_s:-?} s for the CPU and CUDA libraries from a cold cache, MAX_JOBS=$MAX_JOBS on this" \
     "machine's $(nproc) cores (the GPU machine has 16)"
echo "tests the GPU run selects: $(grep -v '^\s*$' "$work/out/tests.log" | tail -1)"

step "4. the CUDA library loaded in a fresh process; the dispatcher's CUDA kernels"
# The environment's ninja, as the check script uses it: another ninja version would find the build out of date.
PATH="$venv/bin:$PATH" "$py" - <<'EOF' || fail "loading the CUDA library"
import logging

import torch

logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # "no CUDA runtime": no device here
from kfront.core import build  # noqa: E402

build.load_cpu()
path = build.load_cuda()  # from the cache the build above filled: loads it, every symbol resolved
print(f"loaded {path.split('/')[-1] if isinstance(path, str) else 'the CUDA library'} (torch {torch.__version__})")
expected = {"butterfly_multiply": True, "butterfly_multiply_backward": True,
            "butterfly_multiply_power": False, "butterfly_multiply_power_backward": False}  # composed on CUDA
wrong = []
for op, want in expected.items():
    has = torch._C._dispatch_has_kernel_for_dispatch_key(f"kfront::{op}", "CUDA")
    print(f"  kfront::{op}: CUDA kernel {'registered' if has else 'none'}{'' if has == want else '  <- UNEXPECTED'}")
    wrong += [op] if has != want else []
raise SystemExit(1 if wrong else 0)
EOF

step "5. the CPU runs of the selected test files under the GPU machine's torch"
# The GPU run's tests compute their references on the CPU and run opcheck and torch.compile: the same files' CPU
# tests show that the CPU library and the registrations work with torch $TORCH too.
files=$(grep -o '^tests/[^:]*' "$root/benchmarks/gpu/cuda_tests.txt" | sort -u | tr '\n' ' ')
# shellcheck disable=SC2086  # one word per file
PATH="$venv/bin:$PATH" "$py" -m pytest -q -p no:cacheprovider -k "not cuda" $files > "$work/cpu-tests.txt" 2>&1 \
    || fail "CPU tests under torch $TORCH (see ${work#"$root/"}/cpu-tests.txt)"
echo "$files(-k 'not cuda'): $(grep -v '^\s*$' "$work/cpu-tests.txt" | tail -1)"

step "result"
if (( failed )); then
    echo "rehearsal FAILED"
else
    echo "rehearsal passed: build, link, load, collection and argument checks as the GPU run does them;" \
         "nothing ran on a GPU"
fi
exit $failed

#!/usr/bin/env bash
# A pip user's first use of kfront, from a wheel, in a clean virtual environment:
#
#   tools/check_wheel_install.sh [--keep]
#
# 1. builds kfront's wheel from this checkout (tracked and untracked, not ignored, files);
# 2. creates a virtual environment under a temporary folder and installs torch first, pinned (KFRONT_TORCH,
#    default torch==2.13.0: a CPU build already at hand is taken instead of a multi-GB CUDA build), then the wheel
#    with its dependencies (ninja among them), from the package index;
# 3. from another folder, with that environment's bin NOT on PATH and no system ninja on PATH (every other tool
#    of PATH is kept: the C++ compiler), runs the README's snippet twice: the first run compiles the C++ op
#    (its messages on stderr) and must run it compiled, the second loads it from the cache.
#
# It prints each step's time. Minutes in all (the first build alone is about one on 2 cores), so it is not part
# of the test suite; tests/test_first_use.py checks its pieces.
#
#   --keep              keep the temporary folder (its path is printed)
#   --print-path DIR    only fill DIR with links to every tool on PATH except ninja and print that PATH
#
# Environment: KFRONT_TORCH (the torch requirement), KFRONT_PYTHON (the interpreter for the venv, python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
torch_req="${KFRONT_TORCH:-torch==2.13.0}"
python="${KFRONT_PYTHON:-python3}"

usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

# A folder of links to every executable on PATH except ninja: the PATH of a machine with a compiler and no
# system ninja. The first of each name wins, as on PATH.
path_without_ninja() {
    local dir="$1" entry tool name
    mkdir -p "$dir"
    IFS=: read -r -a entries <<< "$PATH"
    for entry in "${entries[@]}"; do
        [[ -d "$entry" ]] || continue
        for tool in "$entry"/*; do
            name="$(basename "$tool")"
            [[ "$name" == ninja || -e "$dir/$name" || ! -x "$tool" || -d "$tool" ]] && continue
            ln -s "$tool" "$dir/$name"
        done
    done
    echo "$dir"
}

keep=0
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    --print-path) path_without_ninja "${2:?--print-path needs a folder}"; exit 0 ;;
    --keep) keep=1 ;;
    "") ;;
    *) echo "unknown argument: $1 (--help lists them)" >&2; exit 2 ;;
esac

tmp="$(mktemp -d "${TMPDIR:-/tmp}/kfront-wheel.XXXXXX")"
if (( keep )); then echo "keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
step() { echo; echo "== $*"; }
seconds() { echo "$(( $(date +%s) - $1 )) s"; }

step "wheel from $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' + changes')"
start=$(date +%s)
mkdir -p "$tmp/src"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$tmp/src" -xf -
"$python" -m venv "$tmp/venv"
pip=("$tmp/venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" wheel --no-deps -w "$tmp/dist" "$tmp/src"
wheel="$(ls "$tmp"/dist/kfront-*.whl)"
echo "$(basename "$wheel"): $(seconds "$start")"

step "clean venv: $torch_req, then the wheel"
start=$(date +%s)
"${pip[@]}" install --progress-bar off "$torch_req"
echo "torch: $(seconds "$start")"
start=$(date +%s)
"${pip[@]}" install --progress-bar off "$torch_req" "$wheel"
echo "kfront and its dependencies: $(seconds "$start")"
"$tmp/venv/bin/python" -c "import ninja, torch; print('torch', torch.__version__, '| ninja package', ninja.__version__)"

step "first use, from another folder, venv not activated, no system ninja on PATH"
clean_path="$(path_without_ninja "$tmp/path")"
if PATH="$clean_path" command -v ninja > /dev/null; then echo "ninja still on PATH" >&2; exit 1; fi
echo "ninja on PATH: none; C++ compiler: $(PATH="$clean_path" command -v "${CXX:-c++}" || echo none)"
mkdir -p "$tmp/elsewhere"
snippet='
import time
t0 = time.perf_counter()
import torch, kfront
frontend = kfront.KaleidoFrontend(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, n_mels=40,
                                  output="mfcc", n_mfcc=13, learn=("kmatrix",))
feats = frontend(torch.randn(8, 32000))
print(f"features {tuple(feats.shape)} in {time.perf_counter() - t0:.1f} s (import, build or load, forward)")
print("kfront imported from", kfront.__file__)
print("backend:", kfront.backend(), "| reason:", kfront.backend_reason())
assert kfront.backend() == "compiled", kfront.backend_reason()
'
run() {
    (cd "$tmp/elsewhere" && env -u PYTHONPATH -u KFRONT_BUILD_DIR -u KFRONT_CSRC -u KFRONT_BACKEND -u VIRTUAL_ENV \
        PATH="$clean_path" "$tmp/venv/bin/python" -c "$snippet")
}
start=$(date +%s)
run
echo "first run: $(seconds "$start")"

step "second use: the cached build"
start=$(date +%s)
run
echo "second run: $(seconds "$start")"
echo
echo "OK: built from the wheel and ran the compiled op without a system ninja"

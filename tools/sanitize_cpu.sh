#!/usr/bin/env bash
# Runs tests against the CPU library built with AddressSanitizer: out-of-bounds reads and writes of the kernels'
# tiles and scratch, which the ordinary suite sees only when they happen to corrupt something. The ASan build has
# its own cache directory, so the ordinary build is left as it is.
#   tools/sanitize_cpu.sh [pytest arguments...]   (default: the op's own tests)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/tools/setup_env.sh")"
runtime="$(${CXX:-c++} -print-file-name=libasan.so)"
cxxlib="$(${CXX:-c++} -print-file-name=libstdc++.so)"
if [[ "$runtime" != /* ]]; then
  echo "sanitize_cpu.sh: the compiler has no AddressSanitizer runtime (libasan.so)" >&2
  exit 2
fi
export KFRONT_SANITIZE=address
export KFRONT_BUILD_DIR="${KFRONT_BUILD_DIR:-$root/build/asan-cache}"
# The runtime must come first; libstdc++ next to it, so that ASan finds the C++ exception functions it wraps.
export LD_PRELOAD="$runtime $(readlink -f "$cxxlib")"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"  # Python and torch keep allocations to the end on purpose
cd "$root"
if [[ $# -eq 0 ]]; then
  set -- tests/test_op.py tests/test_power_op.py tests/test_core.py tests/test_dft_any_length.py -q
fi
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@"

#!/usr/bin/env bash
# The project's test command: sets up everything it needs, then runs the whole suite.
#   tools/run_tests.sh [pytest arguments...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/system_deps.sh"
venv="$("$root/tools/setup_env.sh")"
cd "$root"
exec "$venv/bin/python" -m pytest "$@"

#!/usr/bin/env bash
# Create (once) and check the project's virtual environment, then print its path.
#
#   tools/setup_env.sh            # create/refresh .venv; seconds when nothing changed
#   . "$(tools/setup_env.sh)/bin/activate"
#
# Environment:
#   KFRONT_VENV        where the environment lives (default: <repo>/.venv)
#   KFRONT_TORCH       the torch requirement, installed before anything that depends on it (default torch==2.13.0)
#   KFRONT_TORCHAUDIO  the torchaudio requirement (default torchaudio==2.11.1)
#   KFRONT_ESPNET      the ESPnet requirement, installed without its dependencies (default espnet==202511)
#   KFRONT_PYTHON      the interpreter that creates the environment (default python3)
#
# torch is pinned first so that a CPU build already at hand is taken instead of a multi-GB CUDA build being
# resolved for a dependency. Where torch has no CUDA, torchaudio's bundled CUDA libraries cannot load; the
# repair in tools/fix_torchaudio.py applies only there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${KFRONT_VENV:-$root/.venv}"
torch_req="${KFRONT_TORCH:-torch==2.13.0}"
torchaudio_req="${KFRONT_TORCHAUDIO:-torchaudio==2.11.1}"
espnet_req="${KFRONT_ESPNET:-espnet==202511}"
python="${KFRONT_PYTHON:-python3}"

# The stamp records what the environment was built from; any change rebuilds what is needed.
want="$(cat "$root/pyproject.toml" "$root/tools/setup_env.sh" "$root/tools/fix_torchaudio.py" | sha256sum | cut -c1-16) $torch_req $torchaudio_req $espnet_req"
stamp="$venv/.kfront-env"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$venv"
    exit 0
fi

log() { echo "[setup_env] $*" >&2; }
if [[ ! -x "$venv/bin/python" ]]; then
    log "creating virtual environment in $venv"
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q)

log "installing $torch_req and $torchaudio_req"
"${pip[@]}" "$torch_req" "$torchaudio_req" 1>&2
log "installing kfront (editable), its test dependencies and the toolkits it is tested against"
# torch's pin again in the same call, so that no dependency can move it
"${pip[@]}" "$torch_req" -e "$root[test,toolkits]" 1>&2
"${pip[@]}" --no-deps "$espnet_req" 1>&2  # see pyproject.toml: ESPnet's own pins do not install here
"$venv/bin/python" "$root/tools/fix_torchaudio.py" 1>&2
# Build the compiled butterfly op now, so the first real use does not wait for the compiler. Without a
# compiler this still succeeds: kfront then runs its pure-PyTorch reference and says why.
log "building the compiled butterfly op"
"$venv/bin/python" -m kfront.core 1>&2

echo "$want" > "$stamp"
log "environment ready"
echo "$venv"

#!/usr/bin/env bash
# Make sure the system programs the built-in corpus needs (espeak-ng, sox) are present.
# Installs them with apt-get where this shell is root; otherwise stops with the one command to run.
set -euo pipefail
missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "[system_deps] installing ${missing[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi
echo "kfront needs ${missing[*]} for its built-in corpus; install with: sudo apt-get install -y ${missing[*]}" >&2
exit 1

#!/usr/bin/env bash
# Set up .venv with everything qa-assistant needs (core, app, eval); `--test` adds the test tools and Debian's
# Chromium. Versions are pinned by constraints.txt.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
# The versions the test suite passed with (see the file's header to regenerate it).
CONSTRAINTS=(-c constraints.txt)

# torch first, pinned to the CPU build: an unpinned torch pulls a multi-GB CUDA build.
.venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
  || "${PIP[@]}" install "${CONSTRAINTS[@]}" "torch==2.13.0"

# Everything the README's commands use: the app (ui), `qa-assistant eval` (eval), `qa-assistant serve` (serve),
# the Milvus backend (milvus) and the build on Ray (ray); --test adds the test tools (its extra includes all of these).
if [ "${1:-}" = "--test" ]; then
  "${PIP[@]}" install "${CONSTRAINTS[@]}" -e ".[test]"
  if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  fi
else
  "${PIP[@]}" install "${CONSTRAINTS[@]}" -e ".[ui,eval,serve,milvus,ray]"
fi

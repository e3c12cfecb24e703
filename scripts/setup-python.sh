#!/usr/bin/env bash
# Makes .venv/ (git-ignored; `rm -rf .venv` undoes it), the Python the tests run with, and installs
# requirements-test.txt into it. The venv is made from $TRITUNE_PYTHON or python3 with --system-site-packages, so a
# machine that already has torch and Triton (a GPU box) reuses them and downloads nothing; elsewhere pip installs
# them from PyPI (torch with its CUDA libraries, about 4.5 GB). TRITUNE_TORCH_INDEX=https://download.pytorch.org/whl/cpu
# takes torch from PyTorch's CPU-only index instead (much smaller); where that fails, PyPI as before. A stamp holding
# the requirements file's sha256 skips pip on later runs.
set -euo pipefail

BASE=${TRITUNE_PYTHON:-python3}
VENV=.venv
REQ=requirements-test.txt
STAMP=$VENV/.requirements.sha256
TORCH_INDEX=${TRITUNE_TORCH_INDEX:-}

fail() { echo "setup:python: $*" >&2; exit 1; }

# root, or passwordless sudo: the system package manager may be used
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; elif sudo -n true 2>/dev/null; then sudo -n "$@"; else return 1; fi; }

make_venv() { rm -rf "$VENV" && "$BASE" -m venv --system-site-packages "$VENV" >/dev/null 2>&1; }

command -v "$BASE" >/dev/null || fail "$BASE not found: install Python 3 or set TRITUNE_PYTHON to a Python 3 interpreter"
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [[ -x $VENV/bin/python3 && -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  echo "setup:python: $VENV is up to date with $REQ"
  exit 0
fi

if [[ ! -x $VENV/bin/python3 ]] && ! make_venv; then
  # Debian and Ubuntu ship venv (ensurepip) as a package of its own
  pkg=$("$BASE" -c 'import sys; print("python3.%d-venv" % sys.version_info[1])')
  if ! { command -v apt-get && as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "$pkg"; } >/dev/null 2>&1; then
    fail "$BASE cannot create a virtual environment and $pkg cannot be installed here: install $pkg (or your system's venv module for $BASE)"
  fi
  make_venv || fail "$BASE -m venv $VENV failed even with $pkg installed; run it by hand to see why"
fi

pip=("$VENV/bin/python3" -m pip install --disable-pip-version-check --no-cache-dir)
torch=$(grep -E '^torch([=<>~! ]|$)' "$REQ" || true)
if [[ -n $TORCH_INDEX && -n $torch ]] && ! "${pip[@]}" -q --retries 0 --timeout 30 --index-url "$TORCH_INDEX" "$torch" 2>/dev/null; then
  echo "setup:python: $torch could not be installed from TRITUNE_TORCH_INDEX=$TORCH_INDEX; taking it from PyPI"
fi
echo "setup:python: installing $REQ into $VENV"
"${pip[@]}" -r "$REQ" | sed '/^Requirement already satisfied/d' || fail "pip could not install $REQ into $VENV (its message is above)"
echo "$want" >"$STAMP"
echo "setup:python: $VENV ready"

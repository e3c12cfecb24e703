#!/bin/sh
# Runs a command with the project's test Python (.venv/, made by scripts/setup-python.sh) first on PATH and as
# TRITUNE_PYTHON, so every Python the tests start is that one; without .venv/ the command runs unchanged.
if [ -x .venv/bin/python3 ]; then
  PATH="$PWD/.venv/bin:$PATH"
  TRITUNE_PYTHON="$PWD/.venv/bin/python3"
  export PATH TRITUNE_PYTHON
fi
exec "$@"

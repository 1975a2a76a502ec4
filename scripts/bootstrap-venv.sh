#!/usr/bin/env bash
# Create the virtual environment (.venv by default) with Python 3.11 or newer.
# On Debian, `python3 -m venv` needs the python3-venv package; it is installed when allowed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "Python 3.11 or newer is needed; '$PYTHON' was not found (Debian: apt-get install python3)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version 2>&1)." >&2
  exit 1
fi
if [ -x "$VENV/bin/python" ]; then
  exit 0
fi
echo "Creating the virtual environment in $VENV with $("$PYTHON" --version 2>&1)…"
if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
  rm -rf "$VENV"
  ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  scripts/apt-install.sh "python$ver-venv" || scripts/apt-install.sh python3-venv || {
    echo "Cannot create a virtual environment: install python3-venv (Debian) and try again." >&2
    exit 1
  }
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip

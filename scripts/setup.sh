#!/usr/bin/env bash
# Idempotent setup: venv, torch (CPU build first), llama.cpp wheel for this CPU, pinned packages, verified models,
# llama.cpp smoke test.
# Every step checks whether its result is already there and skips itself if so.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${RAG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/newsrag}"
WHEELS="$CACHE/wheels"
VENV=.venv
PY="$VENV/bin/python"
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

# llama-cpp-python has no usable prebuilt wheel: compile once per CPU flavour (AVX-512 where the CPU has it, else
# portable) and keep the wheels outside the repo; scripts/llama_wheel.py --help explains the cache.
LLAMA=("$PY" scripts/llama_wheel.py --cache-dir "$CACHE")
LLAMA_WHEEL=$("${LLAMA[@]}" choose) \
  || die "no llama-cpp-python wheel could be built (needs gcc, g++, cmake); see the message above."
"${LLAMA[@]}" install --venv "$VENV" "$LLAMA_WHEEL" || die "installing $LLAMA_WHEEL failed; see the output above."

STAMP="$VENV/.installed"
WANT=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  step "Installing pinned packages (constraints.txt)"
  "$PY" -m pip install -q --find-links "$(dirname "$LLAMA_WHEEL")" -c constraints.txt -e ".[dev,eval]" \
    || die "installing the pinned packages failed; see the pip output above."
  echo "$WANT" > "$STAMP"
fi

if [ "${RAG_SETUP_MODELS:-1}" = "0" ]; then  # make test-fast: the packages are enough
  echo
  echo "Setup complete (packages only; RAG_SETUP_MODELS=0 leaves the models and the llama.cpp smoke test out)."
  exit 0
fi

step "Rebuilding and verifying the embedded models in $CACHE/models"
FAST_FLAG=()
[ "${RAG_FETCH_FAST:-0}" = "1" ] && FAST_FLAG=(--fast)
"$VENV/bin/rag" models fetch "${FAST_FLAG[@]}" || die "a model could not be built or failed its SHA-256 check (message above)."

# Load the LLM with the installed build once (a passed test is stamped per wheel and model). A build that crashes or
# fails is recorded, so `choose` now falls back to the portable build and says so.
smoke() { "${LLAMA[@]}" smoke "$VENV"; }
smoke_rc=0
smoke || smoke_rc=$?
if [ "$smoke_rc" = 1 ]; then
  LLAMA_WHEEL=$("${LLAMA[@]}" choose) || die "no llama-cpp-python build passes the smoke test on this machine (above)."
  "${LLAMA[@]}" install --venv "$VENV" "$LLAMA_WHEEL" || die "installing $LLAMA_WHEEL failed; see the output above."
  smoke_rc=0
  smoke || smoke_rc=$?
fi
[ "$smoke_rc" = 0 ] || die "llama.cpp cannot run the LLM on this machine: the smoke test failed (message above)."
echo
echo "Setup complete."

#!/usr/bin/env bash
# The Infinity embedding server in a venv of its own, for the real-server tests (`make test` calls this; `make chat`
# and `make test-fast` do not need it). Idempotent: a stamp holds the hash of the pins, so a second run is instant.
#
#   bash scripts/setup_infinity.sh          # build or check ~/.cache/newsrag/infinity-venv
#   INFINITY_VENV=/tmp/x bash scripts/...   # somewhere else (RAG_CACHE_DIR moves the default too)
#
# infinity-emb pins numpy<2, typer 0.12 and sentence-transformers 3, which clash with .venv, hence its own venv.
# Every package comes from scripts/infinity-constraints.txt; torch is the CPU build, installed first as
# scripts/setup.sh does, so pip never pulls CUDA's packages. Usage statistics are switched off where it runs
# (tests/infinity.py sets DO_NOT_TRACK=1 and INFINITY_ANONYMOUS_USAGE_STATS=0).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${RAG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/newsrag}"
VENV="${INFINITY_VENV:-$CACHE/infinity-venv}"
PINS=scripts/infinity-constraints.txt
INFINITY_VERSION=0.0.78
PY="$VENV/bin/python"
STAMP="$VENV/.installed"

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nINFINITY SETUP FAILED: %s\n' "$*" >&2; exit 1; }
export DO_NOT_TRACK=1 INFINITY_ANONYMOUS_USAGE_STATS=0 HF_HUB_OFFLINE=1  # no usage statistics, no downloads

command -v python3 >/dev/null || die "python3 is not installed."
[ -f "$PINS" ] || die "$PINS is missing."
TORCH_PIN=$(grep -E '^torch==' "$PINS") || die "$PINS pins no torch."
WANT=$( { cat "$PINS"; echo "infinity-emb==$INFINITY_VERSION"; python3 --version; } | sha256sum | cut -c1-16)

if [ -x "$VENV/bin/infinity_emb" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  echo "Infinity $INFINITY_VERSION is installed in $VENV (pins unchanged)."
  exit 0
fi

started=$SECONDS
if [ ! -x "$PY" ]; then
  step "Creating $VENV"
  python3 -m venv "$VENV" || die "could not create $VENV (is python3-venv installed?)"
  "$PY" -m pip install -q --upgrade pip || die "could not upgrade pip in $VENV."
fi
rm -f "$STAMP"  # until the install below has passed: a half-built venv is never taken for a built one

# torch first, the CPU build (pip's find-links/extra index hold it, as for scripts/setup.sh): resolving torch as a
# dependency of sentence-transformers would otherwise fetch the default build and its CUDA packages.
step "Installing $TORCH_PIN (CPU build) into $VENV"
"$PY" -m pip install -q -c "$PINS" "$TORCH_PIN" || die "$TORCH_PIN could not be installed into $VENV."

step "Installing infinity-emb[server,torch]==$INFINITY_VERSION ($PINS)"
"$PY" -m pip install -q -c "$PINS" "infinity-emb[server,torch]==$INFINITY_VERSION" \
  || die "installing infinity-emb==$INFINITY_VERSION failed; see the pip output above."

"$PY" -c "import torch, sys; sys.exit(torch.version.cuda is not None)" \
  || die "torch in $VENV is a CUDA build; remove $VENV and check that the CPU wheel of $TORCH_PIN is reachable."
if "$PY" -m pip list --format=freeze 2>/dev/null | grep -qiE '^nvidia-'; then
  die "CUDA packages (nvidia-*) were installed into $VENV; remove it and check $PINS."
fi
"$VENV/bin/infinity_emb" --help >/dev/null 2>&1 || die "$VENV/bin/infinity_emb does not start (try: $VENV/bin/infinity_emb --help)."

echo "$WANT" > "$STAMP"
echo "Infinity $INFINITY_VERSION installed in $VENV in $((SECONDS - started)) s."

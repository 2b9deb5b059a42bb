#!/usr/bin/env bash
# Create (or bring up to date) the benchmark environment .venv-bench at the repo root:
# tabae itself plus the peers the benchmarks compare against. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-bench
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet)

# torch first, pinned, so pip takes the CPU wheel on this disk instead of a CUDA build.
"${PIP[@]}" torch==2.13.0

# Everything else in one resolve, so tabae's pins and the peers' pins (sdmetrics
# needs pandas<3) are met together, or pip says which clash.
PACKAGES=(ctgan pyod sdmetrics matplotlib threadpoolctl pytest)
if [ -f pyproject.toml ]; then
    PACKAGES=(-e ".[plots]" "${PACKAGES[@]}")
fi
"${PIP[@]}" "${PACKAGES[@]}"

"$VENV/bin/python" -c "import ctgan, sdmetrics, torch, pandas; print('torch', torch.__version__, '| pandas', pandas.__version__)"
echo "done: $VENV"

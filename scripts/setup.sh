#!/usr/bin/env bash
# Create .venv with tabae, its test tools and the docs tools (the tests build the site
# strictly and run the recipes, which draw figures). Idempotent.
# torch is installed first at a pinned release: on the project's CI machines that release
# is a CPU wheel on local disk (seconds); elsewhere pip fetches the normal build for the
# platform. tabae itself only asks for torch>=2.2.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev,docs,plots]"

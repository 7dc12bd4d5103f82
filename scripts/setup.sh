#!/usr/bin/env bash
# Create .venv with the verified dependency set (see pyproject's [tool.uv] overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install -q uv
fi
uv sync -q --python 3.11 --extra test --extra hw

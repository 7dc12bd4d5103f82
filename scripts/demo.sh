#!/usr/bin/env bash
# Set up the environment and run the demo pipeline on the built-in synthetic dataset:
# the pruned model (keep ratio 0.5) and the unpruned baseline (keep ratio 1.0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/razor-neuro train --dataset synthetic --keep-ratio 0.5 --out runs/demo
.venv/bin/razor-neuro train --dataset synthetic --keep-ratio 1.0 --out runs/demo-baseline

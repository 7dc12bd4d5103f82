#!/usr/bin/env bash
# Set up the environment and run the demo pipeline on the built-in synthetic dataset:
# train the pruned model (keep ratio 0.5, pruned frames skipped, 3 readout steps, the
# relative cost rule: the measured best, README "What pruning saves on hardware") and its
# unpruned baseline (1.0), export both as Lava bundles, check Lava against the torch
# reference spike for spike, run the pruned bundle on the Loihi simulator, and write the
# energy report comparing the two.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rn=.venv/bin/razor-neuro
$rn train --dataset synthetic --keep-ratio 0.5 --prune-mode skip --readout-steps 3 \
    --cost-rule relative --out runs/demo
$rn train --dataset synthetic --keep-ratio 1.0 --out runs/demo-baseline
$rn export runs/demo/checkpoint.pt --target loihi-sim --out bundles/demo --overwrite
$rn export runs/demo-baseline/checkpoint.pt --target loihi-sim --out bundles/demo-baseline --overwrite
$rn verify bundles/demo --samples 32 --out runs/demo-lava
$rn run bundles/demo --samples 32 --out runs/demo-lava
$rn report bundles/demo --profile loihi1 --samples 32 --compare bundles/demo-baseline --hw-model sanafe \
    --out reports/demo --overwrite

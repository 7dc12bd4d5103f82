"""Train a Razor SNN on the synthetic default, deploy it to Lava's Loihi simulator, check the
deployment spike for spike, and write an energy report — the Python twin of scripts/demo.sh.

    .venv/bin/python examples/train_export_report.py [OUT_DIR]
"""
import sys
from pathlib import Path

from razor_neuro.export.bundle import load_bundle
from razor_neuro.export.exporter import export_checkpoint
from razor_neuro.export.verify import verify_bundle
from razor_neuro.export.report.make import report_bundle
from razor_neuro.training.config import TrainConfig
from razor_neuro.training.loop import train

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/example")
_, metrics = train(TrainConfig(keep_ratio=0.5, epochs=10), out / "run")
print(f"deploy accuracy (training side): {metrics['deploy_accuracy']:.3f}, "
      f"kept frames of the first gated layer: {metrics['kept_frames'][0]}")

bundle = load_bundle(export_checkpoint(out / "run" / "checkpoint.pt", out / "bundle",
                                       overwrite=True))
check = verify_bundle(bundle, n_samples=16)  # Lava fixed_pt vs the torch reference
print(f"Lava vs reference: {check['mismatches']} mismatches over {check['samples']} samples; "
      f"Lava accuracy {check['lava_accuracy']:.3f}")
if check["mismatches"]:
    sys.exit("the deployment disagrees with the reference; not reporting")

report = report_bundle(out / "report", bundle.path, profile="loihi1", samples=16,
                       overwrite=True)
print(f"report written to {report.path}")

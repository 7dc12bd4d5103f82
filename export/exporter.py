"""``razor-neuro export``: a trained checkpoint becomes a deployable bundle."""
from __future__ import annotations

from pathlib import Path

import torch

from razor_neuro.atomic import check_replaceable, check_writable
from razor_neuro.training.checkpoint import CheckpointError, load_checkpoint, schedule_from_model
from razor_neuro.data import dataset_from_spec, fingerprint
from razor_neuro.export.bundle import FORMAT, sha256_file, write_bundle


def export_checkpoint(checkpoint: str | Path, out: str | Path, target: str = "loihi-sim",
                      overwrite: bool = False) -> Path:
    """Turn ``checkpoint.pt`` into a bundle at ``out``.

    The schedule is the deploy path's static masks at the checkpoint's per-layer keep
    ratios (the masks training evaluated that epoch's ``deploy_accuracy`` with).

    Returns:
        The bundle directory.

    Raises:
        CheckpointError: not a checkpoint, one with NaN/infinite numbers, or one without
            per-layer keep ratios (written by a razor-neuro whose keep ratio meant something
            else: its schedule cannot be reproduced).
        OutputExists: ``out`` exists and is not a bundle ``overwrite`` may replace, or it
            holds ``checkpoint``.
        OutputUnwritable: ``out`` cannot be created.
    """
    check_replaceable(out, overwrite, "manifest.json", FORMAT, inputs=(checkpoint,))
    check_writable(out, "--out", into=False)
    model, ckpt = load_checkpoint(checkpoint)
    cfg = model.config
    keep = ckpt.keep_ratios
    if keep is None:
        raise CheckpointError(f"{checkpoint}: no per-layer keep ratios (written by an older "
                              "razor-neuro); retrain it to export")
    masks = model.masks(keep)
    with torch.no_grad():  # one forward sets the Flatten blocks' shapes for export_hdf5
        model(torch.zeros(1, *cfg.input_shape, cfg.frames), masks)
    last = ckpt.history[-1] if ckpt.history else {}
    extra = {
        "keep_ratio": keep,
        "schedule": ckpt.settings["schedule"],
        "source_checkpoint_sha256": sha256_file(Path(checkpoint)),
        "test_data_sha256": fingerprint(dataset_from_spec(ckpt.dataset, train=False)),
        "training": {k: last[k] for k in ("deploy_accuracy", "train_path_accuracy")
                     if k in last} | {"epochs": ckpt.epoch + 1},
    }
    return write_bundle(out, list(model.blocks), schedule_from_model(model, masks),
                        cfg.input_shape, cfg.n_classes, ckpt.dataset, extra,
                        target=target, overwrite=overwrite)

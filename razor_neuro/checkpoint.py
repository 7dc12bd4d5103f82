"""Read a training checkpoint back into a model and its frame schedule.

Kept apart from the training loop so that export (which must not import training) can
rebuild a trained model from ``checkpoint.pt`` alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from razor_neuro.errors import ArtefactError
from razor_neuro.model import ModelConfig, RazorSNN
from razor_neuro.schedule import FrameSchedule


class CheckpointError(ArtefactError):
    """A file that is not a usable razor-neuro checkpoint."""


_KEYS = ("model", "model_config", "train_config", "dataset", "epoch", "history")


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """The raw content of ``checkpoint.pt`` (see ``train._save_checkpoint``), tensors on
    ``device``.

    Raises:
        CheckpointError: missing, truncated, not a torch file (random bytes, text), or a
            torch file that is not a razor-neuro checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file (razor-neuro train writes "
                              "OUT/checkpoint.pt)")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:  # unpickling arbitrary bytes can raise almost anything
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}); expected "
                              "OUT/checkpoint.pt of razor-neuro train") from exc
    missing = [k for k in _KEYS if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: not a razor-neuro checkpoint (missing {missing}); "
                              "expected OUT/checkpoint.pt of razor-neuro train")
    return ckpt


def check_finite(model: torch.nn.Module, source: str) -> None:
    """Raise :class:`CheckpointError` naming the first parameter or buffer (weights,
    biases, EPM embeddings, neuron parameters) that holds NaN or infinity."""
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise CheckpointError(f"{source}: '{name}' holds {bad} NaN/infinite value(s); "
                                  "expected finite numbers (the training run diverged)")


def load_checkpoint(path: str | Path) -> tuple[RazorSNN, dict[str, Any]]:
    """Rebuild the trained model from ``checkpoint.pt``; returns ``(model, checkpoint)``.

    The model is in eval mode on CPU; every weight, bias, embedding and neuron parameter
    is finite (:func:`check_finite`).
    """
    ckpt = read_checkpoint(path)
    try:
        model = RazorSNN(ModelConfig.from_dict(ckpt["model_config"], f"{path}: model_config"),
                         seed=ckpt["train_config"]["seed"])
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a razor-neuro checkpoint "
                              f"({str(exc).splitlines()[0]})") from exc
    check_finite(model, str(path))
    model.eval()
    return model, ckpt


def schedule_from_model(model: RazorSNN, masks: torch.Tensor) -> FrameSchedule:
    """The static frame schedule of a trained model for the given masks ``[L, T]``.

    Each gated layer's ``delay`` is its index among the weight layers: the steps a frame
    needs to reach it in the deployed graph."""
    gated = sorted(int(k) for k in model.epms)
    return FrameSchedule(masks.cpu().numpy(), tuple(model.gated_names),
                         tuple(model.pipeline_delay(i) for i in gated))

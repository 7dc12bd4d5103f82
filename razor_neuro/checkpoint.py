"""Read a training checkpoint back into a model and its frame schedule.

Kept apart from the training loop so that export (which must not import training) can
rebuild a trained model from ``checkpoint.pt`` alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from razor_neuro.model import ModelConfig, RazorSNN
from razor_neuro.schedule import FrameSchedule


class CheckpointError(ValueError):
    """A file that is not a usable razor-neuro checkpoint."""


def load_checkpoint(path: str | Path) -> tuple[RazorSNN, dict[str, Any]]:
    """Rebuild the trained model from ``checkpoint.pt``; returns ``(model, checkpoint)``.

    The model is in eval mode on CPU.
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        model = RazorSNN(ModelConfig.from_dict(ckpt["model_config"], str(path)),
                         seed=ckpt["train_config"]["seed"])
        model.load_state_dict(ckpt["model"])
    except (OSError, RuntimeError, KeyError, EOFError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a razor-neuro checkpoint ({exc})") from None
    model.eval()
    return model, ckpt


def schedule_from_model(model: RazorSNN, masks: torch.Tensor) -> FrameSchedule:
    """The static frame schedule of a trained model for the given masks ``[L, T]``.

    Each gated layer's ``delay`` is its index among the weight layers: the steps a frame
    needs to reach it in the deployed graph."""
    gated = sorted(int(k) for k in model.epms)
    return FrameSchedule(masks.cpu().numpy(), tuple(model.gated_names),
                         tuple(model.pipeline_delay(i) for i in gated))

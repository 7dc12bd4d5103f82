"""TrainConfig, the hyper-parameters of one training run, and TrainError.

Imports neither torch nor lava-dl: the CLI reads the defaults from here.
"""
from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any


class TrainError(ValueError):
    """Bad training arguments or an unusable checkpoint."""


#: How :meth:`razor_neuro.epm.EPM.learn` prices a frame's events against its measured
#: importance (``--cost-rule``).
COST_RULES = ("density", "relative")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run."""

    dataset: str = "synthetic"
    data_root: str = ""
    epochs: int = 30
    keep_ratio: float | tuple[float, ...] = 0.5  # see razor_neuro.model_config.layer_keep_ratios
    batch_size: int = 32
    lr: float = 3e-3
    probe_forgetting: float = 0.04  # per-probe forgetting of the frame-importance estimate
    probe_every: int = 8  # probe one batch in this many (razor_neuro.training.probe)
    event_cost: float = 1.0
    cost_rule: str = "density"  # COST_RULES: how event_cost prices a frame (EPM.learn)
    probe_drop: float = 0.25
    frame_dropout: float = 0.25  # share of steps dropped per training sample
    dropout_to_end: bool = False  # frame dropout in every epoch, not only until the schedule freezes
    dropout_unpruned: bool = True  # frame dropout also in a run that prunes nothing (a regulariser there)
    prune_start: float = 0.25  # share of the epochs trained on all frames before pruning
    anneal_fraction: float = 0.35
    loss: str = "count"  # "count": cross-entropy of the spike counts; "rate": slayer SpikeRate (true_rate, false_rate)
    true_rate: float = 0.3
    false_rate: float = 0.03
    seed: int = 0
    n_samples: int = 960  # synthetic dataset size (train + test)
    fresh_samples: bool = False  # synthetic: new training samples each epoch (for_epoch)
    prune_mode: str = "gate"  # razor_neuro.schedule.MODES: silence pruned frames, or skip them
    readout_steps: int = 0  # skip mode: empty steps after a sample's kept frames
    schedule: str = "razor"  # razor (learned) or a baseline (razor_neuro.training.baselines)
    budget: float = 1.0  # share of the input events the first gated layer may keep (schedules.py)
    frames: int = 0  # bin each sample into this many frames (0: the model config's; datasets.py)
    synops_cost: float = 0.0  # loss weight of the hidden spikes' synaptic operations (activity.py)

    def __post_init__(self) -> None:
        # one spelling per meaning: a number stays a float, a sequence becomes a tuple of
        # floats, and a one-element sequence is the number (so resume compares like with like)
        keep = self.keep_ratio
        if not isinstance(keep, numbers.Real):
            keep = tuple(float(v) for v in keep)
            keep = keep[0] if len(keep) == 1 else keep
        object.__setattr__(self, "keep_ratio", keep if isinstance(keep, tuple) else float(keep))
        # stored in the checkpoint and bundle: absolute, so any working directory finds it
        if self.data_root:
            object.__setattr__(self, "data_root", os.path.abspath(self.data_root))

    @classmethod
    def for_dataset(cls, dataset: str, **given: Any) -> "TrainConfig":
        """The configuration of a run on ``dataset``: the class defaults, then the dataset's
        recipe (:data:`RECIPES`), then the ``given`` fields."""
        return cls(dataset=dataset, **{**RECIPES.get(dataset, {}), **given})


#: Fields added after checkpoints were first written: a checkpoint without one trained with
#: its default (:func:`with_later_fields`).
LATER_FIELDS = ("prune_mode", "schedule", "budget", "readout_steps", "cost_rule", "frames",
                "synops_cost")


def with_later_fields(stored: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's stored training config with each of the :data:`LATER_FIELDS` it
    predates at its default, the value it trained with."""
    return {name: getattr(TrainConfig, name) for name in LATER_FIELDS} | stored


#: Per dataset, the training settings that differ from :class:`TrainConfig`'s defaults
#: (measured; docs/design.md, "Training recipes").
RECIPES: dict[str, dict[str, Any]] = {
    "synthetic": {"fresh_samples": True, "dropout_unpruned": False},
    "nmnist": {"probe_every": 1},
}

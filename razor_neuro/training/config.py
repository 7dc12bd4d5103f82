"""TrainConfig, the hyper-parameters of one training run, and TrainError.

Imports neither torch nor lava-dl: the CLI reads the defaults from here.
"""
from __future__ import annotations

import numbers
import os
from dataclasses import dataclass


class TrainError(ValueError):
    """Bad training arguments or an unusable checkpoint."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run."""

    dataset: str = "synthetic"
    data_root: str = ""
    epochs: int = 30
    keep_ratio: float | tuple[float, ...] = 0.5  # see razor_neuro.model.layer_keep_ratios
    batch_size: int = 32
    lr: float = 3e-3
    probe_forgetting: float = 0.005  # per-batch forgetting of the frame-importance estimate
    event_cost: float = 1.0
    probe_drop: float = 0.25
    frame_dropout: float = 0.25  # share of steps dropped per training sample until the schedule freezes
    prune_start: float = 0.25  # share of the epochs trained on all frames before pruning
    anneal_fraction: float = 0.35
    true_rate: float = 0.3
    false_rate: float = 0.03
    seed: int = 0
    n_samples: int = 960  # synthetic dataset size (train + test)

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

"""The train and test datasets of a :class:`TrainConfig`, and the check that they fit the
model."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from torch.utils.data import Dataset

from razor_neuro.data import dataset_from_spec
from razor_neuro.data.synthetic import SyntheticSpec
from razor_neuro.model_config import ModelConfig
from razor_neuro.training.config import TrainConfig, TrainError


def build_datasets(cfg: TrainConfig, frames: int) -> tuple[Dataset, Dataset, dict[str, Any]]:
    """Train/test datasets of ``frames`` time bins and the JSON-able spec that recreates them
    (:func:`razor_neuro.data.dataset_from_spec`; export stores it in the bundle)."""
    if cfg.dataset == "synthetic":
        spec: dict[str, Any] = {"name": "synthetic", **asdict(
            SyntheticSpec(n_samples=cfg.n_samples, frames=frames, seed=cfg.seed))}
    elif not cfg.data_root:
        raise TrainError(f"--data-root: dataset {cfg.dataset!r} needs the directory that holds it")
    else:
        spec = {"name": cfg.dataset, "root": cfg.data_root, "frames": frames}
    return dataset_from_spec(spec, train=True), dataset_from_spec(spec, train=False), spec


def check_data_fits(data: Dataset, mcfg: ModelConfig, dataset: str) -> None:
    """Raise :class:`TrainError` unless the dataset's samples have the model's
    ``(*input_shape, frames)`` and its class count is ``n_classes``."""
    x, _ = data[0]
    expected = (*mcfg.input_shape, mcfg.frames)
    if tuple(x.shape) != expected:
        raise TrainError(f"model config: input_shape {list(mcfg.input_shape)} with frames "
                         f"{mcfg.frames} expects samples of shape {expected}; dataset "
                         f"{dataset!r} gives {tuple(x.shape)}")
    n_classes = data.spec.n_classes
    if n_classes != mcfg.n_classes:
        raise TrainError(f"model config: n_classes is {mcfg.n_classes}; dataset {dataset!r} has "
                         f"{n_classes} classes")

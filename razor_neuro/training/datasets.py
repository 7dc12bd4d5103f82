"""The train and test datasets of a :class:`TrainConfig` (binned into other frames for
``--frames`` or the ``rebin`` schedule), and the check that they fit the model."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from torch.utils.data import Dataset

from razor_neuro.data import dataset_from_spec
from razor_neuro.data.synthetic import SyntheticSpec
from razor_neuro.model_config import ModelConfig
from razor_neuro.training.config import TrainConfig, TrainError


def binned_frames(cfg: TrainConfig, frames: int) -> int:
    """The frames the run's samples are binned into, for a model config of ``frames``:
    ``frames`` itself, ``cfg.frames`` where given (``--frames``: the schedule then prunes
    those, merge then prune), or with the ``rebin`` schedule ``k = round(keep_ratio * frames)``.

    Raises:
        TrainError: a binning of the synthetic dataset into a count that does not divide
            ``frames`` (its samples are merged from ``frames`` frames in equal runs).
    """
    if cfg.frames:
        k, given = cfg.frames, f"--frames {cfg.frames}"
    elif cfg.schedule == "rebin":
        k = int(round(float(cfg.keep_ratio) * frames))
        given = f"--keep-ratio: --schedule rebin with {cfg.keep_ratio} gives {k} frames"
    else:
        return frames
    if cfg.dataset == "synthetic" and frames % k:
        raise TrainError(f"{given}; the synthetic dataset merges its {frames} frames in equal "
                         f"runs, so expected a divisor of {frames}")
    return k


def build_datasets(cfg: TrainConfig, frames: int) -> tuple[Dataset, Dataset, dict[str, Any]]:
    """Train/test datasets of :func:`binned_frames` time bins for a model config of
    ``frames``, and the JSON-able spec that recreates them
    (:func:`razor_neuro.data.dataset_from_spec`; export stores it in the bundle).  The
    synthetic samples are drawn for ``frames`` and merged (``merge``, recorded only where it
    is not 1, so the spec of every other run is as before it existed); a real dataset's
    loader bins each recording's span into the frames."""
    binned = binned_frames(cfg, frames)
    if cfg.dataset == "synthetic":
        spec: dict[str, Any] = {"name": "synthetic", **asdict(SyntheticSpec(
            n_samples=cfg.n_samples, frames=frames, seed=cfg.seed, merge=frames // binned))}
        if spec["merge"] == 1:
            del spec["merge"]
    elif not cfg.data_root:
        raise TrainError(f"--data-root: dataset {cfg.dataset!r} needs the directory that holds it")
    else:
        spec = {"name": cfg.dataset, "root": cfg.data_root, "frames": binned}
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

"""Datasets: the built-in synthetic default and tonic loaders for real benchmarks."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset


def dataset_from_spec(spec: dict[str, Any], train: bool = False) -> Dataset:
    """Recreate a dataset from the JSON-able spec a checkpoint or bundle stores.

    Args:
        spec: ``{"name": "synthetic", **SyntheticSpec fields}`` or
            ``{"name": <loader name>, "root": DIR, "frames": T}``.
        train: the training split instead of the test split.
    Returns:
        A dataset of ``(spikes [C, H, W, T] or [n, T], label)`` pairs.
    """
    spec = dict(spec)
    name = spec.pop("name", None)
    if name == "synthetic":
        from razor_neuro.data.synthetic import SyntheticEvents, SyntheticSpec
        try:
            return SyntheticEvents(SyntheticSpec(**spec), train=train)
        except TypeError as exc:
            raise ValueError(f"dataset spec: bad synthetic fields ({exc})") from None
    from razor_neuro.data.loaders import DATASETS, load_dataset
    if name not in DATASETS or "root" not in spec or "frames" not in spec:
        raise ValueError(f"dataset spec: expected name 'synthetic' or one of {sorted(DATASETS)} "
                         f"with 'root' and 'frames', got {spec | {'name': name}}")
    return load_dataset(name, spec["root"], frames=int(spec["frames"]), train=train,
                        cache_dir=Path(spec["root"]) / "razor_cache")

"""Datasets: the built-in synthetic default and tonic loaders for real benchmarks."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
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
    cache_dir = Path(spec["root"]) / "razor_cache" if DATASETS[name].disk_cache else None
    return load_dataset(name, spec["root"], frames=int(spec["frames"]), train=train, cache_dir=cache_dir)


def same_recordings(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether the dataset specs ``a`` and ``b`` (:func:`dataset_from_spec`) hold the same
    recordings, binned into the same frames or not: equal but for the binning, a loader's
    ``frames`` or the synthetic set's ``merge`` (absent: 1; its ``frames`` draws the motion,
    so it must match)."""
    def recordings(spec: dict[str, Any]) -> dict[str, Any]:
        binning = "merge" if spec.get("name") == "synthetic" else "frames"
        return {k: v for k, v in spec.items() if k != binning}
    return recordings(a) == recordings(b)


def fingerprint(data: Dataset, samples: int = 8) -> str:
    """SHA-256 over the first ``samples`` items (spike bytes and labels): tells whether a
    dataset recreated from its spec is still the one a model was trained and exported on."""
    h = hashlib.sha256()
    for i in range(min(samples, len(data))):
        x, y = data[i]
        h.update(np.ascontiguousarray(np.asarray(x, dtype=np.uint8)).tobytes())
        h.update(str(int(y)).encode())
    return h.hexdigest()

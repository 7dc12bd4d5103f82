"""What describes a dataset (:class:`DatasetSpec`) and how loading one fails
(:class:`DatasetError`, one line naming the file and how to get the data)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["DatasetError", "DatasetSpec", "fail"]


class DatasetError(ValueError):
    """A dataset is missing, incomplete, unreadable or unknown. The message is one line."""


@dataclass(frozen=True)
class DatasetSpec:
    """Static description of one supported dataset.

    Attributes:
        name: key in :data:`~razor_neuro.data.loaders.DATASETS` and first argument of
            :func:`~razor_neuro.data.loaders.load_dataset`.
        tonic_class: name of the class in ``tonic.datasets`` that reads the files.
        sensor_size: ``(x, y, p)`` = (width, height, polarities); SHD is ``(700, 1, 1)``.
        n_classes: number of class labels; labels are ``0 .. n_classes - 1``.
        how_to_get: where the files must be placed under ``root`` and where to get them by hand.
        official_split: whether the dataset ships a train/test split (otherwise a
            deterministic 90/10 per-class split is used, see
            :data:`~razor_neuro.data.loaders.TEST_EVERY`).
        disk_cache: whether training caches the binned samples with
            ``tonic.DiskCachedDataset`` (:func:`razor_neuro.data.dataset_from_spec`).
    """

    name: str
    tonic_class: str
    sensor_size: tuple[int, int, int]
    n_classes: int
    how_to_get: str
    official_split: bool = True
    disk_cache: bool = True


def fail(path: Path | str, expected: str, spec: DatasetSpec) -> DatasetError:
    """The error for ``path`` (to raise): what was expected and how to get the data."""
    msg = f"{spec.name}: {path}: {expected}; to get it: {spec.how_to_get}"
    return DatasetError(" ".join(msg.split()))  # guarantee one line

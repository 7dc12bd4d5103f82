"""What describes a dataset (:class:`DatasetSpec`), how one family is read
(:class:`Family`) and how loading one fails (:class:`DatasetError`, one line naming the
file and how to get the data)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DatasetError", "DatasetSpec", "Family", "fail"]


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


def _nothing(_: object) -> None:
    """The default hook: nothing to check, nothing to hand over."""
    return None


@dataclass(frozen=True)
class Family:
    """One dataset family: its spec and the hooks
    :func:`~razor_neuro.data.loaders.load_dataset` calls, in this order.

    Attributes:
        spec: the static description.
        check_layout: ``(root, train) -> data path`` (the split's folder or file); raises
            :class:`DatasetError` before tonic is touched, so tonic never downloads.
        check_decoder: ``(data path) -> None``; raises when a reader package that tonic
            imports only at the first sample is missing.
        no_spatial_size: what the data is when ``spatial_size`` does not apply to it
            (1-D SHD); empty where it does.
        target_transform: ``(data path) -> (tonic target -> label)``, or ``None`` where
            tonic's target is the label.
        listed: ``(data path) -> (sample files, labels)`` when a split file lists the
            samples (kept in its order), ``None`` when tonic finds them (ordered by path).
        check_files: ``(sample files) -> None``; raises on a file tonic would misread.
        one_file: every sample lives in the data path itself (an HDF5 file).
    """

    spec: DatasetSpec
    check_layout: Callable[[Path, bool], Path]
    check_decoder: Callable[[Path], None] = _nothing
    no_spatial_size: str = ""
    target_transform: Callable[[Path], Callable[[object], int] | None] = _nothing
    listed: Callable[[Path], tuple[list[str], list[int]] | None] = _nothing
    check_files: Callable[[list[str]], None] = _nothing
    one_file: bool = False

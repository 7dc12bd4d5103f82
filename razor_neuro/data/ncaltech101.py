"""N-Caltech101 (``tonic.datasets.NCALTECH101``), 101 classes, no official split: its spec,
on-disk layout and class indices."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from razor_neuro.data.atis import check_atis_files
from razor_neuro.data.spec import DatasetSpec, Family, fail

__all__ = ["FAMILY", "SPEC", "check_layout", "target_transform"]

SPEC = DatasetSpec(
    name="ncaltech101",
    tonic_class="NCALTECH101",
    sensor_size=(240, 180, 2),
    n_classes=101,
    how_to_get=(
        "download N-Caltech101 from https://www.garrickorchard.com/datasets/n-caltech101 "
        "(mirror https://data.mendeley.com/datasets/cy6cvx3ryv) and unzip Caltech101.zip into "
        "<root>/NCALTECH101/ so that <root>/NCALTECH101/Caltech101/<class>/image_0001.bin exists"
    ),
    official_split=False,
)


def check_layout(root: Path, train: bool) -> Path:
    """``<root>/NCALTECH101/Caltech101/<class>/*.bin`` (both splits); returns the class
    folders' parent."""
    folder = root / SPEC.tonic_class / "Caltech101"
    files = sorted(folder.glob("*/*.bin")) if folder.is_dir() else []
    if not files:
        raise fail(folder, "expected class folders <class>/ holding ATIS .bin event files", SPEC)
    return folder


def target_transform(folder: Path) -> Callable[[str], int]:
    """Class folder name -> label (tonic's target is the folder name): the folders holding
    ``.bin`` files, in sorted order."""
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir() and any(d.glob("*.bin")))
    return {c: i for i, c in enumerate(classes)}.__getitem__


FAMILY = Family(SPEC, check_layout, target_transform=target_transform,
                check_files=lambda files: check_atis_files(files, SPEC))

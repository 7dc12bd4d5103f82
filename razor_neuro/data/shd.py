"""Spiking Heidelberg Digits (``tonic.datasets.SHD``), 20 classes, 700 input channels: its
spec and on-disk layout."""
from __future__ import annotations

from pathlib import Path

from razor_neuro.data.spec import DatasetSpec, Family, fail

__all__ = ["FAMILY", "SPEC", "check_layout"]

SPEC = DatasetSpec(
    name="shd",
    tonic_class="SHD",
    sensor_size=(700, 1, 1),
    n_classes=20,
    how_to_get=(
        "download shd_train.h5.zip and shd_test.h5.zip from https://zenkelab.org/datasets/ "
        "(https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/) and unzip them into "
        "<root>/SHD/ so that <root>/SHD/shd_train.h5 and <root>/SHD/shd_test.h5 exist"
    ),
)


def check_layout(root: Path, train: bool) -> Path:
    """``<root>/SHD/shd_{train,test}.h5``; returns the split's file."""
    h5 = root / SPEC.tonic_class / ("shd_train.h5" if train else "shd_test.h5")
    if not h5.is_file():
        raise fail(h5, "expected the unzipped SHD HDF5 file", SPEC)
    return h5


FAMILY = Family(SPEC, check_layout, no_spatial_size="SHD (1-D, 700 channels)", one_file=True)

"""CIFAR10-DVS (``tonic.datasets.CIFAR10DVS``), 10 classes, no official split: its spec,
on-disk layout and the AEDAT 4 decoder it needs."""
from __future__ import annotations

from pathlib import Path

from razor_neuro.data.spec import DatasetSpec, Family, fail

__all__ = ["CLASSES", "FAMILY", "SPEC", "check_decoder", "check_layout"]

SPEC = DatasetSpec(
    name="cifar10_dvs",
    tonic_class="CIFAR10DVS",
    sensor_size=(128, 128, 2),
    n_classes=10,
    how_to_get=(
        "download CIFAR10DVS.zip (https://figshare.com/ndownloader/files/38023437, tonic's .aedat4 "
        "conversion of https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671), unzip it and "
        "the ten per-class zips into <root>/CIFAR10DVS/ so that <root>/CIFAR10DVS/airplane/*.aedat4 "
        "exists; reading .aedat4 needs the 'aedat' package (pip install aedat)"
    ),
    official_split=False,
)

#: the class folders
CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def check_layout(root: Path, train: bool) -> Path:
    """``<root>/CIFAR10DVS/<class>/*.aedat4`` (both splits), nothing outside :data:`CLASSES`;
    returns ``<root>/CIFAR10DVS``."""
    loc = root / SPEC.tonic_class
    files = sorted(loc.glob("**/*.aedat4")) if loc.is_dir() else []
    if not files:
        raise fail(loc, "expected class folders (airplane/ ... truck/) holding .aedat4 files", SPEC)
    bad = [f for f in files if f.parent.name not in CLASSES]
    if bad:
        raise fail(bad[0], f"expected .aedat4 files only inside the class folders {list(CLASSES)}", SPEC)
    return loc


def check_decoder(data_path: Path) -> None:
    """Raise :class:`~razor_neuro.data.spec.DatasetError` unless the ``aedat`` package is
    installed (``tonic.io.read_aedat4`` imports it lazily, at the first sample)."""
    try:
        import aedat  # noqa: F401
    except ImportError as exc:
        raise fail(
            data_path, "found .aedat4 files but the 'aedat' decoder package tonic needs is not installed", SPEC
        ) from exc


FAMILY = Family(SPEC, check_layout, check_decoder=check_decoder)

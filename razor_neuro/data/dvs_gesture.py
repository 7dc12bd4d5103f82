"""DVS128 Gesture (``tonic.datasets.DVSGesture``), 11 classes: its spec and on-disk layout."""
from __future__ import annotations

from pathlib import Path

from razor_neuro.data.spec import DatasetSpec, Family, fail

__all__ = ["FAMILY", "SPEC", "check_layout"]

SPEC = DatasetSpec(
    name="dvs_gesture",
    tonic_class="DVSGesture",
    sensor_size=(128, 128, 2),
    n_classes=11,
    how_to_get=(
        "download ibmGestureTrain.tar.gz (https://figshare.com/ndownloader/files/38022171) and "
        "ibmGestureTest.tar.gz (https://figshare.com/ndownloader/files/38020584), tonic's .npy "
        "conversion of https://research.ibm.com/interactive/dvsgesture/, and extract both into "
        "<root>/DVSGesture/ so that <root>/DVSGesture/ibmGestureTrain/user01_fluorescent/0.npy exists"
    ),
)


def check_layout(root: Path, train: bool) -> Path:
    """``<root>/DVSGesture/ibmGesture{Train,Test}/user<NN>_<lighting>/<label>.npy``; returns
    the split folder."""
    folder = root / SPEC.tonic_class / ("ibmGestureTrain" if train else "ibmGestureTest")
    files = sorted(folder.glob("user*_*/*.npy")) if folder.is_dir() else []
    if not files:
        raise fail(folder, "expected folders user<NN>_<lighting>/ holding <label>.npy event files", SPEC)
    return folder


FAMILY = Family(SPEC, check_layout)

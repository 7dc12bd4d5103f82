"""Event-dataset loaders built on `tonic`, producing dense spike tensors for lava-dl/slayer.

Five datasets are supported, all read from files already on disk (nothing is ever
downloaded):

* ``"dvs_gesture"``   -- DVS128 Gesture (``tonic.datasets.DVSGesture``), 11 classes.
* ``"ncaltech101"``   -- N-Caltech101 (``tonic.datasets.NCALTECH101``), 101 classes.
* ``"cifar10_dvs"``   -- CIFAR10-DVS (``tonic.datasets.CIFAR10DVS``), 10 classes.
* ``"shd"``           -- Spiking Heidelberg Digits (``tonic.datasets.SHD``), 20 classes.
* ``"nmnist"``        -- N-MNIST (``tonic.datasets.NMNIST``), 10 classes: the full data set, or a
  subset in slayerPytorch's layout (``<id>.bs2`` files and two ``#sample #class`` split files).

Every sample is returned as ``(x, y)``:

* DVS datasets: ``x`` is a ``float32`` tensor of shape ``[C, H, W, T]`` with ``C = 2``
  polarities, ``H x W`` the sensor (or ``spatial_size``) and ``T = frames``.
* SHD: ``x`` is a ``float32`` tensor of shape ``[C, T]`` with ``C = 700`` input channels.
* ``x`` holds spikes: every entry is ``0.`` or ``1.`` (counts are clipped to 1).
* ``y`` is a python ``int`` class label.

Example::

    >>> from razor_neuro.data.loaders import load_dataset
    >>> ds = load_dataset("dvs_gesture", root="~/data", frames=20, spatial_size=(32, 32))
    >>> x, y = ds[0]
    >>> x.shape          # [C, H, W, T]
    torch.Size([2, 32, 32, 20])
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from razor_neuro.data import cifar10_dvs, dvs_gesture, ncaltech101, nmnist, shd
from razor_neuro.data.frames import Compose, ToSpikeFrames
from razor_neuro.data.spec import DatasetError, DatasetSpec, Family, fail

__all__ = ["DATASETS", "DatasetError", "DatasetSpec", "TEST_EVERY", "load_dataset"]

#: the dataset families, one module each, whose ``FAMILY`` holds the hooks below calls
_FAMILIES: dict[str, Family] = {
    m.FAMILY.spec.name: m.FAMILY for m in (dvs_gesture, ncaltech101, cifar10_dvs, shd, nmnist)}

DATASETS: dict[str, DatasetSpec] = {name: f.spec for name, f in _FAMILIES.items()}

#: N-Caltech101 and CIFAR10-DVS have no official train/test split: within each class
#: (files in sorted order) every ``TEST_EVERY``-th sample goes to the test split (90/10).
TEST_EVERY = 10


def _tonic_dataset(spec: DatasetSpec, root: Path, train: bool, target_transform: Callable | None):
    """Build the tonic dataset with download disabled (the layout was checked already)."""
    import tonic

    base = getattr(tonic.datasets, spec.tonic_class)

    def _no_download(self: Any) -> None:  # pragma: no cover - layout checked beforehand
        raise fail(self.location_on_system, "files missing and downloading is disabled", spec)

    # Same class name: tonic derives the folder (<root>/<ClassName>) from it.
    offline = type(
        spec.tonic_class, (base,), {"_check_exists": lambda self: True, "download": _no_download}
    )
    kwargs: dict[str, Any] = {"save_to": str(root), "target_transform": target_transform}
    if spec.official_split:  # tonic's classes of data sets without one take no train=
        kwargs["train"] = train
    return offline(**kwargs)


# --------------------------------------------------------------------------------------
# Torch-facing dataset
# --------------------------------------------------------------------------------------


class _SpikeDataset(Dataset):
    """Wraps a tonic dataset (optionally disk-cached) and returns slayer-layout spike tensors.

    ``__getitem__`` returns ``(x, y)``: ``x`` float32 ``[C, H, W, T]`` (DVS) or ``[C, T]``
    (SHD) with values in ``{0, 1}``; ``y`` an ``int``.
    """

    def __init__(self, spec: DatasetSpec, source: Any, indices: list[int], file_of: Callable[[int], str]):
        self.spec = spec
        self.source = source
        self.indices = indices
        self._file_of = file_of

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        i = self.indices[index]
        try:
            frames, target = self.source[i]
        except DatasetError:
            raise
        except Exception as exc:  # noqa: BLE001 - any read failure means a bad file
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            raise fail(self._file_of(i), f"corrupt or unreadable sample {i} ({reason})", self.spec) from exc
        x = torch.as_tensor(np.asarray(frames)).clamp_(max=1).to(torch.float32)
        if x.dim() == 4:  # [T, P, H, W] -> [C, H, W, T]
            x = x.permute(1, 2, 3, 0).contiguous()
        else:  # SHD [T, 1, 700] -> [700, T]
            x = x[:, 0, :].transpose(0, 1).contiguous()
        return x, int(np.asarray(target).item())


def load_dataset(
    name: str,
    root: str | Path,
    frames: int,
    train: bool = True,
    cache_dir: str | Path | None = None,
    spatial_size: tuple[int, int] | None = None,
) -> Dataset:
    """Load an event dataset from ``root`` as binned spike tensors. Never downloads.

    Args:
        name: one of :data:`DATASETS` (``"dvs_gesture"``, ``"ncaltech101"``,
            ``"cifar10_dvs"``, ``"shd"``, ``"nmnist"``).
        root: folder holding ``<TonicClassName>/...`` (or, for N-MNIST, the subset folder
            ``NMNISTsmall/``) as described by ``DATASETS[name].how_to_get``.
        frames: number of time bins ``T``; the recording's span ``[t_first, t_last]`` is
            cut into ``T`` equal bins and every event lands in exactly one of them.
        train: training split if True, else test split (N-Caltech101 and CIFAR10-DVS have
            no official split: every 10th file of each class is the test split). Samples
            are ordered by file path, except an N-MNIST subset's, which keep the order of
            its split file.
        cache_dir: if given, binned samples are cached with ``tonic.DiskCachedDataset`` in
            ``cache_dir/<name>/<split>_T<frames>_<H>x<W>``.
        spatial_size: optional ``(H, W)`` to downsample DVS events to with
            ``tonic.transforms.Downsample``; not allowed for SHD.

    Returns:
        A ``torch.utils.data.Dataset`` whose items are ``(x, y)``:

        * **x** (DVS, N-MNIST) -- float32 ``[C=2, H, W, T]``; (SHD) float32 ``[C=700, T]``;
          values in ``{0, 1}``.
        * **y** -- ``int`` label in ``[0, n_classes)``.

    Raises:
        DatasetError: unknown ``name``; ``root`` or the expected files missing; a file that
            cannot be read (checked on the first sample here, and on every later access).
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}")
    spec = DATASETS[name]
    if not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames must be a positive int, got {frames!r}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise fail(root, f"dataset root does not exist (expected a folder holding {spec.tonic_class}/)", spec)
    family = _FAMILIES[name]
    data_path = family.check_layout(root, train)
    family.check_decoder(data_path)

    sensor = spec.sensor_size
    pre: list[Callable] = []
    if spatial_size is not None:
        if family.no_spatial_size:
            raise ValueError(f"spatial_size does not apply to {family.no_spatial_size}")
        h, w = (int(v) for v in spatial_size)
        if not (0 < h <= sensor[1] and 0 < w <= sensor[0]):
            raise ValueError(f"spatial_size {spatial_size} must be (H, W) within the sensor's (H, W)=({sensor[1]}, {sensor[0]})")
        import tonic

        pre.append(tonic.transforms.Downsample(sensor_size=sensor, target_size=(w, h)))
        sensor = (w, h, sensor[2])

    binner = ToSpikeFrames(sensor, frames)
    try:
        tds = _tonic_dataset(spec, root, train, family.target_transform(data_path))
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. h5py OSError on a corrupt SHD file
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise fail(data_path, f"corrupt or unreadable ({reason})", spec) from exc

    listed = family.listed(data_path)
    if listed is not None:
        tds.data, tds.targets = listed

    def file_of(i: int) -> str:
        return str(data_path) if family.one_file else str(tds.data[i])

    if not family.one_file:
        family.check_files(tds.data)
    tds.transform = Compose(pre + [binner])

    # Split (only for datasets without an official one).
    # File-based datasets: order samples by path (tonic's os.walk order is filesystem-dependent);
    # listed samples keep their split file's order.
    order = list(range(len(tds)))
    if not family.one_file and listed is None:
        order.sort(key=lambda i: str(tds.data[i]))
    if spec.official_split:
        indices = order
    else:
        per_class: dict[Any, int] = {}
        indices = []
        for i in order:
            t = tds.targets[i]
            k = per_class.get(t, 0)
            per_class[t] = k + 1
            is_test = (k % TEST_EVERY) == TEST_EVERY - 1
            if is_test != train:
                indices.append(i)
    if not indices:
        raise fail(data_path, f"no samples for the {'train' if train else 'test'} split", spec)

    source: Any = tds
    if cache_dir is not None:
        import tonic

        hw = f"{sensor[1]}x{sensor[0]}"
        cache_path = Path(cache_dir).expanduser() / spec.name / f"{'train' if train else 'test'}_T{frames}_{hw}"
        source = tonic.DiskCachedDataset(dataset=tds, cache_path=str(cache_path))

    ds = _SpikeDataset(spec, source, indices, file_of)
    ds[0]  # eager check: a corrupt first file raises DatasetError here, naming the file
    return ds

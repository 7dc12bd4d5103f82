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

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["DATASETS", "DatasetError", "DatasetSpec", "load_dataset"]

#: Folder (under ``root``) of an N-MNIST subset in slayerPytorch's layout.
NMNIST_SUBSET = "NMNISTsmall"

#: N-Caltech101 and CIFAR10-DVS have no official train/test split: within each class
#: (files in sorted order) every ``TEST_EVERY``-th sample goes to the test split (90/10).
TEST_EVERY = 10


class DatasetError(ValueError):
    """A dataset is missing, incomplete, unreadable or unknown. The message is one line."""


@dataclass(frozen=True)
class DatasetSpec:
    """Static description of one supported dataset.

    Attributes:
        name: key in :data:`DATASETS` and first argument of :func:`load_dataset`.
        tonic_class: name of the class in ``tonic.datasets`` that reads the files.
        sensor_size: ``(x, y, p)`` = (width, height, polarities); SHD is ``(700, 1, 1)``.
        n_classes: number of class labels; labels are ``0 .. n_classes - 1``.
        how_to_get: where the files must be placed under ``root`` and where to get them by hand.
        official_split: whether the dataset ships a train/test split (otherwise a
            deterministic 90/10 per-class split is used, see :data:`TEST_EVERY`).
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


DATASETS: dict[str, DatasetSpec] = {
    "dvs_gesture": DatasetSpec(
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
    ),
    "ncaltech101": DatasetSpec(
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
    ),
    "cifar10_dvs": DatasetSpec(
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
    ),
    "shd": DatasetSpec(
        name="shd",
        tonic_class="SHD",
        sensor_size=(700, 1, 1),
        n_classes=20,
        how_to_get=(
            "download shd_train.h5.zip and shd_test.h5.zip from https://zenkelab.org/datasets/ "
            "(https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/) and unzip them into "
            "<root>/SHD/ so that <root>/SHD/shd_train.h5 and <root>/SHD/shd_test.h5 exist"
        ),
    ),
    "nmnist": DatasetSpec(
        name="nmnist",
        tonic_class="NMNIST",
        sensor_size=(34, 34, 2),
        n_classes=10,
        how_to_get=(
            "download Train.zip and Test.zip from https://www.garrickorchard.com/datasets/n-mnist "
            "(mirror https://data.mendeley.com/datasets/468j46mzdv) and unzip both into <root>/NMNIST/ "
            "so that <root>/NMNIST/Train/0/00002.bin exists; or put a subset in slayerPytorch's layout "
            f"into <root>/{NMNIST_SUBSET}/: <id>.bs2 (or <id>.bin) sample files and one train*.txt and "
            "one test*.txt split file, each a '#sample #class' header and one '<id> <class>' line per sample"
        ),
        # a recording (~4,000 events) decodes and bins in ~4 ms, while tonic's HDF5 cache
        # took 7-24 ms to read one back (measured on 2 CPU cores): caching would slow training
        disk_cache=False,
    ),
}

_CIFAR10DVS_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
_DIGITS = tuple(str(d) for d in range(10))


def _fail(path: Path | str, expected: str, spec: DatasetSpec) -> DatasetError:
    msg = f"{spec.name}: {path}: {expected}; to get it: {spec.how_to_get}"
    return DatasetError(" ".join(msg.split()))  # guarantee one line


# --------------------------------------------------------------------------------------
# Layout checks (mirroring what each tonic class walks), done before tonic is touched so
# that tonic never reaches its download() branch.
# --------------------------------------------------------------------------------------


def _check_layout(spec: DatasetSpec, root: Path, train: bool) -> Path:
    """Validate the on-disk layout; return the file/folder that holds the samples."""
    loc = root / spec.tonic_class
    if spec.name == "dvs_gesture":
        folder = loc / ("ibmGestureTrain" if train else "ibmGestureTest")
        files = sorted(folder.glob("user*_*/*.npy")) if folder.is_dir() else []
        if not files:
            raise _fail(folder, "expected folders user<NN>_<lighting>/ holding <label>.npy event files", spec)
        return folder
    if spec.name == "ncaltech101":
        folder = loc / "Caltech101"
        files = sorted(folder.glob("*/*.bin")) if folder.is_dir() else []
        if not files:
            raise _fail(folder, "expected class folders <class>/ holding ATIS .bin event files", spec)
        return folder
    if spec.name == "cifar10_dvs":
        files = sorted(loc.glob("**/*.aedat4")) if loc.is_dir() else []
        if not files:
            raise _fail(loc, "expected class folders (airplane/ ... truck/) holding .aedat4 files", spec)
        bad = [f for f in files if f.parent.name not in _CIFAR10DVS_CLASSES]
        if bad:
            raise _fail(bad[0], f"expected .aedat4 files only inside the class folders {list(_CIFAR10DVS_CLASSES)}", spec)
        return loc
    if spec.name == "shd":
        h5 = loc / ("shd_train.h5" if train else "shd_test.h5")
        if not h5.is_file():
            raise _fail(h5, "expected the unzipped SHD HDF5 file", spec)
        return h5
    if spec.name == "nmnist":
        return _check_nmnist_layout(spec, root, train)
    raise AssertionError(spec.name)  # pragma: no cover


def _check_nmnist_layout(spec: DatasetSpec, root: Path, train: bool) -> Path:
    """N-MNIST: the full layout ``<root>/NMNIST/{Train,Test}/<digit>/*.bin`` (returns the
    split folder) or, when ``<root>/NMNIST`` is absent, the subset layout
    ``<root>/NMNISTsmall/`` (returns its ``train*.txt`` or ``test*.txt`` split file)."""
    loc = root / spec.tonic_class
    if loc.is_dir():
        folder = loc / ("Train" if train else "Test")
        files = sorted(folder.rglob("*.bin")) if folder.is_dir() else []
        if not files:
            raise _fail(folder, "expected digit folders 0/ ... 9/ holding N-MNIST .bin event files", spec)
        # tonic takes the label from the last character of the folder path, so Train/12/
        # would silently read as class 2
        bad = [f for f in files if f.parent.parent != folder or f.parent.name not in _DIGITS]
        if bad:
            raise _fail(bad[0], f"label outside 0-9: expected .bin files only inside the digit folders "
                                f"{folder}/0/ ... {folder}/9/", spec)
        return folder
    subset = root / NMNIST_SUBSET
    if not subset.is_dir():
        raise _fail(loc, f"expected Train/ and Test/ digit folders here, or the subset layout in {subset}/", spec)
    pattern = "train*.txt" if train else "test*.txt"
    splits = sorted(subset.glob(pattern))
    if len(splits) != 1:
        found = ", ".join(s.name for s in splits) or "none"
        raise _fail(subset, f"expected exactly one split file {pattern} (found {found})", spec)
    return splits[0]


def _read_nmnist_split(spec: DatasetSpec, split: Path) -> tuple[list[str], list[int]]:
    """Sample files and labels of a slayerPytorch split file, in the file's order.

    No tonic reader knows this layout (tonic's NMNIST walks digit folders), so the list is
    read here and handed to ``tonic.datasets.NMNIST``, which then reads the samples."""
    files, labels = [], []
    for n, line in enumerate(split.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        try:
            sample, label = fields[0], int(fields[1])
            if len(fields) != 2:
                raise ValueError
        except (IndexError, ValueError):
            raise _fail(split, f"line {n}: expected '<sample id> <class>', got {line.strip()!r}", spec) from None
        if not 0 <= label < spec.n_classes:
            raise _fail(split, f"line {n}: class {label} of sample {sample} is outside 0-{spec.n_classes - 1}", spec)
        found = [f for f in (split.parent / f"{sample}.bs2", split.parent / f"{sample}.bin") if f.is_file()]
        if len(found) != 1:
            what = "both" if found else "neither"
            raise _fail(split, f"line {n}: expected one sample file {sample}.bs2 or {sample}.bin in "
                               f"{split.parent}, found {what}", spec)
        files.append(str(found[0]))
        labels.append(label)
    if not files:
        raise _fail(split, "split file lists no samples", spec)
    return files, labels


def _tonic_dataset(spec: DatasetSpec, root: Path, train: bool, target_transform: Callable | None):
    """Build the tonic dataset with download disabled (the layout was checked already)."""
    import tonic

    base = getattr(tonic.datasets, spec.tonic_class)

    def _no_download(self: Any) -> None:  # pragma: no cover - layout checked beforehand
        raise _fail(self.location_on_system, "files missing and downloading is disabled", spec)

    # Same class name: tonic derives the folder (<root>/<ClassName>) from it.
    offline = type(
        spec.tonic_class, (base,), {"_check_exists": lambda self: True, "download": _no_download}
    )
    kwargs: dict[str, Any] = {"save_to": str(root), "target_transform": target_transform}
    if spec.name in ("dvs_gesture", "shd", "nmnist"):
        kwargs["train"] = train
    return offline(**kwargs)


# --------------------------------------------------------------------------------------
# Event -> frame transform
# --------------------------------------------------------------------------------------


class _ToSpikeFrames:
    """Bin a structured event array into exactly ``frames`` equal time bins.

    ``tonic.transforms.ToFrame(n_time_bins=T)`` uses half-open windows of width
    ``(t_last - t_first) // T`` and therefore always drops the events at ``t_last`` (and
    up to ``T - 1`` time units more). Here every timestamp is first mapped to its bin index
    ``floor((t - t_first) * T / (t_last - t_first + 1))`` in ``[0, T)`` and tonic's
    ``ToFrame(time_window=1)`` then accumulates one frame per index, so no event is lost.

    Returns:
        ``np.ndarray`` of int16 counts, shape ``[T, P, H, W]`` (``[T, P, W]`` when the
        event dtype has no ``y`` field, as for SHD).
    """

    def __init__(self, sensor_size: tuple[int, int, int], frames: int):
        self.sensor_size = tuple(int(s) for s in sensor_size)
        self.frames = int(frames)

    def __call__(self, events: np.ndarray) -> np.ndarray:
        import tonic

        w, h, p = self.sensor_size
        has_y = "y" in events.dtype.names
        shape = (self.frames, p, h, w) if has_y else (self.frames, p, w)
        if len(events) == 0:
            return np.zeros(shape, dtype=np.int16)
        xs = events["x"].astype(np.int64)
        ys = events["y"].astype(np.int64) if has_y else np.zeros_like(xs)
        ps = events["p"].astype(np.int64)
        if p == 1:
            ps = np.zeros_like(ps)
        bad = (xs < 0) | (xs >= w) | (ys < 0) | (ys >= (h if has_y else 1)) | (ps < 0) | (ps >= p)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"event {i} at x={xs[i]} y={ys[i]} p={ps[i]} lies outside the sensor {self.sensor_size}"
            )
        t = events["t"].astype(np.float64)
        t0, span = t.min(), t.max() - t.min()
        bins = np.floor((t - t0) * self.frames / (span + 1.0)).astype(np.int64)
        bins = np.clip(bins, 0, self.frames - 1)
        names = ["x", "y", "p", "t"] if has_y else ["x", "p", "t"]
        ev = np.empty(len(events), dtype=[(n, np.int64) for n in names])
        ev["x"], ev["p"], ev["t"] = xs, ps, bins
        if has_y:
            ev["y"] = ys
        ev = ev[np.argsort(ev["t"], kind="stable")]
        frame = tonic.transforms.ToFrame(
            sensor_size=self.sensor_size, time_window=1, start_time=0, end_time=self.frames
        )(ev)
        assert frame.shape == shape, (frame.shape, shape)
        return frame.astype(np.int16)


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
            raise _fail(self._file_of(i), f"corrupt or unreadable sample {i} ({reason})", self.spec) from exc
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
        raise _fail(root, f"dataset root does not exist (expected a folder holding {spec.tonic_class}/)", spec)
    data_path = _check_layout(spec, root, train)

    if spec.name == "cifar10_dvs":
        try:
            import aedat  # noqa: F401 - tonic.io.read_aedat4 imports it lazily
        except ImportError as exc:
            raise _fail(
                data_path, "found .aedat4 files but the 'aedat' decoder package tonic needs is not installed", spec
            ) from exc

    sensor = spec.sensor_size
    pre: list[Callable] = []
    if spatial_size is not None:
        if spec.name == "shd":
            raise ValueError("spatial_size does not apply to SHD (1-D, 700 channels)")
        h, w = (int(v) for v in spatial_size)
        if not (0 < h <= sensor[1] and 0 < w <= sensor[0]):
            raise ValueError(f"spatial_size {spatial_size} must be (H, W) within the sensor's (H, W)=({sensor[1]}, {sensor[0]})")
        import tonic

        pre.append(tonic.transforms.Downsample(sensor_size=sensor, target_size=(w, h)))
        sensor = (w, h, sensor[2])

    # Class index for datasets whose tonic target is a folder name.
    target_transform: Callable | None = None
    if spec.name == "ncaltech101":
        classes = sorted(d.name for d in data_path.iterdir() if d.is_dir() and any(d.glob("*.bin")))
        class_to_idx = {c: i for i, c in enumerate(classes)}
        target_transform = class_to_idx.__getitem__

    binner = _ToSpikeFrames(sensor, frames)
    try:
        tds = _tonic_dataset(spec, root, train, target_transform)
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. h5py OSError on a corrupt SHD file
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise _fail(data_path, f"corrupt or unreadable ({reason})", spec) from exc

    subset_split = spec.name == "nmnist" and data_path.is_file()
    if subset_split:  # tonic's NMNIST found no digit folders; it reads the split file's samples
        tds.data, tds.targets = _read_nmnist_split(spec, data_path)

    def file_of(i: int) -> str:
        return str(data_path) if spec.name == "shd" else str(tds.data[i])

    if spec.name in ("ncaltech101", "nmnist"):
        # read_mnist_file silently mis-parses files whose size is not a multiple of 5 bytes.
        for f in tds.data:
            size = os.path.getsize(f)
            if size == 0 or size % 5:
                raise _fail(f, f"corrupt ATIS event file ({size} bytes, expected a non-zero multiple of 5)", spec)

    tds.transform = _Compose(pre + [binner])

    # Split (only for datasets without an official one).
    # File-based datasets: order samples by path (tonic's os.walk order is filesystem-dependent);
    # an N-MNIST subset keeps its split file's order.
    order = list(range(len(tds)))
    if spec.name != "shd" and not subset_split:
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
        raise _fail(data_path, f"no samples for the {'train' if train else 'test'} split", spec)

    source: Any = tds
    if cache_dir is not None:
        import tonic

        hw = f"{sensor[1]}x{sensor[0]}"
        cache_path = Path(cache_dir).expanduser() / spec.name / f"{'train' if train else 'test'}_T{frames}_{hw}"
        source = tonic.DiskCachedDataset(dataset=tds, cache_path=str(cache_path))

    ds = _SpikeDataset(spec, source, indices, file_of)
    ds[0]  # eager check: a corrupt first file raises DatasetError here, naming the file
    return ds


class _Compose:
    def __init__(self, fns: list[Callable]):
        self.fns = fns

    def __call__(self, x: Any) -> Any:
        for fn in self.fns:
            x = fn(x)
        return x


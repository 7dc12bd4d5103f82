"""Tests for razor_neuro.data.loaders on tiny fake datasets written in tonic's on-disk formats."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from razor_neuro.data.loaders import DATASETS, DatasetError, DatasetSpec, load_dataset


# ----------------------------------------------------------------------------- writers


def write_dvsgesture(root: Path) -> dict[str, Path]:
    """tonic DVSGesture layout: DVSGesture/ibmGesture{Train,Test}/user<NN>_<light>/<label>.npy,
    each an (N, 4) array of x, y, p, t[ms]."""
    base = root / "DVSGesture"
    files = {}
    a = base / "ibmGestureTrain" / "user01_fluorescent"
    a.mkdir(parents=True)
    ev = np.array(
        [
            [5, 7, 1, 0],  # p=1, bin 0
            [5, 7, 1, 0],  # duplicate -> count 2, clipped to 1
            [10, 20, 0, 2],  # p=0, t=2000us -> bin floor(2000*5/9001)=1
            [127, 0, 1, 9],  # last event, bin 4 (tonic's n_time_bins would drop it)
        ],
        dtype=np.int64,
    )
    np.save(a / "3.npy", ev)
    files["train0"] = a / "3.npy"
    b = base / "ibmGestureTrain" / "user02_led"
    b.mkdir(parents=True)
    np.save(b / "7.npy", np.array([[1, 1, 0, 0], [2, 2, 0, 4]], dtype=np.int64))
    c = base / "ibmGestureTest" / "user24_led"
    c.mkdir(parents=True)
    np.save(c / "5.npy", np.array([[0, 0, 0, 0], [1, 1, 1, 1]], dtype=np.int64))
    files["test0"] = c / "5.npy"
    return files


def atis_bytes(events: list[tuple[int, int, int, int]]) -> bytes:
    """N-Caltech101 ATIS .bin: 5 bytes per event: x, y, p<<7 | t[22:16], t[15:8], t[7:0]."""
    out = bytearray()
    for x, y, p, t in events:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def write_ncaltech(root: Path, n_accordion: int = 1) -> dict[str, Path]:
    base = root / "NCALTECH101" / "Caltech101"
    (base / "accordion").mkdir(parents=True)
    (base / "airplanes").mkdir(parents=True)
    first = base / "accordion" / "image_0001.bin"
    first.write_bytes(atis_bytes([(10, 20, 1, 100), (15, 22, 0, 500), (10, 20, 1, 1000)]))
    for k in range(2, n_accordion + 1):
        (base / "accordion" / f"image_{k:04d}.bin").write_bytes(atis_bytes([(k, 1, 0, 0), (k + 1, 2, 1, 10)]))
    (base / "airplanes" / "image_0001.bin").write_bytes(atis_bytes([(50, 60, 0, 0), (52, 61, 1, 70000)]))
    return {"first": first, "airplane": base / "airplanes" / "image_0001.bin"}


def write_shd(root: Path, name: str = "shd_train.h5") -> Path:
    """SHD HDF5: spikes/times (vlen float, seconds), spikes/units (vlen uint16), labels,
    extra/keys, extra/speaker -- what tonic.datasets.SHD reads."""
    (root / "SHD").mkdir(parents=True, exist_ok=True)
    path = root / "SHD" / name
    times = [np.array([0.0, 0.05, 0.1, 0.5], np.float32), np.array([0.0, 0.2], np.float32)]
    units = [np.array([3, 3, 699, 3], np.uint16), np.array([0, 1], np.uint16)]
    with h5py.File(path, "w") as f:
        t = f.create_dataset("spikes/times", (2,), dtype=h5py.vlen_dtype(np.float32))
        u = f.create_dataset("spikes/units", (2,), dtype=h5py.vlen_dtype(np.uint16))
        for i in range(2):
            t[i] = times[i]
            u[i] = units[i]
        f.create_dataset("labels", data=np.array([7, 12], np.uint16))
        f.create_dataset("extra/keys", data=np.array([b"k%d" % i for i in range(20)]))
        f.create_dataset("extra/speaker", data=np.array([0, 1], np.uint16))
    return path


# ----------------------------------------------------------------------------- DVS Gesture


def test_dvsgesture_shapes_counts_labels(tmp_path):
    write_dvsgesture(tmp_path)
    ds = load_dataset("dvs_gesture", tmp_path, frames=5)
    assert len(ds) == 2
    x, y = ds[0]
    assert x.dtype == torch.float32 and x.shape == (2, 128, 128, 5)  # [C, H, W, T]
    assert y == 3 and isinstance(y, int)
    assert x[1, 7, 5, 0] == 1  # duplicate event clipped to one spike
    assert x[0, 20, 10, 1] == 1
    assert x[1, 0, 127, 4] == 1  # last event kept, in last bin
    assert x.sum() == 3
    assert set(x.unique().tolist()) == {0.0, 1.0}
    assert ds[1][1] == 7

    test = load_dataset("dvs_gesture", tmp_path, frames=2, train=False)
    assert len(test) == 1
    xt, yt = test[0]
    assert yt == 5 and xt.shape == (2, 128, 128, 2)
    assert xt[0, 0, 0, 0] == 1 and xt[1, 1, 1, 1] == 1 and xt.sum() == 2


def test_dvsgesture_downsample(tmp_path):
    write_dvsgesture(tmp_path)
    x, _ = load_dataset("dvs_gesture", tmp_path, frames=5, spatial_size=(32, 64))[0]
    assert x.shape == (2, 32, 64, 5)  # spatial_size is (H, W)
    assert x[1, 0, 63, 4] == 1  # x 127 * 0.5, y 0 * 0.25
    assert x[0, 5, 5, 1] == 1  # x 10 * 0.5, y 20 * 0.25
    assert x[1, 1, 2, 0] == 1  # x 5 * 0.5 -> 2, y 7 * 0.25 -> 1
    assert x.sum() == 3


def test_dvsgesture_cache(tmp_path):
    files = write_dvsgesture(tmp_path / "data")
    cache = tmp_path / "cache"
    ds = load_dataset("dvs_gesture", tmp_path / "data", frames=5, cache_dir=cache)
    x0, y0 = ds[0]
    assert list(cache.rglob("*.hdf5"))
    files["train0"].unlink()  # now only the cache can serve sample 0
    x1, y1 = ds[0]
    assert torch.equal(x0, x1) and y0 == y1 == 3 and x1.sum() == 3


def test_dvsgesture_file_vanishing_without_cache_names_it(tmp_path):
    files = write_dvsgesture(tmp_path)
    ds = load_dataset("dvs_gesture", tmp_path, frames=5)
    files["train0"].unlink()
    with pytest.raises(DatasetError, match="3.npy"):
        ds[0]


def test_dvsgesture_corrupt_file(tmp_path):
    files = write_dvsgesture(tmp_path)
    files["train0"].write_bytes(b"\x93NUMPY garbage that is not an array")
    with pytest.raises(DatasetError) as e:
        load_dataset("dvs_gesture", tmp_path, frames=5)
    assert str(files["train0"]) in str(e.value) and "\n" not in str(e.value)


def test_dvsgesture_missing_split_folder(tmp_path):
    (tmp_path / "DVSGesture").mkdir()
    with pytest.raises(DatasetError, match="ibmGestureTrain") as e:
        load_dataset("dvs_gesture", tmp_path, frames=5)
    assert "figshare" in str(e.value)


# ----------------------------------------------------------------------------- N-Caltech101


def test_ncaltech_shapes_counts_labels(tmp_path):
    write_ncaltech(tmp_path)
    ds = load_dataset("ncaltech101", tmp_path, frames=2)
    assert len(ds) == 2
    x, y = ds[0]
    assert x.shape == (2, 180, 240, 2) and x.dtype == torch.float32
    assert y == 0  # "accordion" sorts first
    # tonic subtracts min x (10) and min y (20)
    assert x[1, 0, 0, 0] == 1  # t=100 -> bin 0
    assert x[0, 2, 5, 0] == 1  # t=500 -> bin floor(400*2/901)=0
    assert x[1, 0, 0, 1] == 1  # t=1000 -> bin 1
    assert x.sum() == 3
    x2, y2 = ds[1]
    assert y2 == 1 and x2[0, 0, 0, 0] == 1 and x2[1, 1, 2, 1] == 1 and x2.sum() == 2


def test_ncaltech_split_every_tenth_per_class(tmp_path):
    write_ncaltech(tmp_path, n_accordion=10)
    train = load_dataset("ncaltech101", tmp_path, frames=2)
    test = load_dataset("ncaltech101", tmp_path, frames=2, train=False)
    assert len(train) == 10 and len(test) == 1  # 10 accordion + 1 airplane; 10th accordion -> test
    assert test[0][1] == 0


def test_ncaltech_truncated_file(tmp_path):
    files = write_ncaltech(tmp_path)
    files["airplane"].write_bytes(files["airplane"].read_bytes()[:7])
    with pytest.raises(DatasetError) as e:
        load_dataset("ncaltech101", tmp_path, frames=2)
    assert str(files["airplane"]) in str(e.value)


def test_ncaltech_garbage_file(tmp_path):
    files = write_ncaltech(tmp_path)
    rng = np.random.default_rng(0)
    files["first"].write_bytes(rng.integers(0, 256, 5 * 50, dtype=np.uint8).tobytes())
    with pytest.raises(DatasetError, match="outside the sensor") as e:
        load_dataset("ncaltech101", tmp_path, frames=2)
    assert str(files["first"]) in str(e.value)


# ----------------------------------------------------------------------------- CIFAR10-DVS


AEDAT4_MAGIC = b"#!AER-DAT4.0\r\n"


def aedat4_bytes(events: list[tuple[int, int, int, bool]], width: int = 128, height: int = 128) -> bytes:
    """An uncompressed AEDAT 4 file with one event stream, as tonic's CIFAR10-DVS files are.

    Layout (the format the ``aedat`` decoder reads): the magic line, a size-prefixed ``IOHE``
    flatbuffer whose description XML declares stream 0 as ``EVTS`` with the sensor size,
    then packets of ``[stream id u32][size u32][size-prefixed EVTS flatbuffer]`` holding
    ``Event {t: int64, x: int16, y: int16, on: bool}`` structs (16 bytes with padding).
    Events are given as ``(t_us, x, y, on)``; one packet per two events, so multi-packet
    files are exercised."""
    import flatbuffers

    description = (
        '<dv version="2.0"><node name="outInfo"><node name="0">'
        '<attr key="typeIdentifier" type="string">EVTS</attr>'
        f'<node name="info"><attr key="sizeX" type="int">{width}</attr>'
        f'<attr key="sizeY" type="int">{height}</attr></node></node></node></dv>')
    b = flatbuffers.Builder(256)
    text = b.CreateString(description)
    b.StartObject(3)  # IOHeader {compression, dataTablePosition, infoNode}
    b.PrependUOffsetTRelativeSlot(2, text, 0)
    b.FinishSizePrefixed(b.EndObject(), b"IOHE")
    out = AEDAT4_MAGIC + bytes(b.Output())
    for start in range(0, len(events), 2):
        chunk = events[start:start + 2]
        b = flatbuffers.Builder(256)
        b.StartVector(16, len(chunk), 8)
        for t, x, y, on in reversed(chunk):
            b.Prep(8, 16)
            b.Pad(3)
            b.PrependBool(on)
            b.PrependInt16(y)
            b.PrependInt16(x)
            b.PrependInt64(t)
        vector = b.EndVector()
        b.StartObject(1)  # EventPacket {elements}
        b.PrependUOffsetTRelativeSlot(0, vector, 0)
        b.FinishSizePrefixed(b.EndObject(), b"EVTS")
        payload = bytes(b.Output())
        out += (0).to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload
    return out


def write_cifar10dvs(root: Path) -> dict[str, Path]:
    """tonic CIFAR10DVS layout: CIFAR10DVS/<class>/cifar10_<class>_<i>.aedat4.  Ten cat files
    (the tenth in sorted order is the test split) and one dog file."""
    files = {}
    cat = root / "CIFAR10DVS" / "cat"
    cat.mkdir(parents=True)
    for i in range(10):
        f = cat / f"cifar10_cat_{i}.aedat4"
        f.write_bytes(aedat4_bytes([(1000, i, 0, True), (1500, 3, 4, False), (4999, 127, 127, True)]))
        files[f"cat{i}"] = f
    dog = root / "CIFAR10DVS" / "dog"
    dog.mkdir(parents=True)
    files["dog0"] = dog / "cifar10_dog_0.aedat4"
    files["dog0"].write_bytes(aedat4_bytes([(0, 1, 2, False), (50, 1, 2, False), (300, 9, 8, True)]))
    return files


def test_aedat4_writer_is_read_by_the_aedat_decoder(tmp_path):
    import tonic.io
    f = tmp_path / "x.aedat4"
    f.write_bytes(aedat4_bytes([(10, 1, 2, True), (20, 127, 0, False), (30, 5, 6, True)]))
    events = tonic.io.read_aedat4(str(f))
    assert events["t"].tolist() == [10, 20, 30]
    assert events["x"].tolist() == [1, 127, 5] and events["y"].tolist() == [2, 0, 6]
    assert events["on"].tolist() == [True, False, True]


def test_cifar10dvs_shapes_counts_labels(tmp_path):
    write_cifar10dvs(tmp_path)
    ds = load_dataset("cifar10_dvs", tmp_path, frames=4)
    assert len(ds) == 10  # cat 0..8 and the one dog file; cat_9 is the test split
    x, y = ds[0]  # cifar10_cat_0: sorted paths put cat before dog
    assert x.dtype == torch.float32 and x.shape == (2, 128, 128, 4)  # [C, H, W, T]
    assert y == 3  # tonic's class index of "cat"
    # t 1000 -> bin 0; t 1500 -> floor(500 * 4 / 4000) = 0; t 4999 (last) -> bin 3
    assert x[1, 0, 0, 0] == 1 and x[0, 4, 3, 0] == 1 and x[1, 127, 127, 3] == 1
    assert x.sum() == 3
    xd, yd = ds[9]
    assert yd == 5 and xd[0, 2, 1, 0] == 1 and xd[1, 8, 9, 3] == 1 and xd.sum() == 2  # duplicate clipped
    test = load_dataset("cifar10_dvs", tmp_path, frames=4, train=False)
    assert len(test) == 1 and test[0][1] == 3 and test[0][0][1, 0, 9, 0] == 1


def test_cifar10dvs_without_aedat_decoder(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "aedat", None)  # as if the package were not installed
    (tmp_path / "CIFAR10DVS" / "cat").mkdir(parents=True)
    (tmp_path / "CIFAR10DVS" / "cat" / "cifar10_cat_0.aedat4").write_bytes(AEDAT4_MAGIC)
    with pytest.raises(DatasetError, match="'aedat'") as e:
        load_dataset("cifar10_dvs", tmp_path, frames=4)
    assert str(tmp_path / "CIFAR10DVS") in str(e.value)


def test_cifar10dvs_corrupt_file(tmp_path):
    files = write_cifar10dvs(tmp_path)
    f = files["cat0"]
    f.write_bytes(f.read_bytes()[:-10])  # truncated mid-packet
    with pytest.raises(DatasetError) as e:
        load_dataset("cifar10_dvs", tmp_path, frames=4)
    assert str(f) in str(e.value)
    f.write_bytes(AEDAT4_MAGIC + b"\x00garbage" * 10)
    with pytest.raises(DatasetError) as e:
        load_dataset("cifar10_dvs", tmp_path, frames=4)
    assert str(f) in str(e.value)


def test_cifar10dvs_file_outside_class_folder(tmp_path):
    (tmp_path / "CIFAR10DVS" / "spaceship").mkdir(parents=True)
    bad = tmp_path / "CIFAR10DVS" / "spaceship" / "x.aedat4"
    bad.write_bytes(b"")
    with pytest.raises(DatasetError, match="class folders") as e:
        load_dataset("cifar10_dvs", tmp_path, frames=4)
    assert str(bad) in str(e.value)


# ----------------------------------------------------------------------------- SHD


def test_shd_shapes_counts_labels(tmp_path):
    write_shd(tmp_path)
    ds = load_dataset("shd", tmp_path, frames=4)
    assert len(ds) == 2
    x, y = ds[0]
    assert x.shape == (700, 4) and x.dtype == torch.float32  # [C, T]
    assert y == 7
    assert x[3, 0] == 1  # t=0 and t=0.05s on unit 3 -> same bin, clipped to 1
    assert x[699, 0] == 1  # t=0.1s -> floor(1e5*4/(5e5+1)) = 0
    assert x[3, 3] == 1  # t=0.5s -> last bin
    assert x.sum() == 3
    x1, y1 = ds[1]
    assert y1 == 12 and x1[0, 0] == 1 and x1[1, 3] == 1 and x1.sum() == 2


def test_shd_test_split_and_cache(tmp_path):
    write_shd(tmp_path, "shd_test.h5")
    with pytest.raises(DatasetError, match="shd_train.h5"):
        load_dataset("shd", tmp_path, frames=4)
    ds = load_dataset("shd", tmp_path, frames=4, train=False, cache_dir=tmp_path / "c")
    assert ds[1][1] == 12 and ds[1][0].shape == (700, 4)


def test_shd_corrupt_file(tmp_path):
    path = write_shd(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError) as e:
        load_dataset("shd", tmp_path, frames=4)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_shd_rejects_spatial_size(tmp_path):
    write_shd(tmp_path)
    with pytest.raises(ValueError, match="spatial_size"):
        load_dataset("shd", tmp_path, frames=4, spatial_size=(1, 10))


# ----------------------------------------------------------------------------- common


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_missing_root(tmp_path, name):
    missing = tmp_path / "does" / "not" / "exist"
    with pytest.raises(DatasetError) as e:
        load_dataset(name, missing, frames=3)
    msg = str(e.value)
    assert str(missing) in msg and "http" in msg and "\n" not in msg


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_empty_root_names_expected_location(tmp_path, name):
    with pytest.raises(DatasetError) as e:
        load_dataset(name, tmp_path, frames=3)
    assert str(tmp_path / DATASETS[name].tonic_class) in str(e.value)


def test_unknown_name(tmp_path):
    with pytest.raises(DatasetError) as e:
        load_dataset("mnist", tmp_path, frames=3)
    for name in DATASETS:
        assert name in str(e.value)


def test_specs():
    assert set(DATASETS) == {"dvs_gesture", "ncaltech101", "cifar10_dvs", "shd", "nmnist"}
    spec = DATASETS["shd"]
    assert isinstance(spec, DatasetSpec) and spec.sensor_size == (700, 1, 1) and spec.n_classes == 20
    with pytest.raises(Exception):
        spec.n_classes = 3  # frozen
    import tonic

    for s in DATASETS.values():
        assert hasattr(tonic.datasets, s.tonic_class)

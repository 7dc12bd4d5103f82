"""N-MNIST loader: the real 1,100-recording subset in ``shared/external/nmnist-small`` and
every refused input, on files written in N-MNIST's on-disk format (both layouts)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from razor_neuro.data.loaders import DatasetError, load_dataset
from test_loaders import atis_bytes

def read_split(path: Path) -> list[tuple[str, int]]:
    """(sample id, class) per line of a ``#sample #class`` split file."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [(sample, int(label)) for sample, label in rows]


# ----------------------------------------------------------------------------- the real data


def test_real_subset_loads_every_recording_with_split_labels(nmnist_small, tmp_path):
    folder = nmnist_small / "NMNISTsmall"
    start = time.perf_counter()
    for train, split, n in ((True, "train1K.txt", 1000), (False, "test100.txt", 100)):
        expected = read_split(folder / split)
        assert len(expected) == n
        ds = load_dataset("nmnist", nmnist_small, frames=30, train=train)
        assert len(ds) == n
        assert ds.source.data == [str(folder / f"{sample}.bs2") for sample, _ in expected]
        labels, events = [], 0
        for i in range(n):
            x, y = ds[i]
            assert x.shape == (2, 34, 34, 30) and x.dtype == torch.float32
            assert x.sum() > 0
            labels.append(y)
            events += int(x.sum())
        assert labels == [label for _, label in expected]
        assert set(labels) == set(range(10))
        # ~4,000 events per recording; clipping duplicates within a 10 ms frame keeps most
        assert 1000 * n < events < 5000 * n
    assert time.perf_counter() - start < 30
    cached = load_dataset("nmnist", nmnist_small, frames=30, train=False, cache_dir=tmp_path)
    for i in (0, 99):
        assert torch.equal(cached[i][0], ds[i][0]) and cached[i][1] == ds[i][1]
    assert len(list(tmp_path.rglob("*.hdf5"))) == 2


# ----------------------------------------------------------------------------- writers


def write_subset(root: Path) -> dict[str, Path]:
    """slayerPytorch's layout: NMNISTsmall/<id>.bs2 (or .bin) and the two split files."""
    folder = root / "NMNISTsmall"
    folder.mkdir(parents=True)
    (folder / "7.bs2").write_bytes(atis_bytes([(0, 0, 1, 0), (33, 33, 0, 299_999), (5, 6, 1, 150_000)]))
    (folder / "12.bin").write_bytes(atis_bytes([(1, 2, 0, 10), (3, 4, 1, 20)]))
    (folder / "60001.bs2").write_bytes(atis_bytes([(9, 8, 1, 0), (9, 8, 1, 99)]))
    (folder / "train1K.txt").write_text("#sample #class\n12\t3\n7\t9\n")
    (folder / "test100.txt").write_text("#sample #class\n60001\t0\n")
    return {"folder": folder, "7": folder / "7.bs2", "train": folder / "train1K.txt",
            "test": folder / "test100.txt"}


def write_full(root: Path) -> dict[str, Path]:
    """tonic's NMNIST layout: NMNIST/{Train,Test}/<digit>/<id>.bin."""
    files = {}
    for split, digit, name, events in (("Train", "4", "00002.bin", [(2, 3, 1, 0), (30, 31, 0, 1000)]),
                                       ("Train", "1", "00010.bin", [(0, 0, 0, 0), (1, 1, 1, 10)]),
                                       ("Test", "8", "00001.bin", [(4, 4, 0, 0), (5, 5, 1, 5)])):
        (root / "NMNIST" / split / digit).mkdir(parents=True, exist_ok=True)
        files[f"{split}/{digit}"] = root / "NMNIST" / split / digit / name
        files[f"{split}/{digit}"].write_bytes(atis_bytes(events))
    return files


# ----------------------------------------------------------------------------- both layouts


def test_subset_layout_shapes_labels_and_split_order(tmp_path):
    write_subset(tmp_path)
    ds = load_dataset("nmnist", tmp_path, frames=3)
    assert len(ds) == 2
    x, y = ds[0]  # 12.bin, the split file's first line
    assert y == 3 and x.shape == (2, 34, 34, 3)  # [C, H, W, T]
    assert x[0, 2, 1, 0] == 1 and x[1, 4, 3, 2] == 1 and x.sum() == 2
    x, y = ds[1]  # 7.bs2: t 0 -> frame 0, 150 ms -> 1, 299.999 ms (the last) -> 2
    assert y == 9
    assert x[1, 0, 0, 0] == 1 and x[1, 6, 5, 1] == 1 and x[0, 33, 33, 2] == 1 and x.sum() == 3
    test = load_dataset("nmnist", tmp_path, frames=3, train=False)
    x, y = test[0]
    assert len(test) == 1 and y == 0 and x[1, 8, 9, 0] == 1 and x[1, 8, 9, 2] == 1 and x.sum() == 2


def test_full_layout_through_tonic_nmnist(tmp_path):
    write_full(tmp_path)
    ds = load_dataset("nmnist", tmp_path, frames=2, cache_dir=tmp_path / "cache")
    assert len(ds) == 2
    x, y = ds[0]  # Train/1/ sorts before Train/4/
    assert y == 1 and x[0, 0, 0, 0] == 1 and x[1, 1, 1, 1] == 1 and x.sum() == 2
    x, y = ds[1]
    assert y == 4 and x[1, 3, 2, 0] == 1 and x[0, 31, 30, 1] == 1 and x.sum() == 2
    test = load_dataset("nmnist", tmp_path, frames=2, train=False)
    assert len(test) == 1 and test[0][1] == 8


# ----------------------------------------------------------------------------- refused input


def refused(root: Path, *names: object, train: bool = True) -> str:
    """Load and return the DatasetError's message, checking that it is one line naming
    every one of ``names``."""
    with pytest.raises(DatasetError) as e:
        load_dataset("nmnist", root, frames=3, train=train)
    msg = str(e.value)
    assert "\n" not in msg
    for name in names:
        assert str(name) in msg, (name, msg)
    return msg


def test_missing_folders(tmp_path):
    refused(tmp_path / "absent", tmp_path / "absent")
    msg = refused(tmp_path, tmp_path / "NMNIST", tmp_path / "NMNISTsmall")  # neither layout
    assert "garrickorchard.com" in msg
    (tmp_path / "NMNIST" / "Train" / "3").mkdir(parents=True)
    refused(tmp_path, tmp_path / "NMNIST" / "Train", "digit folders")  # no .bin files
    refused(tmp_path, tmp_path / "NMNIST" / "Test", train=False)


def test_subset_missing_split_file(tmp_path):
    files = write_subset(tmp_path)
    files["test"].unlink()
    refused(tmp_path, files["folder"], "test*.txt", "found none", train=False)
    (files["folder"] / "test_b.txt").write_text("#sample #class\n")
    (files["folder"] / "test_a.txt").write_text("#sample #class\n")
    refused(tmp_path, "test_a.txt, test_b.txt", train=False)


def test_subset_split_names_a_missing_sample(tmp_path):
    files = write_subset(tmp_path)
    files["train"].write_text("#sample #class\n12\t3\n99\t1\n")
    refused(tmp_path, files["train"], "line 3", "99.bs2 or 99.bin", "found neither")
    files["train"].write_text("#sample #class\n12\t3\n")
    (files["folder"] / "12.bs2").write_bytes(atis_bytes([(0, 0, 0, 0)]))
    refused(tmp_path, files["train"], "line 2", "found both")


@pytest.mark.parametrize("line, expected", [("7\t10", "class 10 of sample 7 is outside 0-9"),
                                            ("7\t-1", "class -1 of sample 7 is outside 0-9"),
                                            ("7", "expected '<sample id> <class>'"),
                                            ("7\tnine", "expected '<sample id> <class>'")])
def test_subset_label_outside_0_9_or_malformed(tmp_path, line, expected):
    files = write_subset(tmp_path)
    files["train"].write_text(f"#sample #class\n12\t3\n{line}\n")
    refused(tmp_path, files["train"], "line 3", expected)


def test_full_label_outside_0_9(tmp_path):
    write_full(tmp_path)
    bad = tmp_path / "NMNIST" / "Train" / "12" / "00003.bin"  # tonic would read it as class 2
    bad.parent.mkdir()
    bad.write_bytes(atis_bytes([(0, 0, 0, 0)]))
    refused(tmp_path, bad, "label outside 0-9")
    bad.unlink()
    stray = tmp_path / "NMNIST" / "Train" / "00004.bin"
    stray.write_bytes(atis_bytes([(0, 0, 0, 0)]))
    refused(tmp_path, stray, "label outside 0-9")


@pytest.mark.parametrize("layout", ["subset", "full"])
def test_size_not_a_multiple_of_5_bytes(tmp_path, layout):
    bad = write_subset(tmp_path)["7"] if layout == "subset" else write_full(tmp_path)["Train/4"]
    bad.write_bytes(bad.read_bytes() + b"\x00\x01")
    refused(tmp_path, bad, "expected a non-zero multiple of 5")
    bad.write_bytes(b"")
    refused(tmp_path, bad, "(0 bytes")


@pytest.mark.parametrize("layout", ["subset", "full"])
@pytest.mark.parametrize("x, y", [(34, 5), (5, 34)])
def test_event_outside_the_34x34_sensor(tmp_path, layout, x, y):
    bad = write_subset(tmp_path)["7"] if layout == "subset" else write_full(tmp_path)["Train/4"]
    bad.write_bytes(bad.read_bytes() + atis_bytes([(x, y, 1, 200_000)]))
    ds_index = 1  # the second sample in both layouts: refused when it is read
    with pytest.raises(DatasetError) as e:
        load_dataset("nmnist", tmp_path, frames=3)[ds_index]
    msg = str(e.value)
    assert str(bad) in msg and f"x={x} y={y}" in msg and "outside the sensor (34, 34, 2)" in msg
    assert "\n" not in msg


def test_atis_writer_matches_tonic_reader(tmp_path):
    import tonic.io
    f = tmp_path / "1.bs2"
    events = [(0, 33, 1, 0), (33, 0, 0, 2**23 - 1), (17, 9, 1, 65_793)]
    f.write_bytes(atis_bytes(events))
    read = tonic.io.read_mnist_file(str(f), dtype=np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    assert [tuple(int(e[k]) for k in "xypt") for e in read] == events


def test_training_spec_reads_nmnist_without_disk_cache(tmp_path):
    from razor_neuro.data import dataset_from_spec
    write_subset(tmp_path)
    ds = dataset_from_spec({"name": "nmnist", "root": str(tmp_path), "frames": 3}, train=True)
    assert len(ds) == 2 and ds[1][1] == 9 and ds[1][0].sum() == 3
    assert not (tmp_path / "razor_cache").exists()  # decoding is faster than reading the cache

"""N-MNIST (``tonic.datasets.NMNIST``), 10 classes: its spec and on-disk layouts, the full
data set or a subset in slayerPytorch's layout (``<id>.bs2`` files and two
``#sample #class`` split files), whose split files are read here."""
from __future__ import annotations

from pathlib import Path

from razor_neuro.data.atis import check_atis_files
from razor_neuro.data.spec import DatasetSpec, Family, fail

__all__ = ["FAMILY", "SPEC", "SUBSET", "check_layout", "read_split"]

#: Folder (under ``root``) of an N-MNIST subset in slayerPytorch's layout.
SUBSET = "NMNISTsmall"

SPEC = DatasetSpec(
    name="nmnist",
    tonic_class="NMNIST",
    sensor_size=(34, 34, 2),
    n_classes=10,
    how_to_get=(
        "download Train.zip and Test.zip from https://www.garrickorchard.com/datasets/n-mnist "
        "(mirror https://data.mendeley.com/datasets/468j46mzdv) and unzip both into <root>/NMNIST/ "
        "so that <root>/NMNIST/Train/0/00002.bin exists; or put a subset in slayerPytorch's layout "
        f"into <root>/{SUBSET}/: <id>.bs2 (or <id>.bin) sample files and one train*.txt and "
        "one test*.txt split file, each a '#sample #class' header and one '<id> <class>' line per sample"
    ),
    # a recording (~4,000 events) decodes and bins in ~4 ms, while tonic's HDF5 cache
    # took 7-24 ms to read one back (measured on 2 CPU cores): caching would slow training
    disk_cache=False,
)

_DIGITS = tuple(str(d) for d in range(10))


def check_layout(root: Path, train: bool) -> Path:
    """The full layout ``<root>/NMNIST/{Train,Test}/<digit>/*.bin`` (returns the split
    folder) or, when ``<root>/NMNIST`` is absent, the subset layout ``<root>/NMNISTsmall/``
    (returns its ``train*.txt`` or ``test*.txt`` split file)."""
    loc = root / SPEC.tonic_class
    if loc.is_dir():
        folder = loc / ("Train" if train else "Test")
        files = sorted(folder.rglob("*.bin")) if folder.is_dir() else []
        if not files:
            raise fail(folder, "expected digit folders 0/ ... 9/ holding N-MNIST .bin event files", SPEC)
        # tonic takes the label from the last character of the folder path, so Train/12/
        # would silently read as class 2
        bad = [f for f in files if f.parent.parent != folder or f.parent.name not in _DIGITS]
        if bad:
            raise fail(bad[0], f"label outside 0-9: expected .bin files only inside the digit folders "
                               f"{folder}/0/ ... {folder}/9/", SPEC)
        return folder
    subset = root / SUBSET
    if not subset.is_dir():
        raise fail(loc, f"expected Train/ and Test/ digit folders here, or the subset layout in {subset}/", SPEC)
    pattern = "train*.txt" if train else "test*.txt"
    splits = sorted(subset.glob(pattern))
    if len(splits) != 1:
        found = ", ".join(s.name for s in splits) or "none"
        raise fail(subset, f"expected exactly one split file {pattern} (found {found})", SPEC)
    return splits[0]


def read_split(split: Path) -> tuple[list[str], list[int]]:
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
            raise fail(split, f"line {n}: expected '<sample id> <class>', got {line.strip()!r}", SPEC) from None
        if not 0 <= label < SPEC.n_classes:
            raise fail(split, f"line {n}: class {label} of sample {sample} is outside 0-{SPEC.n_classes - 1}", SPEC)
        found = [f for f in (split.parent / f"{sample}.bs2", split.parent / f"{sample}.bin") if f.is_file()]
        if len(found) != 1:
            what = "both" if found else "neither"
            raise fail(split, f"line {n}: expected one sample file {sample}.bs2 or {sample}.bin in "
                              f"{split.parent}, found {what}", SPEC)
        files.append(str(found[0]))
        labels.append(label)
    if not files:
        raise fail(split, "split file lists no samples", SPEC)
    return files, labels


FAMILY = Family(SPEC, check_layout,
                # a subset's check_layout returns its split file; tonic's NMNIST finds no
                # digit folders there and reads the samples the file lists
                listed=lambda path: read_split(path) if path.is_file() else None,
                check_files=lambda files: check_atis_files(files, SPEC))

"""ATIS ``.bin`` event files (N-MNIST, N-Caltech101): the size check tonic's reader lacks."""
from __future__ import annotations

import os

from razor_neuro.data.spec import DatasetSpec, fail

__all__ = ["check_atis_files"]


def check_atis_files(files: list[str], spec: DatasetSpec) -> None:
    """Raise :class:`~razor_neuro.data.spec.DatasetError` on the first file that is empty or
    whose size is not a multiple of 5 bytes (one event is 5 bytes): ``read_mnist_file``
    silently mis-parses those."""
    for f in files:
        size = os.path.getsize(f)
        if size == 0 or size % 5:
            raise fail(f, f"corrupt ATIS event file ({size} bytes, expected a non-zero multiple of 5)", spec)

"""Atomic writes: a file or a whole directory appears complete or not at all.

Every output razor-neuro writes (checkpoints, metrics, run/verify JSON, bundles, reports)
goes through here, so a crash or a bad input never leaves a half-written result.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def write_file(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_dir(out: str | Path, writer: Callable[[Path], None], overwrite: bool,
              exists_error: type[Exception]) -> Path:
    """Create directory ``out``: ``writer(tmp)`` fills a temporary sibling, which is then
    renamed into place.  A failure leaves nothing new (and an existing ``out`` untouched).

    Raises:
        exists_error: ``out`` exists and ``overwrite`` is False.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise exists_error(f"{out}: already exists (pass --overwrite to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    old: Path | None = None
    try:
        writer(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; results are shared
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "previous")
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:
                os.replace(old / "previous", out)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out

"""Atomic writes: a file or a whole directory appears complete or not at all.

Every output razor-neuro writes (checkpoints, metrics, run/verify JSON, bundles, reports)
goes through here, so a crash or a bad input never leaves a half-written result, files
are created under the user's umask, and ``--overwrite`` replaces only a razor-neuro
artefact of the same kind (recognised by its own manifest), never anything else.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Callable


class OutputExists(ValueError):
    """An output that would replace something razor-neuro must not replace."""


class OutputUnwritable(ValueError):
    """An output location that cannot be written (a file where a directory belongs, a
    read-only directory)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_file(path: str | Path, data: bytes, replace: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same directory; the file
    gets mode ``0o666`` less the umask, like any file the user creates.

    With ``replace`` an existing ``path`` is replaced (of concurrent writers the last one
    wins); without, the name is claimed atomically (a hard link, which fails when the name
    exists), so of concurrent writers exactly one succeeds.

    Raises:
        OutputExists: ``replace`` is False and ``path`` exists (also when another writer
            created it meanwhile).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExists(f"--out {path}: already exists (pass --overwrite to "
                                   "replace it)") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def check_writable(out: str | Path, option: str, into: bool) -> Path:
    """Raise unless directory output ``out`` can be written; call it before any work.

    Args:
        out: the output directory (need not exist yet).
        option: the option that named it, for the message (e.g. ``'--out'``).
        into: True when files are written inside ``out`` (run directories, run/verify
            JSON); False when ``out`` itself is created by renaming a sibling (bundles,
            reports), so its parent must be writable.
    Raises:
        OutputUnwritable: ``out`` or one of its ancestors is a file, or the directory the
            files would be created in is not writable (probed by creating a file there).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputUnwritable(f"{option} {out}: is an existing file; expected a directory")
    probe = out if into else out.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputUnwritable(f"{option} {out}: {probe} is a file; expected a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".razor-neuro-probe.", dir=probe)
    except OSError as exc:
        raise OutputUnwritable(f"{option} {out}: cannot create files in {probe} "
                               f"({exc.strerror}); expected a writable directory") from None
    os.close(fd)
    os.unlink(tmp)
    return out


def is_artefact(path: str | Path, manifest: str, fmt: str) -> bool:
    """Whether directory ``path`` is a razor-neuro artefact: its ``manifest`` file is a
    JSON object whose ``format`` is ``fmt``."""
    try:
        data = json.loads((Path(path) / manifest).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == fmt


def check_replaceable(out: str | Path, overwrite: bool, manifest: str, fmt: str,
                      inputs: tuple[str | Path, ...] = ()) -> None:
    """Raise :class:`OutputExists` unless directory ``out`` may be (re)placed: it does not
    exist, or ``overwrite`` is set and it is a razor-neuro artefact of format ``fmt``
    (see :func:`is_artefact`); and none of ``inputs`` lies inside it."""
    out = Path(out)
    for src in inputs:
        src_abs, out_abs = Path(src).resolve(), out.resolve()
        if src_abs == out_abs or out_abs in src_abs.parents:
            raise OutputExists(f"--out {out}: holds the input {src}; write to another "
                               "directory")
    while True:  # a concurrent writer may swap ``out`` while it is looked at
        try:
            before = os.lstat(out)
        except FileNotFoundError:
            return
        if not overwrite:
            raise OutputExists(f"--out {out}: already exists (pass --overwrite to replace it)")
        if stat.S_ISDIR(before.st_mode) and is_artefact(out, manifest, fmt):
            return
        try:
            if os.lstat(out).st_ino != before.st_ino:
                continue  # replaced meanwhile: look at the new one
        except FileNotFoundError:
            return
        raise OutputExists(f"--out {out}: is not a {fmt.split('/')[0]} (no {manifest} of "
                           f"format '{fmt}'); --overwrite replaces only that, choose "
                           "another directory")


def write_dir(out: str | Path, writer: Callable[[Path], None], overwrite: bool,
              manifest: str, fmt: str) -> Path:
    """Create directory ``out``: ``writer(tmp)`` fills a temporary sibling, which is then
    renamed into place.  A failure leaves nothing new (and an existing ``out`` untouched).

    With ``overwrite``, an existing ``out`` is replaced only when it is an artefact of
    format ``fmt`` (:func:`check_replaceable`).  Several processes may write one ``out``
    at once: each rename either lands or moves the other writer's complete result aside,
    so the last writer wins and none fails half-way.

    Raises:
        OutputExists: see :func:`check_replaceable`.
    """
    out = Path(out)
    check_replaceable(out, overwrite, manifest, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    old: Path | None = None
    try:
        writer(tmp)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; results are shared
        while True:
            try:
                os.replace(tmp, out)  # lands when out is absent (or an empty directory)
                break
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            if not overwrite:  # another writer created it meanwhile
                raise OutputExists(f"--out {out}: already exists (pass --overwrite to "
                                   "replace it)")
            if old is None:
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            try:
                os.replace(out, Path(tempfile.mkdtemp(dir=old)) / "previous")
            except FileNotFoundError:  # another writer moved it aside first
                pass
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():  # put the previous result back
            for prev in old.glob("*/previous"):
                try:
                    os.replace(prev, out)
                except OSError:  # another writer's complete result landed meanwhile
                    pass
                break
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out

"""Atomic outputs: umask, replacing only razor-neuro artefacts, writability checked up front,
concurrent writers of one directory."""
from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from razor_neuro.atomic import (OutputExists, OutputUnwritable, check_writable, write_dir,
                                write_file)

FMT = "razor-neuro-test/1"


def _artefact(text: str, fmt: str = FMT):
    def fill(tmp: Path) -> None:
        (tmp / "data.txt").write_text(text)
        (tmp / "manifest.json").write_text(json.dumps({"format": fmt}))
    return fill


def readonly_dir(tmp_path: Path) -> Path:
    """A directory this process cannot create files in (as root, chmod does not stop
    writes, so a read-only kernel directory stands in)."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        (d / "probe").touch()
    except OSError:
        return d
    (d / "probe").unlink()
    for candidate in (Path("/sys/kernel"), Path("/proc/sys")):
        try:
            (candidate / ".probe").touch()
        except OSError:
            return candidate
    pytest.skip("no directory this process cannot write to")


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_outputs_follow_the_umask(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        f = write_file(tmp_path / "a.json", b"{}")
        d = write_dir(tmp_path / "d", _artefact("x"), False, "manifest.json", FMT)
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(d.stat().st_mode) == 0o777 & ~mask


def test_overwrite_replaces_only_an_artefact_of_its_kind(tmp_path: Path) -> None:
    out = write_dir(tmp_path / "a", _artefact("old"), False, "manifest.json", FMT)
    with pytest.raises(OutputExists, match="already exists"):
        write_dir(out, _artefact("new"), False, "manifest.json", FMT)
    write_dir(out, _artefact("new"), True, "manifest.json", FMT)
    assert (out / "data.txt").read_text() == "new"
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"weights")
    for target in (run, tmp_path / "run" / "checkpoint.pt"):
        with pytest.raises(OutputExists, match="is not a razor-neuro-test"):
            write_dir(target, _artefact("new"), True, "manifest.json", FMT)
    other = write_dir(tmp_path / "other", _artefact("x", "other/1"), False, "manifest.json",
                      "other/1")
    with pytest.raises(OutputExists, match="is not a razor-neuro-test"):
        write_dir(other, _artefact("new"), True, "manifest.json", FMT)
    assert (run / "checkpoint.pt").read_bytes() == b"weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "other", "run"]


def test_unwritable_outputs_are_found_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputUnwritable, match="--out .*file: is an existing file"):
        check_writable(tmp_path / "file", "--out", into=True)
    with pytest.raises(OutputUnwritable, match="file is a file; expected a directory"):
        check_writable(tmp_path / "file" / "sub", "--out", into=True)
    ro = readonly_dir(tmp_path)
    for into in (True, False):
        with pytest.raises(OutputUnwritable, match="cannot create files in"):
            check_writable(ro / "new" / "deeper", "--out", into=into)
    assert check_writable(tmp_path / "new" / "deeper", "--out", into=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "ro"]


def _writer(out: str, n: int, queue: "multiprocessing.Queue[str]") -> None:
    errors = []
    for i in range(n):
        try:
            write_dir(out, _artefact(f"{os.getpid()} {i}"), True, "manifest.json", FMT)
        except Exception as exc:  # noqa: BLE001 - the test reports every failure
            errors.append(repr(exc))
    queue.put(json.dumps(errors))


def test_concurrent_writers_of_one_directory_never_fail(tmp_path: Path) -> None:
    out = tmp_path / "shared"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(out), 150, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    errors = [e for _ in procs for e in json.loads(queue.get())]
    for p in procs:
        p.join()
    assert errors == []
    assert sorted(p.name for p in out.iterdir()) == ["data.txt", "manifest.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["shared"]  # no temporaries left


def _claimer(path: str, start: "multiprocessing.synchronize.Event",
             queue: "multiprocessing.Queue[str]") -> None:
    start.wait()
    try:
        write_file(path, str(os.getpid()).encode(), replace=False)
        queue.put("wrote")
    except OutputExists as exc:
        queue.put(str(exc))


def test_a_new_file_is_claimed_by_exactly_one_writer(tmp_path: Path) -> None:
    """Issue #26 item 2: without ``replace`` the name is claimed atomically; the losers
    get :class:`OutputExists`, the file holds the winner's bytes, no temporary is left."""
    out = tmp_path / "y.nir"
    ctx = multiprocessing.get_context("fork")
    for _ in range(5):
        out.unlink(missing_ok=True)
        start, queue = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_claimer, args=(str(out), start, queue)) for _ in range(4)]
        for p in procs:
            p.start()
        start.set()
        results = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        assert results.count("wrote") == 1, results
        assert all("already exists" in r for r in results if r != "wrote")
        assert int(out.read_text()) in {p.pid for p in procs}
        assert [p.name for p in tmp_path.iterdir()] == ["y.nir"]
    write_file(out, b"new")  # replace=True (the default) replaces
    assert out.read_bytes() == b"new"

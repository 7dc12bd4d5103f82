"""Thread counts from the cores a process may use, and trainings sharing them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from razor_neuro import threads
from razor_neuro.cli import set_threads


def test_available_cores_from_affinity_capped_by_omp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads.available_cores() == 6
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert threads.available_cores() == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "16")  # cannot exceed the affinity mask
    assert threads.available_cores() == 6
    assert threads.choose_threads(3) == 3 and threads.choose_threads(None) == 6
    with pytest.raises(ValueError, match="positive"):
        threads.choose_threads(0)


def test_trainings_share_the_cores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(threads, "JOBS", tmp_path / "jobs")
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    assert threads.running_jobs() == 1 and threads.fair_share() == 4  # nobody registered
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with threads.registered_job():
            assert threads.fair_share() == 4  # alone
            (tmp_path / "jobs" / str(other.pid)).touch()  # a second training runs
            (tmp_path / "jobs" / "999999999").touch()  # one that died unregistered
            assert threads.running_jobs() == 2 and threads.fair_share() == 2
            assert not (tmp_path / "jobs" / "999999999").exists()
        assert not (tmp_path / "jobs" / str(os.getpid())).exists()  # unregistered on exit
        assert threads.running_jobs() == 1
    finally:
        other.kill()
        other.wait()
    assert threads.running_jobs() == 1 and threads.fair_share() == 4  # the other one ended


def test_parallel_rows_cover_every_row_once() -> None:
    seen: list[tuple[int, int]] = []
    threads.parallel_rows(lambda a, b: seen.append((a, b)), 10, 3)
    covered = sorted(r for a, b in seen for r in range(a, b))
    assert covered == list(range(10)) and len(seen) == 3
    seen.clear()
    threads.parallel_rows(lambda a, b: seen.append((a, b)), 2, 8)  # more threads than rows
    assert sorted(seen) == [(0, 1), (1, 2)]


def test_cli_threads_option_sets_omp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    set_threads(None)
    assert "OMP_NUM_THREADS" not in os.environ and os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # a user's choice is kept
    set_threads(3)
    assert os.environ["OMP_NUM_THREADS"] == "3" and os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


@pytest.mark.parametrize("value", ["0", "abc", "-2", "2,x"])
def test_invalid_omp_num_threads_is_ignored_without_noise(value: str, tmp_path: Path) -> None:
    """Issue #26 item 12: OpenMP printed "Invalid value" and went on; now the value is
    ignored (a note under --verbose) and stderr holds only the command's own line."""
    (tmp_path / "junk.pt").write_text("not a checkpoint\n")  # loads torch, then exit 3
    cmd = [sys.executable, "-m", "razor_neuro.cli", "export", str(tmp_path / "junk.pt"),
           "--out", str(tmp_path / "b")]
    env = {**os.environ, "OMP_NUM_THREADS": value}
    quiet = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert quiet.returncode == 3
    assert quiet.stderr.splitlines() == [quiet.stderr.strip()] and "libgomp" not in quiet.stderr
    assert "not a readable torch checkpoint" in quiet.stderr
    verbose = subprocess.run(cmd + ["--verbose"], capture_output=True, text=True, env=env)
    assert f"OMP_NUM_THREADS={value!r} is not a positive integer" in verbose.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt"]

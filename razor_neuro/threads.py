"""How many CPU threads a job uses: the cores this process may run on, not the machine's.

``available_cores()`` is the size of the CPU affinity mask (what ``taskset``, cgroups'
cpusets and schedulers such as Slurm grant), further capped by ``OMP_NUM_THREADS`` when
it is set.  ``--threads`` on the command line overrides both.

Trainings share the cores with each other: each registers itself while it runs
(:func:`registered_job`, a file named by its pid in :data:`JOBS`), and one that starts
takes :func:`fair_share` threads, the available cores split evenly between the trainings
registered then.  The count is fixed for the whole training (a thread count can change
floating-point sums, so a run is reproducible only with the same count; ``metrics.json``
records it).

``parallel_rows`` splits a row range over threads for the compiled kernels, which release
the GIL.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np

__all__ = ["available_cores", "choose_threads", "fair_share", "parallel_rows",
           "registered_job", "running_jobs", "JOBS"]

#: where running trainings register (one empty file per process, named by its pid)
JOBS = Path(tempfile.gettempdir()) / f"razor-neuro-jobs-{os.getuid()}"


def available_cores() -> int:
    """Cores this process may use: its affinity mask, capped by ``OMP_NUM_THREADS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        cores = min(cores, int(env))
    return max(1, cores)


def choose_threads(requested: Optional[int] = None) -> int:
    """``requested`` (``--threads``) when given, else :func:`available_cores`."""
    if requested is not None:
        if requested < 1:
            raise ValueError(f"threads: expected a positive count, got {requested}")
        return int(requested)
    return available_cores()


@contextlib.contextmanager
def registered_job() -> Iterator[None]:
    """Register this process in :data:`JOBS` while the block runs."""
    JOBS.mkdir(parents=True, exist_ok=True)
    entry = JOBS / str(os.getpid())
    entry.touch()
    try:
        yield
    finally:
        entry.unlink(missing_ok=True)


def running_jobs() -> int:
    """Registered processes still alive (at least 1: the caller); entries of processes
    that died without unregistering are removed."""
    count = 0
    for entry in JOBS.glob("*") if JOBS.is_dir() else ():
        try:
            os.kill(int(entry.name), 0)
        except (ValueError, ProcessLookupError):
            entry.unlink(missing_ok=True)
            continue
        except PermissionError:  # alive, another user's
            pass
        count += 1
    return max(1, count)


def fair_share() -> int:
    """:func:`available_cores` split evenly between the :func:`running_jobs` (at least 1)."""
    return max(1, available_cores() // running_jobs())


def parallel_rows(kernel: Callable[[int, int], None], rows: int, threads: int) -> None:
    """Run ``kernel(r0, r1)`` over ``rows`` rows in ``threads`` contiguous chunks at once."""
    threads = max(1, min(int(threads), rows))
    if threads == 1:
        kernel(0, rows)
        return
    bounds = np.linspace(0, rows, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(kernel, bounds[:-1], bounds[1:]))

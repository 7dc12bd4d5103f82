"""How many CPU threads a job uses: the cores this process may run on, not the machine's.

``available_cores()`` is the size of the CPU affinity mask (what ``taskset``, cgroups'
cpusets and schedulers such as Slurm grant), further capped by ``OMP_NUM_THREADS`` when
it is set.  ``--threads`` on the command line overrides both.  ``parallel_rows`` splits a
row range over threads for the compiled kernels, which release the GIL.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

import numpy as np

__all__ = ["available_cores", "choose_threads", "parallel_rows"]


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


def parallel_rows(kernel: Callable[[int, int], None], rows: int, threads: int) -> None:
    """Run ``kernel(r0, r1)`` over ``rows`` rows in ``threads`` contiguous chunks at once."""
    threads = max(1, min(int(threads), rows))
    if threads == 1:
        kernel(0, rows)
        return
    bounds = np.linspace(0, rows, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(kernel, bounds[:-1], bounds[1:]))

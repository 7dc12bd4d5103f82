"""Run a Lava process graph so that Ctrl-C stops it within seconds and leaves nothing.

Lava forks one OS process per process model, plus a shared-memory server.  A terminal's
Ctrl-C (and ``timeout -s INT``) signals the whole process group: left alone, every child
raises ``KeyboardInterrupt`` in the middle of its channel protocol and this process then
waits forever for answers that never come (``Runtime.stop``), while Python's exit handler
waits for the children.

So while a graph runs, SIGINT is handled by this process alone: the forked children
inherit a handler that ignores it, and this process, on the signal, ends the children it
started (by pid), shuts the shared-memory server down (which unlinks the segments) and
raises ``KeyboardInterrupt`` for the caller to report.  Python drops an exception raised
while it runs a fork hook or a finaliser, so until the teardown has begun the signal is
re-delivered to this process every :data:`_RETRY_S` seconds (and the dropped one is not
printed).  A second Ctrl-C during the
teardown is ignored.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Any

__all__ = ["run_steps"]

_JOIN_S = 5.0    # per child after SIGTERM, then SIGKILL
_RETRY_S = 0.5   # re-delivery of a SIGINT whose KeyboardInterrupt Python dropped


def _child_pids() -> set[int]:
    """Pids of this process's children (Linux ``/proc``; else those multiprocessing
    started)."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return {c.pid for c in multiprocessing.active_children() if c.pid}
    pids: set[int] = set()
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:  # a thread that ended meanwhile
            pass
    return pids


def _end(pids: set[int]) -> None:
    """SIGTERM ``pids`` (children of this process), reap them, SIGKILL those still alive
    after :data:`_JOIN_S`.  Children multiprocessing knows are joined through it, so that
    its exit handler does not wait for them."""
    known = {c.pid: c for c in multiprocessing.active_children() if c.pid in pids}
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + _JOIN_S
    for pid in pids:
        if pid in known:  # Lava's SystemProcess.join takes no timeout: the base class's
            multiprocessing.Process.join(known[pid], max(0.0, deadline - time.monotonic()))
            if known[pid].is_alive():
                known[pid].kill()
                multiprocessing.Process.join(known[pid])
            continue
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)


def _tear_down(source: Any, before: set[int]) -> None:
    """End every child this process started since ``before`` (Lava's processes) and free
    the shared memory.  Uses Lava's private runtime fields: Lava 0.10 has no public way
    to abandon a run whose processes no longer answer."""
    from multiprocessing import resource_tracker

    runtime = getattr(source, "runtime", None)
    smm = getattr(getattr(runtime, "_messaging_infrastructure", None), "_smm", None)
    server = getattr(getattr(getattr(smm, "_manager", None), "_process", None), "pid", None)
    keep = before | {getattr(resource_tracker._resource_tracker, "_pid", None)}
    _end(_child_pids() - keep - {server})
    if smm is not None:
        try:
            smm.shutdown()  # the server unlinks every segment, then is joined
        except Exception:  # noqa: BLE001 - interrupted while the server started
            pass
    _end(_child_pids() - keep)  # a server that did not shut down
    if runtime is not None:  # each process's __del__ stops the runtime: nothing is left
        runtime.stop = lambda: None


def run_steps(source: Any, condition: Any, run_cfg: Any) -> None:
    """``source.run(condition, run_cfg)`` then ``source.stop()``, interruptible.

    Raises:
        KeyboardInterrupt: SIGINT arrived during the run; every child has ended.
    """
    owner = os.getpid()
    stopping, interrupted = threading.Event(), threading.Event()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT)
    before = _child_pids()

    def redeliver() -> None:
        while not stopping.wait(_RETRY_S):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    retry = threading.Thread(target=redeliver, name="razor-neuro-sigint", daemon=True)

    def on_sigint(signum: int, frame: Any) -> None:
        if os.getpid() != owner or stopping.is_set() or previous == signal.SIG_IGN:
            return  # a Lava child (this process ends it), already stopping, or ignored
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)
            return
        if not interrupted.is_set():
            interrupted.set()
            retry.start()
        raise KeyboardInterrupt

    def unraisable(info: Any) -> None:  # a dropped KeyboardInterrupt: redelivered
        if not isinstance(info.exc_value, KeyboardInterrupt):
            hook(info)

    hook = sys.unraisablehook
    if main:  # signal handlers can only be set from the main thread
        signal.signal(signal.SIGINT, on_sigint)
        sys.unraisablehook = unraisable
    try:
        try:
            source.run(condition=condition, run_cfg=run_cfg)
        except KeyboardInterrupt:
            raise
        except BaseException:
            source.stop()
            raise
        source.stop()
        if interrupted.is_set():  # its KeyboardInterrupt was dropped; the run finished
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        stopping.set()
        _tear_down(source, before)
        raise
    finally:
        stopping.set()
        if retry.is_alive():
            retry.join()
        if main:
            signal.signal(signal.SIGINT, previous)
            sys.unraisablehook = hook

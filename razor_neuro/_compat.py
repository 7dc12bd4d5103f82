"""Run lava-nc 0.10 on Python 3.11 and keep third-party import noise quiet.

lava-nc 0.10.0 declares Python < 3.11 because ``lava/magma/compiler/var_model.py`` uses
dataclass *instances* (``ByteEncoder()``) as field defaults.  Python 3.11 rejects any
unhashable default (bpo-44674).  Instead of editing site-packages we patch
``dataclasses._get_field`` for the duration of that one import, turning such a default
into ``default_factory=deepcopy(default)``; every other module is left untouched.

Lava's runtime also calls ``multiprocessing.set_start_method('fork')`` at import, which
raises "context has already been set" once anything in the process (a DataLoader, a
previous training run) has fixed the start method, even to ``fork`` itself; that one call
is made tolerant while the module is imported.

lava-dl's ``slayer`` prints a Prophesee warning from its object-detection subpackage and
torch logs a CUDA_HOME warning on CPU-only machines; both are silenced while importing.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import io
import logging
import os
import sys
import warnings
from types import ModuleType
from typing import Any, Iterator

_VAR_MODEL = "lava.magma.compiler.var_model"
_LAVA_MP = "lava.magma.runtime.message_infrastructure.multiprocessing"


def _is_unhashable_instance_default(value: Any) -> bool:
    return (dataclasses.is_dataclass(value) and not isinstance(value, type)
            and type(value).__hash__ is None)


@contextlib.contextmanager
def _dataclass_default_factories(module: str) -> Iterator[None]:
    """Inside the block, unhashable dataclass-instance defaults of classes defined in
    ``module`` become ``default_factory`` fields (a fresh deep copy per instance)."""
    original = dataclasses._get_field  # type: ignore[attr-defined]

    def patched(cls: type, name: str, *args: Any) -> Any:
        default = cls.__dict__.get(name, dataclasses.MISSING)
        if cls.__module__ == module and _is_unhashable_instance_default(default):
            setattr(cls, name, dataclasses.field(
                default_factory=functools.partial(copy.deepcopy, default)))
        return original(cls, name, *args)

    dataclasses._get_field = patched  # type: ignore[attr-defined]
    try:
        yield
    finally:
        dataclasses._get_field = original  # type: ignore[attr-defined]


@contextlib.contextmanager
def _tolerant_start_method() -> Iterator[None]:
    """Inside the block, ``multiprocessing.set_start_method(m)`` is a no-op when ``m`` is
    already the start method, and forces ``m`` when another one was fixed."""
    import multiprocessing as mp
    original = mp.set_start_method
    current = mp.get_start_method(allow_none=True)

    def tolerant(method: str, force: bool = False) -> None:
        if current is None:
            original(method, force)
        elif method != current:
            original(method, force=True)

    mp.set_start_method = tolerant  # type: ignore[assignment]
    try:
        yield
    finally:
        mp.set_start_method = original  # type: ignore[assignment]


def patch_lava() -> None:
    """Make ``import lava.magma...`` work on Python 3.11, also after the multiprocessing
    start method has been fixed.  Idempotent."""
    if _VAR_MODEL not in sys.modules:
        with _dataclass_default_factories(_VAR_MODEL):
            import lava.magma.compiler.var_model  # noqa: F401
    if _LAVA_MP not in sys.modules:
        with _tolerant_start_method():
            import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence stdout prints, warnings and torch's CUDA_HOME log while importing."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.setLevel(level)


def slayer() -> ModuleType:
    """``lava.lib.dl.slayer``, imported quietly, with its CPU leaky-integrator loop compiled
    (:mod:`razor_neuro.li_dynamics`: the same integers)."""
    os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    with quiet():
        patch_lava()
        import lava.lib.dl.slayer as module
        from lava.lib.dl.slayer.neuron.dynamics import leaky_integrator
    from razor_neuro import li_dynamics
    li_dynamics.install(leaky_integrator)
    return module


def netx() -> ModuleType:
    """``lava.lib.dl.netx``, imported quietly (needs the lava-nc patch)."""
    with quiet():
        patch_lava()
        slayer()
        from lava.lib.dl import netx as module
    return module

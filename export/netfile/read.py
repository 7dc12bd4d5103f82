"""Read a netx HDF5 network description (``*.net``): walk the ``layer/<i>`` groups in
order and hand each to the reader of its ``type`` (:mod:`.blocks`), as netx's
``hdf5.Network`` does.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

from razor_neuro.export.netfile.blocks import (SUPPORTED, Walk, read_conv, read_dense, read_flatten, read_input,
                     read_str)
from razor_neuro.export.netfile.ir import InputShapeUnknown, NetFileError, Network, one_line
from razor_neuro.export.netfile.spikes import check_run_fits

__all__ = ["read_network", "read_network_for"]

_READERS: Dict[str, Callable[[Any, int, Walk], Walk]] = {
    "input": read_input, "flatten": read_flatten, "conv": read_conv, "dense": read_dense}


def read_network(path: "str | os.PathLike[str]",
                 input_shape: Optional[Sequence[int]] = None) -> Network:
    """Read a netx HDF5 network.

    Args:
        path: the ``.net``/``.h5`` file.
        input_shape: (x, y, f) input shape for files whose first block is a conv
            layer and that carry no input layer (netx needs it too).  Ignored when
            the file defines it; a conflicting value raises :class:`NetFileError`.

    Returns:
        :class:`Network` with one :class:`NetLayer` per Lava block.

    Raises:
        NetFileError: missing/corrupt file, unsupported layer or neuron type,
            inconsistent shapes (one-line message naming the file).
    """
    import h5py

    name = os.fspath(path)
    if not os.path.isfile(name):
        raise NetFileError(f"{name}: no such network file")
    try:
        handle = h5py.File(name, "r")
    except Exception as exc:  # h5py raises OSError for corrupt files
        raise NetFileError(f"{name}: cannot read netx HDF5 file "
                           f"({one_line(exc)})") from None
    try:
        return _walk(handle, name, input_shape)
    except NetFileError:
        raise
    except Exception as exc:
        raise NetFileError(f"{name}: malformed netx network description "
                           f"({type(exc).__name__}: {one_line(exc)})") from None
    finally:
        handle.close()


def _walk(handle: Any, name: str, given_shape: Optional[Sequence[int]]) -> Network:
    """Every ``layer/<i>`` group through its block reader, then the :class:`Network`."""
    if "layer" not in handle:
        raise NetFileError(f"{name}: not a netx network file (no 'layer' group)")
    group = handle["layer"]
    count = len(group)
    walk = Walk(name=name, given=tuple(int(v) for v in given_shape)
                if given_shape is not None else None)
    for i in range(count):
        if f"{i}" not in group:
            raise NetFileError(f"{name}: layer {i} is missing (found {count} layer "
                               f"groups)")
        cfg = group[f"{i}"]
        ltype = read_str(cfg, "type")
        reader = _READERS.get(ltype)
        if reader is None:
            raise NetFileError(f"{name}: layer {i}: layer type {ltype!r} is not supported "
                               f"({SUPPORTED})")
        walk = reader(cfg, i, walk)
    if not walk.layers:
        raise NetFileError(f"{name}: no neuron layers found ({SUPPORTED})")
    assert walk.net_input is not None
    return Network(path=name, layers=walk.layers, input_shape=tuple(walk.net_input))


def read_network_for(net: "str | os.PathLike[str]",
                     spikes: "str | os.PathLike[str]", steps: Optional[int] = None) -> Network:
    """Read a netx network to run on the spike file ``spikes`` (for ``steps`` steps, when
    given): a network whose first layer has no Input block takes its input shape from a
    dense ``[*input_shape, T]`` array.  Every other fault of the network is reported as
    itself.

    Raises:
        NetFileError: as :func:`read_network`, an unreadable spike file, or ``steps`` that
            cannot fit in memory (:func:`~.spikes.check_run_fits`, before any allocation).
    """
    network = _network_for(net, spikes)
    if steps is not None:
        check_run_fits(network, steps)
    return network


def _network_for(net: "str | os.PathLike[str]", spikes: "str | os.PathLike[str]") -> Network:
    try:
        return read_network(net)
    except InputShapeUnknown as exc:
        unknown = exc
    try:
        raw = np.load(os.fspath(spikes), mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise NetFileError(f"{os.fspath(spikes)}: cannot read spike file "
                           f"({one_line(exc)})") from None
    try:
        return read_network(net, tuple(raw.shape[:-1]))
    except NetFileError:
        if raw.ndim > 2:
            raise
    raise NetFileError(f"{unknown}; {os.fspath(spikes)} of shape {raw.shape} gives none "
                       "(slayer events carry no shape): expected a dense [x, y, f, T] input")

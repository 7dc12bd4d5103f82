"""Read input spike files (``.npy``) into dense ``(*input_shape, T)`` uint8 arrays in
netx order.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple

import numpy as np

from razor_neuro.layout import swap_spike_order
from razor_neuro.export.netfile.ir import NetFileError, one_line

__all__ = ["read_spikes", "check_run_fits", "BYTES_PER_NEURON_STEP"]

#: the least memory a run keeps per neuron (input and layers) and step: one float64 record
#: (Lava's recorders hold one per step; the reference and the comparison more)
BYTES_PER_NEURON_STEP = 8


def _available_bytes() -> int:
    """Memory the operating system can still give (``MemAvailable``, else free pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def check_run_fits(network: "object", steps: int, option: str = "--steps") -> None:
    """Refuse, before anything is allocated, a run of ``steps`` steps whose least memory
    (:data:`BYTES_PER_NEURON_STEP` per neuron of ``network``'s input and layers and per
    step) exceeds the memory available.

    Raises:
        NetFileError: one line naming ``option``, the need and what is available.
    """
    neurons = int(np.prod(network.input_shape)) + sum(  # type: ignore[attr-defined]
        int(np.prod(layer.output_shape)) for layer in network.layers)  # type: ignore[attr-defined]
    need, have = steps * neurons * BYTES_PER_NEURON_STEP, _available_bytes()
    if need > have:
        raise NetFileError(f"{option} {steps}: a run of {steps} steps over {neurons} neurons "
                           f"needs at least {need / 2**30:,.1f} GiB; {have / 2**30:,.1f} GiB "
                           f"of memory is available (expected fewer steps)")


def read_spikes(path: "str | os.PathLike[str]",
                input_shape: Optional[Sequence[int]] = None,
                num_steps: Optional[int] = None) -> np.ndarray:
    """Read input spikes from a ``.npy`` file.

    Two formats are accepted:

    * dense: an array shaped like the network input plus a trailing time axis, in
      netx order (W x H x C x T for a conv input, N x T for a dense input), values
      0/1;
    * slayer's numpy event format (``slayer.io.read_np_spikes``): an
      (events x 3) array ``(x, c, t)`` or (events x 4) array ``(x, y, c, t)``, time
      in ms, binned to 1-ms steps with slayer's ``to_tensor`` (OR binning).  1-D
      events land on neuron ``c * X + x`` of a dense input (slayer's (C, X) flattened);
      2-D events are reordered from slayer's (C, H, W) to netx's (W, H, C), or
      C-order flattened for a dense input.

    Args:
        path: the ``.npy`` file.
        input_shape: expected frame shape in netx order (e.g. ``network.input_shape``);
            required for the event format unless it can be inferred from the events.
        num_steps: number of time steps T for event files (default: last event + 1).

    Returns:
        uint8 array of shape ``(*input_shape, T)``.

    Raises:
        NetFileError: unreadable file or a shape that does not fit (one-line message
            naming the file and the expected shape).
    """
    name = os.fspath(path)
    shape = tuple(int(v) for v in input_shape) if input_shape is not None else None
    expect = f"expected {shape + ('T',) if shape else '(*input_shape, T)'}"
    try:
        data = np.load(name, allow_pickle=False)
    except Exception as exc:
        raise NetFileError(f"{name}: cannot read spike file ({one_line(exc)})") from None
    if not isinstance(data, np.ndarray) or data.ndim < 2:
        raise NetFileError(f"{name}: spike array of shape "
                           f"{getattr(data, 'shape', None)} is not (*input_shape, T) "
                           f"nor slayer events; {expect}")
    if data.size == 0:
        raise NetFileError(f"{name}: empty spike array of shape {data.shape}; {expect} "
                           "with T >= 1, or at least one slayer event")

    is_binary = data.dtype == bool or bool(np.all((data == 0) | (data == 1)))
    if shape is not None and tuple(data.shape[:-1]) == shape:
        if not is_binary:
            raise NetFileError(f"{name}: dense spike array must hold 0/1 values; "
                               f"{expect}")
        return _fit_steps(data.astype(np.uint8), num_steps)
    events = data.ndim == 2 and data.shape[1] in (3, 4) and not (
        shape is None and is_binary)
    if not events:
        if shape is None and is_binary:
            return _fit_steps(data.astype(np.uint8), num_steps)
        raise NetFileError(f"{name}: spike array of shape {data.shape} does not fit; "
                           f"{expect}")
    coords = data[:, :-1]
    if not np.issubdtype(data.dtype, np.number) or not np.all(coords == np.round(coords)):
        raise NetFileError(f"{name}: slayer events of shape {data.shape} need integer "
                           f"(x, [y,] c) columns, got {coords.flat[0]!r}; or {expect}")
    return _events_to_dense(name, shape, num_steps, expect)


def _fit_steps(data: np.ndarray, num_steps: Optional[int]) -> np.ndarray:
    """``(..., T)`` cut or zero-padded to ``(..., num_steps)`` (unchanged for None)."""
    if num_steps is None or num_steps == data.shape[-1]:
        return data
    if num_steps < data.shape[-1]:
        return np.ascontiguousarray(data[..., :num_steps])
    pad = [(0, 0)] * (data.ndim - 1) + [(0, num_steps - data.shape[-1])]
    return np.pad(data, pad)


def _events_to_dense(name: str, shape: Optional[Tuple[int, ...]],
                     num_steps: Optional[int], expect: str) -> np.ndarray:
    """slayer events of the file ``name`` binned to uint8 ``(*shape, T)`` in netx order;
    ``shape`` None: inferred from the largest event coordinates."""
    from razor_neuro._compat import slayer

    event = slayer().io.read_np_spikes(name)
    x = np.round(event.x).astype(int)
    c = np.round(event.c).astype(int)
    t = np.round(event.t).astype(int)
    if len(t) and (x.min() < 0 or c.min() < 0 or t.min() < 0):
        raise NetFileError(f"{name}: negative event coordinates; {expect}")
    steps = int(num_steps) if num_steps is not None else int(t.max(initial=-1)) + 1
    if event.dim == 1:
        channels = int(c.max(initial=0)) + 1
        if shape is None:
            width = int(x.max(initial=-1)) + 1
            shape = (channels * width,)
        if len(shape) != 1 or shape[0] % channels:
            raise NetFileError(f"{name}: 1-D events with {channels} channel(s) do not "
                               f"fit input shape {shape}; {expect}")
        width = shape[0] // channels
        if len(x) and x.max() >= width:
            raise NetFileError(f"{name}: event x index {x.max()} out of range for input "
                               f"shape {shape}; {expect}")
        dense = event.to_tensor(dim=(channels, width, steps))
        return dense.reshape(shape[0], steps).astype(np.uint8)
    y = np.round(event.y).astype(int)
    if shape is None:
        shape = (int(x.max(initial=-1)) + 1, int(y.max(initial=-1)) + 1,
                 int(c.max(initial=0)) + 1)
    if len(shape) == 3:
        width, height, channels = shape
    elif len(shape) == 1:
        width = int(x.max(initial=-1)) + 1
        height = int(y.max(initial=-1)) + 1
        channels = shape[0] // max(width * height, 1)
        if width * height * channels != shape[0]:
            raise NetFileError(f"{name}: 2-D events ({width}x{height}) do not fit the "
                               f"dense input shape {shape}; {expect}")
    else:
        raise NetFileError(f"{name}: 2-D events do not fit input shape {shape}; "
                           f"{expect}")
    if len(x) and (x.max() >= width or y.max() >= height or c.max() >= channels):
        raise NetFileError(f"{name}: event coordinates out of range for input shape "
                           f"{shape}; {expect}")
    dense = event.to_tensor(dim=(channels, height, width, steps))  # C, H, W, T
    if len(shape) == 3:
        return swap_spike_order(dense[None])[0].astype(np.uint8)
    return dense.reshape(shape[0], steps).astype(np.uint8)

"""Shape orders and conv geometry, defined once.

Orders (spike tensors carry samples first and time last):

* netx / Lava: ``(x, y, f)`` = ``(W, H, C)``; spikes ``[N, W, H, C, T]``; dense ``(n,)``.
* slayer / torch / NIR: ``(C, H, W)``; spikes ``[N, C, H, W, T]``.

The two 3-d orders are each other's reverse, so one conversion serves both directions.
netx's flatten connection (``out.transpose([2, 1, 0]).flatten()``) is a C-order flatten of
``(C, H, W)``: :func:`flatten_spikes`.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

__all__ = ["conv_out_size", "conv_out_shape", "flatten_spikes", "reverse_order",
           "swap_spike_order"]


def reverse_order(shape: Sequence[int]) -> Tuple[int, ...]:
    """``(x, y, f)`` <-> ``(C, H, W)`` (any length: the order reversed, as ints)."""
    return tuple(int(v) for v in shape[::-1])


def swap_spike_order(x: np.ndarray) -> np.ndarray:
    """Spikes ``[N, C, H, W, T]`` <-> ``[N, W, H, C, T]`` (contiguous); any other rank
    (``[N, n, T]``) is returned unchanged."""
    if x.ndim == 5:
        return np.ascontiguousarray(x.transpose(0, 3, 2, 1, 4))
    return x


def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of one convolved axis (torch's / netx's formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_out_shape(in_shape: Sequence[int], c_out: int, kernel: Sequence[int],
                   stride: Sequence[int], padding: Sequence[int],
                   dilation: Sequence[int]) -> Tuple[int, int, int]:
    """Output shape ``(x, y, c_out)`` of a conv on ``in_shape = (x, y, c_in)``; kernel,
    stride, padding and dilation per axis in the same (x, y) order."""
    x, y = (conv_out_size(in_shape[a], kernel[a], stride[a], padding[a], dilation[a])
            for a in range(2))
    return int(x), int(y), int(c_out)


def flatten_spikes(spikes: np.ndarray) -> np.ndarray:
    """What netx's flatten connection (``out.transpose([2, 1, 0]).flatten()``) delivers:
    ``[N, x, y, f, T]`` -> ``[N, f*y*x, T]`` (C-order over ``(f, y, x)``, i.e. slayer's
    ``(C, H, W)`` flatten)."""
    n, t = spikes.shape[0], spikes.shape[-1]
    return np.moveaxis(spikes, (1, 2, 3), (3, 2, 1)).reshape(n, -1, t)

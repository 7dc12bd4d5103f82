"""Event-driven synapses of Lava's fixed-point Dense and Conv models, fused with the neurons.

For binary input spikes ``s`` the synaptic input is the sum of the weights of the spikes
that arrived, so each spike adds its fan-out once (what Loihi does, and far cheaper than
a dense product when few inputs spike).  The weights are integers held in float64: every
partial sum is an exact integer (the reference checks that no fan-in can reach 2**53), so
the sums are exact in any order, and the neurons read them without a conversion.  Spikes are
in netx order with time last, as everywhere in the reference.

    Dense (``PyDenseModelBitAcc``):   a[n, o, t] = shift(sum_{i: s[n, i, t]} w[i, o])
        with Lava's arithmetic shift of each sum by the weight exponent
    Conv (``PyConvModelFixed``):      a[n, x', y', o, t] = wrap24(sum w[o, c - g*C_g, ky, kx])
        over spikes s[n, x, y, c, t] with y = y'*stride_y - pad_y + ky*dil_y (x likewise)
        and o in the group g = c // C_g of c (cross-correlation: netx's kernel flip and
        scipy's flip back are folded into ``w``, which is in torch's conv2d layout);
        wrap24 is Lava's ``signed_clamp(bits=24)``, applied where a sum can pass 2**23.

:func:`dense_layer` and :func:`conv_layer` build one sample's input in a small buffer and
run the sample's neurons on it (:func:`~razor_neuro.export.neuron.cuba_sample`) before the
next sample: no [N, K, S] input array, so the work stays in the cache.  Samples are split
over threads (the kernels release the GIL).
"""
from __future__ import annotations

from typing import Optional, Tuple

import numba
import numpy as np

from razor_neuro.threads import parallel_rows

from razor_neuro.export.neuron import CubaParams, cuba_sample, neuron_args, outputs

__all__ = ["dense_events", "dense_layer", "conv_layer"]

_M = 1 << 23  # half of Lava's 24-bit synaptic range


@numba.njit(cache=True, nogil=True)
def _active(bits, found):  # pragma: no cover - compiled
    """Indices of the set entries of the 1-d ``bits`` into ``found``; returns their count
    (a loop of its own: kept this small it runs at memory speed, most bits being 0)."""
    count = 0
    for index in range(bits.shape[0]):
        if bits[index]:
            found[count] = index
            count += 1
    return count


@numba.njit(cache=True, nogil=True)
def _dense_sum(s, w, buf, found):  # pragma: no cover - compiled
    """buf [S, O] = sum of the rows w[i] of the spikes s[i, t] ([I, S]) per step
    (``found``: [I * S] scratch)."""
    buf[:] = 0
    steps = s.shape[1]
    for e in range(_active(s.reshape(-1), found)):
        i, t = found[e] // steps, found[e] % steps
        for o in range(w.shape[1]):
            buf[t, o] += w[i, o]


@numba.njit(cache=True, nogil=True)
def _shift(buf, weight_exp):  # pragma: no cover - compiled
    if weight_exp > 0:
        buf *= 2.0 ** weight_exp
    elif weight_exp < 0:
        buf[:] = np.floor(buf * 2.0 ** weight_exp)


@numba.njit(cache=True, nogil=True)
def _dense(s, w, weight_exp, out, n0, n1):  # pragma: no cover - compiled
    buf = np.zeros((s.shape[2], w.shape[1]))
    found = np.empty(s.shape[1] * s.shape[2], dtype=np.int64)
    for n in range(n0, n1):
        _dense_sum(s[n], w, buf, found)
        _shift(buf, weight_exp)
        out[n] = buf.T


@numba.njit(cache=True, nogil=True)
def _dense_layer(s, w, weight_exp, lag, decay_u, decay_v, vth, bias, fixed, wrap, reset,
                 spikes, u_out, v_out, states, n0, n1):  # pragma: no cover - compiled
    k = w.shape[1]
    buf = np.zeros((s.shape[2], k))
    u, v, fired = np.empty(k), np.empty(k), np.empty((spikes.shape[2], k), dtype=np.bool_)
    found = np.empty(s.shape[1] * s.shape[2], dtype=np.int64)
    for n in range(n0, n1):
        _dense_sum(s[n], w, buf, found)
        _shift(buf, weight_exp)
        cuba_sample(buf, lag, decay_u, decay_v, vth, bias, fixed, wrap, reset, u, v, fired,
                    spikes[n], u_out[n], v_out[n], states)


@numba.njit(cache=True, nogil=True)
def _conv_layer(s, w, ytab, ycount, xtab, xcount, out_x, out_y, wrap24, lag, decay_u,
                decay_v, vth, bias, fixed, wrap, reset, spikes, u_out, v_out, states,
                n0, n1):  # pragma: no cover - compiled
    width, height, channels, steps = s.shape[1], s.shape[2], s.shape[3], s.shape[4]
    groups_out, per_group = w.shape[0], w.shape[1]
    group_out = groups_out // (channels // per_group)
    k = out_x * out_y * groups_out
    buf = np.zeros((steps, k))
    u, v, fired = np.empty(k), np.empty(k), np.empty((spikes.shape[2], k), dtype=np.bool_)
    found = np.empty(width * height * channels * steps, dtype=np.int64)
    for n in range(n0, n1):
        buf[:] = 0
        for e in range(_active(s[n].reshape(-1), found)):
            index = found[e]
            t = index % steps
            c = (index // steps) % channels
            y = (index // (steps * channels)) % height
            x = index // (steps * channels * height)
            g = c // per_group
            cc = c - g * per_group
            for i in range(xcount[x]):
                kx, ox = xtab[x, i, 0], xtab[x, i, 1]
                for m in range(ycount[y]):
                    ky, oy = ytab[y, m, 0], ytab[y, m, 1]
                    base = (ox * out_y + oy) * groups_out
                    for o in range(g * group_out, (g + 1) * group_out):
                        buf[t, base + o] += w[o, cc, ky, kx]
        if wrap24:
            for t in range(steps):
                for j in range(k):
                    buf[t, j] = (buf[t, j] + _M) % (2 * _M) - _M
        cuba_sample(buf, lag, decay_u, decay_v, vth, bias, fixed, wrap, reset, u, v, fired,
                    spikes[n], u_out[n], v_out[n], states)


def _taps(size: int, out_size: int, kernel: int, stride: int, padding: int,
          dilation: int) -> Tuple[np.ndarray, np.ndarray]:
    """Per input coordinate, the (kernel tap, output coordinate) pairs it reaches along one
    axis (``in = out*stride - padding + tap*dilation``): ``table [size, kernel, 2]`` and
    ``count [size]`` (precomputed: no division in the kernel)."""
    table = np.zeros((size, max(kernel, 1), 2), dtype=np.int64)
    count = np.zeros(size, dtype=np.int64)
    for tap in range(kernel):
        for out in range(out_size):
            pos = out * stride - padding + tap * dilation
            if 0 <= pos < size:
                table[pos, count[pos]] = (tap, out)
                count[pos] += 1
    return table, count


def dense_events(s: np.ndarray, w: np.ndarray, weight_exp: int = 0,
                 threads: int = 1) -> np.ndarray:
    """Dense synaptic input alone (for the layers whose input is moved in time: axonal
    delays).

    Args:
        s: [N, I, S] bool spikes.
        w: [I, O] float64 weights (exact integers).
        weight_exp: Lava's weight exponent (the shift of each sum).
        threads: parallel sample chunks.

    Returns:
        [N, O, S] float64 (exact integers).
    """
    s = np.ascontiguousarray(s, dtype=np.bool_)
    out = np.empty((s.shape[0], w.shape[1], s.shape[2]))
    parallel_rows(lambda n0, n1: _dense(s, w, int(weight_exp), out, n0, n1), s.shape[0],
                  threads)
    return out


def dense_layer(p: CubaParams, s: np.ndarray, w: np.ndarray, weight_exp: int, lag: int,
                phase: Optional[int], window: int, states: bool = False,
                threads: int = 1) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A dense layer (synapse and neurons) over every step.

    Args:
        p: the neurons' constants.
        s: [N, I, S] bool spikes, arriving ``lag`` steps late.
        w: [I, O] float64 weights (exact integers); weight_exp: Lava's weight exponent.
        lag, phase, window, states, threads: as :func:`~razor_neuro.export.neuron.cuba_run`.

    Returns:
        as :func:`~razor_neuro.export.neuron.cuba_run`, K = O.
    """
    s = np.ascontiguousarray(s, dtype=np.bool_)
    n, steps = s.shape[0], s.shape[2] + lag
    spikes, u, v = outputs(n, w.shape[1], steps, states)
    args = (s, w, int(weight_exp), lag) + neuron_args(p, steps, phase, window) + \
        (spikes, u, v, bool(states))
    parallel_rows(lambda n0, n1: _dense_layer(*args, n0, n1), n, threads)
    return spikes, u, v


def conv_layer(p: CubaParams, s: np.ndarray, w: np.ndarray, out_xy: Tuple[int, int],
               stride: Tuple[int, int], padding: Tuple[int, int],
               dilation: Tuple[int, int], wrap24: bool, lag: int, phase: Optional[int],
               window: int, states: bool = False, threads: int = 1
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A conv layer (synapse and neurons) over every step.

    Args:
        p: the neurons' constants.
        s: [N, x, y, C, S] bool spikes (netx order), arriving ``lag`` steps late.
        w: [O, C / groups, KH, KW] float64 weights (exact integers; torch's conv2d
            layout).
        out_xy: (x', y') of the output.
        stride, padding, dilation: (y, x) each, as torch's conv2d takes them.
        wrap24: apply Lava's 24-bit wrap to the sums.
        lag, phase, window, states, threads: as :func:`~razor_neuro.export.neuron.cuba_run`.

    Returns:
        as :func:`~razor_neuro.export.neuron.cuba_run`, K = x' * y' * O (netx order).
    """
    s = np.ascontiguousarray(s, dtype=np.bool_)
    n, steps = s.shape[0], s.shape[-1] + lag
    ytab, ycount = _taps(s.shape[2], out_xy[1], w.shape[2], stride[0], padding[0], dilation[0])
    xtab, xcount = _taps(s.shape[1], out_xy[0], w.shape[3], stride[1], padding[1], dilation[1])
    spikes, u, v = outputs(n, out_xy[0] * out_xy[1] * w.shape[0], steps, states)
    args = (s, w, ytab, ycount, xtab, xcount, int(out_xy[0]), int(out_xy[1]), bool(wrap24),
            lag) + neuron_args(p, steps, phase, window) + (spikes, u, v, bool(states))
    parallel_rows(lambda n0, n1: _conv_layer(*args, n0, n1), n, threads)
    return spikes, u, v

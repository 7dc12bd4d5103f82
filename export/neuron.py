"""The CUBA neuron of Lava's LIF process models, one function for both of Lava's modes.

Per step ``t`` and neuron, with synaptic input ``a[t]`` (``fixed_pt``: every value an exact
integer held in float64; the operations below are Lava's integer ones, in the same order):

    fixed_pt (``lava.proc.lif.models.PyLifModelBitAcc``)
        u[t] = wrap24(trunc(u[t-1] * decay_u) + a[t] * 2**6)
        v[t] = clip24(trunc(v[t-1] * decay_v) + u[t] + bias)
    floating_pt (``PyLifModelFloat``)
        u[t] = u[t-1] * decay_u + a[t]
        v[t] = (v[t-1] * decay_v + u[t]) + bias
    both
        s[t] = v[t] > vth;   v[t] = 0 where s[t]

``wrap24`` maps u > 2**23 to u - 2**24 and u <= -2**23 to u + 2**24 (Lava's wrap of the
24-bit current); ``clip24`` clips v to +-(2**23 - 1).  netx's LIF has no refractory period.
Lava's reset process (``reset_interval``) zeroes u and v before the steps of one phase.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numba
import numpy as np

from razor_neuro.threads import parallel_rows

__all__ = ["CubaParams", "cuba_run", "cuba_sample", "neuron_args", "outputs"]

_M = float(1 << 23)  # Lava's max_uv_val (24-bit state)


@dataclass(frozen=True)
class CubaParams:
    """One layer's neuron constants.

    Attributes:
        decay_u, decay_v: multipliers ``(4096 - iDecay) / 4096`` (fixed_pt) or
            ``1 - du`` (floating_pt).
        vth: threshold in the units of ``v`` (fixed_pt: ``vThMant << 6``).
        bias: per neuron [K] float64 (fixed_pt: ``int16(bias) << 6``; zeros for none).
        fixed: fixed_pt arithmetic (truncation, ``a << 6``, wrap and clip).
        wrap: apply the 24-bit current wrap (fixed_pt only; off only to show that a test
            network needs it).
    """

    decay_u: float
    decay_v: float
    vth: float
    bias: np.ndarray
    fixed: bool
    wrap: bool = True


@numba.njit(cache=True, nogil=True)
def _fixed_step(x, u, v, decay_u, decay_v, vth, bias, wrap_hi, wrap_lo,
                fired):  # pragma: no cover - compiled
    two_m = 2.0 * _M
    for j in range(u.shape[0]):  # branch-free, so that it vectorises
        uu = np.trunc(u[j] * decay_u) + x[j] * 64.0
        uu = uu - two_m if uu > wrap_hi else uu
        uu = uu + two_m if uu <= wrap_lo else uu
        vv = np.trunc(v[j] * decay_v) + uu + bias[j]
        vv = min(max(vv, 1.0 - _M), _M - 1.0)
        fire = vv > vth
        fired[j] = fire
        v[j] = 0.0 if fire else vv
        u[j] = uu


@numba.njit(cache=True, nogil=True)
def _float_step(x, u, v, decay_u, decay_v, vth, bias, fired):  # pragma: no cover
    for j in range(u.shape[0]):
        uu = u[j] * decay_u + x[j]
        vv = v[j] * decay_v + uu + bias[j]
        fire = vv > vth
        fired[j] = fire
        v[j] = 0.0 if fire else vv
        u[j] = uu


@numba.njit(cache=True, nogil=True)
def cuba_sample(a, lag, decay_u, decay_v, vth, bias, fixed, wrap, reset, u, v, fired,
                spikes, u_out, v_out, states):  # pragma: no cover - compiled
    """One sample's neurons over every step (the equations above).

    Args:
        a: [S, K] synaptic input of the sample, time-major; step ``t`` gets ``a[t - lag]``.
        bias: [K] float64 (zeros for none: Lava adds its zero bias too).
        reset: [S + lag] bool, u and v zeroed before the step.
        u, v: [K] float64 scratch for the state; fired: [S + lag, K] bool scratch.
        spikes: [K, S + lag] bool out; u_out, v_out: [K, S + lag] float64 out with
            ``states``, else [K, 1] (the state after the last step).
    """
    steps = spikes.shape[1]
    wrap_hi = _M if wrap else np.inf
    wrap_lo = -_M if wrap else -np.inf
    silent = np.zeros(u.shape[0], dtype=a.dtype)
    u[:] = 0.0
    v[:] = 0.0
    for t in range(steps):
        if reset[t]:
            u[:] = 0.0
            v[:] = 0.0
        x = a[t - lag] if t >= lag else silent
        if fixed:
            _fixed_step(x, u, v, decay_u, decay_v, vth, bias, wrap_hi, wrap_lo, fired[t])
        else:
            _float_step(x, u, v, decay_u, decay_v, vth, bias, fired[t])
        if states:
            u_out[:, t] = u
            v_out[:, t] = v
    spikes[:] = fired[:steps].T
    if not states:
        u_out[:, 0] = u
        v_out[:, 0] = v


@numba.njit(cache=True, nogil=True)
def _run(a, lag, decay_u, decay_v, vth, bias, fixed, wrap, reset, spikes,
         u_out, v_out, states, n0, n1):  # pragma: no cover - compiled
    k = spikes.shape[1]
    u, v, fired = np.empty(k), np.empty(k), np.empty((spikes.shape[2], k), dtype=np.bool_)
    for n in range(n0, n1):
        cuba_sample(a[n], lag, decay_u, decay_v, vth, bias, fixed, wrap, reset, u, v,
                    fired, spikes[n], u_out[n], v_out[n], states)


def neuron_args(p: CubaParams, steps: int, phase: Optional[int], window: int) -> tuple:
    """The constants :func:`cuba_sample` takes after ``a`` and ``lag``, through ``reset``:
    ``phase, window`` as in :func:`cuba_run`, ``steps`` the steps of the run."""
    reset = np.zeros(steps, dtype=np.bool_)
    if phase is not None and window > 0:
        reset[(np.arange(steps) - phase) % window == 0] = True
    return (float(p.decay_u), float(p.decay_v), float(p.vth), p.bias, bool(p.fixed),
            bool(p.wrap), reset)


def cuba_run(p: CubaParams, a: np.ndarray, lag: int = 0, phase: Optional[int] = None,
             window: int = 0, states: bool = False, threads: int = 1
             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the neurons of one layer over every step.

    Args:
        p: the layer's constants.
        a: [N, K, S] synaptic input (int or float64; N samples, K neurons each, S steps).
        lag: the input arrives ``lag`` steps late: step ``t`` gets ``a[..., t - lag]`` and
            the first ``lag`` steps get nothing (the synapse's empty buffer); the run has
            ``S + lag`` steps.
        phase, window: reset u and v before every step ``phase + k * window`` (any
            integer k, also before ``phase``), or never when ``phase`` is None or
            ``window`` is 0.
        states: also return u and v of every step.
        threads: samples are split into this many parallel chunks.

    Returns:
        (spikes [N, K, S + lag] bool, u, v): u and v are [N, K, S + lag] float64 with
        ``states``, else [N, K, 1] (after the last step).
    """
    if a.dtype.kind not in "if":
        a = a.astype(np.float64)
    a = np.ascontiguousarray(np.swapaxes(a, 1, 2))  # time-major per sample
    n, k, steps = a.shape[0], a.shape[2], a.shape[1] + lag
    spikes, u, v = outputs(n, k, steps, states)
    args = (a, lag) + neuron_args(p, steps, phase, window) + (spikes, u, v, bool(states))
    parallel_rows(lambda n0, n1: _run(*args, n0, n1), n, threads)
    return spikes, u, v


def outputs(n: int, k: int, steps: int, states: bool
            ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty (spikes [N, K, steps] bool, u, v [N, K, steps or 1] float64)."""
    u = np.empty((n, k, steps if states else 1))
    return np.empty((n, k, steps), dtype=np.bool_), u, np.empty_like(u)

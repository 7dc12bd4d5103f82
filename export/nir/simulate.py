"""The NIR graph itself in float64: NIR's equations stepped with forward Euler.

Independent of Lava and of :mod:`.quantise`'s integers: it reads the nodes' own float
parameters (``tau_syn``, ``tau_mem``, ``r``, ``w_in``, ``v_leak``, ``v_threshold``,
``v_reset``, the weights and biases).  Per step ``t`` and layer, with the synapse's output
``a[t] = W s[t] + b`` (Linear: no ``b``; Conv2d: cross-correlation as ``torch.conv2d``)::

    CubaLIF  I += dt/tau_syn * (-I + w_in * a);  v += dt/tau_mem * (v_leak - v + r * I)
    LIF      v += dt/tau * (v_leak - v + r * a)
    IF       v += dt * r * a
    spike    z = v > v_threshold;  v = v_reset where z

A layer's spikes at step ``t`` reach the next layer at the same step ``t`` (as in
snntorch's forward pass and in the window time of razor-neuro's reference).  Every sample
starts from ``I = v = 0``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F

from razor_neuro.export.nir.read import Chain

__all__ = ["simulate"]


def _t(value: object, shape: tuple[int, ...]) -> torch.Tensor:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    return torch.from_numpy(np.array(arr))  # a copy: a broadcast view is read-only


def simulate(chain: Chain, x: np.ndarray, dt: float,
             gates: Mapping[int, np.ndarray] | None = None) -> list[np.ndarray]:
    """Run the chain's NIR graph on input spikes.

    Args:
        chain: the graph (:func:`~.read.read_chain`).
        x: ``[N, *chain.input_shape, T]`` input spikes (NIR order, 0/1).
        dt: step in seconds.
        gates: optional ``{stage index: keep mask [T]}``; on a step whose mask is 0 the
            stage's synapse receives no spikes (its neurons still decay).

    Returns:
        per stage, its spikes ``[N, *stage.output_shape, T]`` (bool).
    """
    x = np.asarray(x)
    n, steps = x.shape[0], x.shape[-1]
    gates = {int(k): np.asarray(v).astype(bool) for k, v in (gates or {}).items()}
    layers = []
    for stage in chain.stages:
        out = (n, *stage.output_shape)
        node = stage.neuron
        kind = type(node).__name__
        p = {"kind": kind, "v_th": _t(node.v_threshold, out), "v_reset": _t(node.v_reset, out),
             "r": _t(node.r, out)}
        if kind == "CubaLIF":
            p |= {"tau_syn": _t(node.tau_syn, out), "tau_mem": _t(node.tau_mem, out),
                  "w_in": _t(node.w_in, out), "v_leak": _t(node.v_leak, out)}
        elif kind == "LIF":
            p |= {"tau_mem": _t(node.tau, out), "v_leak": _t(node.v_leak, out)}
        w = torch.from_numpy(stage.weight)
        b = None if stage.bias is None else torch.from_numpy(stage.bias)
        layers.append((stage, p, w, b, torch.zeros(out, dtype=torch.float64),
                       torch.zeros(out, dtype=torch.float64)))
    records = [np.zeros((n, *s.output_shape, steps), dtype=bool) for s in chain.stages]
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    with torch.no_grad():
        for t in range(steps):
            s = xt[..., t]
            for i, (stage, p, w, b, current, v) in enumerate(layers):
                if i in gates and not gates[i][t]:
                    s = torch.zeros_like(s)
                if stage.flatten_before:
                    s = s.reshape(n, -1)
                if stage.kind == "conv":
                    a = F.conv2d(s, w, b, stride=stage.stride, padding=stage.padding,
                                 dilation=stage.dilation, groups=stage.groups)
                else:
                    a = s @ w.T + (b if b is not None else 0.0)
                if p["kind"] == "CubaLIF":
                    current += dt / p["tau_syn"] * (-current + p["w_in"] * a)
                    v += dt / p["tau_mem"] * (p["v_leak"] - v + p["r"] * current)
                elif p["kind"] == "LIF":
                    v += dt / p["tau_mem"] * (p["v_leak"] - v + p["r"] * a)
                else:  # IF
                    v += dt * p["r"] * a
                z = v > p["v_th"]
                v[z] = p["v_reset"][z]
                records[i][..., t] = z.numpy()
                s = z.to(torch.float64)
    return records

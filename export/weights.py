"""Lava's numerics for a netx layer's weights and parameters (pure numpy).

* fixed_pt Dense: Lava derives the sign mode from the weights, clips them to 8 bits and
  truncates them to ``num_weight_bits`` (``lava.utils.weightutils``, called here as Lava's
  ``PyDenseModelBitAcc`` calls it).
* floating_pt: netx hands Lava's float models its fixed-point numbers unchanged
  (``1 - du = -1022`` for iDecay 1024, which explodes), so razor-neuro's Lava graph and
  the reference both use the equivalent float parameters of :func:`float_parameters`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch

from razor_neuro.layout import reverse_order
from razor_neuro.export.netfile import NetFileError, NetLayer
from razor_neuro.export.neuron import CubaParams

__all__ = ["lava_dense_weights", "float_parameters", "LayerConstants", "layer_constants",
           "Weight"]

_M = 1 << 23  # half of Lava's 24-bit synaptic range (signed_clamp)
#: synaptic weights (float64): numpy for the event-driven fixed-point synapses on the CPU
#: (:mod:`~razor_neuro.export.synapse`), torch otherwise
Weight = Union[torch.Tensor, np.ndarray]


def lava_dense_weights(layer: NetLayer) -> np.ndarray:
    """Weights that Lava's fixed-point ``Dense``/``DelayDense`` model actually uses.

    ``PyDenseModelBitAcc.run_spk`` derives the sign mode from the weights
    (``determine_sign_mode``), then ``clip_weights(num_bits=8)`` and
    ``truncate_weights(num_weight_bits)``: the same ``lava.utils.weightutils`` calls here.

    Args:
        layer: a dense :class:`NetLayer`.

    Returns:
        int64 array (n_out, n_in).
    """
    from lava.utils import weightutils as wu

    w = np.asarray(layer.weight).astype(np.int32)
    sign_mode = wu.determine_sign_mode(w)
    w = wu.clip_weights(w, sign_mode, num_bits=8)
    w = wu.truncate_weights(w, sign_mode, int(layer.num_weight_bits))
    return np.asarray(w).astype(np.int64)


def float_parameters(layer: NetLayer) -> Dict[str, np.ndarray]:
    """Float-model parameters equivalent to a layer's fixed-point ones.

    Lava's ``floating_pt`` LIF computes ``u = u * (1 - du) + a``,
    ``v = v * (1 - dv) + u + bias_mant``, spike ``v > vth``; its float Dense sums raw
    weights.  The fixed-point model scales input, bias and threshold alike by 2**6 and
    decays by ``(4096 - d) / 4096``, so the same network in float is:

    Args:
        layer: a :class:`NetLayer`.

    Returns:
        ``{"du": iDecay / 4096, "dv": vDecay / 4096, "vth": threshold}`` plus ``"weights"``
        (dense: Lava's clipped/truncated integers times ``2**weight_exp``, [n_out, n_in]).
        Conv weights and biases need no conversion.
    """
    out = {"du": np.array([(layer.neuron.du + 1) / 4096]),
           "dv": np.array([layer.neuron.dv / 4096]),
           "vth": np.array([float(layer.neuron.threshold)])}
    if layer.kind == "dense":
        out["weights"] = lava_dense_weights(layer).astype(np.float64) * 2.0 ** layer.weight_exp
    return out


@dataclass
class LayerConstants:
    """One layer as the reference simulates it (netx order; conv in torch's layout)."""

    kind: str
    shape: Tuple[int, ...]           # output shape, netx order
    in_shape: Tuple[int, ...]        # shape of the spikes the synapse reads, netx order
    weight: Optional[Weight]         # dense: [in, out] (rows in in_shape order); conv: torch's
    delay_groups: Optional[List[Tuple[int, Weight]]]
    weight_exp: int
    stride: Tuple[int, int]          # conv: torch order (y, x)
    padding: Tuple[int, int]
    dilation: Tuple[int, int]
    groups: int
    input_weight: float
    wrap_synapse: bool               # conv: a sum of |w| over the fan-in can pass 2**23
    neuron: CubaParams


def _weight(w: np.ndarray, mode: str, device: Optional[torch.device]) -> Weight:
    """Synaptic weights, float64: numpy for the event-driven kernels (``device`` None),
    else a torch tensor on ``device``.  In fixed_pt they are integers, and every sum over
    a fan-in is an exact integer below 2**53 (checked)."""
    w = np.ascontiguousarray(w, dtype=np.float64)
    if mode == "fixed_pt" and np.abs(w).sum() >= 2.0 ** 53:
        raise NetFileError("weights whose sums reach 2**53 cannot be simulated exactly")
    return w if device is None else torch.as_tensor(w, device=device)


def layer_constants(layer: NetLayer, in_shape: Tuple[int, ...], mode: str,
                    device: Optional[torch.device]) -> LayerConstants:
    """Constants of one layer for the reference.

    Args:
        layer: the netx layer.
        in_shape: the netx shape of the spikes it reads (before a flatten connection:
            the previous layer's output shape).
        mode: 'fixed_pt' or 'floating_pt'.
        device: where torch weights go; None for the event-driven CPU kernels (numpy).
    """
    fixed = mode == "fixed_pt"
    weight = None
    delay_groups = None
    bound = 0.0
    if layer.kind == "dense":
        w = lava_dense_weights(layer) if fixed else float_parameters(layer)["weights"]
        w, delay = w.T, None if layer.delay is None else layer.delay.T  # [in, out]
        if layer.flatten_before and len(in_shape) > 1:
            # rows from netx's flatten order to that of the unflattened spikes [x, y, f]
            rows = np.arange(int(np.prod(in_shape))).reshape(reverse_order(in_shape))
            rows = rows.transpose(tuple(range(len(in_shape)))[::-1]).reshape(-1)
            w, delay = w[rows], None if delay is None else delay[rows]
        if delay is None:
            weight = _weight(w, mode, device)
        else:
            delay_groups = [(int(k), _weight(np.where(delay == k, w, 0), mode, device))
                            for k in np.unique(delay)]
    elif layer.kind == "conv":
        w = np.asarray(layer.weight)[:, ::-1, ::-1, :].transpose(0, 3, 2, 1)
        weight = _weight(w, mode, device)
        bound = float(np.abs(w).sum(axis=(1, 2, 3)).max(initial=0.0))
    bias = np.zeros(int(np.prod(layer.output_shape)))  # Lava adds a zero bias too
    if layer.bias is not None:
        b = np.asarray(layer.bias, dtype=np.int64)
        if fixed:  # Lava stores bias_mant as int16, bias_exp = 6
            b = ((b + (1 << 15)) % (1 << 16) - (1 << 15)) * 64
        bias = np.ascontiguousarray(np.broadcast_to(b, layer.output_shape),
                                    dtype=np.float64).reshape(-1)
    neuron = layer.neuron
    if fixed:
        cuba = CubaParams(decay_u=(4096 - (neuron.du + 1)) / 4096,
                          decay_v=(4096 - neuron.dv) / 4096,
                          vth=float(neuron.threshold * 64), bias=bias, fixed=True)
    else:
        params = float_parameters(layer)
        cuba = CubaParams(decay_u=float(1 - params["du"][0]),
                          decay_v=float(1 - params["dv"][0]),
                          vth=float(params["vth"][0]), bias=bias, fixed=False)
    stride = padding = dilation = (1, 1)
    if layer.kind == "conv":
        stride = reverse_order(layer.stride)      # torch order (y, x)
        padding = reverse_order(layer.padding)
        dilation = reverse_order(layer.dilation)
    return LayerConstants(kind=layer.kind, shape=tuple(int(v) for v in layer.output_shape),
                          in_shape=tuple(int(v) for v in in_shape), weight=weight,
                          delay_groups=delay_groups,
                          weight_exp=int(layer.weight_exp) if fixed else 0,  # float: in w
                          stride=stride, padding=padding, dilation=dilation,
                          groups=int(layer.groups),
                          input_weight=float(layer.input_weight or 0)
                          if layer.kind == "input" else 0.0,
                          wrap_synapse=fixed and layer.kind == "conv" and bound >= _M,
                          neuron=cuba)

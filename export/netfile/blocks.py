"""One reader per netx block kind, as netx's ``Network.create_input/create_conv/create_dense``
(lava-dl 0.6, ``netx/hdf5.py``), plus the neuron and bias readers they share.

Each reader takes one ``layer/<i>`` group and the :class:`Walk` so far and returns the next
:class:`Walk`; it refuses what razor-neuro does not simulate with a one-line
:class:`~.ir.NetFileError` naming the file and the layer.  Shapes are in netx order
(``(x, y, f)`` or ``(n,)``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

from razor_neuro.layout import conv_out_shape, reverse_order
from razor_neuro.export.netfile.ir import InputShapeUnknown, NetFileError, NetLayer, NeuronParams
from razor_neuro.export.netfile.weight_bits import optimize_weight_bits

__all__ = ["SUPPORTED", "Walk", "read_input", "read_flatten", "read_conv", "read_dense",
           "read_neuron", "read_bias", "read_str"]

SUPPORTED = ("supported: input, conv, flatten and dense layers with CUBA/LOIHI "
             "neurons")

Shape = Tuple[int, ...]


@dataclass(frozen=True)
class Walk:
    """Where the walk over a file's ``layer/<i>`` groups stands.

    Attributes:
        name: the file name (every message starts with it).
        given: the caller's input shape (netx order), or None.
        layers: the Lava blocks read so far.
        shape: shape of the spikes the next block receives, None while unknown.
        file_shape: the input shape stored by a neuron-less 'input' entry, or None.
        net_input: the network's input shape once a block fixed it, else None.
        flatten: a 'flatten' entry waits for the next block.
    """

    name: str
    given: Optional[Shape]
    layers: Tuple[NetLayer, ...] = ()
    shape: Optional[Shape] = None
    file_shape: Optional[Shape] = None
    net_input: Optional[Shape] = None
    flatten: bool = False


# ----------------------------------------------------------------------------------
# datasets, as netx's NetDict reads them
# ----------------------------------------------------------------------------------

def read_str(group: Any, key: str) -> str:
    """NetDict 'str_keys' behaviour: first element (or scalar) decoded as ASCII."""
    value = group[key]
    value = value[0] if len(value.shape) > 0 else value[()]
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _int_array(group: Any, key: str) -> np.ndarray:
    """NetDict 'copy_keys' behaviour: ``f[key][()].astype(int).copy()``."""
    return np.asarray(group[key][()]).astype(int).copy()


def _raw(group: Any, key: str) -> Any:
    return group[key][()]


def _shape(group: Any) -> Shape:
    """The group's ``shape`` reversed from the file's (C, H, W) to netx's (x, y, f)."""
    return reverse_order(np.asarray(_raw(group, "shape")))


def _expand(value: Any) -> Tuple[int, int]:
    """netx ``create_conv.expand``: scalar -> (v, v); array -> reversed (x, y)."""
    if np.isscalar(value) or np.ndim(value) == 0:
        return int(value), int(value)
    x, y = reverse_order(np.asarray(value))[:2]
    return x, y


# ----------------------------------------------------------------------------------
# neuron and bias, shared by the blocks
# ----------------------------------------------------------------------------------

def read_neuron(group: Any, where: str) -> NeuronParams:
    """A block's ``neuron`` group; refuses non-CUBA types, graded spikes and decays or
    thresholds outside Loihi's ranges."""
    ntype = read_str(group, "type")
    if ntype not in ("CUBA", "LOIHI"):
        raise NetFileError(f"{where}: neuron type {ntype!r} is not supported "
                           f"({SUPPORTED})")
    keys = set(group.keys())
    if "gradedSpike" in keys and bool(_raw(group, "gradedSpike")):
        raise NetFileError(f"{where}: graded spikes (gradedSpike) are not supported "
                           f"({SUPPORTED}, binary spikes)")
    if "messageBits" in keys and int(_raw(group, "messageBits")) != 0:
        raise NetFileError(f"{where}: graded spikes (messageBits "
                           f"{int(_raw(group, 'messageBits'))}) are not supported "
                           f"({SUPPORTED}, binary spikes)")
    for key in ("vThMant", "iDecay", "vDecay"):
        if key not in keys:
            raise NetFileError(f"{where}: neuron has no {key}")
    params = NeuronParams(type=ntype, threshold=int(_raw(group, "vThMant")),
                          current_decay=int(_raw(group, "iDecay")),
                          voltage_decay=int(_raw(group, "vDecay")))
    for key, value in (("iDecay", params.current_decay), ("vDecay", params.voltage_decay)):
        if not 0 <= value <= 4096:
            raise NetFileError(f"{where}: neuron {key} {value} is outside Loihi's 0..4096")
    if params.threshold < 0:
        raise NetFileError(f"{where}: neuron vThMant {params.threshold} is negative")
    return params


def read_bias(group: Any, shape: Shape, where: str) -> Optional[np.ndarray]:
    """netx ``AbstractBlock._neuron`` bias broadcasting -> int32 ``bias_mant`` of
    ``shape``, or None without a ``bias`` dataset."""
    if "bias" not in group.keys():
        return None
    bias = _int_array(group, "bias")
    if len(shape) == 1:
        bias_mant = np.broadcast_to(bias, shape)
    elif list(bias.shape) == list(shape):
        bias_mant = bias
    elif shape[-1] == bias.shape[0]:
        bias_mant = np.zeros(shape)
        bias_mant[:, :] = bias
    else:
        raise NetFileError(f"{where}: bias of shape {bias.shape} cannot be broadcast "
                           f"to neurons of shape {shape}")
    return np.ascontiguousarray(bias_mant).astype(np.int32)


# ----------------------------------------------------------------------------------
# the blocks
# ----------------------------------------------------------------------------------

def read_input(cfg: Any, i: int, walk: Walk) -> Walk:
    """An 'input' entry.  Without a neuron it only gives the network's input shape;
    with one it is netx's ``Input`` block: the neuron, no bias, and the affine input
    ``weight`` (default 64) that netx stores in ``Input.transform`` but never applies (nor
    the affine ``bias``, which is therefore checked but not kept)."""
    where = f"{walk.name}: layer {i}"
    keys = set(cfg.keys())
    shape = _shape(cfg)
    if walk.layers:
        raise NetFileError(f"{where}: input layer after other layers is not "
                           f"supported ({SUPPORTED})")
    if "neuron" not in keys:
        return dataclasses.replace(walk, file_shape=shape, shape=shape)
    neuron = read_neuron(cfg["neuron"], where)
    weight = int(_int_array(cfg, "weight").reshape(-1)[0]) if "weight" in keys else 64
    # The affine bias is never applied, so not kept; reading it refuses as malformed an
    # empty one, which netx's create_input (``int(bias)``) cannot load either.
    if "bias" in keys:
        _int_array(cfg, "bias").reshape(-1)[0]
    layer = NetLayer(index=len(walk.layers), file_index=i, kind="input",
                     flatten_before=False, input_shape=shape, output_shape=shape,
                     neuron=neuron, input_weight=weight)
    return dataclasses.replace(walk, layers=walk.layers + (layer,), net_input=shape,
                               shape=shape, flatten=False)


def read_flatten(cfg: Any, i: int, walk: Walk) -> Walk:
    """A 'flatten' entry: no block; the next (dense) block gets ``flatten_before``."""
    return dataclasses.replace(walk, flatten=True)


def read_conv(cfg: Any, i: int, walk: Walk) -> Walk:
    """A 'conv' block on an (x, y, f) input.  Weights are netx's reordering
    ``w[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)`` -> (C_out, W, H, C_in/groups), otherwise
    unchanged (Lava's Conv has no weight exponent); stride, padding and dilation in (x, y)
    order; conv delays are ignored as netx ignores them."""
    where = f"{walk.name}: layer {i}"
    keys = set(cfg.keys())
    prev_shape = walk.shape if walk.shape is not None else walk.given
    if prev_shape is None:
        raise InputShapeUnknown(f"{where}: input shape could not be inferred; pass "
                                f"input_shape=(x, y, f) (netx needs it too)")
    if len(prev_shape) != 3:
        raise NetFileError(f"{where}: conv layer needs a 3-D (x, y, f) input, "
                           f"got {prev_shape}")
    if walk.flatten:
        raise NetFileError(f"{where}: conv after flatten is not supported "
                           f"({SUPPORTED})")
    shape = _shape(cfg)
    neuron = read_neuron(cfg["neuron"], where)
    if "weight" not in keys:
        raise NetFileError(f"{where}: unsupported complex/missing conv weight "
                           f"({SUPPORTED})")
    w = _int_array(cfg, "weight")
    if w.ndim < 4:
        raise NetFileError(f"{where}: conv weight of shape {w.shape} is not 4-D")
    w = w[:, :, ::-1, ::-1]
    w = np.ascontiguousarray(w.reshape(w.shape[:4]).transpose((0, 3, 2, 1)))
    stride = _expand(_raw(cfg, "stride"))
    padding = _expand(_raw(cfg, "padding"))
    dilation = _expand(_raw(cfg, "dilation"))
    groups = int(_raw(cfg, "groups"))
    if prev_shape[2] % groups or w.shape[0] % groups or \
            w.shape[3] * groups != prev_shape[2]:
        raise NetFileError(f"{where}: conv weight {w.shape} with groups={groups}"
                           f" does not fit input shape {prev_shape}")
    out = conv_out_shape(prev_shape, w.shape[0], (w.shape[1], w.shape[2]),
                         stride, padding, dilation)
    if out != shape:
        raise NetFileError(f"{where}: conv output shape {out} differs from the "
                           f"stored shape {shape}")
    net_input = walk.net_input
    if net_input is None:
        net_input = prev_shape
        if walk.file_shape is not None and walk.given is not None and \
                walk.given != walk.file_shape:
            raise NetFileError(f"{walk.name}: input_shape {walk.given} conflicts with "
                               f"the file's input shape {walk.file_shape}")
    layer = NetLayer(index=len(walk.layers), file_index=i, kind="conv",
                     flatten_before=False, input_shape=prev_shape, output_shape=shape,
                     neuron=neuron, weight=w, weight_exp=0, num_weight_bits=8,
                     bias=read_bias(cfg, shape, where), stride=stride, padding=padding,
                     dilation=dilation, groups=groups)
    return dataclasses.replace(walk, layers=walk.layers + (layer,), shape=shape,
                               net_input=net_input)


def read_dense(cfg: Any, i: int, walk: Walk) -> Walk:
    """A 'dense' block on an (n,) input (a 3-D input needs a 'flatten' entry first).
    Without a neuron group it gets netx's default, a non-leaky integrator.  Weights
    (n_out, n_in) go through netx's :func:`optimize_weight_bits` (Lava's process model
    then clips and truncates them, see ``weights.lava_dense_weights``); weights it cannot
    fit into Lava's 8-bit synapse are refused."""
    where = f"{walk.name}: layer {i}"
    keys = set(cfg.keys())
    if "weight" not in keys or "weight/imag" in cfg:
        raise NetFileError(f"{where}: complex dense layers (dense_comp) are not "
                           f"supported ({SUPPORTED})")
    if "weight_rec" in keys:
        raise NetFileError(f"{where}: recurrent dense layers (dense_rec, "
                           f"weight_rec) are not supported ({SUPPORTED})")
    shape = (int(np.prod(_raw(cfg, "shape"))),)
    if "neuron" in keys:
        neuron = read_neuron(cfg["neuron"], where)
    else:  # netx's default: non-leaky integrator
        neuron = NeuronParams(type="CUBA", threshold=1 << 18 - 1,
                              current_decay=0, voltage_decay=4096)
    w = _int_array(cfg, "weight")
    if w.ndim == 1:
        w = w.reshape(shape[0], -1)
    if w.ndim != 2 or w.shape[0] != shape[0]:
        raise NetFileError(f"{where}: dense weight of shape {w.shape} does not "
                           f"match {shape[0]} neurons")
    n_in = int(w.shape[1])
    if walk.shape is not None:
        if len(walk.shape) != 1 and not walk.flatten and walk.layers:
            raise NetFileError(f"{where}: dense layer after a {len(walk.shape)}-D"
                               f" layer needs a flatten layer")
        if int(np.prod(walk.shape)) != n_in:
            raise NetFileError(f"{where}: dense layer expects {n_in} inputs, the "
                               f"previous layer has shape {walk.shape}")
    if walk.given is not None and walk.shape is None and \
            int(np.prod(walk.given)) != n_in:
        raise NetFileError(f"{walk.name}: input_shape {walk.given} does not fit the "
                           f"first dense layer's {n_in} inputs")
    if not np.any(w):
        raise NetFileError(f"{where}: all-zero weight matrix (netx's "
                           f"optimize_weight_bits cannot load it)")
    raw_range = (int(w.min()), int(w.max()))
    w, nbits, wexp, smode = optimize_weight_bits(w)
    # Lava's Dense truncates 8 - num_weight_bits (+1 for mixed signs, which it
    # re-derives from the weights) low bits; netx's optimisation of weights beyond
    # the 8-bit range of their sign makes that shift (or its own) negative, which
    # numpy does not define: Lava then silently zeroes the weights.
    truncate = 8 - nbits + int(w.min() < 0 < w.max())
    if wexp > 0 or truncate < 0:
        raise NetFileError(f"{where}: dense weights of range {list(raw_range)} "
                           f"exceed the 8-bit range netx's optimize_weight_bits "
                           f"handles (it gives num_weight_bits {nbits}, weight_exp "
                           f"{wexp}: a negative shift Lava does not define); "
                           f"expected weights in [-256, 254], or [0, 255] / "
                           f"[-256, 0] for one sign")
    delay = _dense_delay(cfg, w.shape, where) if "delay" in keys else None
    in_shape = (n_in,)
    layer = NetLayer(index=len(walk.layers), file_index=i, kind="dense",
                     flatten_before=bool(walk.flatten and walk.layers),
                     input_shape=in_shape, output_shape=shape, neuron=neuron, weight=w,
                     weight_exp=wexp, num_weight_bits=nbits, sign_mode=smode,
                     bias=read_bias(cfg, shape, where), delay=delay)
    return dataclasses.replace(
        walk, layers=walk.layers + (layer,), shape=shape, flatten=False,
        net_input=in_shape if walk.net_input is None else walk.net_input)


def _dense_delay(cfg: Any, weight_shape: Tuple[int, int], where: str) -> np.ndarray:
    """netx's expansion of a dense ``delay`` to an (n_out, n_in) int matrix: clipped to
    62; a scalar everywhere, a vector per output row or per input column."""
    delay = np.asarray(_raw(cfg, "delay"))
    if delay.max() > 62:
        delay = np.clip(delay, a_min=0, a_max=62)
    if delay.ndim == 0:
        delay = delay * np.ones(weight_shape, dtype=int)
    elif delay.ndim == 1:
        num = int(np.prod(delay.shape))
        if num == weight_shape[0]:
            delay = np.repeat(delay.reshape(-1, 1), weight_shape[1], axis=1)
        elif num == weight_shape[1]:
            delay = np.repeat(delay.reshape(1, -1), weight_shape[0], axis=0)
        else:
            raise NetFileError(f"{where}: delay of shape {delay.shape} is "
                               f"incompatible with weight {weight_shape}")
    if delay.shape != weight_shape:
        raise NetFileError(f"{where}: delay of shape {delay.shape} is "
                           f"incompatible with weight {weight_shape}")
    delay = delay.astype(int)
    if delay.min() < 0:
        raise NetFileError(f"{where}: negative delays are not supported")
    return delay

"""Read a netx HDF5 network description (``*.net``) and input spike files.

The HDF5 layout is the one lava-dl's slayer ``block.export_hdf5`` writes and
``lava.lib.dl.netx.hdf5.Network`` reads: a ``layer`` group with one sub-group per
block (``layer/0``, ``layer/1`` ...), each with a ``type`` string and the block's
datasets.  :func:`read_network` turns such a file into plain, frozen dataclasses that
hold exactly what netx hands to Lava's processes, so that a simulator
(:mod:`razor_neuro.export.reference`) can reproduce Lava bit-exactly without importing
Lava.

netx conventions reproduced here (lava-dl 0.6, ``netx/hdf5.py`` and ``netx/utils.py``):

* Shapes are in netx/Lava order: ``(x, y, f)`` = (W, H, C) for convolutional layers
  (the file stores slayer's (C, H, W) order; netx reverses it), ``(n,)`` for dense
  layers.
* One :class:`NetLayer` per Lava block, i.e. ``network.layers[i]`` corresponds to
  ``netx.hdf5.Network(...).layers[i]``.  A ``flatten`` entry is not a block; it sets
  :attr:`NetLayer.flatten_before` on the next dense layer (netx connects it with
  ``out.transpose([2, 1, 0]).flatten()``, i.e. a C-order flatten of (C, H, W)).  An
  ``input`` entry without a neuron only provides the network's input shape.
* Dense weights go through netx's ``optimize_weight_bits`` (weights shifted left by
  ``scale_bits``, ``weight_exp = -scale_bits``, ``num_weight_bits``); that is what
  Lava's ``Dense``/``DelayDense`` process receives.  The process model then clips and
  truncates them with Lava's own sign mode (see ``reference.lava_dense_weights``).
* Conv weights are passed to Lava's ``Conv`` process unchanged except for netx's
  reordering ``w[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)`` -> (C_out, W, H, C_in/groups);
  Lava's Conv ignores weight exponents.
* CUBA neuron: ``vth = vThMant``, ``du = iDecay - 1``, ``dv = vDecay``, ``bias_exp = 6``;
  ``refDelay`` is stored but netx's LIF has no refractory period.
* An ``input`` entry *with* a neuron becomes an 'input' layer (netx ``Input`` block).
  netx stores its affine ``weight``/``bias`` in ``Input.transform`` but never applies
  them, and leaves ``Input.inp`` unconnected (a source connected to ``Network.inp``
  does not compile); the Input neuron gets no bias.  The reference therefore drives it
  with ``input_weight * x`` straight into the neurons, which is what a Lava source
  connected to ``net.layers[0].neuron.a_in`` does.
* A 1-D axonal ``delay`` of a dense layer is expanded to an (out, in) matrix exactly as
  netx does (per output row, or per input column, clipped to 62); conv delays are
  ignored by netx and therefore here too.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .layout import conv_out_shape

__all__ = [
    "NetFileError", "NeuronParams", "NetLayer", "Network", "read_network",
    "read_spikes", "optimize_weight_bits",
]

_SUPPORTED = ("supported: input, conv, flatten and dense layers with CUBA/LOIHI "
              "neurons")

# netx.utils.SYNAPSE_SIGN_MODE values
SIGN_MIXED, SIGN_EXCITATORY, SIGN_INHIBITORY = 1, 2, 3


class NetFileError(ValueError):
    """A netx network or spike file that razor-neuro cannot read (one-line message
    naming the file)."""


class InputShapeUnknown(NetFileError):
    """A network whose first layer takes its input shape from the caller (no Input layer)."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True, eq=False)
class NeuronParams:
    """CUBA-LIF neuron parameters as stored in the file (Loihi fixed-point units).

    Attributes:
        type: neuron type string from the file ('CUBA' or 'LOIHI').
        threshold: ``vThMant``; Lava spikes when ``v > threshold << 6``.
        current_decay: ``iDecay`` (12 bit, 4096 = full decay per step).  netx passes
            ``du = iDecay - 1`` and Lava's fixed-point model adds 1 back.
        voltage_decay: ``vDecay`` (12 bit); netx passes ``dv = vDecay``.

    ``refDelay`` and ``wgtExp`` are read by netx and ignored (its LIF has no refractory
    period; dense weight exponents come from ``optimize_weight_bits``), so they are not kept.
    Graded spikes (``gradedSpike``, ``messageBits`` > 0) are refused when read.
    """

    type: str
    threshold: int
    current_decay: int
    voltage_decay: int

    @property
    def du(self) -> int:
        """``du`` exactly as netx passes it to Lava's LIF (``iDecay - 1``)."""
        return int(self.current_decay) - 1

    @property
    def dv(self) -> int:
        """``dv`` exactly as netx passes it to Lava's LIF (``vDecay``)."""
        return int(self.voltage_decay)


@dataclass(frozen=True, eq=False)
class NetLayer:
    """One Lava block of a netx network.

    Attributes:
        index: position in ``netx.hdf5.Network(...).layers``.
        file_index: number of the ``layer/<i>`` group in the HDF5 file.
        kind: 'input' (Input block with neuron), 'conv' or 'dense'.
        flatten_before: a 'flatten' entry precedes this (dense) layer.
        input_shape: shape of the spikes entering the layer, netx order
            ((x, y, f) for 3-D, (n,) for dense; after a flatten it is the flat (n,)).
        output_shape: shape of the layer's neurons, netx order.
        neuron: CUBA neuron parameters.
        weight: synaptic weights as netx hands them to Lava: dense
            (n_out, n_in) int after ``optimize_weight_bits``; conv
            (C_out, W, H, C_in/groups) int; None for 'input'.
        weight_exp: weight exponent netx passes (dense) - Lava's Conv has none (0).
        num_weight_bits: number of weight bits netx passes (dense; 8 for conv).
        sign_mode: netx's SYNAPSE_SIGN_MODE value (1 mixed, 2 excitatory,
            3 inhibitory); netx does not pass it to Lava, which re-derives it.
        bias: ``bias_mant`` broadcast to ``output_shape`` (int32) as netx passes it,
            or None (Lava default 0).  Applied with ``bias_exp = 6``.
        delay: (n_out, n_in) int axonal/synaptic delays for Lava's ``DelayDense``,
            or None (plain ``Dense``).
        stride, padding, dilation: conv parameters in (x, y) order, else None.
        groups: conv groups (1 for non-conv layers).
        input_weight: 'input' layers: the affine input weight from the file
            (netx default 64).  netx stores it in ``Input.transform`` but never
            applies it.
        input_bias: 'input' layers: the affine input bias (netx default 0), likewise
            unused by netx (the Input neuron gets no bias).
    """

    index: int
    file_index: int
    kind: str
    flatten_before: bool
    input_shape: Tuple[int, ...]
    output_shape: Tuple[int, ...]
    neuron: NeuronParams
    weight: Optional[np.ndarray] = None
    weight_exp: int = 0
    num_weight_bits: int = 8
    sign_mode: Optional[int] = None
    bias: Optional[np.ndarray] = None
    delay: Optional[np.ndarray] = None
    stride: Optional[Tuple[int, int]] = None
    padding: Optional[Tuple[int, int]] = None
    dilation: Optional[Tuple[int, int]] = None
    groups: int = 1
    input_weight: Optional[int] = None
    input_bias: Optional[int] = None

    @property
    def num_neurons(self) -> int:
        """Number of neurons of the layer."""
        return int(np.prod(self.output_shape))

    @property
    def max_delay(self) -> int:
        """Largest synaptic delay (0 without delays)."""
        return 0 if self.delay is None else int(self.delay.max(initial=0))


@dataclass(frozen=True, eq=False)
class Network:
    """A netx network description.

    Attributes:
        path: the file it was read from.
        layers: the Lava blocks, in order.
        input_shape: shape of one input frame in netx order: the shape of
            ``netx.hdf5.Network(...).inp`` ((x, y, f) for a conv or 3-D input layer,
            (n,) for a dense first layer).
        frames: number of time steps per sample if known (not stored in netx files).
    """

    path: str
    layers: Tuple[NetLayer, ...]
    input_shape: Tuple[int, ...]
    frames: Optional[int] = None

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def output_shape(self) -> Tuple[int, ...]:
        """Shape of the last layer's neurons (netx order)."""
        return self.layers[-1].output_shape

    def with_frames(self, frames: Optional[int]) -> "Network":
        """Copy with ``frames`` set."""
        return dataclasses.replace(self, frames=frames)


# ----------------------------------------------------------------------------------
# netx helpers reproduced verbatim (minus the console warnings)
# ----------------------------------------------------------------------------------

def optimize_weight_bits(weight: np.ndarray) -> Tuple[np.ndarray, int, int, int]:
    """``lava.lib.dl.netx.utils.optimize_weight_bits`` (lava-dl 0.6), without prints.

    Args:
        weight: integer weight matrix (8-bit slayer weights, shape (n_out, n_in)).

    Returns:
        (weight << scale_bits as int, num_weight_bits, weight_exponent, sign_mode)
    """
    max_weight = np.max(weight)
    min_weight = np.min(weight)
    if max_weight > 254 and min_weight < 0:
        weight = np.clip(weight, -256, 254)
        max_weight = np.max(weight)
    if min_weight < -256 and max_weight > 0:
        weight = np.clip(weight, -256, 254)
        min_weight = np.min(weight)

    if max_weight < 0:
        sign_mode, is_signed = SIGN_INHIBITORY, 0
    elif min_weight >= 0:
        sign_mode, is_signed = SIGN_EXCITATORY, 0
    else:
        sign_mode, is_signed = SIGN_MIXED, 1

    with np.errstate(divide="ignore"):
        if sign_mode == SIGN_MIXED:
            pos_scale = 127 / max_weight
            neg_scale = -128 / min_weight
            scale = np.min([pos_scale, neg_scale])
        elif sign_mode == SIGN_INHIBITORY:
            scale = -256 / min_weight
        else:
            scale = 255 / max_weight
        scale_bits = np.floor(np.log2(scale)) + is_signed
    if not np.isfinite(scale_bits):
        raise ValueError("all-zero weight matrix (netx's optimize_weight_bits "
                         "cannot handle it)")

    precision_found = False
    n = 8
    while (precision_found is False) and (n > 0):
        rounding_error = np.sum(np.abs(weight / (2**n) - np.round(weight / (2**n))))
        if rounding_error == 0:
            precision_found = True
        else:
            n -= 1
    n -= is_signed

    num_weight_bits = 8 - scale_bits - n
    weight_exponent = -scale_bits
    weight = np.left_shift(weight.astype(np.int32), int(scale_bits))
    return weight.astype(int), int(num_weight_bits), int(weight_exponent), sign_mode


def _str(group: Any, key: str) -> str:
    value = group[key]
    value = value[0] if len(value.shape) > 0 else value[()]
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _int_array(group: Any, key: str) -> np.ndarray:
    """NetDict 'copy_keys' behaviour: ``f[key][()].astype(int).copy()``."""
    return np.asarray(group[key][()]).astype(int).copy()


def _raw(group: Any, key: str) -> Any:
    return group[key][()]


def _expand(value: Any) -> Tuple[int, int]:
    """netx ``create_conv.expand``: scalar -> (v, v); array -> reversed (x, y)."""
    if np.isscalar(value) or np.ndim(value) == 0:
        return int(value), int(value)
    value = np.asarray(value)[::-1]
    return int(value[0]), int(value[1])


def _neuron(group: Any, where: str) -> NeuronParams:
    ntype = _str(group, "type")
    if ntype not in ("CUBA", "LOIHI"):
        raise NetFileError(f"{where}: neuron type {ntype!r} is not supported "
                           f"({_SUPPORTED})")
    keys = set(group.keys())
    if "gradedSpike" in keys and bool(_raw(group, "gradedSpike")):
        raise NetFileError(f"{where}: graded spikes (gradedSpike) are not supported "
                           f"({_SUPPORTED}, binary spikes)")
    if "messageBits" in keys and int(_raw(group, "messageBits")) != 0:
        raise NetFileError(f"{where}: graded spikes (messageBits "
                           f"{int(_raw(group, 'messageBits'))}) are not supported "
                           f"({_SUPPORTED}, binary spikes)")
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


def _bias(group: Any, shape: Tuple[int, ...], where: str) -> Optional[np.ndarray]:
    """netx ``AbstractBlock._neuron`` bias broadcasting -> int32 ``bias_mant``."""
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
                           f"({_one_line(exc)})") from None
    try:
        return _read(handle, name, input_shape)
    except NetFileError:
        raise
    except Exception as exc:
        raise NetFileError(f"{name}: malformed netx network description "
                           f"({type(exc).__name__}: {_one_line(exc)})") from None
    finally:
        handle.close()


def _read(handle: Any, name: str, given_shape: Optional[Sequence[int]]) -> Network:
    if "layer" not in handle:
        raise NetFileError(f"{name}: not a netx network file (no 'layer' group)")
    group = handle["layer"]
    count = len(group)
    file_shape: Optional[Tuple[int, ...]] = None
    layers: list = []
    net_input: Optional[Tuple[int, ...]] = None
    prev_shape: Optional[Tuple[int, ...]] = None
    flatten_next = False
    given = tuple(int(v) for v in given_shape) if given_shape is not None else None

    for i in range(count):
        if f"{i}" not in group:
            raise NetFileError(f"{name}: layer {i} is missing (found {count} layer "
                               f"groups)")
        cfg = group[f"{i}"]
        where = f"{name}: layer {i}"
        ltype = _str(cfg, "type")
        keys = set(cfg.keys())

        if ltype == "input":
            shape = tuple(int(v) for v in np.asarray(_raw(cfg, "shape"))[::-1])
            if layers:
                raise NetFileError(f"{where}: input layer after other layers is not "
                                   f"supported ({_SUPPORTED})")
            if "neuron" not in keys:
                file_shape = shape
                prev_shape = shape
                continue
            neuron = _neuron(cfg["neuron"], where)
            weight = int(_int_array(cfg, "weight").reshape(-1)[0]) if "weight" in keys else 64
            bias = int(_int_array(cfg, "bias").reshape(-1)[0]) if "bias" in keys else 0
            layers.append(NetLayer(index=len(layers), file_index=i, kind="input",
                                   flatten_before=False, input_shape=shape,
                                   output_shape=shape, neuron=neuron,
                                   input_weight=weight, input_bias=bias))
            net_input = shape
            prev_shape = shape
            flatten_next = False

        elif ltype == "flatten":
            flatten_next = True

        elif ltype == "conv":
            if prev_shape is None:
                prev_shape = given
            if prev_shape is None:
                raise InputShapeUnknown(f"{where}: input shape could not be inferred; pass "
                                   f"input_shape=(x, y, f) (netx needs it too)")
            if len(prev_shape) != 3:
                raise NetFileError(f"{where}: conv layer needs a 3-D (x, y, f) input, "
                                   f"got {prev_shape}")
            if flatten_next:
                raise NetFileError(f"{where}: conv after flatten is not supported "
                                   f"({_SUPPORTED})")
            shape = tuple(int(v) for v in np.asarray(_raw(cfg, "shape"))[::-1])
            neuron = _neuron(cfg["neuron"], where)
            if "weight" not in keys:
                raise NetFileError(f"{where}: unsupported complex/missing conv weight "
                                   f"({_SUPPORTED})")
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
            if net_input is None:
                net_input = prev_shape
                if file_shape is not None and given is not None and given != file_shape:
                    raise NetFileError(f"{name}: input_shape {given} conflicts with the "
                                       f"file's input shape {file_shape}")
            layers.append(NetLayer(index=len(layers), file_index=i, kind="conv",
                                   flatten_before=False, input_shape=prev_shape,
                                   output_shape=shape, neuron=neuron, weight=w,
                                   weight_exp=0, num_weight_bits=8,
                                   bias=_bias(cfg, shape, where), stride=stride,
                                   padding=padding, dilation=dilation, groups=groups))
            prev_shape = shape

        elif ltype == "dense":
            if "weight" not in keys or "weight/imag" in cfg:
                raise NetFileError(f"{where}: complex dense layers (dense_comp) are not "
                                   f"supported ({_SUPPORTED})")
            if "weight_rec" in keys:
                raise NetFileError(f"{where}: recurrent dense layers (dense_rec, "
                                   f"weight_rec) are not supported ({_SUPPORTED})")
            shape = (int(np.prod(_raw(cfg, "shape"))),)
            if "neuron" in keys:
                neuron = _neuron(cfg["neuron"], where)
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
            if prev_shape is not None:
                if len(prev_shape) != 1 and not flatten_next and layers:
                    raise NetFileError(f"{where}: dense layer after a {len(prev_shape)}-D"
                                       f" layer needs a flatten layer")
                if int(np.prod(prev_shape)) != n_in:
                    raise NetFileError(f"{where}: dense layer expects {n_in} inputs, the "
                                       f"previous layer has shape {prev_shape}")
            if given is not None and prev_shape is None and \
                    int(np.prod(given)) != n_in:
                raise NetFileError(f"{name}: input_shape {given} does not fit the first "
                                   f"dense layer's {n_in} inputs")
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
            delay = None
            if "delay" in keys:
                delay = np.asarray(_raw(cfg, "delay"))
                if delay.max() > 62:
                    delay = np.clip(delay, a_min=0, a_max=62)
                if delay.ndim == 0:
                    delay = delay * np.ones_like(w)
                elif delay.ndim == 1:
                    num = int(np.prod(delay.shape))
                    if num == w.shape[0]:
                        delay = np.repeat(delay.reshape(-1, 1), w.shape[1], axis=1)
                    elif num == w.shape[1]:
                        delay = np.repeat(delay.reshape(1, -1), w.shape[0], axis=0)
                    else:
                        raise NetFileError(f"{where}: delay of shape {delay.shape} is "
                                           f"incompatible with weight {w.shape}")
                if delay.shape != w.shape:
                    raise NetFileError(f"{where}: delay of shape {delay.shape} is "
                                       f"incompatible with weight {w.shape}")
                delay = delay.astype(int)
                if delay.min() < 0:
                    raise NetFileError(f"{where}: negative delays are not supported")
            in_shape = (n_in,)
            if net_input is None:
                net_input = in_shape
            layers.append(NetLayer(index=len(layers), file_index=i, kind="dense",
                                   flatten_before=bool(flatten_next and layers),
                                   input_shape=in_shape, output_shape=shape,
                                   neuron=neuron, weight=w, weight_exp=wexp,
                                   num_weight_bits=nbits, sign_mode=smode,
                                   bias=_bias(cfg, shape, where), delay=delay))
            flatten_next = False
            prev_shape = shape

        else:
            raise NetFileError(f"{where}: layer type {ltype!r} is not supported "
                               f"({_SUPPORTED})")

    if not layers:
        raise NetFileError(f"{name}: no neuron layers found ({_SUPPORTED})")
    assert net_input is not None
    return Network(path=name, layers=tuple(layers), input_shape=tuple(net_input))


# ----------------------------------------------------------------------------------
# input spikes
# ----------------------------------------------------------------------------------

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
        raise NetFileError(f"{name}: cannot read spike file ({_one_line(exc)})") from None
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


def read_network_for(net: "str | os.PathLike[str]",
                     spikes: "str | os.PathLike[str]") -> Network:
    """Read a netx network to run on the spike file ``spikes``: a network whose first
    layer has no Input block takes its input shape from a dense ``[*input_shape, T]``
    array.  Every other fault of the network is reported as itself.

    Raises:
        NetFileError: as :func:`read_network`, or an unreadable spike file.
    """
    try:
        return read_network(net)
    except InputShapeUnknown as exc:
        unknown = exc
    try:
        raw = np.load(os.fspath(spikes), mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise NetFileError(f"{os.fspath(spikes)}: cannot read spike file "
                           f"({_one_line(exc)})") from None
    try:
        return read_network(net, tuple(raw.shape[:-1]))
    except NetFileError:
        if raw.ndim > 2:
            raise
    raise NetFileError(f"{unknown}; {os.fspath(spikes)} of shape {raw.shape} gives none "
                       "(slayer events carry no shape): expected a dense [x, y, f, T] input")


def _fit_steps(data: np.ndarray, num_steps: Optional[int]) -> np.ndarray:
    if num_steps is None or num_steps == data.shape[-1]:
        return data
    if num_steps < data.shape[-1]:
        return np.ascontiguousarray(data[..., :num_steps])
    pad = [(0, 0)] * (data.ndim - 1) + [(0, num_steps - data.shape[-1])]
    return np.pad(data, pad)


def _events_to_dense(name: str, shape: Optional[Tuple[int, ...]],
                     num_steps: Optional[int], expect: str) -> np.ndarray:
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
        return np.ascontiguousarray(dense.transpose(2, 1, 0, 3)).astype(np.uint8)
    return dense.reshape(shape[0], steps).astype(np.uint8)

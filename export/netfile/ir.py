"""razor-neuro's intermediate representation of a netx network: frozen dataclasses holding
exactly what netx hands to Lava's processes, and the error every reader raises.

Shapes are in netx/Lava order: ``(x, y, f)`` = (W, H, C) for 3-D layers (the file stores
slayer's (C, H, W); netx reverses it), ``(n,)`` for dense layers.  One :class:`NetLayer`
per Lava block: ``network.layers[i]`` corresponds to ``netx.hdf5.Network(...).layers[i]``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from razor_neuro.schedule import layer_name

__all__ = ["NetFileError", "InputShapeUnknown", "NeuronParams", "NetLayer", "Network",
           "one_line"]


class NetFileError(ValueError):
    """A netx network or spike file that razor-neuro cannot read (one-line message
    naming the file)."""


class InputShapeUnknown(NetFileError):
    """A network whose first layer takes its input shape from the caller (no Input layer)."""


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
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
        sign_mode: dense: netx's SYNAPSE_SIGN_MODE value (1 mixed, 2 excitatory,
            3 inhibitory) from ``optimize_weight_bits``; netx does not pass it to Lava,
            which re-derives it.  None for other kinds.
        bias: ``bias_mant`` broadcast to ``output_shape`` (int32) as netx passes it,
            or None (Lava default 0).  Applied with ``bias_exp = 6``.
        delay: (n_out, n_in) int axonal/synaptic delays for Lava's ``DelayDense``,
            or None (plain ``Dense``).
        stride, padding, dilation: conv parameters in (x, y) order, else None.
        groups: conv groups (1 for non-conv layers).
        input_weight: 'input' layers: the affine input weight from the file
            (netx default 64), which the reference multiplies the input spikes by.
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

    @property
    def names(self) -> list[str]:
        """Layer names, ``layer<i>`` with ``i`` the layer's group number in the file (what
        a frame schedule gates)."""
        return [layer_name(layer.file_index) for layer in self.layers]

    def with_frames(self, frames: Optional[int]) -> "Network":
        """Copy with ``frames`` set."""
        return dataclasses.replace(self, frames=frames)

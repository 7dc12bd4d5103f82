"""The deployed graph: netx blocks, schedule gates, a spike source and per-layer probes.

netx's ``hdf5.Network`` wires its blocks to each other directly, leaving no place for a
gate between two layers, so the graph is assembled here from netx's own block builders
(``Network.create_input/create_conv/create_dense``: the same processes, parameters and
flatten wiring netx uses) with a :class:`~razor_neuro.export.processes.FrameGate` on the
connection into each gated layer.

Streaming and time bases
------------------------
Samples of ``T`` frames stream back to back through one run: frame ``t`` of sample ``k``
leaves the source at step ``k*T + t + 1``.  Every synapse delivers one step late, so
weight layer ``i`` processes that frame at step ``k*T + t + W_i`` with ``W_i = 1 + s0 + i``
(``s0 = 1`` when layer 0 has a synapse, 0 when it is an Input block whose neurons the
source drives directly): its *window step* ``t``.  Layer ``i`` resets at phase ``W_i``
(netx's per-layer ``reset_offset``, one step after the layer before it).  Recordings are cut
into windows ``[N, *shape, T]``, the time base of the torch reference and of the training
model.  A run of ``N`` samples takes ``N*T + W_last - 1`` steps.  Axonal delays (DelayDense)
are the one thing that can carry a spike across a window border, as on the chip.
"""
from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from razor_neuro._compat import netx, patch_lava

patch_lava()

from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402
from lava.proc.io.source import RingBuffer as Source  # noqa: E402

from razor_neuro.export.processes import FrameGate, SpikeRecorder, StateRecorder  # noqa: E402
from razor_neuro.layout import flatten_spikes  # noqa: E402
from razor_neuro.export.lava_run import run_steps  # noqa: E402
from razor_neuro.export.netfile import (NetLayer, Network,  # noqa: E402
                                        read_network)
from razor_neuro.export.weights import float_parameters  # noqa: E402
from razor_neuro.timebase import (cut_windows, gate_first_step, lava_stream,  # noqa: E402
                                         layer_reset_offset, window_start)

TAGS = ("fixed_pt", "floating_pt")


class GraphError(ValueError):
    """A network file or input the Lava graph cannot run."""


@dataclass(frozen=True)
class LavaRun:
    """Spikes recorded in one Lava run, cut into per-sample windows.

    Attributes:
        outputs: per weight layer, its output spikes ``[N, *out_shape, T]`` (netx order).
        inputs: per weight layer, the spikes delivered into it after its gate
            ``[N, *in_shape, T]`` (netx order; flat after a flatten).
        steps: Lava time steps run.
        seconds: wall time of build, compile+run and read-back.
        currents, voltages: with ``states=True``, per weight layer its neurons' ``u`` and
            ``v`` after every step ``[N, *out_shape, T]`` (float64; Lava's fixed-point
            integers), else None.
    """
    outputs: list[np.ndarray]
    inputs: list[np.ndarray]
    steps: int
    seconds: dict[str, float] = field(default_factory=dict)
    currents: list[np.ndarray] | None = None
    voltages: list[np.ndarray] | None = None


def _to_float(block: Any, layer: NetLayer) -> None:
    """Give a netx block the float parameters of the same network: netx hands Lava's float
    models its fixed-point numbers unchanged (decay ``1 - du`` = -1022 for iDecay 1024,
    which explodes), so without this a ``floating_pt`` run is not a model of the network."""
    params = float_parameters(layer)
    for name in ("du", "dv", "vth"):
        getattr(block.neuron, name).init = params[name]
    if "weights" in params:
        block.synapse.weights.init = params["weights"]


def _input_block(Net: Any, group: Any, layer: NetLayer, reset: dict) -> tuple[Any, Any]:
    """netx's Input block; the source drives its neurons, as netx never wires
    ``Input.inp`` to them."""
    block, _ = Net.create_input(group, **reset)
    return block, block.neuron.a_in


def _conv_block(Net: Any, group: Any, layer: NetLayer, reset: dict) -> tuple[Any, Any]:
    """netx's Conv block on the layer's input shape."""
    block, _ = Net.create_conv(group, input_shape=layer.input_shape, **reset)
    return block, block.inp


def _dense_block(Net: Any, group: Any, layer: NetLayer, reset: dict) -> tuple[Any, Any]:
    """netx's Dense block (with its axonal delays, if any).  netx prints its weight
    clipping to stdout (and divides by a zero maximum of one-sign weights); the reader
    applies the same clipping, so it goes to the log (shown with --verbose)."""
    with contextlib.redirect_stdout(io.StringIO()) as said, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        block, _ = Net.create_dense(group, **reset)
    if said.getvalue().strip():
        logging.getLogger(__name__).info("netx, layer %d: %s", layer.file_index,
                                         " ".join(said.getvalue().split()))
    return block, block.inp


#: one builder per block kind, as netx's ``Network.create_<kind>``:
#: ``(netx Network class, the layer's file group, layer, reset arguments) -> (block, the
#: port its input connects to)``
_BLOCKS = {"input": _input_block, "conv": _conv_block, "dense": _dense_block}


class LavaGraph:
    """A netx HDF5 network as a Lava process graph with optional schedule gates.

    Args:
        net: netx HDF5 file (``network.net``) or a network read with
            :func:`~razor_neuro.export.netfile.read_network`.
        frames: window length ``T``; each layer resets every ``T`` steps.  ``None``: no
            resets, one continuous sample (then ``gates`` must be empty).
        input_shape: network input shape in netx order ``(x, y, f)`` or ``(n,)``; needed
            when the file has no Input layer and starts with a Conv (as for netx).
        gates: ``{weight layer index: keep mask [T]}``; the layer receives no spikes on
            frames whose mask is 0.
    """

    def __init__(self, net: str | Path | Network, frames: int | None,
                 input_shape: tuple[int, ...] | None = None,
                 gates: dict[int, np.ndarray] | None = None) -> None:
        self.network = net if isinstance(net, Network) else read_network(net, input_shape)
        self.frames = frames
        self.gates = {int(k): np.asarray(v).astype(bool) for k, v in (gates or {}).items()}
        if frames is None and self.gates:
            raise GraphError("gates need a window length (frames)")
        for i, m in self.gates.items():
            if m.shape != (frames,):
                raise GraphError(f"gate of layer {i}: mask has shape {m.shape}, expected "
                                 f"({frames},)")
            if not 0 <= i < len(self.network.layers):
                raise GraphError(f"gate of layer {i}: the network has "
                                 f"{len(self.network.layers)} weight layers")

    @property
    def names(self) -> list[str]:
        """Layer names, ``layer<i>`` with ``i`` the layer's group number in the file."""
        return self.network.names

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.network.input_shape)

    def window_start(self, i: int) -> int:
        """``W_i``: the step at which layer ``i`` processes frame 0 of the first sample
        (:func:`~razor_neuro.timebase.window_start`)."""
        return window_start(self.network, i)

    def _build(self, data: np.ndarray, tmp: Path, tag: str, states: bool
               ) -> tuple[list[Path], list[Path | None], Any]:
        """Build the graph fed by ``data``; returns the record files of each layer's output
        and of each gate's output (None where ungated), and the source.  With ``states``
        each layer's ``u``, ``v`` go to ``tmp/state<i>.npz``."""
        Net = netx().hdf5.Network
        cfg = netx().utils.NetDict(self.network.path)["layer"]
        n_steps = data.shape[-1]
        sinks: list[Path] = []
        gate_sinks: list[Path | None] = []
        source = Source(data=data)
        prev_out = source.s_out
        for i, layer in enumerate(self.network.layers):
            group = cfg[layer.file_index]
            reset = {} if self.frames is None else {
                "reset_interval": self.frames,
                "reset_offset": layer_reset_offset(self.network, i, self.frames)}
            block, target = _BLOCKS[layer.kind](Net, group, layer, reset)
            if tag == "floating_pt":
                _to_float(block, layer)
            if layer.flatten_before:
                prev_out = prev_out.transpose([2, 1, 0]).flatten()
            if i in self.gates:
                gate = FrameGate(shape=layer.input_shape, mask=self.gates[i],
                                 first_step=gate_first_step(self.network, i))
                prev_out.connect(gate.s_in)
                path = tmp / f"gate{i}.npy"
                gate.s_out.connect(SpikeRecorder(shape=layer.input_shape, steps=n_steps,
                                                 path=path).a_in)
                gate.s_out.connect(target)
                gate_sinks.append(path)
            else:
                prev_out.connect(target)
                gate_sinks.append(None)
            path = tmp / f"layer{i}.npy"
            block.out.connect(SpikeRecorder(shape=layer.output_shape, steps=n_steps,
                                            path=path).a_in)
            sinks.append(path)
            if states:
                recorder = StateRecorder(shape=layer.output_shape, steps=n_steps,
                                         path=tmp / f"state{i}.npz")
                recorder.u.connect_var(block.neuron.u)
                recorder.v.connect_var(block.neuron.v)
            prev_out = block.out
        return sinks, gate_sinks, source

    def run(self, x: np.ndarray, tag: str = "fixed_pt", states: bool = False) -> LavaRun:
        """Stream samples through one Lava run.

        Args:
            x: input spikes ``[N, *input_shape, T]`` (netx order, 0/1).  Without resets
                (``frames=None``) ``N`` must be 1 and ``T`` is the number of steps.
            tag: ``'fixed_pt'`` (bit-accurate) or ``'floating_pt'``.
            states: also record every layer's ``u`` and ``v`` per step.
        Returns:
            :class:`LavaRun` with per-layer windows ``[N, *shape, T]``.  Without resets
            the single window is the whole run, shifted per layer in the same way.
        """
        if tag not in TAGS:
            raise GraphError(f"tag: expected one of {TAGS}, got '{tag}'")
        x = np.asarray(x)
        if x.ndim != len(self.input_shape) + 2 or tuple(x.shape[1:-1]) != self.input_shape:
            raise GraphError(f"input: expected [N, {', '.join(map(str, self.input_shape))}, T] "
                             f"spikes, got shape {tuple(x.shape)}")
        n, T = x.shape[0], x.shape[-1]
        if self.frames is not None and T != self.frames:
            raise GraphError(f"input: {T} frames per sample, the graph expects {self.frames}")
        if self.frames is None and n != 1:
            raise GraphError("input: without resets only one sample can run")
        layers = self.network.layers
        t0 = time.perf_counter()
        # samples back to back, scaled by an Input block's weight (the source stands in for
        # netx's input transform), plus the steps the last layer needs to finish
        data, n_steps, _ = lava_stream(self.network, x)
        with tempfile.TemporaryDirectory(prefix="razor-lava-") as tmp:
            sinks, gate_sinks, source = self._build(data, Path(tmp), tag, states)
            t1 = time.perf_counter()
            run_steps(source, RunSteps(num_steps=n_steps), Loihi2SimCfg(select_tag=tag))
            t2 = time.perf_counter()
            starts = [self.window_start(i) for i in range(len(layers))]
            outs = [cut_windows(np.load(p), w - 1, n, T).astype(np.uint8)
                    for p, w in zip(sinks, starts)]
            gated = [None if p is None else
                     cut_windows(np.load(p), gate_first_step(self.network, i) - 1, n,
                                 T).astype(np.uint8)
                     for i, p in enumerate(gate_sinks)]
            currents = voltages = None
            if states:
                records = [np.load(Path(tmp) / f"state{i}.npz") for i in range(len(layers))]
                currents = [cut_windows(r["u"], w - 1, n, T) for r, w in zip(records, starts)]
                voltages = [cut_windows(r["v"], w - 1, n, T) for r, w in zip(records, starts)]
        inputs = []
        for i, layer in enumerate(layers):
            if gated[i] is not None:
                inputs.append(gated[i])
                continue
            prev = (x != 0) if i == 0 else outs[i - 1]
            if layer.flatten_before:
                prev = flatten_spikes(prev)
            inputs.append(prev.astype(np.uint8))
        return LavaRun(outs, inputs, n_steps,
                       {"build": t1 - t0, "run": t2 - t1, "read": time.perf_counter() - t2},
                       currents, voltages)

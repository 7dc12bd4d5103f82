"""The deployed graph: netx blocks, schedule gates, a spike source and per-layer probes.

netx's ``hdf5.Network`` wires its blocks to each other directly, leaving no place for a
gate between two layers, so the graph is assembled here from netx's own block builders
(``Network.create_input/create_conv/create_dense``: the same processes, parameters and
flatten wiring netx uses) with a :class:`~razor_neuro.export.gate.FrameGate` on the
connection into each gated layer.

Streaming and time bases
------------------------
Samples of ``T`` frames stream back to back through one run.  Every synapse delivers one
step late, so layer ``i`` resets every ``T`` steps at phase ``2 + i`` (netx's per-layer
``reset_offset``), one step after the layer before it.  With the source sending frame ``t``
of sample ``k`` at step ``k*T + t + 1``, layer ``i`` processes that frame at step
``k*T + t + 2 + i``: its *window step* ``t``.  A run of ``N`` samples takes ``N*T + L``
steps (``L`` weight layers).  Recordings are cut into windows ``[N, *shape, T]``, the
time base the torch reference and the training model use.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from razor_neuro._compat import netx, patch_lava

patch_lava()

from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402
from lava.proc.io.source import RingBuffer as Source  # noqa: E402

from razor_neuro.export.gate import FrameGate  # noqa: E402
from razor_neuro.export.recorder import SpikeRecorder  # noqa: E402

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
    """
    outputs: list[np.ndarray]
    inputs: list[np.ndarray]
    steps: int
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Layer:
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    flatten_before: bool


def _windows(path: Path, first: int, n: int, frames: int) -> np.ndarray:
    """Recorder file ``[..., steps]`` (index = step - 1) -> windows ``[n, ..., frames]``."""
    record = np.load(path)
    cut = record[..., first:first + n * frames]
    cut = cut.reshape(*record.shape[:-1], n, frames)
    return np.moveaxis(cut, -2, 0).astype(np.uint8)


class LavaGraph:
    """A netx HDF5 network as a Lava process graph with optional schedule gates.

    Args:
        net_path: netx HDF5 file (``network.net``).
        frames: window length ``T``; each layer resets every ``T`` steps.  ``None``: no
            resets, one continuous sample (then ``gates`` must be empty).
        input_shape: network input shape in netx order ``(x, y, f)`` or ``(n,)``; needed
            when the file has no Input layer (netx requires it before a first Conv).
        gates: ``{weight layer index: keep mask [T]}``; the layer receives no spikes on
            frames whose mask is 0.
    """

    def __init__(self, net_path: str | Path, frames: int | None,
                 input_shape: tuple[int, ...] | None = None,
                 gates: dict[int, np.ndarray] | None = None) -> None:
        self.net_path = Path(net_path)
        self.frames = frames
        self.gates = {int(k): np.asarray(v).astype(bool) for k, v in (gates or {}).items()}
        if frames is None and self.gates:
            raise GraphError("gates need a window length (frames)")
        for i, m in self.gates.items():
            if m.shape != (frames,):
                raise GraphError(f"gate of layer {i}: mask has shape {m.shape}, expected "
                                 f"({frames},)")
        self._config = netx().utils.NetDict(str(self.net_path))
        self.layers, self.input_shape = self._read_layers(input_shape)
        bad = [i for i in self.gates if not 0 <= i < len(self.layers)]
        if bad:
            raise GraphError(f"gates for layers {bad}: the network has {len(self.layers)} "
                             "weight layers")

    def _read_layers(self, input_shape: tuple[int, ...] | None
                     ) -> tuple[list[_Layer], tuple[int, ...]]:
        cfg = self._config["layer"]
        layers: list[_Layer] = []
        shape = tuple(int(v) for v in input_shape) if input_shape is not None else None
        flatten = False
        for i in range(len(cfg)):
            kind = cfg[i]["type"]
            if kind == "flatten":
                flatten = True
                continue
            if kind not in ("input", "conv", "dense"):
                raise GraphError(f"{self.net_path}: layer {i} is '{kind}'; the Lava graph "
                                 "runs input, conv, dense and flatten layers")
            out = tuple(int(v) for v in cfg[i]["shape"][::-1])
            if kind == "input" and "neuron" not in cfg[i].keys():
                shape = out  # a shape-only Input layer just names the input shape
                continue
            if shape is None:
                if kind != "input":
                    raise GraphError(f"{self.net_path}: no Input layer; pass the input "
                                     "shape in (x, y, f) order")
                shape = out
            in_shape = (int(np.prod(shape)),) if flatten else shape
            layers.append(_Layer(kind, in_shape, out, flatten))
            shape, flatten = out, False
        if not layers:
            raise GraphError(f"{self.net_path}: no layers with neurons")
        return layers, layers[0].in_shape

    def _build(self, data: np.ndarray, tmp: Path) -> tuple[list[Path], list[Path | None], Any]:
        """Build the graph fed by ``data``; returns the record files of each layer's output
        and of each gate's output (None where ungated), and the source."""
        n_steps = data.shape[-1]
        Net = netx().hdf5.Network
        cfg = self._config["layer"]
        reset = {} if self.frames is None else {"reset_interval": self.frames}
        sinks, gate_sinks = [], []
        index = 0
        source = Source(data=data)
        prev_out = source.s_out
        for i in range(len(cfg)):
            kind = cfg[i]["type"]
            if kind == "flatten" or (kind == "input" and "neuron" not in cfg[i].keys()):
                continue
            layer = self.layers[index]
            if self.frames is not None:
                reset["reset_offset"] = (2 + index) % self.frames
            if kind == "input":
                block, _ = Net.create_input(cfg[i], **reset)
            elif kind == "conv":
                block, _ = Net.create_conv(cfg[i], input_shape=layer.in_shape, **reset)
            else:
                block, _ = Net.create_dense(cfg[i], **reset)
            if layer.flatten_before:
                prev_out = prev_out.transpose([2, 1, 0]).flatten()
            if index in self.gates:
                gate = FrameGate(shape=layer.in_shape, mask=self.gates[index],
                                 first_step=1 + index)
                prev_out.connect(gate.s_in)
                path = tmp / f"gate{index}.npy"
                gate.s_out.connect(SpikeRecorder(shape=layer.in_shape, steps=n_steps,
                                                 path=path).a_in)
                gate.s_out.connect(block.inp)
                gate_sinks.append(path)
            else:
                prev_out.connect(block.inp)
                gate_sinks.append(None)
            path = tmp / f"layer{index}.npy"
            block.out.connect(SpikeRecorder(shape=layer.out_shape, steps=n_steps, path=path).a_in)
            sinks.append(path)
            prev_out = block.out
            index += 1
        return sinks, gate_sinks, source

    def run(self, x: np.ndarray, tag: str = "fixed_pt") -> LavaRun:
        """Stream samples through one Lava run.

        Args:
            x: input spikes ``[N, *input_shape, T]`` (netx order, 0/1).  Without resets
                (``frames=None``) ``N`` must be 1 and ``T`` is the number of steps.
            tag: ``'fixed_pt'`` (bit-accurate) or ``'floating_pt'``.
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
        L = len(self.layers)
        n_steps = n * T + L
        t0 = time.perf_counter()
        data = np.zeros((*self.input_shape, n_steps), dtype=np.int32)
        data[..., :n * T] = np.moveaxis(x, 0, -2).reshape(*self.input_shape, n * T)
        with tempfile.TemporaryDirectory(prefix="razor-lava-") as tmp:
            sinks, gate_sinks, source = self._build(data, Path(tmp))
            t1 = time.perf_counter()
            try:
                source.run(condition=RunSteps(num_steps=n_steps),
                           run_cfg=Loihi2SimCfg(select_tag=tag))
            finally:
                source.stop()
            t2 = time.perf_counter()
            outs = [_windows(p, 1 + i, n, T) for i, p in enumerate(sinks)]
            gated = [None if p is None else _windows(p, i, n, T)
                     for i, p in enumerate(gate_sinks)]
        inputs = []
        for i, layer in enumerate(self.layers):
            if gated[i] is not None:
                inputs.append(gated[i])
                continue
            prev = x if i == 0 else outs[i - 1]
            if layer.flatten_before:  # netx: out.transpose([2, 1, 0]).flatten()
                prev = np.moveaxis(prev, (1, 2, 3), (3, 2, 1)).reshape(n, -1, T)
            inputs.append(prev.astype(np.uint8))
        return LavaRun(outs, inputs, n_steps,
                       {"build": t1 - t0, "run": t2 - t1, "read": time.perf_counter() - t2})

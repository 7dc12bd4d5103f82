"""Batched torch reference simulator of a netx HDF5 network.

:class:`Reference` reproduces, bit-exactly, what Lava's
``Loihi2SimCfg(select_tag='fixed_pt')`` run of ``lava.lib.dl.netx.hdf5.Network`` does
(lava-nc 0.10, lava-dl 0.6), but simulates N samples in parallel with float64 tensors
that hold exact integers (conv2d/matmul stay exact because every partial sum is an
integer far below 2**53).  It runs on CUDA when available.

Fixed-point model reproduced (``lava.proc.lif.models.PyLifModelBitAcc`` /
``PyLifResetModelBitAcc``, ``lava.proc.dense.models.PyDenseModelBitAcc`` /
``PyDelayDenseModelBitAcc``, ``lava.proc.conv.models.PyConvModelFixed``):

* Dense synapse: weights clipped to 8 bits and truncated to ``num_weight_bits`` with
  Lava's own sign mode (:func:`lava_dense_weights`), ``a = floor(W @ s * 2**weight_exp)``
  (arithmetic shift of the *sum*; per delay slot for ``DelayDense``).
* Conv synapse: plain integer correlation (netx flips the kernel, Lava's scipy
  ``convolve2d`` flips it back), no weight exponent, result wrapped to signed 24 bit.
* CUBA neuron, per step: ``u = trunc(u * (4096 - iDecay) / 4096) + (a << 6)`` wrapped to
  24 bit the way Lava does it; ``v = clip(trunc(v * (4096 - vDecay) / 4096) + u +
  (int16(bias) << 6), -(2**23 - 1), 2**23 - 1)``; spike ``v > vThMant << 6``; spiking
  neurons get ``v = 0``.  No refractory period (netx's LIF has none).

Time conventions
----------------
The time base (``s0``, latency ``L_i``, window start ``W_i``, streaming and window cutting)
is defined once in :mod:`~razor_neuro.export.timebase`; in short:

*Window time* (:meth:`Reference.run`): N samples of T steps each.  Layer ``i`` at step
``tau`` receives layer ``i-1``'s spikes of step ``tau``; layer 0 receives input frame
``tau``.  Each sample starts from ``u = v = 0``.  The one-step buffering of Lava's
Dense/Conv synapses is absorbed by this alignment.  A Lava run streams the samples back to
back (:func:`~razor_neuro.export.timebase.lava_stream`) and layer ``i``'s window ``k`` is
its record from sink index ``k*T + L_i`` (:func:`~razor_neuro.export.timebase.lava_windows`).

*Continuous time* (:meth:`Reference.run_continuous`, netx without ``reset_interval``,
e.g. the Oxford network): one long sample, no reset; frame ``tau`` is at source index
``tau`` and layer ``i``'s response at sink index ``tau + L_i``.

*Pre-roll*: Lava runs every layer from step 1, so layer ``i`` lives ``L_i`` steps before its
window starts: its synapse delivers nothing on step 1 (its buffer starts empty) and then
the previous layer's pre-roll output.  Without a bias nothing happens there; with a bias
the neurons integrate it and may spike.  In continuous time that state carries into the
window; with resets it matters through axonal delays (and netx resets by phase, so a layer
deeper than T also resets inside its pre-roll).  The reference simulates each layer over
``L_i + T`` steps, pre-roll included, and returns the window.

Axonal delays (``DelayDense``) are the one thing that crosses window borders in Lava:
a spike delivered ``d`` steps late can land in the next sample's window.  ``run(...,
stream=True)`` reproduces that (the batch is then one back-to-back stream, as in the
Lava run above); the default ``stream=False`` treats samples independently and drops
such spill-over.

Gates: ``gates={i: g}`` with ``g`` a bool tensor ``[T]`` (or ``[N, T]``); at a step where
``g`` is False layer ``i`` receives no input spikes (its synapse sees zeros; for a
delayed synapse the gated spikes' contributions are dropped wherever they would land),
while its neurons still decay.  The gated spikes each layer actually received are
returned by :meth:`Reference.simulate` and kept in :attr:`Reference.last_inputs`.

floating_pt mode is the float model of the same network, as razor-neuro's Lava graph runs
it (:func:`float_parameters`): netx hands Lava's float models its fixed-point numbers
unchanged (``1 - du = -1022`` for iDecay 1024, which explodes), so razor-neuro converts
them to the equivalent float parameters: ``du = iDecay / 4096``, ``dv = vDecay / 4096``,
dense weights ``w * 2**weight_exp`` (after Lava's clip/truncation), threshold and bias in
the same units as the synaptic input.  Lava's float models then compute
``u = u * (1 - du) + a``, ``v = v * (1 - dv) + u + bias``, spike ``v > vth`` without
rounding, wrapping or clipping; the reference does the same float64 operations in the same
order.  Lava's float ``LIFReset`` resets with ``u *= 0``, which would turn an overflowed
(inf) state into nan forever after; ``stream=True`` reproduces that too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from razor_neuro.threads import choose_threads

from .layout import flatten_spikes, reverse_order
from .neuron import CubaParams, cuba_run
from .netfile import NetFileError, NetLayer, Network
from .synapse import conv_layer, dense_events, dense_layer
from .timebase import frame_of_step, lava_latency

__all__ = ["Reference", "ReferenceResult", "float_parameters", "lava_dense_weights", "MODES"]

MODES = ("fixed_pt", "floating_pt")
_M = 1 << 23  # Lava's max_uv_val (24-bit state)

TensorLike = Union[torch.Tensor, np.ndarray]
#: synaptic weights (float64): numpy for the event-driven fixed-point synapses on the CPU
#: (:mod:`~razor_neuro.export.synapse`), torch otherwise
Weight = Union[torch.Tensor, np.ndarray]


# ----------------------------------------------------------------------------------
# Lava-side weight processing (pure numpy)
# ----------------------------------------------------------------------------------

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


# ----------------------------------------------------------------------------------
# simulator
# ----------------------------------------------------------------------------------

@dataclass
class ReferenceResult:
    """Result of :meth:`Reference.simulate` (netx order, time last; views where possible).

    Attributes:
        outputs: per layer, output spikes [N, *layer.output_shape, T] (bool).
        inputs: per layer, the (gated) input spikes the layer actually received,
            [N, *layer.input_shape, T] (bool); for layer 0 that is the gated input.
        currents, voltages: per layer, the neurons' ``u`` and ``v`` after every step,
            [N, *layer.output_shape, T] float64 (exact integers in fixed_pt, Lava's
            units: already shifted by 6 bits); None unless ``states=True``.
    """

    outputs: List[torch.Tensor]
    inputs: List[torch.Tensor]
    currents: Optional[List[torch.Tensor]] = None
    voltages: Optional[List[torch.Tensor]] = None


@dataclass
class _Layer:
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


class Reference:
    """Torch simulation of a netx network, bit-exact with Lava's fixed_pt models.

    Args:
        network: a :class:`~razor_neuro.export.netfile.Network`
            (from :func:`~razor_neuro.export.netfile.read_network`).
        mode: 'fixed_pt' (Loihi bit-accurate) or 'floating_pt' (Lava's float models
            with the same netx parameters).
        device: torch device; default CUDA when available, else CPU.  On the CPU the
            fixed_pt synapses are event-driven integer kernels
            (:mod:`~razor_neuro.export.synapse`); on CUDA, and in floating_pt, torch's
            conv2d/matmul.  The neurons (:mod:`~razor_neuro.export.neuron`) always run
            on the CPU.
        threads: CPU threads of the kernels (the samples and rows are split between
            them); default :func:`razor_neuro.threads.available_cores`.

    Shapes (netx order: (x, y, f) = W, H, C for 3-D, (n,) for dense):
        - input x: [N, *network.input_shape, T], 0/1 (any nonzero counts as a spike,
          as Lava's synapses cast to bool)
        - output of layer i: [N, *network.layers[i].output_shape, T], bool

    Example::

        net = read_network("network.net")
        ref = Reference(net)
        spikes = ref.run(x)            # list, one tensor per layer
        received = ref.last_inputs     # gated input spikes per layer
    """

    def __init__(self, network: Network, mode: str = "fixed_pt",
                 device: Optional[Union[str, torch.device]] = None,
                 threads: Optional[int] = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.network = network
        self.mode = mode
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.threads = choose_threads(threads)
        self.events = self.mode == "fixed_pt" and self.device.type == "cpu"
        shapes = [network.input_shape] + [layer.output_shape for layer in network.layers]
        self._layers = [self._prepare(layer, tuple(shapes[i]))
                        for i, layer in enumerate(network.layers)]
        self.last_inputs: Optional[List[torch.Tensor]] = None

    # -- preparation ----------------------------------------------------------------
    def _weight(self, w: np.ndarray) -> Weight:
        """Weights for the synapses, float64: numpy for the event-driven kernels (fixed_pt
        on the CPU), torch tensors otherwise.  In fixed_pt they are integers, and every
        sum over a fan-in is an exact integer below 2**53 (checked)."""
        w = np.ascontiguousarray(w, dtype=np.float64)
        if self.mode == "fixed_pt" and np.abs(w).sum() >= 2.0 ** 53:
            raise NetFileError(f"{self.network.path}: weights whose sums reach 2**53 cannot "
                               f"be simulated exactly")
        return w if self.events else torch.as_tensor(w, device=self.device)

    def _prepare(self, layer: NetLayer, in_shape: Tuple[int, ...]) -> _Layer:
        """Constants of one layer; ``in_shape``: the netx shape of the spikes it reads
        (before a flatten connection: the previous layer's output shape)."""
        fixed = self.mode == "fixed_pt"
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
                weight = self._weight(w)
            else:
                delay_groups = [(int(k), self._weight(np.where(delay == k, w, 0)))
                                for k in np.unique(delay)]
        elif layer.kind == "conv":
            w = np.asarray(layer.weight)[:, ::-1, ::-1, :].transpose(0, 3, 2, 1)
            weight = self._weight(w)
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
        return _Layer(kind=layer.kind, shape=tuple(int(v) for v in layer.output_shape),
                      in_shape=tuple(int(v) for v in in_shape), weight=weight,
                      delay_groups=delay_groups,
                      weight_exp=int(layer.weight_exp) if fixed else 0,  # float: in weights
                      stride=stride, padding=padding, dilation=dilation,
                      groups=int(layer.groups),
                      input_weight=float(layer.input_weight or 0)
                      if layer.kind == "input" else 0.0,
                      wrap_synapse=fixed and layer.kind == "conv" and bound >= _M,
                      neuron=cuba)

    # -- public API -------------------------------------------------------------------
    def run(self, x: TensorLike, gates: Optional[Mapping[int, TensorLike]] = None,
            stream: bool = False) -> List[torch.Tensor]:
        """Simulate N samples in window time.

        Args:
            x: [N, *input_shape, T] input spikes.
            gates: optional ``{layer_index: bool [T] or [N, T]}``; False = the layer
                receives no input spikes at that step.
            stream: treat the batch as one back-to-back stream (axonal-delay
                spill-over into the next sample, as in a Lava run with
                ``reset_interval=T``); default: independent samples.

        Returns:
            list over layers of [N, *layer.output_shape, T] bool tensors.  The gated
            input spikes per layer are stored in :attr:`last_inputs`.
        """
        return self.simulate(x, gates, stream=stream).outputs

    def run_continuous(self, x: TensorLike,
                       gates: Optional[Mapping[int, TensorLike]] = None
                       ) -> List[torch.Tensor]:
        """Simulate one long sample without resets (netx without ``reset_interval``).

        Layer i's output at step tau corresponds to Lava sink index
        ``tau + lava_latency(network, i)`` when the source holds frame tau at index tau.

        Args:
            x: [*input_shape, T] (or batched [N, *input_shape, T], each an independent
                run) input spikes.
            gates: optional ``{layer_index: bool [T]}``.

        Returns:
            list over layers of [*layer.output_shape, T] bool tensors
            ([N, ...] when x was batched).
        """
        xt = self._as_tensor(x)
        batched = xt.dim() == len(self.network.input_shape) + 2
        if not batched:
            xt = xt.unsqueeze(0)
        result = self.simulate(xt, gates, reset=False)
        if batched:
            return result.outputs
        self.last_inputs = [inp[0] for inp in result.inputs]
        return [out[0] for out in result.outputs]

    def simulate(self, x: TensorLike, gates: Optional[Mapping[int, TensorLike]] = None,
                 stream: bool = False, reset: bool = True,
                 states: bool = False) -> ReferenceResult:
        """Simulate and return output spikes and the gated input spikes of every layer.

        Args:
            x: [N, *input_shape, T] input spikes.
            gates: optional ``{layer_index: bool [T] or [N, T]}``.
            stream: see :meth:`run`.
            reset: True: each layer resets every T steps (netx ``reset_interval=T``);
                False: every sample is one continuous run (:meth:`run_continuous`).
            states: also return every layer's current ``u`` and voltage ``v`` per step.

        Returns:
            :class:`ReferenceResult` with ``outputs[i]``:
            [N, *layers[i].output_shape, T] and ``inputs[i]``:
            [N, *layers[i].input_shape, T] (bool); with ``states`` also ``currents[i]`` and
            ``voltages[i]`` of the output shape (float64; exact integers in fixed_pt).
        """
        if stream and not reset:
            raise ValueError("stream=True needs reset=True")
        return self._simulate(x, gates, stream, reset, states)

    def _simulate(self, x: TensorLike, gates: Optional[Mapping[int, TensorLike]],
                  stream: bool, reset: bool, states: bool) -> ReferenceResult:
        xt = self._as_tensor(x)
        net = self.network
        if xt.dim() != len(net.input_shape) + 2 or \
                tuple(xt.shape[1:-1]) != tuple(net.input_shape):
            raise NetFileError(f"{net.path}: input of shape {tuple(xt.shape)} does not "
                               f"fit; expected [N, {', '.join(map(str, net.input_shape))}"
                               f", T]")
        n, steps = int(xt.shape[0]), int(xt.shape[-1])
        gate_map = self._gates(gates, n, steps)
        result = ReferenceResult(outputs=[], inputs=[],
                                 currents=[] if states else None,
                                 voltages=[] if states else None)
        # pre-roll: layer i runs pre = lava_latency(i) steps before its window (module doc);
        # s [N, *in, S] holds the spikes into layer i's synapse, s[..., j] arriving at its
        # step j + lag
        first = lava_latency(net, 0)
        s, lag = (xt != 0), first
        for index, (layer, prep) in enumerate(zip(net.layers, self._layers)):
            pre = first + index
            gate = gate_map.get(index)
            if gate is not None:
                g = gate[:, torch.as_tensor(frame_of_step(pre, steps)[lag:], device=gate.device)]
                s = s & g.reshape((n,) + (1,) * (s.dim() - 2) + (g.shape[-1],))
            received = s[..., pre - lag:]
            if layer.flatten_before and s.dim() > 3:  # what netx's flatten delivers
                received = torch.from_numpy(flatten_spikes(received.cpu().numpy()))
            result.inputs.append(received)
            spikes, u, v = self._layer(prep, s, stream, pre, lag,
                                       (pre, steps) if reset else (None, 0), states)
            spikes = torch.from_numpy(spikes).reshape((n,) + prep.shape + (-1,))
            u = torch.from_numpy(u).reshape((n,) + prep.shape + (-1,))
            v = torch.from_numpy(v).reshape((n,) + prep.shape + (-1,))
            if stream and self.mode == "floating_pt" and n > 1:
                spikes = self._poison(spikes, u[..., -1], v[..., -1])
            result.outputs.append(spikes[..., pre:])
            if states:
                result.currents.append(u[..., pre:])
                result.voltages.append(v[..., pre:])
            s, lag = spikes.to(self.device), 1
        self.last_inputs = result.inputs
        return result

    # -- internals --------------------------------------------------------------------
    def _as_tensor(self, x: TensorLike) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x.to(self.device)
        return torch.as_tensor(np.asarray(x), device=self.device)

    def _gates(self, gates: Optional[Mapping[int, TensorLike]], n: int,
               steps: int) -> Dict[int, torch.Tensor]:
        """``{layer: bool [N, T]}`` from ``[T]`` or ``[N, T]`` gates."""
        out: Dict[int, torch.Tensor] = {}
        for key, value in (gates or {}).items():
            index = int(key)
            if not 0 <= index < len(self.network.layers):
                raise ValueError(f"gate for layer {key} but the network has "
                                 f"{len(self.network.layers)} layers")
            g = self._as_tensor(value).to(torch.bool)
            if tuple(g.shape) == (steps,):
                g = g.reshape(1, steps).expand(n, steps)
            elif tuple(g.shape) != (n, steps):
                raise ValueError(f"gate for layer {index} has shape {tuple(g.shape)}; "
                                 f"expected [{steps}] or [{n}, {steps}]")
            out[index] = g
        return out

    def _layer(self, p: _Layer, s: torch.Tensor, stream: bool, pre: int, lag: int,
               resets: Tuple[Optional[int], int], states: bool
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Synapse and neurons of one layer (arguments as :meth:`_synapse`; ``resets`` =
        (phase, window) of :func:`~razor_neuro.export.neuron.cuba_run`): spikes
        [N, K, S + lag] and u, v as there."""
        n, steps = s.shape[0], s.shape[-1]
        phase, window = resets
        if self.events and p.kind == "conv":
            return conv_layer(p.neuron, s.numpy(), p.weight, p.shape[:2], p.stride,
                              p.padding, p.dilation, p.wrap_synapse, lag, phase, window,
                              states, self.threads)
        if self.events and p.kind == "dense" and p.delay_groups is None:
            return dense_layer(p.neuron, s.reshape(n, -1, steps).numpy(), p.weight,
                               p.weight_exp, lag, phase, window, states, self.threads)
        a, lag = self._synapse(p, s, stream, pre, lag)
        return cuba_run(p.neuron, a.detach().cpu().numpy().reshape(n, -1, a.shape[-1]), lag,
                        phase, window, states, self.threads)

    def _synapse(self, p: _Layer, s: torch.Tensor, stream: bool, pre: int,
                 lag: int) -> Tuple[torch.Tensor, int]:
        """Synaptic input of every step.

        Args:
            p: the prepared layer.
            s: [N, *p.in_shape, S] bool spikes, ``s[..., j]`` arriving at the layer's step
                ``j + lag``.
            stream, pre: see :meth:`simulate` (``pre`` = the layer's pre-roll steps).

        Returns:
            (a [N, *p.shape, S'], lag'): ``a[..., j]`` is the input of step ``j + lag'``.
        """
        n, steps = s.shape[0], s.shape[-1]
        if p.kind == "input":
            return s.to(torch.float64) * p.input_weight, lag
        if p.kind == "dense":
            flat = s.reshape(n, -1, steps)
            if p.delay_groups is None:
                return self._dense(flat, p.weight, p.weight_exp), lag
            # axonal delays move input across the timeline: build it whole (from step 0)
            total = torch.zeros((n,) + p.shape + (steps + lag,), dtype=torch.float64,
                                device=self.device)
            for delay, weight in p.delay_groups:
                part = self._dense(flat, weight, p.weight_exp).to(torch.float64)
                part = torch.cat([part.new_zeros(part.shape[:-1] + (lag,)), part], -1)
                total += self._delayed(part, delay, stream, pre)
            return total, 0
        return self._conv(p, s), lag

    def _dense(self, s: torch.Tensor, weight: Weight, weight_exp: int) -> torch.Tensor:
        """Dense synapse of [N, I, S] bool spikes -> [N, O, S], each sum shifted by
        ``weight_exp`` (Lava's arithmetic shift; exact in float too: a power-of-two
        scaling of an integer, floored)."""
        if self.events:
            return torch.from_numpy(dense_events(s.numpy(), weight, weight_exp, self.threads))
        a = torch.einsum("nis,io->nos", s.to(torch.float64), weight)
        if self.mode != "fixed_pt" or weight_exp == 0:
            return a
        return torch.floor(a * 2.0 ** weight_exp)

    def _conv(self, p: _Layer, s: torch.Tensor) -> torch.Tensor:
        """Conv synapse of [N, x, y, f, S] bool spikes -> [N, x', y', f', S] with torch,
        wrapped to 24 bits as Lava's ``signed_clamp`` does where a sum can pass 2**23."""
        n, steps = s.shape[0], s.shape[-1]  # as torch's [R, C, H, W] images, R = (n, t)
        images = s.permute(0, 4, 3, 2, 1).reshape(n * steps, *s.shape[3:0:-1])
        a = F.conv2d(images.to(torch.float64), p.weight, stride=p.stride,
                     padding=p.padding, dilation=p.dilation, groups=p.groups)
        a = a.reshape(n, steps, *a.shape[1:]).permute(0, 4, 3, 2, 1)
        if p.wrap_synapse:
            a = torch.remainder(a + _M, 2 * _M) - _M
        return a

    @staticmethod
    def _delayed(a: torch.Tensor, delay: int, stream: bool, pre: int) -> torch.Tensor:
        """Delay [N, n, P+T] by ``delay`` steps.

        Streaming, the Lava timeline is sample 0's pre-roll and window, then the windows of
        samples 1.. back to back: a delayed contribution crosses into the next window, and
        sample k's pre-roll slots hold the end of window k-1 (its neurons reset at window
        start anyway).  Otherwise each sample is delayed within its own timeline.
        """
        if delay == 0:
            return a
        n, steps = a.shape[0], a.shape[-1]
        window = steps - pre
        if stream:
            rest = a[1:, :, pre:].permute(1, 0, 2).reshape(a.shape[1], -1)
            flat = torch.cat([a[0], rest], 1)
            moved = torch.zeros_like(flat)
            if delay < flat.shape[1]:
                moved[:, delay:] = flat[:, :-delay]
            return torch.stack([moved[:, k * window:k * window + steps] for k in range(n)])
        out = torch.zeros_like(a)
        if delay < steps:
            out[..., delay:] = a[..., :-delay]
        return out

    @staticmethod
    def _poison(spikes: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Lava float LIFReset resets with ``u *= 0; v *= 0``: a neuron whose state
        ended a window at +-inf/nan stays nan (silent) in every later window.

        Args:
            spikes: [N, *shape, S] bool; u, v: final states [N, *shape].

        Returns:
            spikes with the poisoned (sample, neuron) pairs silenced.
        """
        bad = ~(torch.isfinite(u) & torch.isfinite(v))
        if not bool(bad.any()):
            return spikes
        seen = torch.cumsum(bad.to(torch.int64), dim=0) > 0
        poisoned = torch.zeros_like(bad)
        poisoned[1:] = seen[:-1]
        return spikes & ~poisoned.unsqueeze(-1)

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

import contextlib
from dataclasses import dataclass
from typing import Dict, Iterator, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from .layout import reverse_order
from .netfile import NetFileError, NetLayer, Network
from .timebase import frame_of_step, lava_latency

__all__ = ["Reference", "ReferenceResult", "float_parameters", "lava_dense_weights", "MODES"]

MODES = ("fixed_pt", "floating_pt")
_M = float(1 << 23)          # Lava's max_uv_val (24-bit state)
_CONV_WRAP = float(1 << 24)  # Lava's signed_clamp(bits=24)

TensorLike = Union[torch.Tensor, np.ndarray]


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
    """Result of :meth:`Reference.simulate`.

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
    shape: Tuple[int, ...]           # internal neuron shape (reversed netx order)
    weight: Optional[torch.Tensor]   # dense: (in, out) transposed; conv: (out, in/g, kh, kw)
    delay_groups: Optional[List[Tuple[int, torch.Tensor]]]
    weight_exp: int
    stride: Tuple[int, int]
    padding: Tuple[int, int]
    dilation: Tuple[int, int]
    groups: int
    input_weight: float
    bias: Optional[torch.Tensor]
    decay_u: float
    decay_v: float
    vth: float


def _reverse_axes(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(arr, tuple(range(arr.ndim))[::-1]))


class Reference:
    """Torch simulation of a netx network, bit-exact with Lava's fixed_pt models.

    Args:
        network: a :class:`~razor_neuro.export.netfile.Network`
            (from :func:`~razor_neuro.export.netfile.read_network`).
        mode: 'fixed_pt' (Loihi bit-accurate) or 'floating_pt' (Lava's float models
            with the same netx parameters).
        device: torch device; default CUDA when available, else CPU.
        cpu_threads: on CPU, torch's intra-op thread count during a simulation
            (restored afterwards; process-global while it runs).  The default 1 is
            fastest for the small per-step tensors and avoids OpenMP spin-wait
            stalls on a shared machine (2 threads on a loaded 2-core box were up to
            100x slower); None keeps torch's setting.

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
                 cpu_threads: Optional[int] = 1) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.network = network
        self.mode = mode
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.dtype = torch.float64
        self.cpu_threads = cpu_threads
        self._layers = [self._prepare(layer) for layer in network.layers]
        self.last_inputs: Optional[List[torch.Tensor]] = None

    # -- preparation ----------------------------------------------------------------
    def _tensor(self, arr: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(arr, dtype=np.float64), device=self.device)

    def _weight(self, w: np.ndarray, fan_in_axes: Tuple[int, ...]) -> torch.Tensor:
        """Synaptic weights as float32 when every fixed-point sum of binary spikes stays an
        exact float32 integer (sum of |w| over the fan-in < 2**24: ~2.5x faster conv2d),
        else float64.  Float mode keeps float64, the precision of Lava's float models."""
        w = np.asarray(w, dtype=np.float64)
        bound = np.abs(w).sum(axis=fan_in_axes).max(initial=0.0)
        exact32 = self.mode == "fixed_pt" and bound < 2.0 ** 24
        return torch.as_tensor(w, dtype=torch.float32 if exact32 else torch.float64,
                               device=self.device)

    def _prepare(self, layer: NetLayer) -> _Layer:
        fixed = self.mode == "fixed_pt"
        shape = reverse_order(layer.output_shape)
        weight = None
        delay_groups = None
        if layer.kind == "dense":
            w = lava_dense_weights(layer) if fixed else float_parameters(layer)["weights"]
            if layer.delay is None:
                weight = self._weight(w.T, (0,))
            else:
                delay_groups = []
                for k in np.unique(layer.delay):
                    wk = np.where(layer.delay == k, w, 0)
                    delay_groups.append((int(k), self._weight(wk.T, (0,))))
        elif layer.kind == "conv":
            w = np.asarray(layer.weight)[:, ::-1, ::-1, :].transpose(0, 3, 2, 1)
            weight = self._weight(np.ascontiguousarray(w), (1, 2, 3))
        bias = None
        if layer.bias is not None:
            b = _reverse_axes(np.asarray(layer.bias, dtype=np.int64))
            if fixed:  # Lava stores bias_mant as int16, bias_exp = 6
                b = ((b + (1 << 15)) % (1 << 16) - (1 << 15)) * 64
            bias = self._tensor(b)
        neuron = layer.neuron
        if fixed:
            decay_u = (4096 - (neuron.du + 1)) / 4096
            decay_v = (4096 - neuron.dv) / 4096
            vth = float(neuron.threshold * 64)
        else:
            params = float_parameters(layer)
            decay_u = float(1 - params["du"][0])
            decay_v = float(1 - params["dv"][0])
            vth = float(params["vth"][0])
        stride = padding = dilation = (1, 1)
        if layer.kind == "conv":
            stride = reverse_order(layer.stride)      # torch order (y, x)
            padding = reverse_order(layer.padding)
            dilation = reverse_order(layer.dilation)
        return _Layer(kind=layer.kind, shape=shape, weight=weight,
                      delay_groups=delay_groups,
                      weight_exp=int(layer.weight_exp) if fixed else 0,  # float: in weights
                      stride=stride, padding=padding, dilation=dilation,
                      groups=int(layer.groups),
                      input_weight=float(layer.input_weight or 0)
                      if layer.kind == "input" else 0.0,
                      bias=bias, decay_u=decay_u, decay_v=decay_v, vth=vth)

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
        with self._threads():
            return self._simulate(x, gates, stream, reset, states)

    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        if self.device.type != "cpu" or self.cpu_threads is None:
            yield
            return
        before = torch.get_num_threads()
        if before == self.cpu_threads:
            yield
            return
        torch.set_num_threads(self.cpu_threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

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
        # pre-roll: layer i runs lava_latency(i) steps before its window (see module doc)
        first = lava_latency(net, 0)
        s = self._to_internal(xt != 0).to(self.dtype)
        s = torch.cat([s.new_zeros((first,) + s.shape[1:]), s])
        result = ReferenceResult(outputs=[], inputs=[],
                                 currents=[] if states else None,
                                 voltages=[] if states else None)
        for index, (layer, prep) in enumerate(zip(net.layers, self._layers)):
            pre = first + index
            if index:  # the synapse's empty buffer on the first step
                s = torch.cat([s.new_zeros((1,) + s.shape[1:]), s])
            if layer.flatten_before:
                s = s.reshape(s.shape[0], n, -1)
            gate = gate_map.get(index)
            if gate is not None:
                g = gate[torch.as_tensor(frame_of_step(pre, steps), device=gate.device)]
                s = s * g.reshape(g.shape + (1,) * (s.dim() - 2))
            result.inputs.append(self._to_external(s[pre:] != 0))
            a = self._synapse(prep, s, stream, pre)
            spikes, u, v = self._neurons(prep, a, pre if reset else None, states)
            if stream and self.mode == "floating_pt" and n > 1:
                spikes = self._poison(spikes, u[-1], v[-1])
            result.outputs.append(self._to_external(spikes[pre:]))
            if states:
                result.currents.append(self._to_external(u[pre:]))
                result.voltages.append(self._to_external(v[pre:]))
            s = spikes.to(self.dtype)
        self.last_inputs = result.inputs
        return result

    # -- internals --------------------------------------------------------------------
    def _as_tensor(self, x: TensorLike) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x.to(self.device)
        return torch.as_tensor(np.asarray(x), device=self.device)

    def _gates(self, gates: Optional[Mapping[int, TensorLike]], n: int,
               steps: int) -> Dict[int, torch.Tensor]:
        out: Dict[int, torch.Tensor] = {}
        for key, value in (gates or {}).items():
            index = int(key)
            if not 0 <= index < len(self.network.layers):
                raise ValueError(f"gate for layer {key} but the network has "
                                 f"{len(self.network.layers)} layers")
            g = self._as_tensor(value).to(torch.bool)
            if tuple(g.shape) == (steps,):
                g = g.reshape(steps, 1).expand(steps, n)
            elif tuple(g.shape) == (n, steps):
                g = g.t()
            else:
                raise ValueError(f"gate for layer {index} has shape {tuple(g.shape)}; "
                                 f"expected [{steps}] or [{n}, {steps}]")
            out[index] = g.to(self.dtype)  # [T, N]
        return out

    @staticmethod
    def _to_internal(x: torch.Tensor) -> torch.Tensor:
        """[N, *netx_shape, T] -> [T, N, *reversed(netx_shape)]."""
        nd = x.dim() - 2
        return x.permute(x.dim() - 1, 0, *[nd - j for j in range(nd)])

    @staticmethod
    def _to_external(x: torch.Tensor) -> torch.Tensor:
        """[T, N, *internal] -> [N, *netx_shape, T] (contiguous)."""
        nd = x.dim() - 2
        return x.permute(1, *[1 + nd - j for j in range(nd)], 0).contiguous()

    def _shift(self, a: torch.Tensor, weight_exp: int) -> torch.Tensor:
        if self.mode != "fixed_pt" or weight_exp == 0:
            return a
        if weight_exp > 0:
            return a * float(2 ** weight_exp)
        return torch.floor(a * (0.5 ** (-weight_exp)))

    def _synapse(self, p: _Layer, s: torch.Tensor, stream: bool, pre: int) -> torch.Tensor:
        """Synaptic input a_in of every step: [P+T, N, *in] -> [P+T, N, *out] (``pre`` =
        P pre-roll steps before the window)."""
        steps, n = s.shape[:2]
        if p.kind == "input":
            return s * p.input_weight
        if p.kind == "dense":
            flat = s.reshape(steps, n, -1)
            if p.delay_groups is None:
                return self._shift(self._matmul(flat, p.weight), p.weight_exp)
            total = torch.zeros((steps, n) + p.shape, dtype=self.dtype, device=self.device)
            for delay, weight in p.delay_groups:
                part = self._shift(self._matmul(flat, weight), p.weight_exp)
                total += self._delayed(part, delay, stream, pre)
            return total
        a = F.conv2d(s.reshape(steps * n, *s.shape[2:]).to(p.weight.dtype), p.weight,
                     stride=p.stride, padding=p.padding, dilation=p.dilation,
                     groups=p.groups).to(self.dtype)
        if self.mode == "fixed_pt":  # Lava's signed_clamp(bits=24): wrap-around
            a = torch.remainder(a + _M, _CONV_WRAP) - _M
        return a.reshape(steps, n, *a.shape[1:])

    def _matmul(self, s: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``s @ weight`` in the weight's precision, returned in the state precision."""
        return (s.to(weight.dtype) @ weight).to(self.dtype)

    @staticmethod
    def _delayed(a: torch.Tensor, delay: int, stream: bool, pre: int) -> torch.Tensor:
        """Delay [P+T, N, n] by ``delay`` steps.

        Streaming, the Lava timeline is sample 0's pre-roll and window, then the windows of
        samples 1.. back to back: a delayed contribution crosses into the next window, and
        sample k's pre-roll slots hold the end of window k-1 (its neurons reset at window
        start anyway).  Otherwise each sample is delayed within its own timeline.
        """
        if delay == 0:
            return a
        steps, n = a.shape[:2]
        window = steps - pre
        if stream:
            flat = torch.cat([a[:, 0], a[pre:, 1:].transpose(0, 1).reshape(-1, a.shape[2])])
            moved = torch.zeros_like(flat)
            if delay < flat.shape[0]:
                moved[delay:] = flat[:-delay]
            return torch.stack([moved[k * window:k * window + steps] for k in range(n)], 1)
        out = torch.zeros_like(a)
        if delay < steps:
            out[delay:] = a[:-delay]
        return out

    def _neurons(self, p: _Layer, a: torch.Tensor, pre: Optional[int], states: bool
                 ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """CUBA dynamics over time, one Lava LIF step per time step, on the host in numpy
        (in-place ufuncs: far less per-step overhead than torch on small tensors; the same
        IEEE float64 operations in the same order as Lava's integer ones, exact below 2**53).

        Args:
            p: the prepared layer.
            a: [S, N, *shape] synaptic input of every step.
            pre: reset u and v before steps ``pre + k*T`` (any k, also before ``pre``:
                netx resets by phase), or None for no resets.
            states: return u, v of every step instead of the last.

        Returns:
            (spikes [S, N, *shape] bool, u, v): u, v are [S, N, *shape] with ``states``,
            else [1, N, *shape] (the last step).
        """
        steps = a.shape[0]
        window = steps - (pre or 0)
        resets = pre is not None and window > 0  # an empty window (T = 0) has no phase
        a = a.detach().cpu().numpy()
        spikes = np.empty(a.shape, dtype=bool)
        u = np.zeros(a.shape[1:], dtype=np.float64)
        v = np.zeros_like(u)
        u_all = np.empty(a.shape) if states else None
        v_all = np.empty(a.shape) if states else None
        bias = p.bias.cpu().numpy() if p.bias is not None else None
        vth = p.vth
        fixed = self.mode == "fixed_pt"
        if fixed:
            a = a * 64.0  # Lava left-shifts the synaptic input by act_shift = 6
            wrap, clip = self._bounds(torch.from_numpy(a), p)
        two_m = 2 * _M
        full_u = fixed and p.decay_u == 0.0  # iDecay = 4096: u = a exactly
        keep_u = fixed and p.decay_u == 1.0  # iDecay = 0: no current decay
        with np.errstate(all="ignore"):  # float mode: overflow to inf/nan as in Lava
            for t in range(steps):
                if resets and (t - pre) % window == 0:
                    u.fill(0.0)
                    v.fill(0.0)
                if full_u:
                    np.copyto(u, a[t])
                else:
                    if not keep_u:
                        np.multiply(u, p.decay_u, out=u)  # float: u = u * (1 - du) + a
                        if fixed:
                            np.trunc(u, out=u)
                    np.add(u, a[t], out=u)
                if fixed and wrap:  # Lava: > 2**23 -> -2**24, <= -2**23 -> +2**24
                    u = np.where(u > _M, u - two_m, np.where(u <= -_M, u + two_m, u))
                if not fixed or p.decay_v != 1.0:
                    np.multiply(v, p.decay_v, out=v)   # float: v = v * (1 - dv) + u + bias
                    if fixed:
                        np.trunc(v, out=v)
                np.add(v, u, out=v)
                if bias is not None:
                    np.add(v, bias, out=v)
                if fixed and clip:
                    np.clip(v, -_M + 1, _M - 1, out=v)
                s = spikes[t]
                np.greater(v, vth, out=s)
                np.copyto(v, 0.0, where=s)
                if states:
                    u_all[t] = u
                    v_all[t] = v
        if not states:
            u_all, v_all = u[None], v[None]
        return torch.from_numpy(spikes), torch.from_numpy(u_all), torch.from_numpy(v_all)

    @staticmethod
    def _poison(spikes: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Lava float LIFReset resets with ``u *= 0; v *= 0``: a neuron whose state
        ended a window at +-inf/nan stays nan (silent) in every later window.

        Args:
            spikes: [T, N, *shape] bool; u, v: final states [N, *shape].

        Returns:
            spikes with the poisoned (sample, neuron) pairs silenced.
        """
        bad = ~(torch.isfinite(u) & torch.isfinite(v))
        if not bool(bad.any()):
            return spikes
        seen = torch.cumsum(bad.to(torch.int64), dim=0) > 0
        poisoned = torch.zeros_like(bad)
        poisoned[1:] = seen[:-1]
        return spikes & ~poisoned.unsqueeze(0)

    @staticmethod
    def _bounds(a: torch.Tensor, p: _Layer) -> Tuple[bool, bool]:
        """Whether the 24-bit current wrap and the voltage clip can ever act.

        Uses |u_t| <= |decay_u| |u_(t-1)| + max|a_t| and
        |v_t| <= |decay_v| |v_(t-1)| + |u_t| + max|bias|; when the bounds stay below
        2**23 (resp. 2**23 - 1) the operation is a no-op and is skipped.

        Args:
            a: [T, N, *shape] synaptic input already shifted by 6 bits.
            p: the prepared layer.

        Returns:
            (wrap_needed, clip_needed)
        """
        if a.numel() == 0:
            return False, False
        peak = a.abs().reshape(a.shape[0], -1).amax(dim=1).cpu().numpy().tolist()
        bias = float(p.bias.abs().max()) if p.bias is not None else 0.0
        fu, fv = abs(p.decay_u), abs(p.decay_v)
        bound_u = bound_v = 0.0
        clip = False
        for value in peak:
            bound_u = bound_u * fu + value
            if bound_u >= _M:
                return True, True
            bound_v = bound_v * fv + bound_u + bias
            clip = clip or bound_v >= _M - 1
        return False, clip

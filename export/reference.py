"""Reference simulator of a netx HDF5 network, bit-exact with Lava's ``fixed_pt`` run.

:class:`Reference` gives the output spikes (and with ``states`` the currents and voltages)
of every layer that ``Loihi2SimCfg(select_tag='fixed_pt')`` gives for
``lava.lib.dl.netx.hdf5.Network`` (lava-nc 0.10, lava-dl 0.6), for N samples at once;
``floating_pt`` is the float model of the same network as razor-neuro's Lava graph runs
it (:func:`~razor_neuro.export.weights.float_parameters`).  The models reproduced:
Dense and DelayDense (``PyDenseModelBitAcc``, ``PyDelayDenseModelBitAcc``) and Conv
(``PyConvModelFixed``) in :mod:`~razor_neuro.export.synapse`, the LIF neuron
(``PyLifModelBitAcc``, ``PyLifResetModelBitAcc``) in :mod:`~razor_neuro.export.neuron`.

Time (defined once in :mod:`~razor_neuro.timebase`): with ``reset`` (window time) N
samples of T steps, layer ``i`` seeing frame ``t`` at its window step ``t``, each window
from ``u = v = 0``; without (netx without ``reset_interval``) each sample one long run,
layer ``i``'s response to frame ``t`` at Lava sink index ``t + L_i``.  Each layer is simulated over its pre-roll (the ``L_i`` steps Lava
runs it before its first window) and its window.  ``stream=True`` treats the batch as one
back-to-back Lava stream, in which axonal delays spill into the next window and Lava's
float reset turns an overflowed state into nan for good.

Gates ``{i: g}``, ``g`` bool ``[T]`` or ``[N, T]``: where False, layer ``i`` receives no
input spikes (its neurons still decay).

Shapes (netx order, time last): input ``[N, *input_shape, T]`` (any nonzero is a spike);
outputs ``[N, *layers[i].output_shape, T]`` bool; inputs received
``[N, *layers[i].input_shape, T]`` bool.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from razor_neuro.threads import choose_threads

from razor_neuro.layout import flatten_spikes, reverse_order
from razor_neuro.export.neuron import CubaParams, cuba_run
from razor_neuro.export.netfile import NetFileError, Network
from razor_neuro.export.synapse import conv_layer, dense_events, dense_layer
from razor_neuro.timebase import frame_of_step, lava_latency
from razor_neuro.export.weights import LayerConstants, Weight, layer_constants

__all__ = ["Reference", "ReferenceResult", "MODES"]

MODES = ("fixed_pt", "floating_pt")
_M = 1 << 23  # half of Lava's 24-bit synaptic range (signed_clamp)

TensorLike = Union[torch.Tensor, np.ndarray]


# ----------------------------------------------------------------------------------
# Lava-side weight processing (pure numpy)
# ----------------------------------------------------------------------------------

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
        result = Reference(net).simulate(x)
        spikes = result.outputs        # list, one tensor per layer
        received = result.inputs       # gated input spikes per layer
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
        self._layers = [layer_constants(layer, tuple(shapes[i]), mode,
                                        None if self.events else self.device)
                        for i, layer in enumerate(network.layers)]

    # -- public API -------------------------------------------------------------------
    def simulate(self, x: TensorLike, gates: Optional[Mapping[int, TensorLike]] = None,
                 stream: bool = False, reset: bool = True,
                 states: bool = False) -> ReferenceResult:
        """Simulate and return output spikes and the gated input spikes of every layer.

        Args:
            x: [N, *input_shape, T] input spikes.
            gates: optional ``{layer_index: bool [T] or [N, T]}``; False = the layer
                receives no input spikes at that step.
            stream: treat the batch as one back-to-back stream (axonal-delay
                spill-over into the next sample, as in a Lava run with
                ``reset_interval=T``); default: independent samples.
            reset: True: each layer resets every T steps (netx ``reset_interval=T``);
                False: every sample is one continuous run (netx without
                ``reset_interval``): layer i's output at step tau is Lava sink index
                ``tau + lava_latency(network, i)`` when the source holds frame tau at
                index tau.
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

    def _layer(self, p: LayerConstants, s: torch.Tensor, stream: bool, pre: int, lag: int,
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

    def _synapse(self, p: LayerConstants, s: torch.Tensor, stream: bool, pre: int,
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

    def _conv(self, p: LayerConstants, s: torch.Tensor) -> torch.Tensor:
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

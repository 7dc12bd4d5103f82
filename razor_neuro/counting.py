"""Per-layer operation counts from spike tensors (torch + numpy only; no lava, no slayer).

Tensors use the lava-dl/slayer layout with time last:

* dense layers: ``[N, C, T]`` (an input of shape ``[N, C, H, W, T]`` is flattened to
  ``[N, C*H*W, T]``, as ``slayer.block.*.Dense`` does after a conv stack);
* conv / pool layers: ``[N, C, H, W, T]``.

Every count in :class:`LayerCounts` is a total over the whole batch (all ``N`` samples and all
executed time steps); :func:`per_sample` / :meth:`LayerCounts.per_sample` divide by ``N``.

Definitions and their relation to NeuroBench (``neurobench.metrics.workload``)
-----------------------------------------------------------------------------
``synops``
    Each non-zero input event (``input != 0`` at position ``(n, c, h, w, t)``) times the
    *structural* fan-out of that input position: the number of (output neuron, weight) pairs the
    position is connected to, computed exactly for stride, padding (border inputs reach fewer
    outputs), dilation, groups and pooling windows.  This is NeuroBench's ``SynapticOperations``
    ``"Effective_ACs"`` for binary (spiking) inputs summed over time steps, with ONE documented
    difference: NeuroBench binarises the weights and skips synapses whose weight is exactly
    zero, while we count every structural synapse (zero weights included, because Loihi still
    walks those synapse entries unless they are removed at compile time).  With no zero
    weights both counts are identical (checked in ``tests/test_counting.py``).
``dense_macs``
    The dense ANN MAC count of the same layer: (number of in-bounds (output, input) connections
    per sample per time step) x ``T``, i.e. ``sum(fan-in of each output neuron)`` with padding
    taps excluded.  This equals NeuroBench's ``"Dense"`` (all-ones inputs and weights) summed
    over ``T`` time steps.  It uses the full ``T`` even when frames are pruned: the ANN baseline
    is not pruned.
``activation_sparsity``
    ``1 - output_spikes / (out_neurons * T_executed * N)``.  NeuroBench's
    ``ActivationSparsity`` is the same ratio, but pooled over all layers of a model
    (neuron-weighted); ours is per layer.  Both count an event as any non-zero value.
``neuron_updates`` / ``active_neuron_updates``
    ``out_neurons * T_executed * N`` and the number of those neuron-steps that emitted a
    spike.  (NeuroBench's ``MembraneUpdates`` counts membrane potential *changes*, which needs
    the neuron state; it is not reproduced here.)

Temporal frame pruning
----------------------
``keep_mask`` is a bool tensor ``[T]`` (same frames for every sample) or ``[N, T]``.  A pruned
frame is not executed: it contributes no input spikes, output spikes, synops or neuron
updates.  ``pruned_frames`` counts pruned (sample, time step) pairs, so
``per_sample(c).pruned_frames`` is the number of ``t`` with ``keep_mask[t] == False`` for a 1-D
mask.  ``synops_saved`` is what the pruned frames would have cost: the synops of
``unpruned_input_spikes`` restricted to the pruned frames (``None`` when no unpruned input is
given and frames were pruned; ``0`` when nothing was pruned).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "LayerSpec",
    "LayerCounts",
    "fan_out",
    "dense_macs_per_step",
    "count_layer",
    "per_sample",
    "sum_counts",
]

_KINDS = ("dense", "conv", "pool")


def _pair(v) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(x) for x in v)
    if len(v) != 2:
        raise ValueError(f"expected an int or a pair, got {v!r}")
    return v  # type: ignore[return-value]


@dataclass(frozen=True)
class LayerSpec:
    """Structural description of one synaptic layer.

    ``in_shape``/``out_shape`` exclude batch and time: ``(C,)`` for dense, ``(C, H, W)`` for
    conv/pool (a dense layer may take a ``(C, H, W)`` input; it is flattened).  For ``pool``
    ``kernel`` is the pooled window and ``stride`` defaults to the window (slayer's default);
    a pool is a per-channel (depthwise) sum over the window, so ``groups`` is ignored and
    ``out_shape[0]`` must equal ``in_shape[0]``.  ``weight`` is carried for callers but NOT used:
    synops use the structural fan-out (see module docstring).
    """

    name: str
    kind: str
    in_shape: tuple
    out_shape: tuple
    kernel: tuple = (1, 1)
    stride: Optional[tuple] = None
    padding: tuple = (0, 0)
    groups: int = 1
    dilation: tuple = (1, 1)
    weight: Optional[torch.Tensor] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"layer {self.name!r}: kind must be one of {_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "in_shape", tuple(int(x) for x in self.in_shape))
        object.__setattr__(self, "out_shape", tuple(int(x) for x in self.out_shape))
        if self.kind == "dense":
            if len(self.out_shape) != 1:
                raise ValueError(f"layer {self.name!r}: dense out_shape must be (C,)")
            return
        if len(self.in_shape) != 3 or len(self.out_shape) != 3:
            raise ValueError(f"layer {self.name!r}: {self.kind} in_shape/out_shape must be (C, H, W)")
        kernel = _pair(self.kernel)
        object.__setattr__(self, "kernel", kernel)
        stride = kernel if (self.stride is None and self.kind == "pool") else (self.stride or 1)
        object.__setattr__(self, "stride", _pair(stride))
        object.__setattr__(self, "padding", _pair(self.padding))
        object.__setattr__(self, "dilation", _pair(self.dilation))
        if self.kind == "pool":
            if self.out_shape[0] != self.in_shape[0]:
                raise ValueError(f"layer {self.name!r}: pool must keep the channel count")
            object.__setattr__(self, "groups", self.in_shape[0])
        cin, cout = self.in_shape[0], self.out_shape[0]
        if cin % self.groups or cout % self.groups:
            raise ValueError(f"layer {self.name!r}: groups={self.groups} must divide in/out channels")
        expect = self._conv_out_hw()
        if tuple(self.out_shape[1:]) != expect:
            raise ValueError(
                f"layer {self.name!r}: out_shape {self.out_shape} does not match the "
                f"{self.kind} geometry, which gives (C, {expect[0]}, {expect[1]})"
            )

    def _conv_out_hw(self) -> tuple[int, int]:
        from razor_neuro.layout import conv_out_size
        return tuple(conv_out_size(self.in_shape[1 + i], self.kernel[i], self.stride[i],  # type: ignore[return-value]
                                   self.padding[i], self.dilation[i]) for i in range(2))

    @property
    def in_neurons(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def out_neurons(self) -> int:
        return int(np.prod(self.out_shape))


@dataclass(frozen=True)
class LayerCounts:
    """Counts for one layer, totals over the batch (use :meth:`per_sample` to divide by N).

    ``n_samples``, ``time_steps`` (T, including pruned frames) and ``out_neurons`` describe the
    run and are not divided by :meth:`per_sample`.
    """

    name: str
    n_samples: int
    time_steps: int
    out_neurons: int
    input_spikes: float
    output_spikes: float
    synops: float
    neuron_updates: float
    active_neuron_updates: float
    pruned_frames: float
    synops_saved: Optional[float]
    dense_macs: float
    activation_sparsity: float

    _EXTENSIVE = (
        "input_spikes", "output_spikes", "synops", "neuron_updates", "active_neuron_updates",
        "pruned_frames", "synops_saved", "dense_macs",
    )

    @property
    def inactive_neuron_updates(self) -> float:
        """Neuron-steps without an output spike (``neuron_updates - active_neuron_updates``)."""
        return self.neuron_updates - self.active_neuron_updates

    def per_sample(self) -> "LayerCounts":
        """Same counts divided by ``n_samples`` (``activation_sparsity`` is a ratio, kept)."""
        n = self.n_samples
        upd = {k: (None if getattr(self, k) is None else getattr(self, k) / n) for k in self._EXTENSIVE}
        return dataclasses.replace(self, n_samples=1, **upd)


def input_events_per_frame(x: Any) -> list[float]:
    """Mean input event count of each frame over the samples of ``x``
    ``[N, *input_shape, T]`` (numpy or torch), length ``T``; a graded input counts its
    values."""
    x = np.asarray(x)
    return [float(v) for v in x.reshape(x.shape[0], -1, x.shape[-1]).sum(axis=1).mean(axis=0)]


def per_sample(counts):
    """Divide batch counts by N: accepts one :class:`LayerCounts` or a sequence of them."""
    if isinstance(counts, LayerCounts):
        return counts.per_sample()
    return [c.per_sample() for c in counts]


def sum_counts(counts: Sequence[LayerCounts], name: str = "total") -> LayerCounts:
    """Sum extensive counts over layers (all layers must share N and T)."""
    counts = list(counts)
    if not counts:
        raise ValueError("sum_counts needs at least one layer")
    n, t = counts[0].n_samples, counts[0].time_steps
    if any(c.n_samples != n or c.time_steps != t for c in counts):
        raise ValueError("sum_counts: layers disagree on n_samples / time_steps")
    tot = {}
    for k in LayerCounts._EXTENSIVE:
        vals = [getattr(c, k) for c in counts]
        tot[k] = None if any(v is None for v in vals) else sum(vals)
    out_neurons = sum(c.out_neurons for c in counts)
    neuron_steps = tot["neuron_updates"]
    sparsity = 1.0 - tot["output_spikes"] / neuron_steps if neuron_steps else 0.0
    return LayerCounts(name=name, n_samples=n, time_steps=t, out_neurons=out_neurons,
                       activation_sparsity=sparsity, **tot)


# --------------------------------------------------------------------------- structure

def _conv_ones(spec: LayerSpec, x: torch.Tensor) -> torch.Tensor:
    cin, cout = spec.in_shape[0], spec.out_shape[0]
    w = torch.ones(cout, cin // spec.groups, *spec.kernel, dtype=torch.float64)
    return F.conv2d(x, w, stride=spec.stride, padding=spec.padding, dilation=spec.dilation,
                    groups=spec.groups)


def fan_out(spec: LayerSpec) -> torch.Tensor:
    """Exact structural fan-out of every input position, shape ``spec.in_shape`` (int64).

    For conv/pool it is the gradient of ``sum(conv(x, ones))`` w.r.t. ``x`` at ``x = 1``: the
    number of (output neuron, kernel tap) pairs that read that input position, so padding,
    stride, dilation and groups are all exact.  For dense it is ``out_features`` everywhere.
    """
    if spec.kind == "dense":
        return torch.full(spec.in_shape, spec.out_shape[0], dtype=torch.int64)
    x = torch.ones(1, *spec.in_shape, dtype=torch.float64, requires_grad=True)
    _conv_ones(spec, x).sum().backward()
    return x.grad[0].round().to(torch.int64)


def dense_macs_per_step(spec: LayerSpec) -> int:
    """Dense ANN MACs for one sample and one time step: sum over outputs of in-bounds fan-in."""
    if spec.kind == "dense":
        return spec.in_neurons * spec.out_shape[0]
    with torch.no_grad():
        y = _conv_ones(spec, torch.ones(1, *spec.in_shape, dtype=torch.float64))
    if tuple(y.shape[1:]) != spec.out_shape:
        raise ValueError(f"layer {spec.name!r}: geometry gives {tuple(y.shape[1:])}, spec says {spec.out_shape}")
    return int(round(y.sum().item()))


# --------------------------------------------------------------------------- counting

def _as_layout(spec: LayerSpec, spikes: torch.Tensor, shape: tuple, what: str) -> torch.Tensor:
    spikes = torch.as_tensor(spikes)
    if spikes.dim() < 2:
        raise ValueError(f"layer {spec.name!r}: {what} must be [N, ..., T], got {tuple(spikes.shape)}")
    n, t = spikes.shape[0], spikes.shape[-1]
    if int(np.prod(spikes.shape[1:-1])) != int(np.prod(shape)):
        raise ValueError(
            f"layer {spec.name!r}: {what} has shape {tuple(spikes.shape)}, expected [N, {shape}, T]")
    return spikes.reshape(n, *shape, t)


def _frame_mask(keep_mask, n: int, t: int) -> Optional[torch.Tensor]:
    if keep_mask is None:
        return None
    m = torch.as_tensor(keep_mask).to(torch.bool)
    if m.dim() == 1:
        m = m.expand(n, t) if m.shape[0] == t else None
    if m is None or tuple(m.shape) != (n, t):
        raise ValueError(f"keep_mask must have shape [T]={t} or [N, T]=({n}, {t})")
    return m


def _synops(events: torch.Tensor, fo: torch.Tensor, frames: Optional[torch.Tensor]) -> int:
    """sum over (n, pos, t) of [events != 0] * fan_out[pos] * frames[n, t]."""
    nz = (events != 0).to(torch.float64)  # [N, *pos, T]
    if frames is not None:
        nz = nz * frames.to(torch.float64).reshape(frames.shape[0], *([1] * (nz.dim() - 2)), frames.shape[1])
    per_pos = nz.sum(dim=(0, nz.dim() - 1))  # [*pos]
    return int(round((per_pos * fo.to(torch.float64)).sum().item()))


def _events(x: torch.Tensor, frames: Optional[torch.Tensor]) -> int:
    nz = x != 0
    if frames is not None:
        nz = nz & frames.reshape(frames.shape[0], *([1] * (nz.dim() - 2)), frames.shape[1])
    return int(nz.sum().item())


def count_layer(
    spec: LayerSpec,
    input_spikes: torch.Tensor,
    output_spikes: torch.Tensor,
    keep_mask: Optional[torch.Tensor] = None,
    unpruned_input_spikes: Optional[torch.Tensor] = None,
) -> LayerCounts:
    """Count one layer's work over a batch (see the module docstring for every definition).

    ``input_spikes``: ``[N, *spec.in_shape, T]``; ``output_spikes``: ``[N, *spec.out_shape, T]``
    (dense layers accept any ``[N, ..., T]`` whose middle dims multiply to the feature count).
    ``keep_mask``: ``[T]`` or ``[N, T]`` bool, ``False`` = frame pruned (not executed).
    ``unpruned_input_spikes``: the layer input before pruning, same shape as ``input_spikes``;
    used only for ``synops_saved``.
    """
    x = _as_layout(spec, input_spikes, spec.in_shape, "input_spikes")
    y = _as_layout(spec, output_spikes, spec.out_shape, "output_spikes")
    n, t = x.shape[0], x.shape[-1]
    if y.shape[0] != n or y.shape[-1] != t:
        raise ValueError(f"layer {spec.name!r}: input and output disagree on N or T")
    frames = _frame_mask(keep_mask, n, t)
    executed = n * t if frames is None else int(frames.sum().item())
    pruned = n * t - executed

    fo = fan_out(spec)
    synops = _synops(x, fo, frames)
    if pruned == 0:
        saved: Optional[int] = 0
    elif unpruned_input_spikes is None:
        saved = None
    else:
        u = _as_layout(spec, unpruned_input_spikes, spec.in_shape, "unpruned_input_spikes")
        if u.shape[0] != n or u.shape[-1] != t:
            raise ValueError(f"layer {spec.name!r}: unpruned_input_spikes disagrees on N or T")
        saved = _synops(u, fo, ~frames)

    out_spk = _events(y, frames)
    neuron_updates = spec.out_neurons * executed
    sparsity = 1.0 - out_spk / neuron_updates if neuron_updates else 0.0
    return LayerCounts(
        name=spec.name,
        n_samples=n,
        time_steps=t,
        out_neurons=spec.out_neurons,
        input_spikes=_events(x, frames),
        output_spikes=out_spk,
        synops=synops,
        neuron_updates=neuron_updates,
        active_neuron_updates=out_spk,
        pruned_frames=pruned,
        synops_saved=saved,
        dense_macs=dense_macs_per_step(spec) * t * n,
        activation_sparsity=sparsity,
    )

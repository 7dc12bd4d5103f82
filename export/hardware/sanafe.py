"""SANA-FE's calibrated Loihi model driven by the spikes Lava measured (spike replay).

SANA-FE's Loihi LIF integrates in floating point with its own leak order, so it cannot
reproduce Lava's integer CUBA neuron spike for spike (docs/design.md).  Each block's
neurons therefore *replay* the spikes Lava emitted: a ``loihi_lif`` soma with no leak and
no input decay (potential = bias + input current, reset each step), threshold 0.5 and
zero-weight synapses; before each step the neurons that spike in Lava on it get bias 1, the
others bias 0.  Every neuron is forced to update every step (as Lava's LIF and
:mod:`razor_neuro.counting` do), so SANA-FE charges per step: one access + update per
neuron, one spike-out per spike, one synaptic event per structural synapse of every
delivered spike, the axon messages and mesh hops of the placement, and the barrier sync.
The network input fires from the zero-cost ``loihi_inputs`` somas.  What SANA-FE fires is
read back from its spike trace and compared with what it was told: ``mismatches``.

Spikes a block emits on a frame its successor's schedule gate drops are not sent on the
chip and are not replayed (``gate_dropped`` counts them; their spike-out is not charged).

Shapes: group spikes ``[N, neurons, T]`` bool, neurons numbered as in :mod:`.mapping`;
per-step results ``[N, T]``.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from razor_neuro.export.hardware.mapping import ARCH_UNITS, Placement, edges

__all__ = ["ENERGY_KINDS", "REPLAY", "HardwareRun", "ModelRuns", "build", "group_spikes", "quiet",
           "replay", "run_model"]

#: SANA-FE's energy kinds (perf trace ``<kind>_energy``), reported per sample
ENERGY_KINDS = ("synapse", "dendrite", "soma", "network")
#: LIF attributes that make a ``loihi_lif`` neuron fire exactly when its bias is 1
REPLAY = {"threshold": 0.5, "leak_decay": 0.0, "input_decay": 0.0, "reset_mode": "hard",
          "reset": 0.0, "force_update": True, "bias": 0.0}


@contextlib.contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Silence SANA-FE's C++ progress lines (file descriptors 1 and 2) unless verbose."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def build(sanafe: Any, arch: Any, network: Any, placement: Placement,
          attrs: Optional[Sequence[dict]] = None, weights: bool = False,
          input_attrs: Optional[dict] = None) -> Any:
    """The SANA-FE network of ``network`` placed as ``placement``.

    ``attrs``: LIF attributes per block (default :data:`REPLAY`); ``weights``: give the
    synapses netx's weights (default 0: replay); ``input_attrs``: the input group on
    ``loihi_lif`` with these attributes instead of one ``loihi_inputs`` unit per neuron.
    """
    net, cores = sanafe.Network(), arch.cores()
    g_in = placement.groups[0]
    grp = net.create_neuron_group("input", g_in.neurons, model_attributes=dict(input_attrs or {}),
                                  log_spikes=True)
    made, shape = [grp], tuple(network.input_shape)
    for k, neuron in enumerate(grp):
        if input_attrs is None:
            neuron.set_attributes(soma_hw_name=f"{ARCH_UNITS['input']}[{k % 1024}]")
        neuron.map_to_core(cores[placement.core_of(0, k)])
    for i, (layer, gp) in enumerate(zip(network.layers, placement.groups[1:])):
        a = dict(REPLAY if attrs is None else attrs[i])
        g = net.create_neuron_group(gp.name, gp.neurons, model_attributes=a, log_spikes=True,
                                    soma_hw_name=ARCH_UNITS["soma"],
                                    default_synapse_hw_name=gp.synapse_unit)
        for k, neuron in enumerate(g):
            neuron.map_to_core(cores[placement.core_of(i + 1, k)])
        pre, post = edges(layer, shape)
        w = _weights(layer, pre, post) if weights else np.zeros(len(pre))
        made[-1].connect_neurons_sparse(g, {"weight": w.tolist()},
                                        list(zip(pre.tolist(), post.tolist())))
        made.append(g)
        shape = tuple(layer.output_shape)
    return net


def _weights(layer: Any, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """netx's weight of each synapse ``(pre, post)`` (conv: recomputed from the indices)."""
    w = np.asarray(layer.weight, dtype=float)
    if layer.kind == "input":
        return np.full(len(pre), float(layer.input_weight or 1))
    if layer.kind == "dense":
        return w.reshape(-1)  # edges() walks (out, in) in row-major order
    _, kx, ky, c_in_g = w.shape
    ix_n, iy_n, c_in = (int(v) for v in layer.input_shape)
    _, oy_n, c_out = (int(v) for v in layer.output_shape)
    ox, oy, co = post // (oy_n * c_out), (post // c_out) % oy_n, post % c_out
    ix, iy, ci = pre // (iy_n * c_in), (pre // c_in) % iy_n, pre % c_in
    (sx, sy), (px, py), (dx, dy) = layer.stride, layer.padding, layer.dilation
    ax, ay = (ix - ox * sx + px) // dx, (iy - oy * sy + py) // dy
    return w[co, ax, ay, ci % c_in_g]


def group_spikes(network: Any, x: np.ndarray, outputs: Sequence[np.ndarray],
                 gates: dict[int, np.ndarray]) -> tuple[list[np.ndarray], int]:
    """What each group sends on the chip, ``[N, neurons, T]`` bool in placement numbering,
    and the spikes the schedule's gates drop (not sent, not replayed).

    ``x`` and ``outputs[i]``: ``[N, *shape, T]`` netx order; ``gates``: ``{block: keep [T]
    or [N, T]}``, the mask applied to what block ``i`` receives."""
    sent, dropped = [], 0
    for i, spikes in enumerate([x, *outputs]):
        s = np.asarray(spikes) != 0
        s = s.reshape(s.shape[0], -1, s.shape[-1])
        keep = gates.get(i)
        if keep is not None:
            keep = np.asarray(keep, dtype=bool)
            keep = keep[None, None, :] if keep.ndim == 1 else keep[:, None, :]
            dropped += int((s & ~keep).sum()) if i else 0
            s = s & keep
        sent.append(s)
    return sent, dropped


@dataclass
class HardwareRun:
    """SANA-FE's figures for N samples.

    Attributes:
        energy_j: per :data:`ENERGY_KINDS` and ``'total'``: joules per step ``[N, T]``.
        time_s: simulated time of every step ``[N, T]`` (seconds).
        synaptic_events: synaptic events SANA-FE processed per step ``[N, T]``.
        fired: spikes SANA-FE fired per group ``[N, groups]`` (input group first).
        mismatches: (group, step, neuron) where SANA-FE's spikes differ from the replayed.
    """
    energy_j: dict[str, np.ndarray]
    time_s: np.ndarray
    synaptic_events: np.ndarray
    fired: np.ndarray
    mismatches: int


def replay(sanafe: Any, arch: Any, network: Any, placement: Placement,
           spikes: Sequence[np.ndarray], verbose: bool = False) -> HardwareRun:
    """Run SANA-FE on ``spikes`` (:func:`group_spikes`), one sample after another on one
    loaded chip (replayed neurons hold no state between steps)."""
    n, t_steps = spikes[0].shape[0], spikes[0].shape[-1]
    names = [g.name for g in placement.groups]
    index = {name: i for i, name in enumerate(names)}
    with quiet(not verbose):
        chip = sanafe.SpikingChip(arch)
        chip.load(build(sanafe, arch, network, placement))
        mapped = [chip.mapped_neuron_groups[name] for name in names]
        energy = {k: np.zeros((n, t_steps)) for k in (*ENERGY_KINDS, "total")}
        time_s, events = np.zeros((n, t_steps)), np.zeros((n, t_steps), dtype=np.int64)
        fired, bad = np.zeros((n, len(names)), dtype=np.int64), 0
        bias = [np.zeros(s.shape[1], dtype=bool) for s in spikes]
        for s in range(n):
            for k, neuron in enumerate(mapped[0]):
                neuron.set_attributes(model_attributes={"spikes": spikes[0][s, k].tolist()})
            for t in range(t_steps):
                for g in range(1, len(names)):
                    want = spikes[g][s, :, t]
                    for k in np.flatnonzero(want != bias[g]):
                        mapped[g][int(k)].set_attributes(
                            model_attributes={"bias": 1.0 if want[k] else 0.0})
                    bias[g] = want.copy()
                r = chip.sim(1, perf_trace=True, spike_trace=True)
                perf = r["perf_trace"]
                for kind in ENERGY_KINDS:
                    energy[kind][s, t] = perf[f"{kind}_energy"][0]
                energy["total"][s, t] = perf["total_energy"][0]
                time_s[s, t], events[s, t] = perf["sim_time"][0], perf["spikes"][0]
                got = [[] for _ in names]
                for a in r["spike_trace"][0]:
                    got[index[a.group_name]].append(int(a.neuron_offset))
                for g, offs in enumerate(got):
                    fired[s, g] += len(offs)
                    hit = np.zeros(spikes[g].shape[1], dtype=bool)
                    hit[offs] = True
                    bad += int((hit != spikes[g][s, :, t]).sum())
    return HardwareRun(energy, time_s, events, fired, bad)


@dataclass
class ModelRuns:
    """SANA-FE over one network's runs: where it sits, the architecture file, one
    :class:`HardwareRun` per run given, and the spikes the gates dropped per run."""
    placement: Placement
    architecture: str
    runs: list[HardwareRun]
    gate_dropped: list[int]


def run_model(network: Any, names: Sequence[str],
              runs: Sequence[tuple[np.ndarray, Sequence[np.ndarray], dict[int, np.ndarray]]],
              architecture: Optional[str] = None, verbose: bool = False) -> ModelRuns:
    """Place ``network`` (blocks ``names``) and replay each run ``(x, outputs, gates)``: its
    input, per-layer output spikes and gates (shapes: :func:`group_spikes`).

    Raises:
        HardwareModelRefused: SANA-FE missing or another version; network too large.
        HardwareModelError: ``architecture`` missing or not a SANA-FE description.
    """
    from razor_neuro.export.hardware.mapping import import_sanafe, load_architecture, place
    sanafe = import_sanafe()
    with quiet(not verbose):
        arch, path = load_architecture(sanafe, architecture)
    placement = place(network, names, arch)
    done, dropped = [], []
    for x, outputs, gates in runs:
        spikes, lost = group_spikes(network, x, outputs, gates)
        done.append(replay(sanafe, arch, network, placement, spikes, verbose))
        dropped.append(lost)
    return ModelRuns(placement, path, done, dropped)

"""Run a deployed network: one interface for every simulator.

A :class:`Deployment` is what a simulator needs: the network, its input as the deployed
graph receives it, the reset interval and the gates.  A backend (:class:`Lava`,
:class:`ReferenceSim`) turns it into a frozen :class:`Activity`: every layer's output spikes
and gated input spikes (and, on request, its neurons' states) with the seconds spent setting
up and simulating.  :func:`compare` lines two activities up position by position and gives
the typed :class:`Agreement` that ``verify.json`` and the report's cross-check write.

``verify``, ``run``, ``report`` and ``import --check`` call these and nothing else of Lava's
runtime or of the reference's run functions (``tests/test_architecture.py``); a new
simulator is one class with ``name`` and ``run``.

Shapes: spikes and states are ``[N, *shape, steps]`` in netx order (time last, 0/1 spikes;
float64 states).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional, Protocol, Sequence

import numpy as np

__all__ = ["Activity", "Agreement", "Backend", "Deployment", "Lava", "LayerCheck",
           "ReferenceSim", "compare"]


@dataclass(frozen=True)
class Deployment:
    """A deployed network and the input it runs.

    Attributes:
        network: the network (:class:`~razor_neuro.export.netfile.Network`).
        x: input spikes ``[N, *input_shape, steps]`` (netx order) as the deployed graph
            receives them: a bundle's kept frames in ``skip`` mode.
        steps: the reset interval (steps per sample), or None for one continuous run of a
            plain network (``N`` = 1, no gates).
        gates: ``{layer index: keep mask [steps]}``.
    """

    network: Any
    x: np.ndarray
    steps: Optional[int]
    gates: dict[int, np.ndarray]

    @classmethod
    def of_bundle(cls, bundle: Any, x: np.ndarray) -> "Deployment":
        """A bundle on test samples ``x`` ``[N, *input_shape, T]`` (all its frames)."""
        return cls(bundle.network, bundle.step_input(x), bundle.steps,
                   {int(i): np.asarray(m, dtype=bool) for i, m in bundle.gates.items()})

    @classmethod
    def of_net(cls, network: Any, x: np.ndarray) -> "Deployment":
        """A plain network on one input ``[*input_shape, steps]``: no resets, no gates."""
        return cls(network, np.asarray(x)[None], None, {})


@dataclass(frozen=True)
class Activity:
    """What one backend recorded for one :class:`Deployment`.

    Attributes:
        backend: what ran it (``lava fixed_pt``, ``torch fixed_pt (cpu)``).
        names: layer names.
        outputs: per layer, output spikes ``[N, *out_shape, steps]``.
        inputs: per layer, the spikes it received after its gate ``[N, *in_shape, steps]``.
        currents, voltages: per layer, ``u`` and ``v`` after every step, or None.
        setup_seconds: building the simulator (Lava's graph; the reference's constants and
            its compiled kernels).
        run_seconds: simulating and reading the records back (Lava's includes compiling
            and starting its processes).
        simulated_steps: time steps the simulator ran (a Lava stream runs the last layer's
            latency beyond the samples' steps).
        phases: the backend's own wall-time breakdown (Lava: ``build``, ``run``, ``read``).
    """

    backend: str
    names: tuple[str, ...]
    outputs: tuple[np.ndarray, ...]
    inputs: tuple[np.ndarray, ...]
    currents: Optional[tuple[np.ndarray, ...]]
    voltages: Optional[tuple[np.ndarray, ...]]
    setup_seconds: float
    run_seconds: float
    simulated_steps: int
    phases: dict[str, float]

    @property
    def seconds(self) -> float:
        return self.setup_seconds + self.run_seconds


class Backend(Protocol):
    """A simulator of deployed networks."""

    name: str

    def run(self, deployment: Deployment, states: bool = False) -> Activity: ...


class Lava:
    """Lava's Loihi simulator on the CPU (:class:`~razor_neuro.export.lava_graph.LavaGraph`),
    ``tag`` ``fixed_pt`` (bit-accurate) or ``floating_pt``."""

    def __init__(self, tag: str = "fixed_pt") -> None:
        self.tag = tag
        self.name = f"lava {tag}"

    def run(self, deployment: Deployment, states: bool = False) -> Activity:
        from razor_neuro.export.lava_graph import LavaGraph
        d = deployment
        graph = LavaGraph(d.network, d.steps, gates=d.gates)
        run = graph.run(d.x, self.tag, states=states)
        return Activity(self.name, tuple(graph.names), tuple(run.outputs), tuple(run.inputs),
                        None if run.currents is None else tuple(run.currents),
                        None if run.voltages is None else tuple(run.voltages),
                        run.seconds["build"], run.seconds["run"] + run.seconds["read"],
                        run.steps, dict(run.seconds))


class ReferenceSim:
    """razor-neuro's bit-exact reference (:class:`~razor_neuro.export.reference.Reference`),
    ``mode`` ``fixed_pt`` or ``floating_pt``, on ``device`` (default: CUDA when present)."""

    def __init__(self, mode: str = "fixed_pt", device: Optional[str] = None) -> None:
        import torch
        self.mode = mode
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.name = f"torch {mode} ({self.device})"

    def run(self, deployment: Deployment, states: bool = False) -> Activity:
        import torch

        from razor_neuro.export.reference import Reference
        d = deployment
        reset = d.steps is not None  # a bundle streams its samples, as the Lava run does
        gates = {i: torch.from_numpy(m) for i, m in d.gates.items()}
        t0 = time.perf_counter()
        ref = Reference(d.network, mode=self.mode, device=self.device)
        # set-up also loads the compiled kernels (numba's cache; compiled on a fresh
        # checkout) by simulating the first sample (of a continuous run, its first step):
        # the kernels' types do not depend on N or the steps, so the run below is the
        # simulation alone
        warm = d.x[:1] if reset else d.x[..., :1]
        ref.simulate(torch.from_numpy(np.ascontiguousarray(warm)), gates, stream=reset,
                     reset=reset, states=states)
        t1 = time.perf_counter()
        result = ref.simulate(torch.from_numpy(np.ascontiguousarray(d.x)), gates,
                              stream=reset, reset=reset, states=states)
        arrays = [tuple(t.cpu().numpy() for t in ts) if ts is not None else None
                  for ts in (result.outputs, result.inputs, result.currents, result.voltages)]
        t2 = time.perf_counter()
        return Activity(self.name, tuple(d.network.names), *arrays, t1 - t0, t2 - t1,
                        int(d.x.shape[0] * d.x.shape[-1]), {"setup": t1 - t0, "run": t2 - t1})


@dataclass(frozen=True)
class LayerCheck:
    """Agreement of one layer's spikes in two runs.

    Attributes:
        name: layer name.
        lava_spikes: spikes in the first run (Lava, where one of the two is Lava).
        reference_spikes: spikes in the second run.
        mismatches: (sample, neuron, step) positions where they differ.
        first_mismatch: ``[sample, *neuron index, step]`` of the first difference, or None.
    """
    name: str
    lava_spikes: int
    reference_spikes: int
    mismatches: int
    first_mismatch: list[int] | None


def check_spikes(names: Sequence[str], a: Sequence[np.ndarray],
                 b: Sequence[np.ndarray]) -> list[LayerCheck]:
    """Compare per-layer spikes ``[N, *shape, steps]`` of two runs, position by position."""
    checks = []
    for name, x, y in zip(names, a, b):
        x, y = np.asarray(x) != 0, np.asarray(y) != 0
        if x.shape != y.shape:
            raise ValueError(f"{name}: one run recorded {x.shape}, the other {y.shape}")
        diff = np.argwhere(x != y)
        checks.append(LayerCheck(name, int(x.sum()), int(y.sum()), int(len(diff)),
                                 diff[0].tolist() if len(diff) else None))
    return checks


def state_mismatches(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> list[int]:
    """Per layer, the positions where two state records differ (exact comparison:
    integers in fixed_pt; nan equals nan in floating_pt)."""
    out = []
    for x, y in zip(a, b):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        out.append(int((~((x == y) | (np.isnan(x) & np.isnan(y)))).sum()))
    return out


@dataclass(frozen=True)
class Agreement:
    """Two activities of the same deployment, layer by layer (:func:`compare`).

    Attributes:
        outputs: per layer, its output spikes compared.
        inputs: per layer, the spikes it received (after its gate) compared.
        currents, voltages: per layer, the state positions that differ (None unless both
            activities recorded states).
    """

    outputs: tuple[LayerCheck, ...]
    inputs: tuple[LayerCheck, ...]
    currents: Optional[tuple[int, ...]] = None
    voltages: Optional[tuple[int, ...]] = None

    @property
    def mismatches(self) -> int:
        return sum(c.mismatches for c in self.outputs)

    @property
    def input_mismatches(self) -> int:
        return sum(c.mismatches for c in self.inputs)

    @property
    def state_mismatches(self) -> Optional[int]:
        if self.currents is None or self.voltages is None:
            return None
        return sum(self.currents) + sum(self.voltages)


def compare(a: Activity, b: Activity) -> Agreement:
    """Every layer's output spikes, gated input spikes and (where both have them) states of
    two activities, position by position."""
    states = a.currents is not None and b.currents is not None
    return Agreement(
        tuple(check_spikes(a.names, a.outputs, b.outputs)),
        tuple(check_spikes(a.names, a.inputs, b.inputs)),
        tuple(state_mismatches(a.currents, b.currents)) if states else None,
        tuple(state_mismatches(a.voltages, b.voltages)) if states else None)

"""``razor-neuro verify``: the Lava run against the torch reference, per layer, neuron, step.

Both sides run the same network on the same samples with the same schedule; their spikes
are compared in window time (see :mod:`razor_neuro.export.lava_graph`).  Nothing is
aligned after the fact beyond that documented pipeline delay: every differing
(sample, neuron, step) is counted, and the first one per layer is reported.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from razor_neuro.export.bundle import Bundle
from razor_neuro.export.deploy import predict, load_test_samples
from razor_neuro.export.netfile import Network, read_network_for, read_spikes
from razor_neuro.export.reference import Reference
from razor_neuro.versions import package_versions


@dataclass(frozen=True)
class LayerCheck:
    """Agreement of one layer.

    Attributes:
        name: layer name.
        lava_spikes: output spikes in the Lava run.
        reference_spikes: output spikes in the reference run.
        mismatches: (sample, neuron, step) positions where they differ.
        first_mismatch: ``[sample, *neuron index, step]`` of the first difference, or None.
    """
    name: str
    lava_spikes: int
    reference_spikes: int
    mismatches: int
    first_mismatch: list[int] | None


def compare(names: Sequence[str], lava: Sequence[np.ndarray],
            reference: Sequence[np.ndarray]) -> list[LayerCheck]:
    """Compare per-layer spikes ``[N, *shape, T]`` of two runs, position by position."""
    checks = []
    for name, a, b in zip(names, lava, reference):
        a, b = np.asarray(a) != 0, np.asarray(b) != 0
        if a.shape != b.shape:
            raise ValueError(f"{name}: Lava recorded {a.shape}, the reference {b.shape}")
        diff = np.argwhere(a != b)
        checks.append(LayerCheck(name, int(a.sum()), int(b.sum()), int(len(diff)),
                                 diff[0].tolist() if len(diff) else None))
    return checks


def state_mismatches(lava: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> list[int]:
    """Per layer, the (sample, neuron, step) positions where two state records ``[N, *shape,
    T]`` differ (exact comparison: integers in fixed_pt; nan equals nan in floating_pt)."""
    out = []
    for a, b in zip(lava, reference):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        out.append(int((~((a == b) | (np.isnan(a) & np.isnan(b)))).sum()))
    return out


def reference_run(network: Network, x: np.ndarray, gates: dict[int, np.ndarray], mode: str,
               device: str | None, reset: bool = True, states: bool = False) -> tuple[
                   list[np.ndarray], list[np.ndarray], float, Any]:
    """Reference outputs and gated inputs per layer, its wall time and, with ``states``, the
    :class:`~razor_neuro.export.reference.ReferenceResult` holding ``u`` and ``v``."""
    t0 = time.perf_counter()
    ref = Reference(network, mode=mode, device=device)
    result = ref.simulate(torch.from_numpy(x), {i: torch.from_numpy(m) for i, m in gates.items()},
                          stream=reset, reset=reset,  # as in the Lava run: one stream
                          states=states)
    outs = [o.cpu().numpy() for o in result.outputs]
    ins = [i.cpu().numpy() for i in result.inputs]
    return outs, ins, time.perf_counter() - t0, result if states else None


def _result(checks: list[LayerCheck], samples: int, steps: int, tolerance: int,
            extra: dict[str, Any], lava: Any = None, reference: Any = None) -> dict[str, Any]:
    """``verify.json``; with the runs' states (``lava.currents``, ``reference.currents``...)
    also ``state_mismatches`` and per layer ``current_mismatches``/``voltage_mismatches``,
    and ``agree`` then needs 0 state mismatches too."""
    total = sum(c.mismatches for c in checks)  # output spikes of every layer
    layers = [asdict(c) for c in checks]
    out = {"mismatches": total, "samples": samples, "steps": steps, "tolerance": tolerance,
           "agree": total <= tolerance}
    if reference is not None:
        cur = state_mismatches(lava.currents, [c.cpu().numpy() for c in reference.currents])
        vol = state_mismatches(lava.voltages, [v.cpu().numpy() for v in reference.voltages])
        for row, c, v in zip(layers, cur, vol):
            row["current_mismatches"], row["voltage_mismatches"] = c, v
        out["state_mismatches"] = sum(cur) + sum(vol)
        out["agree"] = out["agree"] and out["state_mismatches"] == 0
    return {**out, **extra, "layers": layers, "versions": package_versions()}


def verify_bundle(bundle: Bundle, n_samples: int | None, tag: str = "fixed_pt", tolerance: int = 0,
                  device: str | None = None, start: int = 0,
                  states: bool = False) -> dict[str, Any]:
    """Run the bundle on Lava and on the reference over the same test samples: the first
    ``n_samples`` from ``start`` (None: the test split from ``start``).

    Args:
        states: also compare every layer's current ``u`` and voltage ``v`` per neuron and
            step (Lava records them through RefPorts).

    Returns:
        The ``verify.json`` content: ``mismatches`` (total), ``samples``, ``steps`` (per
        sample), ``layers`` (list of :class:`LayerCheck` dicts), ``agree``, wall times; with
        ``states`` also ``state_mismatches`` and per layer ``current_mismatches``,
        ``voltage_mismatches``.
    """
    from razor_neuro.export.lava_graph import LavaGraph
    samples = load_test_samples(bundle, n_samples, start)
    graph = LavaGraph(bundle.network, bundle.frames, gates=bundle.gates)
    lava = graph.run(samples.x, tag, states=states)
    ref, ref_in, ref_s, ref_states = reference_run(graph.network, samples.x, bundle.gates, tag,
                                                device, states=states)
    checks = compare(graph.names, lava.outputs, ref)
    result = _result(checks, len(samples.labels), bundle.frames, tolerance, {
        "bundle": str(bundle.path), "bundle_id": bundle.id,
        "bundle_sha256": bundle.sha256, "lava": tag,
        "reference": f"torch {tag} ({device or ('cuda' if torch.cuda.is_available() else 'cpu')})",
        "lava_accuracy": float((predict(lava.outputs[-1]) == samples.labels).mean()),
        "reference_accuracy": float((predict(ref[-1]) == samples.labels).mean()),
        "seconds": {"lava": sum(lava.seconds.values()), "reference": ref_s}}, lava, ref_states)
    # the schedule itself, checked inside Lava: what each gated layer received
    for i, (row, check) in enumerate(zip(result["layers"], compare(graph.names, lava.inputs,
                                                                     ref_in))):
        row["input_mismatches"] = check.mismatches
        row["lava_input_spikes"] = check.lava_spikes
        if i in bundle.gates:
            row["lava_input_spikes_on_pruned_frames"] = int(
                lava.inputs[i][..., ~bundle.gates[i]].sum())
    return result


def verify_net(net: str | Path, spikes: str | Path, steps: int | None = None,
               tag: str = "fixed_pt", tolerance: int = 0,
               device: str | None = None, states: bool = False) -> dict[str, Any]:
    """Verify a plain netx network (no schedule, no resets) on one input spike train.

    Args:
        net: netx HDF5 file of Input/Conv/Dense CUBA blocks.
        spikes: ``.npy`` input, dense ``[*input_shape, T]`` (netx order) or slayer events.
        steps: run this many steps (default: the input's length).
        states: also compare ``u`` and ``v`` (see :func:`verify_bundle`).
    """
    from razor_neuro.export.lava_graph import LavaGraph
    network = read_network_for(net, spikes, steps)
    x = read_spikes(spikes, network.input_shape, steps)
    if steps is not None:
        x = x[..., :steps]
        if x.shape[-1] < steps:
            x = np.concatenate([x, np.zeros((*x.shape[:-1], steps - x.shape[-1]), x.dtype)], -1)
    graph = LavaGraph(network, None)
    lava = graph.run(x[None], tag, states=states)
    ref, _, ref_s, ref_states = reference_run(network, x[None], {}, tag, device, reset=False,
                                           states=states)
    checks = compare(graph.names, lava.outputs, ref)
    return _result(checks, 1, int(x.shape[-1]), tolerance, {
        "net": str(net), "input": str(spikes), "lava": tag, "reference": f"torch {tag}",
        "seconds": {"lava": sum(lava.seconds.values()), "reference": ref_s}}, lava, ref_states)

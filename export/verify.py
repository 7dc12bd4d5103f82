"""``razor-neuro verify``: the Lava run against the torch reference, per layer, neuron, step.

Both sides run the same network on the same samples with the same schedule; their spikes
are compared in window time (see :mod:`razor_neuro.export.lava_graph`).  Nothing is
aligned after the fact beyond that documented pipeline delay: every differing
(sample, neuron, step) is counted, and the first one per layer is reported.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from razor_neuro.export.backend import Activity, Agreement, Deployment, Lava, ReferenceSim, compare
from razor_neuro.export.bundle import Bundle
from razor_neuro.export.deploy import predict, load_test_samples
from razor_neuro.export.netfile import read_network_for, read_spikes
from razor_neuro.versions import package_versions


def _result(agreement: Agreement, samples: int, steps: int, tolerance: int,
            extra: dict[str, Any]) -> dict[str, Any]:
    """``verify.json``; when both runs recorded states also ``state_mismatches`` and per
    layer ``current_mismatches``/``voltage_mismatches``, and ``agree`` then needs 0 state
    mismatches too."""
    total = agreement.mismatches  # output spikes of every layer
    layers = [asdict(c) for c in agreement.outputs]
    out = {"mismatches": total, "samples": samples, "steps": steps, "tolerance": tolerance,
           "agree": total <= tolerance}
    if agreement.state_mismatches is not None:
        for row, c, v in zip(layers, agreement.currents, agreement.voltages):
            row["current_mismatches"], row["voltage_mismatches"] = c, v
        out["state_mismatches"] = agreement.state_mismatches
        out["agree"] = out["agree"] and out["state_mismatches"] == 0
    return {**out, **extra, "layers": layers, "versions": package_versions()}


def _seconds(lava: Activity, ref: Activity) -> dict[str, Any]:
    """Wall times: each run in all (``lava``, ``reference``), set-up and simulation apart
    (the reference's set-up builds its constants and loads its compiled kernels), and
    ``speedup``: Lava's simulation time over the reference's (None if that is 0)."""
    return {"lava": lava.seconds, "reference": ref.seconds,
            "setup": {"lava": lava.setup_seconds, "reference": ref.setup_seconds},
            "simulation": {"lava": lava.run_seconds, "reference": ref.run_seconds},
            "speedup": lava.run_seconds / ref.run_seconds if ref.run_seconds > 0 else None}


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
        sample: fewer than the frames in ``skip`` mode), ``layers`` (list of :class:`LayerCheck` dicts), ``agree``, wall times; with
        ``states`` also ``state_mismatches`` and per layer ``current_mismatches``,
        ``voltage_mismatches``.
    """
    samples = load_test_samples(bundle, n_samples, start)
    d = Deployment.of_bundle(bundle, samples.x)
    lava, ref = Lava(tag).run(d, states), ReferenceSim(tag, device).run(d, states)
    agreement = compare(lava, ref)
    result = _result(agreement, len(samples.labels), bundle.steps, tolerance, {
        "bundle": str(bundle.path), "bundle_id": bundle.id,
        "bundle_sha256": bundle.sha256, "lava": tag,
        "reference": ref.backend,
        "lava_accuracy": float((predict(lava.outputs[-1]) == samples.labels).mean()),
        "reference_accuracy": float((predict(ref.outputs[-1]) == samples.labels).mean()),
        "seconds": _seconds(lava, ref)})
    # the schedule itself, checked inside Lava: what each gated layer received
    for i, (row, check) in enumerate(zip(result["layers"], agreement.inputs)):
        row["input_mismatches"] = check.mismatches
        row["lava_input_spikes"] = check.lava_spikes
        if i in d.gates:
            row["lava_input_spikes_on_pruned_frames"] = int(
                lava.inputs[i][..., ~d.gates[i]].sum())
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
    network = read_network_for(net, spikes, steps)
    x = read_spikes(spikes, network.input_shape, steps)
    if steps is not None:
        x = x[..., :steps]
        if x.shape[-1] < steps:
            x = np.concatenate([x, np.zeros((*x.shape[:-1], steps - x.shape[-1]), x.dtype)], -1)
    d = Deployment.of_net(network, x)
    lava, ref = Lava(tag).run(d, states), ReferenceSim(tag, device).run(d, states)
    return _result(compare(lava, ref), 1, int(x.shape[-1]), tolerance, {
        "net": str(net), "input": str(spikes), "lava": tag, "reference": f"torch {tag}",
        "seconds": _seconds(lava, ref)})

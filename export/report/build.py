"""Measure per-layer counts of a deployed network and turn them into report data.

Where the counts come from (``source``):

``lava`` (default)
    The bundle runs on Lava's Loihi simulator with ``Loihi2SimCfg(select_tag='fixed_pt')``:
    one streamed run of all samples with the bundle's schedule gates, and one more run of
    the same samples with all-ones gates (nothing pruned) for the "without schedule"
    column.  Spikes are recorded inside the Lava graph: each layer's output and what each
    layer received after its gate.  The torch reference is run on the same samples as a
    cross-check; any disagreement is counted and reported (the counts stay Lava's).
``reference``
    The torch reference (bit-exact model of Lava ``fixed_pt``) gives the counts, but only
    after ``razor-neuro verify`` (:func:`razor_neuro.export.verify.verify_bundle`) has shown
    Lava and the reference equal on the first ``verify_samples`` of the same samples, with
    and without the schedule.  Any mismatch refuses the report (:class:`ReportRefused`).

Counting conventions (on top of :mod:`razor_neuro.counting`):

* Spikes recorded in netx order (``(x, y, f)`` = W, H, C) are converted to slayer layout
  (C, H, W) before counting; conv parameters likewise go from (x, y) to (H, W) order.
* A pruned frame delivers no input spikes to its layer (zero synaptic ops), but the
  layer's neurons still update (they decay, and may even spike) on that step, in the Lava
  graph as on the chip.  Neuron updates and output spikes are therefore counted on every
  time step; ``pruned_frames`` and ``synops_saved`` come from the schedule and from the
  spikes that reached the gate on pruned frames.
* All counts in the report are per sample (mean over the samples); energies are those
  counts times the constants of the named profile (:mod:`razor_neuro.energy`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from razor_neuro.atomic import check_replaceable, check_writable, write_dir
from razor_neuro.counting import LayerCounts, LayerSpec, count_layer, sum_counts
from razor_neuro.export.layout import flatten_spikes, reverse_order, swap_spike_order
from razor_neuro.energy import (HardwareProfile, estimate_cores, layer_energy,
                                load_profile)

__all__ = ["ReportError", "ReportRefused", "RunCounts", "Measurement", "layer_spec",
           "to_slayer", "measure_bundle", "measure_net", "net_label", "default_out",
           "report_data", "make_report",
           "write_report_dir", "SOURCES", "FORMAT", "FILES"]

from razor_neuro.export.report.schema import (FILES, FORMAT, OPERATION_CONSTANTS,  # noqa: F401
                                      OPERATION_LABELS, OPERATIONS, SOURCES, TAG)


class ReportError(ValueError):
    """A report that cannot be made from these inputs (one-line message)."""


class ReportRefused(ReportError):
    """Reference counts that ``verify`` does not license (Lava and the reference differ)."""


# --------------------------------------------------------------------------- measurement

@dataclass
class RunCounts:
    """Counts of one run over all samples.

    Attributes:
        counts: per layer, batch totals (see :func:`razor_neuro.counting.count_layer`).
        accuracy: deploy accuracy of this run (None without labels).
        raster: spikes of sample 0: ``[input, layer 0 output, ...]``, each ``[neurons, T]``
            bool, neurons in slayer (C, H, W) order.
        input_spikes_on_pruned_frames: per layer, spikes the layer received on a pruned
            frame (must be 0: the schedule held inside the run).
        output_spikes_on_pruned_frames: per gated layer, spikes it emitted on its pruned
            frames (from decaying state; they are real and are counted).
        cross_check: agreement with the other simulator on the same samples, or None.
    """
    counts: list[LayerCounts]
    accuracy: Optional[float]
    raster: list[np.ndarray]
    input_spikes_on_pruned_frames: list[int]
    output_spikes_on_pruned_frames: list[int]
    cross_check: Optional[dict[str, Any]] = None


@dataclass
class Measurement:
    """Everything measured for one network (bundle or plain netx file)."""
    label: str
    kind: str                         # 'bundle' | 'net'
    path: str
    sha256: str
    network_path: str
    network_sha256: str
    names: list[str]
    kinds: list[str]
    specs: list[LayerSpec]
    frames: int
    samples: int
    first_sample: int
    gates: dict[int, np.ndarray]
    with_schedule: RunCounts
    without_schedule: RunCounts
    same_run: bool                    # without_schedule is the with_schedule run (nothing pruned)
    source: dict[str, Any]
    manifest: Optional[dict[str, Any]] = None
    bundle_id: Optional[str] = None   # Bundle.id of a bundle
    input_path: Optional[str] = None
    seconds: dict[str, float] = field(default_factory=dict)


def layer_spec(layer: Any, name: str) -> LayerSpec:
    """:class:`LayerSpec` (slayer layout) of a netx :class:`~razor_neuro.export.netfile.NetLayer`.

    Conv: netx shapes ``(x, y, f)`` become ``(C, H, W)``; the weight ``(C_out, W, H,
    C_in/groups)`` gives the kernel ``(H, W)``; stride/padding/dilation go from ``(x, y)``
    to ``(H, W)``.  An Input block (neurons driven one-to-one by the input spikes) is a
    depthwise 1x1 conv: one synapse per input spike.
    """
    if layer.kind == "dense":
        return LayerSpec(name, "dense", (int(np.prod(layer.input_shape)),),
                         (int(layer.output_shape[0]),))
    if layer.kind == "conv":
        w = np.asarray(layer.weight)
        return LayerSpec(name, "conv", reverse_order(layer.input_shape),
                         reverse_order(layer.output_shape), kernel=(w.shape[2], w.shape[1]),
                         stride=reverse_order(layer.stride), padding=reverse_order(layer.padding),
                         dilation=reverse_order(layer.dilation), groups=int(layer.groups))
    if layer.kind == "input":
        shape = reverse_order(layer.output_shape) if len(layer.output_shape) == 3 else \
            (int(np.prod(layer.output_shape)), 1, 1)
        return LayerSpec(name, "conv", shape, shape, kernel=1, groups=shape[0])
    raise ReportError(f"{name}: cannot count a layer of kind {layer.kind!r}")


def to_slayer(spikes: Any) -> np.ndarray:
    """netx ``[N, x, y, f, T]`` -> slayer ``[N, C, H, W, T]`` (others unchanged), as bool."""
    a = spikes.cpu().numpy() if isinstance(spikes, torch.Tensor) else np.asarray(spikes)
    return np.ascontiguousarray(swap_spike_order(a != 0))


def count_run(network: Any, specs: Sequence[LayerSpec], x: np.ndarray,
              inputs: Sequence[Any], outputs: Sequence[Any],
              gates: dict[int, np.ndarray], labels: Optional[np.ndarray]) -> RunCounts:
    """Count one run: ``x`` is the network input, ``inputs[i]``/``outputs[i]`` what layer
    ``i`` received (after its gate) and emitted, all ``[N, *shape, T]`` in netx order."""
    from razor_neuro.export.deploy import predict

    inputs = [np.asarray(v.cpu().numpy() if isinstance(v, torch.Tensor) else v) != 0
              for v in inputs]
    outputs = [np.asarray(v.cpu().numpy() if isinstance(v, torch.Tensor) else v) != 0
               for v in outputs]
    counts, on_pruned_in, on_pruned_out = [], [], []
    for i, (spec, layer) in enumerate(zip(specs, network.layers)):
        inp, out = to_slayer(inputs[i]), to_slayer(outputs[i])
        c = count_layer(spec, torch.from_numpy(inp), torch.from_numpy(out))
        mask = gates.get(i)
        if mask is not None and not mask.all():
            pre = x != 0 if i == 0 else outputs[i - 1]
            if layer.flatten_before:
                pre = flatten_spikes(pre)
            m = count_layer(spec, torch.from_numpy(inp), torch.from_numpy(out),
                            keep_mask=torch.from_numpy(mask),
                            unpruned_input_spikes=torch.from_numpy(to_slayer(pre)))
            c = dataclasses.replace(c, pruned_frames=m.pruned_frames,
                                    synops_saved=m.synops_saved)
            on_pruned_in.append(int(inputs[i][..., ~mask].sum()))
            on_pruned_out.append(int(outputs[i][..., ~mask].sum()))
        else:
            on_pruned_in.append(0)
            on_pruned_out.append(0)
        counts.append(c)
    raster = [to_slayer(x[:1])[0].reshape(-1, x.shape[-1])]
    raster += [to_slayer(o[:1])[0].reshape(-1, x.shape[-1]) for o in outputs]
    accuracy = None
    if labels is not None:
        accuracy = float((predict(outputs[-1]) == np.asarray(labels)).mean())
    return RunCounts(counts, accuracy, raster, on_pruned_in, on_pruned_out)


def _lava(network: Any, frames: Optional[int], x: np.ndarray,
          gates: dict[int, np.ndarray]) -> tuple[list, list, float]:
    import time

    from razor_neuro.export.lava_graph import LavaGraph
    t0 = time.perf_counter()
    run = LavaGraph(network, frames, gates=gates).run(x, TAG)
    return run.outputs, run.inputs, time.perf_counter() - t0


def _reference(network: Any, x: np.ndarray, gates: dict[int, np.ndarray],
               device: Optional[str], reset: bool = True) -> tuple[list, list, float]:
    """Reference outputs, gated inputs and wall time: streamed with resets every T steps
    (a bundle), or ``reset=False``: one continuous run (a plain netx network)."""
    from razor_neuro.export.verify import reference_run
    outs, ins, seconds, _ = reference_run(
        network, np.ascontiguousarray(x), {i: np.asarray(m, dtype=bool) for i, m in gates.items()},
        TAG, device, reset=reset)
    return outs, ins, seconds


def _agreement(names: Sequence[str], a_out: Sequence, a_in: Sequence, b_out: Sequence,
               b_in: Sequence, what: str) -> dict[str, Any]:
    from razor_neuro.export.verify import compare
    outs = compare(names, a_out, b_out)
    ins = compare(names, a_in, b_in)
    return {"method": what,
            "mismatches": sum(c.mismatches for c in outs),
            "input_mismatches": sum(c.mismatches for c in ins),
            "layers": [{"name": o.name, "mismatches": o.mismatches,
                        "input_mismatches": i.mismatches} for o, i in zip(outs, ins)]}


def _verify_summary(result: dict[str, Any], gates: str) -> dict[str, Any]:
    keep = ("samples", "steps", "mismatches", "tolerance", "agree", "lava", "reference",
            "lava_accuracy", "reference_accuracy")
    out = {k: result[k] for k in keep if k in result}
    out["gates"] = gates
    out["input_mismatches"] = sum(int(r.get("input_mismatches", 0)) for r in result["layers"])
    out["layers"] = [{"name": r["name"], "mismatches": r["mismatches"],
                      **({"input_mismatches": r["input_mismatches"]}
                         if "input_mismatches" in r else {})} for r in result["layers"]]
    return out


def _refuse_unless_agree(results: Sequence[dict[str, Any]], what: str) -> None:
    bad = [r for r in results if r["mismatches"] or r.get("input_mismatches", 0)]
    if bad:
        r = bad[0]
        raise ReportRefused(
            f"{what}: reference counts are not licensed: razor-neuro verify found "
            f"{r['mismatches']} output and {r.get('input_mismatches', 0)} input mismatches "
            f"between Lava {TAG} and the reference on {r['samples']} sample(s) "
            f"({r['gates']}); report with --source lava")


def _with_all_kept(bundle: Any) -> Any:
    return dataclasses.replace(bundle, schedule=bundle.schedule.all_kept())


def _versions() -> dict[str, str]:
    from razor_neuro.export.bundle import package_versions
    return package_versions(extra=("matplotlib",))


def measure_bundle(bundle: Any, samples: Any, source: str = "lava",
                   verify_samples: Optional[int] = None, first_sample: int = 0,
                   device: Optional[str] = None) -> Measurement:
    """Run a bundle over ``samples`` (``deploy.Samples``) with and without its schedule.

    Args:
        bundle: a loaded :class:`~razor_neuro.export.bundle.Bundle`.
        samples: the test samples (netx order) and labels.
        source: ``'lava'`` or ``'reference'`` (see the module docstring).
        verify_samples: with ``source='reference'``: how many of the samples (from the first)
            ``verify`` runs on Lava to license the reference (default: all).
        first_sample: index of ``samples.x[0]`` in the test split (recorded; ``verify``
            loads the same samples from there).
        device: torch device for the reference.

    Raises:
        ReportRefused: reference source and ``verify`` found mismatches.
    """
    if source not in SOURCES:
        raise ReportError(f"--source: expected one of {SOURCES}, got '{source}'")
    from razor_neuro.export.lava_graph import LavaGraph
    network, frames = bundle.network, bundle.frames
    names = LavaGraph(network, frames).names
    specs = [layer_spec(layer, name) for layer, name in zip(network.layers, names)]
    gates = {int(i): np.asarray(m, dtype=bool) for i, m in bundle.gates.items()}
    ones = {i: np.ones_like(m) for i, m in gates.items()}
    same = all(m.all() for m in gates.values())
    x, labels, n = samples.x, samples.labels, int(samples.x.shape[0])
    seconds: dict[str, float] = {}
    from razor_neuro.export.bundle import sha256_file
    net_sha = sha256_file(Path(bundle.path) / "network.net")

    if source == "lava":
        out_s, in_s, seconds["lava_with_schedule"] = _lava(network, frames, x, gates)
        r_out, r_in, seconds["reference_with_schedule"] = _reference(network, x, gates, device)
        with_s = count_run(network, specs, x, in_s, out_s, gates, labels)
        with_s.cross_check = _agreement(names, out_s, in_s, r_out, r_in,
                                        f"torch reference {TAG} on the same {n} samples")
        if same:
            without = with_s
        else:
            out_u, in_u, seconds["lava_without_schedule"] = _lava(network, frames, x, ones)
            r_out, r_in, seconds["reference_without_schedule"] = _reference(network, x, ones,
                                                                            device)
            without = count_run(network, specs, x, in_u, out_u, ones, labels)
            without.cross_check = _agreement(names, out_u, in_u, r_out, r_in,
                                             f"torch reference {TAG} on the same {n} samples")
        checks = [c for c in (with_s.cross_check, without.cross_check) if c]
        total = sum(c["mismatches"] + c["input_mismatches"] for c in checks)
        description = (
            f"Lava {TAG} (lava-nc {_versions()['lava-nc']}, Loihi2SimCfg(select_tag='{TAG}'), "
            f"CPU simulator): one streamed run of {n} test samples with the bundle's schedule "
            f"gates" + ("" if same else " and one with all-ones gates (nothing pruned)") +
            "; spikes recorded inside the Lava graph per layer and step")
        src = {"kind": "lava", "tag": TAG, "description": description,
               "cross_check": {"method": f"torch reference {TAG} on the same samples",
                               "samples": n, "mismatches": total,
                               "runs": checks},
               "licence": f"counts measured on Lava {TAG} itself; torch reference cross-check: "
                          f"{total} mismatches over {n} samples"}
    else:
        from razor_neuro.export.verify import verify_bundle
        k = n if verify_samples is None else int(verify_samples)
        if not 1 <= k <= n:
            raise ReportError(f"--verify-samples: expected 1..{n} (the reported samples), "
                              f"got {k}")
        results = [_verify_summary(verify_bundle(bundle, k, TAG, 0, device, first_sample),
                                   "bundle schedule")]
        if not same:
            results.append(_verify_summary(
                verify_bundle(_with_all_kept(bundle), k, TAG, 0, device, first_sample),
                "all-ones gates (no schedule)"))
        _refuse_unless_agree(results, str(bundle.path))
        out_s, in_s, seconds["reference_with_schedule"] = _reference(network, x, gates, device)
        with_s = count_run(network, specs, x, in_s, out_s, gates, labels)
        if same:
            without = with_s
        else:
            out_u, in_u, seconds["reference_without_schedule"] = _reference(network, x, ones,
                                                                            device)
            without = count_run(network, specs, x, in_u, out_u, ones, labels)
        description = (
            f"torch reference {TAG} (bit-exact model of Lava {TAG}; razor_neuro.export."
            f"reference) over {n} test samples with the bundle's schedule gates"
            + ("" if same else " and with all-ones gates (nothing pruned)"))
        src = {"kind": "reference", "tag": TAG, "description": description,
               "verify": results,
               "licence": f"razor-neuro verify: Lava {TAG} and the reference agree spike for "
                          f"spike (0 mismatches) on the first {k} of these samples"
                          + ("" if same else ", with and without the schedule")}
    return Measurement(
        label=Path(bundle.path).resolve().name, kind="bundle",
        path=str(Path(bundle.path).resolve()),
        sha256=bundle.sha256, network_path=str(Path(bundle.path).resolve() / "network.net"),
        network_sha256=net_sha, names=names, kinds=[l.kind for l in network.layers],
        specs=specs, frames=frames, samples=n, first_sample=first_sample, gates=gates,
        with_schedule=with_s, without_schedule=without, same_run=same, source=src,
        manifest=dict(bundle.manifest), bundle_id=bundle.id, seconds=seconds)


def net_label(net: str | Path) -> str:
    """Short name of a netx file: its stem, or its folder's name for a generic stem."""
    p = Path(net).resolve()
    return p.parent.name if p.stem in ("network", "net", "model") and p.parent.name else p.stem


def default_out(bundle: Optional[str | Path] = None, net: Optional[str | Path] = None) -> Path:
    """``reports/<bundle name>`` or ``reports/<net label>``."""
    if bundle is not None:
        return Path("reports") / Path(bundle).resolve().name
    return Path("reports") / (net_label(net) if net is not None else "report")


def measure_net(net: str | Path, spikes: str | Path, steps: Optional[int] = None,
                source: str = "lava", device: Optional[str] = None) -> Measurement:
    """Measure a plain netx network (no schedule, no resets) on one input spike train.

    Args:
        net: netx HDF5 file.
        spikes: ``.npy`` input (dense ``[*input_shape, T]`` in netx order, or slayer events).
        steps: time steps to run (default: the input's length).
        source: ``'lava'`` or ``'reference'`` (licensed by ``verify_net`` on the same input).
    """
    if source not in SOURCES:
        raise ReportError(f"--source: expected one of {SOURCES}, got '{source}'")
    from razor_neuro.export.bundle import sha256_file
    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.netfile import read_network_for, read_spikes
    if not Path(spikes).is_file():
        raise ReportError(f"{spikes}: no such input spike file")
    network = read_network_for(net, spikes)
    x = read_spikes(spikes, network.input_shape, steps)
    if steps is not None and x.shape[-1] < steps:
        x = np.concatenate([x, np.zeros((*x.shape[:-1], steps - x.shape[-1]), x.dtype)], -1)
    x = x[None]
    names = LavaGraph(network, None).names
    specs = [layer_spec(layer, name) for layer, name in zip(network.layers, names)]
    seconds: dict[str, float] = {}
    if source == "lava":
        outs, ins, seconds["lava"] = _lava(network, None, x, {})
        r_out, r_in, seconds["reference"] = _reference(network, x, {}, device, reset=False)
        run = count_run(network, specs, x, ins, outs, {}, None)
        run.cross_check = _agreement(names, outs, ins, r_out, r_in,
                                     f"torch reference {TAG} on the same input")
        total = run.cross_check["mismatches"] + run.cross_check["input_mismatches"]
        src = {"kind": "lava", "tag": TAG,
               "description": f"Lava {TAG} (lava-nc {_versions()['lava-nc']}, Loihi2SimCfg("
                              f"select_tag='{TAG}'), CPU simulator): one run of "
                              f"{x.shape[-1]} steps on {Path(spikes).name}, no resets, no "
                              f"schedule; spikes recorded inside the Lava graph per layer",
               "cross_check": {"method": f"torch reference {TAG} on the same input",
                               "samples": 1, "mismatches": total, "runs": [run.cross_check]},
               "licence": f"counts measured on Lava {TAG} itself; torch reference cross-check: "
                          f"{total} mismatches"}
    else:
        from razor_neuro.export.verify import verify_net
        result = _verify_summary(verify_net(net, spikes, steps, TAG, 0, device), "no schedule")
        _refuse_unless_agree([result], str(net))
        outs, ins, seconds["reference"] = _reference(network, x, {}, device, reset=False)
        run = count_run(network, specs, x, ins, outs, {}, None)
        src = {"kind": "reference", "tag": TAG,
               "description": f"torch reference {TAG} (bit-exact model of Lava {TAG}): one run "
                              f"of {x.shape[-1]} steps on {Path(spikes).name}, no schedule",
               "verify": [result],
               "licence": f"razor-neuro verify --net: Lava {TAG} and the reference agree spike "
                          f"for spike (0 mismatches) on this input"}
    return Measurement(
        label=net_label(net), kind="net", path=str(Path(net).resolve()),
        sha256=sha256_file(Path(net)), network_path=str(Path(net).resolve()),
        network_sha256=sha256_file(Path(net)), names=names,
        kinds=[l.kind for l in network.layers], specs=specs, frames=int(x.shape[-1]),
        samples=1, first_sample=0, gates={}, with_schedule=run, without_schedule=run,
        same_run=True, source=src, input_path=str(Path(spikes).resolve()), seconds=seconds)


# --------------------------------------------------------------------------- report data

def _num(v: Any) -> Any:
    if v is None:
        return None
    v = float(v)
    return int(v) if v.is_integer() and abs(v) < 2 ** 53 else v


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b == 0:
        return None
    return float(a) / float(b)


def _layer_rows(m: Measurement, run: RunCounts, profile: HardwareProfile,
                ann: HardwareProfile, scheduled: bool) -> list[dict[str, Any]]:
    rows = []
    for i, c in enumerate(run.counts):
        c = c.per_sample()
        e = layer_energy(c, profile, ann)
        mask = m.gates.get(i) if scheduled else None
        rows.append({
            "name": c.name,
            "kind": m.kinds[i],
            "neurons": c.out_neurons,
            "kept_frames": int(mask.sum()) if mask is not None else m.frames,
            "frames": m.frames,
            "input_spikes": _num(c.input_spikes),
            "output_spikes": _num(c.output_spikes),
            "synops": _num(c.synops),
            "dense_macs": _num(c.dense_macs),
            "neuron_updates": _num(c.neuron_updates),
            "active_neuron_updates": _num(c.active_neuron_updates),
            "pruned_frames": _num(c.pruned_frames),
            "synops_saved": _num(c.synops_saved),
            "activation_sparsity": float(c.activation_sparsity),
            "input_spikes_on_pruned_frames":
                _num(run.input_spikes_on_pruned_frames[i] / m.samples),
            "output_spikes_on_pruned_frames":
                _num(run.output_spikes_on_pruned_frames[i] / m.samples),
            "energy_pj": e.total_pj,
            "energy_breakdown_pj": {"synops": e.synops_pj, "neuron_inactive": e.neuron_inactive_pj,
                                    "neuron_active": e.neuron_active_pj,
                                    "spike_routing": e.spikes_routed_pj},
            "ann_energy_pj": e.ann_equivalent_pj,
        })
    return rows


def _run_data(m: Measurement, run: RunCounts, profile: HardwareProfile, ann: HardwareProfile,
              scheduled: bool) -> dict[str, Any]:
    layers = _layer_rows(m, run, profile, ann, scheduled)
    tot = sum_counts([c.per_sample() for c in run.counts])
    by_op = {op: sum(r["energy_breakdown_pj"][op] for r in layers) for op in OPERATIONS}
    return {
        "accuracy": run.accuracy,
        "layers": layers,
        "totals": {k: _num(getattr(tot, k)) for k in (
            "input_spikes", "output_spikes", "synops", "dense_macs", "neuron_updates",
            "active_neuron_updates", "pruned_frames", "synops_saved")}
        | {"activation_sparsity": float(tot.activation_sparsity)},
        "energy_by_operation_pj": by_op,
        "total_energy_pj_per_sample": sum(r["energy_pj"] for r in layers),
        "ann_energy_pj_per_sample": sum(r["ann_energy_pj"] for r in layers),
        "schedule_held": sum(run.input_spikes_on_pruned_frames) == 0,
    }


def _savings(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Ratios a / b and reductions 1 - a / b of the main per-sample totals."""
    out: dict[str, Any] = {}
    pairs = {"synops": (a["totals"]["synops"], b["totals"]["synops"]),
             "output_spikes": (a["totals"]["output_spikes"], b["totals"]["output_spikes"]),
             "energy": (a["total_energy_pj_per_sample"], b["total_energy_pj_per_sample"])}
    for k, (x, y) in pairs.items():
        r = _ratio(x, y)
        out[f"{k}_ratio"] = r
        out[f"{k}_reduction"] = None if r is None else 1.0 - r
    return out


def _profile_data(p: HardwareProfile) -> dict[str, Any]:
    return {"name": p.name, "file": p.path, "description": p.description, "kind": p.kind,
            "caveat": p.caveat,
            "energy": {k: dataclasses.asdict(c) for k, c in p.energy.items()},
            "limits": {k: dataclasses.asdict(c) for k, c in p.limits.items()}}


def _measurement_data(m: Measurement, profile: HardwareProfile,
                      ann: HardwareProfile) -> dict[str, Any]:
    with_s = _run_data(m, m.with_schedule, profile, ann, True)
    without = _run_data(m, m.without_schedule, profile, ann, False)
    without["same_run"] = m.same_run
    names = list(m.names)
    schedule = [{"layer": names[i], "layer_index": i, "keep_mask": [int(v) for v in mask],
                 "kept_frames": int(mask.sum())} for i, mask in sorted(m.gates.items())]
    data: dict[str, Any] = {
        "label": m.label,
        "kind": m.kind,
        "path": m.path,
        "sha256": m.sha256,
        "bundle_id": m.bundle_id,
        "network": m.network_path,
        "network_sha256": m.network_sha256,
        "input": m.input_path,
        "frames": m.frames,
        "samples": m.samples,
        "first_sample": m.first_sample,
        "source": m.source,
        "accuracy": with_s["accuracy"],
        "schedule": schedule,
        **{k: with_s[k] for k in ("layers", "totals", "energy_by_operation_pj",
                                  "total_energy_pj_per_sample", "ann_energy_pj_per_sample",
                                  "schedule_held")},
        "without_schedule": without,
        "savings": _savings(with_s, without),
        "cores": estimate_cores([s.out_neurons for s in m.specs], profile)
        | {"profile": profile.name, "note": "lower bound from neurons_per_core only"},
    }
    if m.manifest is not None:
        data["keep_ratio"] = m.manifest.get("keep_ratio")
        data["training"] = m.manifest.get("training")
        data["dataset"] = m.manifest.get("dataset")
        data["bundle_versions"] = m.manifest.get("versions")
    return data


DEFINITIONS = {
    "per_sample": "every count and energy is the mean per sample over the reported samples",
    "input_spikes": "spikes delivered into the layer (after its schedule gate)",
    "output_spikes": "spikes the layer emitted, on every time step (pruned frames included)",
    "synops": "input spikes x structural fan-out (stride/padding exact; zero weights "
              "counted): NeuroBench Effective_ACs for binary inputs",
    "dense_macs": "dense ANN MACs of the same layer over all T frames (NeuroBench Dense)",
    "neuron_updates": "neurons x time steps; a pruned frame still updates (decays) the "
                      "neurons, as in the Lava graph and on the chip",
    "pruned_frames": "frames per sample on which the schedule delivered no input to the layer",
    "synops_saved": "synops that the spikes reaching the gate on pruned frames would have cost",
    "energy_pj": "synops x synop + (neuron_updates - active_neuron_updates) x "
                 "neuron_update_inactive + active_neuron_updates x neuron_update_active + "
                 "output_spikes x spike_within_tile (profile constants, pJ)",
    "ann_energy_pj": "dense_macs x mac of the ANN baseline profile",
}

MODEL_CAVEATS = [
    "Energy = measured counts x per-operation constants of the named profile; static/leakage "
    "power, mesh hops between tiles, host I/O and spike encoding are not modelled.",
    "Synaptic ops count every structural synapse, zero weights included.",
    "The ANN baseline counts dense MACs of the same layers on all T frames at the ANN "
    "profile's MAC energy; it is an equivalent-workload reference, not a trained ANN.",
]


def _check_kinds(profile: HardwareProfile, ann: HardwareProfile) -> None:
    if profile.kind != "neuromorphic":
        raise ReportError(f"--profile: {profile.path} is kind '{profile.kind}', need a "
                          f"neuromorphic profile (e.g. loihi1)")
    if ann.kind != "ann-baseline":
        raise ReportError(f"--ann-profile: {ann.path} is kind '{ann.kind}', need an "
                          f"ann-baseline profile (e.g. cmos45nm)")


def _check_finite(value: Any, where: str) -> None:
    """Raise :class:`ReportError` naming the first NaN or infinite number in ``value``
    (nested dicts and lists): a report prints measured numbers only."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")
    elif isinstance(value, (float, np.floating)) and not np.isfinite(value):
        raise ReportError(f"{where}: {value} is not a finite number; expected finite counts, "
                          "states and energies")


def report_data(primary: Measurement, profile: HardwareProfile, ann: HardwareProfile,
                other: Optional[Measurement] = None) -> dict[str, Any]:
    """The report as one JSON-able dict (what ``report.json`` holds)."""
    _check_kinds(profile, ann)
    data = _measurement_data(primary, profile, ann)
    caveats = [f"{p.name}: {p.caveat}" for p in (profile, ann) if p.caveat]
    out: dict[str, Any] = {
        "format": FORMAT,
        "title": f"Energy and spike-count report: {primary.label}",
        **data,
        "profile": _profile_data(profile),
        "ann_profile": _profile_data(ann),
        "caveats": caveats + MODEL_CAVEATS,
        "definitions": DEFINITIONS,
        "versions": _versions(),
        "compare": None,
        "comparison": None,
    }
    _check_finite(out["profile"], "--profile")
    _check_finite(out["ann_profile"], "--ann-profile")
    _check_finite(data, "report")
    if other is not None:
        b = _measurement_data(other, profile, ann)
        _check_finite(b, "report (--compare)")
        out["compare"] = b
        cmp = _savings(data, b)
        out["comparison"] = {
            "a": primary.label, "b": other.label,
            "a_sha256": primary.sha256, "b_sha256": other.sha256,
            "same_samples": True, "samples": primary.samples,
            "accuracy_a": data["accuracy"], "accuracy_b": b["accuracy"],
            **{k.replace("_ratio", "_ratio_a_over_b"): v for k, v in cmp.items()
               if k.endswith("_ratio")},
            **{k: v for k, v in cmp.items() if k.endswith("_reduction")},
            "same_layers": [r["name"] for r in data["layers"]] ==
                           [r["name"] for r in b["layers"]],
        }
    return out


# --------------------------------------------------------------------------- writing

def write_report_dir(out: str | Path, writer: Callable[[Path], None],
                     overwrite: bool = False) -> Path:
    """Create ``out`` atomically (:func:`razor_neuro.atomic.write_dir`): ``writer(tmp)``
    fills a temporary sibling directory, which is then renamed into place.  A failure
    leaves nothing (and an existing ``out`` untouched); ``overwrite`` replaces only an
    existing report (a ``report.json`` of format :data:`FORMAT`)."""
    return write_dir(out, writer, overwrite, "report.json", FORMAT)


@dataclass(frozen=True)
class ReportResult:
    """What :func:`make_report` wrote."""
    path: Path
    data: dict[str, Any]
    files: tuple[str, ...]


def make_report(out: str | Path, bundle: Optional[str | Path] = None,
                net: Optional[str | Path] = None, input: Optional[str | Path] = None,
                steps: Optional[int] = None, profile: str = "loihi1",
                ann_profile: str = "cmos45nm", samples: int = 32, start: int = 0,
                source: str = "lava", verify_samples: Optional[int] = None,
                compare: Optional[str | Path] = None, overwrite: bool = False,
                device: Optional[str] = None) -> ReportResult:
    """Measure, then write ``report.md/.csv/.json/.tex`` and ``figures/*.png|pdf`` to ``out``.

    Give either ``bundle`` (optionally ``compare``: a second bundle run on the same samples)
    or ``net`` with ``input``.  Profiles are shipped names or paths to TOML files.

    Raises:
        ReportError: bad arguments, profile, bundle or network (nothing is written).
        ReportRefused: ``source='reference'`` and ``verify`` found mismatches.
    """
    from razor_neuro.export.report import figures, tables

    if (bundle is None) == (net is None):
        raise ReportError("give either a BUNDLE directory or --net FILE.net --input SPIKES.npy")
    if net is not None and input is None:
        raise ReportError("--net needs --input SPIKES.npy")
    if net is None and (input is not None or steps is not None):
        raise ReportError("--input/--steps go with --net")
    if compare is not None and net is not None:
        raise ReportError("--compare works with bundles, not with --net")
    if source not in SOURCES:
        raise ReportError(f"--source: expected one of {SOURCES}, got '{source}'")
    if verify_samples is not None and source != "reference":
        raise ReportError("--verify-samples goes with --source reference")
    if samples < 1 or start < 0:
        raise ReportError(f"--samples must be >= 1 and --start >= 0, got {samples}, {start}")
    if steps is not None and steps < 1:
        raise ReportError(f"--steps must be >= 1, got {steps}")
    prof = load_profile(profile)
    ann = load_profile(ann_profile)
    _check_kinds(prof, ann)
    inputs = tuple(p for p in (bundle, compare, net, input) if p is not None)
    check_replaceable(out, overwrite, "report.json", FORMAT, inputs)
    check_writable(out, "--out", into=False)  # before the simulation, not after it

    if bundle is not None:
        from razor_neuro.export.bundle import load_bundle
        from razor_neuro.export.deploy import load_test_samples
        b = load_bundle(bundle)
        other_b = load_bundle(compare) if compare is not None else None
        if other_b is not None:
            for key in ("input_shape", "frames", "dataset"):
                if other_b.manifest.get(key) != b.manifest.get(key):
                    raise ReportError(
                        f"--compare: {other_b.path} has another '{key}' than {b.path}; "
                        f"bundles are compared on the same test samples")
        smp = load_test_samples(b, samples, start)
        primary = measure_bundle(b, smp, source, verify_samples, start, device)
        other = None if other_b is None else measure_bundle(other_b, smp, source,
                                                            verify_samples, start, device)
    else:
        if not Path(net).is_file():
            raise ReportError(f"{net}: no such network file")
        primary = measure_net(net, input, steps, source, device)
        other = None
    data = report_data(primary, prof, ann, other)

    def writer(tmp: Path) -> None:
        figs = figures.write_figures(tmp / "figures", data, primary, other)
        data["figures"] = [str(p.relative_to(tmp)) for p in figs]
        (tmp / "report.md").write_text(tables.markdown(data))
        (tmp / "report.csv").write_text(tables.csv_text(data))
        (tmp / "report.tex").write_text(tables.latex(data))
        (tmp / "report.json").write_text(tables.json_text(data))

    path = write_report_dir(out, writer, overwrite)
    return ReportResult(path, data, FILES + tuple(data["figures"]))

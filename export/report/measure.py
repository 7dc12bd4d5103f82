"""Measure per-layer counts of a deployed network: Lava or reference runs -> :class:`Measurement`.

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
    after the run ``razor-neuro verify`` makes (Lava and the reference through
    :mod:`razor_neuro.export.backend`, compared) has shown
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

Counts are batch totals; :mod:`~razor_neuro.export.report.assemble` takes means per sample.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from razor_neuro.counting import LayerCounts, LayerSpec, count_layer, input_events_per_frame
from razor_neuro.export.backend import Activity
from razor_neuro.export.backend import Agreement as BackendAgreement
from razor_neuro.export.backend import Deployment, Lava, ReferenceSim, compare
from razor_neuro.export.bundle import sha256_file
from razor_neuro.layout import flatten_spikes, reverse_order, swap_spike_order
from razor_neuro.export.report.data import (Agreement, CrossCheck, LayerMismatches, Source,
                                            VerifyRun)
from razor_neuro.export.report.schema import SOURCES, TAG, ReportError, ReportRefused
from razor_neuro.versions import package_version

__all__ = ["Measurement", "RunCounts", "count_run", "layer_spec", "measure_bundle",
           "measure_net", "net_label", "to_slayer"]


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
        events_per_frame: the network input's mean event count per frame, ``[T]``.
    """
    counts: list[LayerCounts]
    accuracy: Optional[float]
    raster: list[np.ndarray]
    input_spikes_on_pruned_frames: list[int]
    output_spikes_on_pruned_frames: list[int]
    events_per_frame: list[float]


@dataclass
class Measurement:
    """Everything measured for one network (bundle or plain netx file).

    ``gates``: ``{layer index: keep mask [T] bool}`` of the bundle's schedule, over its
    frames (empty for a net); ``prune_mode``: the schedule's mode and ``readout_steps`` its
    empty steps after a skipped sample's kept frames (None for a net, and for ``gate``);
    ``same_run``: nothing is pruned, so ``without_schedule`` is ``with_schedule``;
    ``manifest``: the bundle's manifest (None for a net)."""
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
    same_run: bool
    source: Source
    prune_mode: Optional[str] = None
    readout_steps: Optional[int] = None
    manifest: Optional[dict[str, Any]] = None
    bundle_id: Optional[str] = None   # Bundle.id of a bundle
    input_path: Optional[str] = None
    hardware: Optional[Any] = None    # what ``hardware(...)`` returned (a hardware model)


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
    return RunCounts(counts, accuracy, raster, on_pruned_in, on_pruned_out, input_events_per_frame(x))


def _agreement(agreement: BackendAgreement, what: str) -> Agreement:
    """A backend comparison as the report's cross-check records it."""
    return Agreement(method=what, mismatches=agreement.mismatches,
                     input_mismatches=agreement.input_mismatches,
                     layers=[LayerMismatches(name=o.name, mismatches=o.mismatches,
                                             input_mismatches=i.mismatches)
                             for o, i in zip(agreement.outputs, agreement.inputs)])


def _licence_run(d: Deployment, labels: Optional[np.ndarray], gates: str,
                 device: Optional[str]) -> tuple[VerifyRun, Activity]:
    """Lava and the reference on the deployment ``d`` (what ``razor-neuro verify`` runs),
    summarised as a :class:`VerifyRun`; returns it with the reference's activity."""
    lava, ref = Lava(TAG).run(d), ReferenceSim(TAG, device).run(d)
    c = compare(lava, ref)

    def accuracy(a: Activity) -> Optional[float]:
        from razor_neuro.export.deploy import predict
        return None if labels is None else float((predict(a.outputs[-1]) == labels).mean())

    return VerifyRun(
        samples=int(d.x.shape[0]), steps=int(d.x.shape[-1]), mismatches=c.mismatches,
        tolerance=0, agree=c.mismatches == 0, lava=TAG,
        reference=ref.backend if labels is not None else f"torch {TAG}",
        lava_accuracy=accuracy(lava), reference_accuracy=accuracy(ref), gates=gates,
        input_mismatches=c.input_mismatches,
        layers=[LayerMismatches(name=o.name, mismatches=o.mismatches,
                                input_mismatches=i.mismatches)
                for o, i in zip(c.outputs, c.inputs)]), ref


def _refuse_unless_agree(results: Sequence[VerifyRun], what: str) -> None:
    bad = [r for r in results if r.mismatches or r.input_mismatches]
    if bad:
        r = bad[0]
        raise ReportRefused(
            f"{what}: reference counts are not licensed: razor-neuro verify found "
            f"{r.mismatches} output and {r.input_mismatches} input mismatches "
            f"between Lava {TAG} and the reference on {r.samples} sample(s) "
            f"({r.gates}); report with --source lava")


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ReportError(f"--source: expected one of {SOURCES}, got '{source}'")


def _lava_description(what: str) -> str:
    return (f"Lava {TAG} (lava-nc {package_version('lava-nc')}, Loihi2SimCfg(select_tag="
            f"'{TAG}'), CPU simulator): {what}")


def measure_bundle(bundle: Any, samples: Any, source: str = "lava",
                   verify_samples: Optional[int] = None, first_sample: int = 0,
                   device: Optional[str] = None,
                   hardware: Optional[Callable[..., Any]] = None) -> Measurement:
    """Run a bundle over ``samples`` (``deploy.Samples``) with and without its schedule.

    Args:
        bundle: a loaded :class:`~razor_neuro.export.bundle.Bundle`.
        samples: the test samples ``x [N, *input_shape, T]`` (netx order) and ``labels [N]``.
        source: ``'lava'`` or ``'reference'`` (see the module docstring).
        verify_samples: with ``source='reference'``: how many of the samples (from the first)
            ``verify`` runs on Lava to license the reference (default: all); not used with
            ``'lava'``, whose cross-check covers every sample.
        first_sample: index of ``samples.x[0]`` in the test split (recorded; ``verify``
            loads the same samples from there).
        device: torch device for the reference.
        hardware: ``hardware(network, names, [(input, outputs, gates) per run])``, a hardware
            model (:func:`razor_neuro.export.hardware.sanafe.run_model`) given both runs.

    Raises:
        ReportError: ``verify_samples`` outside ``1..N``.
        ReportRefused: reference source and ``verify`` found mismatches.
    """
    _check_source(source)
    network, names = bundle.network, bundle.network.names
    specs = [layer_spec(layer, name) for layer, name in zip(network.layers, names)]
    all_kept = dataclasses.replace(bundle, schedule=bundle.schedule.all_kept())
    same = bool(bundle.schedule.masks.all()) and not bundle.schedule.readout
    x, labels, n = samples.x, samples.labels, int(samples.x.shape[0])
    both = "" if same else " and one with all-ones gates (nothing pruned)"
    if bundle.schedule.mode == "skip":
        readout = bundle.schedule.readout
        then = f", then {readout} empty readout steps" if readout else ""
        both = (" (its pruned input frames skipped: each sample runs its kept frames as "
                f"consecutive steps{then})" + ("" if same else " and one on all frames "
                                               "(nothing pruned)"))
    # with the schedule, and (when it prunes) without it: all frames, all-ones gates
    deployed = [Deployment.of_bundle(b, x) for b in ([bundle] if same else [bundle, all_kept])]
    if source == "lava":
        runs = [Lava(TAG).run(d) for d in deployed]
        checks = [_agreement(compare(run, ReferenceSim(TAG, device).run(d)),
                             f"torch reference {TAG} on the same {n} samples")
                  for d, run in zip(deployed, runs)]
        total = sum(c.mismatches + c.input_mismatches for c in checks)
        src = Source(
            kind="lava", tag=TAG,
            description=_lava_description(
                f"one streamed run of {n} test samples with the bundle's schedule gates"
                + both + "; spikes recorded inside the Lava graph per layer and step"),
            cross_check=CrossCheck(method=f"torch reference {TAG} on the same samples",
                                   samples=n, mismatches=total, runs=checks),
            licence=f"counts measured on Lava {TAG} itself; torch reference cross-check: "
                    f"{total} mismatches over {n} samples", lava_checked_samples=n)
    else:
        k = n if verify_samples is None else int(verify_samples)
        if not 1 <= k <= n:
            raise ReportError(f"--verify-samples: expected 1..{n} (the reported samples), "
                              f"got {k}")
        what = ["bundle schedule", "all-ones gates (no schedule)"]
        results = [_licence_run(Deployment.of_bundle(b, x[:k]), labels[:k], w, device)[0]
                   for b, w in zip([bundle, all_kept], what[:len(deployed)])]
        _refuse_unless_agree(results, str(bundle.path))
        runs = [ReferenceSim(TAG, device).run(d) for d in deployed]
        src = Source(
            kind="reference", tag=TAG,
            description=f"torch reference {TAG} (bit-exact model of Lava {TAG}; razor_neuro."
                        f"export.reference) over {n} test samples with the bundle's schedule "
                        "gates" + both,
            verify=results,
            licence=f"razor-neuro verify: Lava {TAG} and the reference agree spike for "
                    f"spike (0 mismatches) on the first {k} of these samples"
                    + ("" if same else ", with and without the schedule"),
            lava_checked_samples=k)
    counted = []
    for d, run in zip(deployed, runs):
        c = count_run(network, specs, d.x, run.inputs, run.outputs, d.gates, labels)
        c.events_per_frame = input_events_per_frame(x)  # the input's frames, whatever ran
        counted.append(c)
    with_s, without = counted[0], counted[-1]
    hw = None if hardware is None else hardware(
        network, names, [(d.x, run.outputs, d.gates) for d, run in zip(deployed, runs)])
    path = Path(bundle.path).resolve()
    return Measurement(
        label=path.name, kind="bundle", path=str(path), sha256=bundle.sha256,
        network_path=str(path / "network.net"),
        network_sha256=sha256_file(Path(bundle.path) / "network.net"), names=names,
        kinds=[l.kind for l in network.layers], specs=specs, frames=bundle.frames, samples=n,
        first_sample=first_sample, gates=bundle.schedule.gates(network.names),
        with_schedule=with_s, without_schedule=without, same_run=same, source=src,
        prune_mode=bundle.schedule.mode,
        readout_steps=bundle.schedule.readout if bundle.schedule.mode == "skip" else None,
        manifest=dict(bundle.manifest), bundle_id=bundle.id,
        hardware=hw)


def net_label(net: str | Path) -> str:
    """Short name of a netx file: its stem, or its folder's name for a generic stem."""
    p = Path(net).resolve()
    return p.parent.name if p.stem in ("network", "net", "model") and p.parent.name else p.stem


def measure_net(net: str | Path, spikes: str | Path, steps: Optional[int] = None,
                source: str = "lava", device: Optional[str] = None,
                hardware: Optional[Callable[..., Any]] = None) -> Measurement:
    """Measure a plain netx network (no schedule, no resets) on one input spike train.

    Args:
        net: netx HDF5 file.
        spikes: ``.npy`` input (dense ``[*input_shape, T]`` in netx order, or slayer events).
        steps: time steps to run (default: the input's length).
        source: ``'lava'`` or ``'reference'`` (licensed by ``verify_net`` on the same input).
        device: torch device for the reference.
        hardware: as for :func:`measure_bundle` (one run).
    """
    _check_source(source)
    from razor_neuro.export.netfile import read_network_for, read_spikes
    if not Path(net).is_file():
        raise ReportError(f"{net}: no such network file")
    if not Path(spikes).is_file():
        raise ReportError(f"{spikes}: no such input spike file")
    network = read_network_for(net, spikes, steps)
    x = read_spikes(spikes, network.input_shape, steps)
    if steps is not None and x.shape[-1] < steps:
        x = np.concatenate([x, np.zeros((*x.shape[:-1], steps - x.shape[-1]), x.dtype)], -1)
    d = Deployment.of_net(network, x)
    x, names = d.x, network.names
    specs = [layer_spec(layer, name) for layer, name in zip(network.layers, names)]
    if source == "lava":
        act = Lava(TAG).run(d)
        check = _agreement(compare(act, ReferenceSim(TAG, device).run(d)),
                           f"torch reference {TAG} on the same input")
        total = check.mismatches + check.input_mismatches
        src = Source(
            kind="lava", tag=TAG,
            description=_lava_description(
                f"one run of {x.shape[-1]} steps on {Path(spikes).name}, no resets, no "
                "schedule; spikes recorded inside the Lava graph per layer"),
            cross_check=CrossCheck(method=f"torch reference {TAG} on the same input",
                                   samples=1, mismatches=total, runs=[check]),
            licence=f"counts measured on Lava {TAG} itself; torch reference cross-check: "
                    f"{total} mismatches", lava_checked_samples=1)
    else:
        result, act = _licence_run(d, None, "no schedule", device)
        _refuse_unless_agree([result], str(net))
        src = Source(
            kind="reference", tag=TAG,
            description=f"torch reference {TAG} (bit-exact model of Lava {TAG}): one run "
                        f"of {x.shape[-1]} steps on {Path(spikes).name}, no schedule",
            verify=[result],
            licence=f"razor-neuro verify --net: Lava {TAG} and the reference agree spike "
                    f"for spike (0 mismatches) on this input", lava_checked_samples=1)
    run = count_run(network, specs, x, act.inputs, act.outputs, {}, None)
    hw = None if hardware is None else hardware(network, names, [(x, act.outputs, {})])
    sha = sha256_file(Path(net))
    return Measurement(
        label=net_label(net), kind="net", path=str(Path(net).resolve()), sha256=sha,
        network_path=str(Path(net).resolve()), network_sha256=sha, names=names,
        kinds=[l.kind for l in network.layers], specs=specs, frames=int(x.shape[-1]),
        samples=1, first_sample=0, gates={}, with_schedule=run, without_schedule=run,
        same_run=True, source=src, input_path=str(Path(spikes).resolve()), hardware=hw)

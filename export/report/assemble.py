"""Price measured counts with hardware profiles and assemble the :class:`~.data.Report`.

:func:`assemble` turns one or two :class:`~razor_neuro.export.report.measure.Measurement`
(batch totals) into report data: every count becomes a mean per sample, every layer gets its
energy (counts x the constants of the neuromorphic profile, dense MACs x the ANN profile's
``mac``; :func:`razor_neuro.energy.layer_energy`), and the runs with and without the
schedule (and a second network) are compared.  Numbers must be finite: a NaN or infinity
anywhere refuses the report, naming the field.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from razor_neuro.counting import sum_counts
from razor_neuro.energy import HardwareProfile, estimate_cores, layer_energy
from razor_neuro.export.report.data import (OPERATIONS, BundleInfo, ByOperation, Comparison,
                                            Cores, Gate, LayerRow, NetworkReport, Profile,
                                            Report, Run, Savings, Totals, Unscheduled)
from razor_neuro.export.report.hwmodel import hardware_section
from razor_neuro.export.report.jsonform import to_json
from razor_neuro.export.report.measure import Measurement, RunCounts
from razor_neuro.export.report.schema import DEFINITIONS, MODEL_CAVEATS, ReportError
from razor_neuro.versions import package_versions

__all__ = ["assemble", "check_finite", "check_kinds", "network_report", "profile_data"]


def _num(v: Any) -> Any:
    """A count as ``int`` when whole, else ``float`` (None stays None)."""
    if v is None:
        return None
    v = float(v)
    return int(v) if v.is_integer() and abs(v) < 2 ** 53 else v


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b == 0:
        return None
    return float(a) / float(b)


def _layer_rows(m: Measurement, run: RunCounts, profile: HardwareProfile,
                ann: HardwareProfile, scheduled: bool) -> list[LayerRow]:
    rows = []
    for i, c in enumerate(run.counts):
        c = c.per_sample()
        e = layer_energy(c, profile, ann)
        mask = m.gates.get(i) if scheduled else None
        rows.append(LayerRow(
            name=c.name, kind=m.kinds[i], neurons=c.out_neurons,
            kept_frames=int(mask.sum()) if mask is not None else m.frames, frames=m.frames,
            input_spikes=_num(c.input_spikes), output_spikes=_num(c.output_spikes),
            synops=_num(c.synops), dense_macs=_num(c.dense_macs),
            neuron_updates=_num(c.neuron_updates),
            active_neuron_updates=_num(c.active_neuron_updates),
            pruned_frames=_num(c.pruned_frames), synops_saved=_num(c.synops_saved),
            activation_sparsity=float(c.activation_sparsity),
            input_spikes_on_pruned_frames=_num(run.input_spikes_on_pruned_frames[i] / m.samples),
            output_spikes_on_pruned_frames=_num(
                run.output_spikes_on_pruned_frames[i] / m.samples),
            energy_pj=e.total_pj,
            energy_breakdown_pj=ByOperation(
                synops=e.synops_pj, neuron_inactive=e.neuron_inactive_pj,
                neuron_active=e.neuron_active_pj, spike_routing=e.spikes_routed_pj),
            ann_energy_pj=e.ann_equivalent_pj))
    return rows


def _run(m: Measurement, run: RunCounts, profile: HardwareProfile, ann: HardwareProfile,
         scheduled: bool) -> Run:
    layers = _layer_rows(m, run, profile, ann, scheduled)
    tot = sum_counts([c.per_sample() for c in run.counts])
    return Run(
        layers=layers,
        totals=Totals(time_steps=_num(tot.time_steps), **{k: _num(getattr(tot, k)) for k in (
            "input_spikes", "output_spikes", "synops", "dense_macs", "neuron_updates",
            "active_neuron_updates", "pruned_frames", "synops_saved")},
            activation_sparsity=float(tot.activation_sparsity)),
        energy_by_operation_pj=ByOperation(**{
            op: sum(getattr(r.energy_breakdown_pj, op) for r in layers) for op in OPERATIONS}),
        total_energy_pj_per_sample=sum(r.energy_pj for r in layers),
        ann_energy_pj_per_sample=sum(r.ann_energy_pj for r in layers),
        schedule_held=sum(run.input_spikes_on_pruned_frames) == 0)


def _savings(a: Run, b: Run) -> Savings:
    """Ratios a / b and reductions 1 - a / b of the main per-sample totals."""
    out: dict[str, Optional[float]] = {}
    pairs = {"synops": (a.totals.synops, b.totals.synops),
             "neuron_updates": (a.totals.neuron_updates, b.totals.neuron_updates),
             "time_steps": (a.totals.time_steps, b.totals.time_steps),
             "output_spikes": (a.totals.output_spikes, b.totals.output_spikes),
             "energy": (a.total_energy_pj_per_sample, b.total_energy_pj_per_sample)}
    for k, (x, y) in pairs.items():
        r = _ratio(x, y)
        out[f"{k}_ratio"] = r
        out[f"{k}_reduction"] = None if r is None else 1.0 - r
    return Savings(**out)


def profile_data(p: HardwareProfile) -> Profile:
    """A hardware profile as the report records it."""
    return Profile(name=p.name, file=p.path, description=p.description, kind=p.kind,
                   caveat=p.caveat, energy=dict(p.energy), limits=dict(p.limits))


def network_report(m: Measurement, profile: HardwareProfile,
                   ann: HardwareProfile) -> NetworkReport:
    """One measured network, priced: its runs with and without the schedule per sample."""
    with_s = _run(m, m.with_schedule, profile, ann, True)
    without = _run(m, m.without_schedule, profile, ann, False)
    bundle = None
    if m.manifest is not None:
        bundle = BundleInfo(keep_ratio=m.manifest.get("keep_ratio"),
                            schedule_name=m.manifest.get("schedule", "razor"),
                            training=m.manifest.get("training"),
                            dataset=m.manifest.get("dataset"),
                            bundle_versions=m.manifest.get("versions"))
    return NetworkReport(
        label=m.label, kind=m.kind, path=m.path, sha256=m.sha256, bundle_id=m.bundle_id,
        network=m.network_path, network_sha256=m.network_sha256, input=m.input_path,
        frames=m.frames, samples=m.samples, first_sample=m.first_sample, source=m.source,
        prune_mode=m.prune_mode,
        accuracy=m.with_schedule.accuracy,
        schedule=[Gate(layer=m.names[i], layer_index=i, keep_mask=[int(v) for v in mask],
                       kept_frames=int(mask.sum())) for i, mask in sorted(m.gates.items())],
        run=with_s,
        without_schedule=Unscheduled(accuracy=m.without_schedule.accuracy, run=without,
                                     same_run=m.same_run),
        savings=_savings(with_s, without),
        cores=Cores(**estimate_cores([s.out_neurons for s in m.specs], profile),
                    profile=profile.name, note="lower bound from neurons_per_core only"),
        bundle=bundle, input_events_per_frame=m.with_schedule.events_per_frame,
        readout_steps=m.readout_steps)


def check_kinds(profile: HardwareProfile, ann: HardwareProfile) -> None:
    """Raise :class:`ReportError` unless ``profile`` is neuromorphic and ``ann`` an
    ANN baseline."""
    if profile.kind != "neuromorphic":
        raise ReportError(f"--profile: {profile.path} is kind '{profile.kind}', need a "
                          f"neuromorphic profile (e.g. loihi1)")
    if ann.kind != "ann-baseline":
        raise ReportError(f"--ann-profile: {ann.path} is kind '{ann.kind}', need an "
                          f"ann-baseline profile (e.g. cmos45nm)")


def check_finite(value: Any, where: str) -> None:
    """Raise :class:`ReportError` naming the first NaN or infinite number in ``value``
    (nested dicts and lists, as :func:`~.jsonform.to_json` gives them; ``where`` names the
    top): a report prints measured numbers only."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite(v, f"{where}[{i}]")
    elif isinstance(value, (float, np.floating)) and not np.isfinite(value):
        raise ReportError(f"{where}: {value} is not a finite number; expected finite counts, "
                          "states and energies")


def assemble(primary: Measurement, profile: HardwareProfile, ann: HardwareProfile,
             other: Optional[Measurement] = None) -> Report:
    """The report of ``primary`` (and ``other``, measured on the same samples), priced with
    ``profile`` and the ANN baseline ``ann``; ``figures`` is left empty.

    Raises:
        ReportError: a profile of the wrong kind, or a non-finite number (named).
    """
    check_kinds(profile, ann)
    data = network_report(primary, profile, ann)
    prof, ann_prof = profile_data(profile), profile_data(ann)
    check_finite(to_json(prof), "--profile")
    check_finite(to_json(ann_prof), "--ann-profile")
    check_finite(to_json(data), "report")
    b = comparison = None
    if other is not None:
        b = network_report(other, profile, ann)
        check_finite(to_json(b), "report (--compare)")
        cmp = _savings(data.run, b.run)
        comparison = Comparison(
            a=primary.label, b=other.label, a_sha256=primary.sha256, b_sha256=other.sha256,
            same_samples=True, samples=primary.samples, accuracy_a=data.accuracy,
            accuracy_b=b.accuracy, synops_ratio_a_over_b=cmp.synops_ratio,
            neuron_updates_ratio_a_over_b=cmp.neuron_updates_ratio,
            time_steps_ratio_a_over_b=cmp.time_steps_ratio,
            output_spikes_ratio_a_over_b=cmp.output_spikes_ratio,
            energy_ratio_a_over_b=cmp.energy_ratio, synops_reduction=cmp.synops_reduction,
            output_spikes_reduction=cmp.output_spikes_reduction,
            energy_reduction=cmp.energy_reduction,
            same_layers=[r.name for r in data.run.layers] == [r.name for r in b.run.layers])
    caveats = [f"{p.name}: {p.caveat}" for p in (profile, ann) if p.caveat]
    hw = None if primary.hardware is None else hardware_section(primary, data, other, b,
                                                                 profile.name)
    if hw is not None:
        check_finite(to_json(hw), "hardware_model")
    return Report(hardware_model=hw,
        title=f"Energy and spike-count report: {primary.label}", primary=data, profile=prof,
        ann_profile=ann_prof, caveats=caveats + MODEL_CAVEATS, definitions=dict(DEFINITIONS),
        versions=package_versions(extra=("matplotlib",)), compare=b, comparison=comparison)

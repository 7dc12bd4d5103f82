"""``report.csv`` from a :class:`~.data.Report`: one row per network x schedule (with /
without) x layer, plus a total row each, all per sample, energies in pJ; ``#`` comment lines
on top carry the source, licence, profiles and caveats."""
from __future__ import annotations

import csv
import io
from typing import Any

from razor_neuro.export.report.cells import source_name
from razor_neuro.export.report import hwmodel
from razor_neuro.export.report.data import OPERATIONS, NetworkReport, Report

__all__ = ["CSV_COLUMNS", "csv_text"]

CSV_COLUMNS = ("network", "sha256", "schedule", "layer", "kind", "neurons", "kept_frames",
               "frames", "time_steps", "input_spikes", "output_spikes", "synops", "dense_macs",
               "neuron_updates", "active_neuron_updates", "pruned_frames", "synops_saved",
               "energy_pj", "synops_pj", "neuron_inactive_pj", "neuron_active_pj",
               "spike_routing_pj", "ann_energy_pj", "accuracy", "source", "profile")
_COUNTS = ("input_spikes", "output_spikes", "synops", "dense_macs", "neuron_updates",
           "active_neuron_updates", "pruned_frames", "synops_saved")


def _rows(net: NetworkReport, profile: str) -> list[dict[str, Any]]:
    out = []
    src = source_name(net)
    for sched, accuracy, run in (("with", net.accuracy, net.run),
                                 ("without", net.without_schedule.accuracy,
                                  net.without_schedule.run)):
        same = {"network": net.label, "sha256": net.sha256, "schedule": sched}
        tail = {"accuracy": accuracy, "source": src, "profile": profile}
        for r in run.layers:
            out.append({
                **same, "layer": r.name, "kind": r.kind, "neurons": r.neurons,
                "kept_frames": r.kept_frames, "frames": r.frames,
                "time_steps": run.totals.time_steps,
                **{k: getattr(r, k) for k in _COUNTS}, "energy_pj": r.energy_pj,
                **{f"{op}_pj": getattr(r.energy_breakdown_pj, op) for op in OPERATIONS},
                "ann_energy_pj": r.ann_energy_pj, **tail})
        out.append({
            **same, "layer": "total", "kind": "",
            "neurons": sum(r.neurons for r in run.layers), "kept_frames": "",
            "frames": net.frames, "time_steps": run.totals.time_steps,
            **{k: getattr(run.totals, k) for k in _COUNTS},
            "energy_pj": run.total_energy_pj_per_sample,
            **{f"{op}_pj": getattr(run.energy_by_operation_pj, op) for op in OPERATIONS},
            "ann_energy_pj": run.ann_energy_pj_per_sample, **tail})
    return out


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.10g}"
    return v


def csv_text(report: Report) -> str:
    """``report.csv`` (see the module docstring)."""
    net, prof, ann = report.primary, report.profile, report.ann_profile
    buf = io.StringIO()
    buf.write(f"# {report.title}; counts per sample over {net.samples} sample(s)\n")
    buf.write(f"# source: {net.source.description}\n")
    buf.write(f"# licence: {net.source.licence}\n")
    buf.write(f"# profile: {prof.name} ({prof.file}); ANN: {ann.name}; energies in pJ\n")
    for p in (prof, ann):
        if p.caveat:
            buf.write(f"# CAVEAT ({p.name}): {p.caveat}\n")
    if net.bundle_id:
        buf.write(f"# bundle id: {net.bundle_id}\n")
    buf.write(f"# {net.kind} sha256: {net.sha256}\n")
    if report.hardware_model is not None:  # SANA-FE's figures: one comment line per run
        for row in hwmodel.csv_rows(report.hardware_model, net.label,
                                    report.compare.label if report.compare else ""):
            buf.write("# " + ", ".join(f"{k}={v}" for k, v in row.items()) + "\n")
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    rows = _rows(net, prof.name)
    if report.compare is not None:
        rows += _rows(report.compare, prof.name)
    for row in rows:
        w.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    return buf.getvalue()

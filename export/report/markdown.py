"""``report.md`` from a :class:`~.data.Report`, and :func:`md_table`, the one Markdown table
of razor-neuro (the benchmarks print theirs with it too).

Counts are per sample (mean over the reported samples); energies are in nJ.
"""
from __future__ import annotations

from typing import Optional, Sequence

from razor_neuro.export.report.cells import acc, count, div, nj, ratio, source_name, two_runs
from razor_neuro.export.report import hwmodel
from razor_neuro.export.report.data import OPERATIONS, NetworkReport, Profile, Report
from razor_neuro.export.report.schema import OPERATION_CONSTANTS, OPERATION_LABELS

__all__ = ["markdown", "md_table"]


def md_table(header: Sequence[str], rows: Sequence[Sequence[object]],
             align: Optional[str] = None) -> str:
    """A Markdown table: ``header``, then one line per row (cells written with ``str``).

    ``align``: one letter per column, ``l`` (left) or ``r`` (right); default: the first
    column left, the others right."""
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _what(net: NetworkReport) -> str:
    if net.kind == "bundle":
        how = f" (frame schedule `{net.bundle.schedule_name}`)" if net.bundle is not None else ""
        return f"bundle `{net.path}`{how}"
    return f"netx network `{net.path}` on `{net.input}`"


def _skipped(net: NetworkReport) -> str:
    readout = (f", then {net.readout_steps} empty readout step"
               f"{'s' if net.readout_steps != 1 else ''}") if net.readout_steps else ""
    return f" (its kept frames{readout}; the pruned ones are skipped)"


def _samples_line(net: NetworkReport) -> str:
    n, first = net.samples, net.first_sample
    if net.kind == "bundle":
        steps = net.run.totals.time_steps
        mode = (f"; prune mode `{net.prune_mode}`: each sample runs {steps} time step"
                f"{'s' if steps != 1 else ''}" + (_skipped(net) if net.prune_mode == "skip"
                                                   else ", one per frame"))
        return (f"{n} test sample{'s' if n != 1 else ''} (#{first}..#{first + n - 1}) of "
                f"{net.frames} frames each{mode}; every count is the mean per sample")
    return f"1 input of {net.frames} time steps (no resets)"


def _licence(net: NetworkReport) -> list[str]:
    src = net.source
    lines = [f"- **Counts from:** {src.description}.", f"- **Licence:** {src.licence}."]
    if src.kind == "reference":
        for v in src.verify:
            lines.append(f"  - verify ({v.gates}): {v.mismatches} output and "
                         f"{v.input_mismatches} input mismatches, {v.samples} "
                         f"sample(s) x {v.steps} steps, Lava {v.lava or 'fixed_pt'} vs "
                         f"{v.reference or 'reference'}")
    else:
        cc = src.cross_check
        lines.append(f"  - cross-check ({cc.method}): {cc.mismatches} mismatches "
                     f"(outputs and gated inputs of every layer)")
    k, n = src.lava_checked_samples, net.samples
    if net.kind != "bundle":
        lines.append("- **Lava vs. reference:** compared on this input")
    else:
        lines.append(f"- **Lava vs. reference:** compared on {k:,} of the {n:,} sample"
                     + ("s" if n != 1 else "")
                     + ("" if k == n else f"; the other {n - k:,} ran on the reference alone"))
    return lines


def _layer_header(two: bool) -> list[str]:
    return ["layer", "kind", "neurons", "kept frames", "input spikes", "output spikes",
            "synops", *(["synops w/o schedule"] if two else []), "dense MACs",
            "neuron updates", "energy (nJ)", *(["energy w/o schedule (nJ)"] if two else [])]


def _layer_rows(net: NetworkReport, two: bool) -> list[list[str]]:
    run, un = net.run, net.without_schedule.run
    rows = []
    for r, u in zip(run.layers, un.layers):
        rows.append([f"`{r.name}`", r.kind, count(r.neurons), f"{r.kept_frames}/{r.frames}",
                     count(r.input_spikes), count(r.output_spikes), count(r.synops),
                     *([count(u.synops)] if two else []),
                     count(r.dense_macs), count(r.neuron_updates),
                     nj(r.energy_pj), *([nj(u.energy_pj)] if two else [])])
    t, tu = run.totals, un.totals
    rows.append(["**total**", "", count(sum(r.neurons for r in run.layers)), "",
                 count(t.input_spikes), count(t.output_spikes), count(t.synops),
                 *([count(tu.synops)] if two else []),
                 count(t.dense_macs), count(t.neuron_updates),
                 nj(run.total_energy_pj_per_sample),
                 *([nj(un.total_energy_pj_per_sample)] if two else [])])
    return rows


def _totals_rows(net: NetworkReport, ann_name: str, two: bool) -> list[list[str]]:
    run, w = net.run, net.without_schedule
    t, tu = run.totals, w.run.totals
    rows = []

    def row(label: str, a: str, b: str, r: str) -> None:
        rows.append([label, a, b, r] if two else [label, a])

    keys = (("time_steps", "time steps"), ("input_spikes", "input spikes"),
            ("output_spikes", "output spikes"), ("synops", "synaptic ops"),
            ("neuron_updates", "neuron updates"),
            ("active_neuron_updates", "spiking neuron updates"),
            ("pruned_frames", "pruned layer-frames"),
            ("synops_saved", "synops saved at the gates"))
    for key, label in keys if two else keys[:6]:
        a, b = getattr(t, key), getattr(tu, key)
        row(label, count(a), count(b), ratio(div(a, b)))
    e, eu = run.total_energy_pj_per_sample, w.run.total_energy_pj_per_sample
    row("energy (nJ)", nj(e), nj(eu), ratio(div(e, eu)))
    row(f"ANN-equivalent energy, {ann_name} (nJ)", nj(run.ann_energy_pj_per_sample),
        nj(w.run.ann_energy_pj_per_sample), "")
    row("SNN / ANN energy", ratio(div(e, run.ann_energy_pj_per_sample)),
        ratio(div(eu, w.run.ann_energy_pj_per_sample)), "")
    if net.kind == "bundle":
        row("deploy accuracy", acc(net.accuracy), acc(w.accuracy), "")
    return rows


def _op_rows(net: NetworkReport, prof: Profile, two: bool) -> list[list[str]]:
    run, un = net.run, net.without_schedule.run
    rows = []
    for op in OPERATIONS:
        key = OPERATION_CONSTANTS[op]
        c = prof.energy[key]
        rows.append([OPERATION_LABELS[op], f"`{key}` = {c.value:g} {c.unit}",
                     nj(getattr(run.energy_by_operation_pj, op)),
                     *([nj(getattr(un.energy_by_operation_pj, op))] if two else [])])
    rows.append(["**total**", "", nj(run.total_energy_pj_per_sample),
                 *([nj(un.total_energy_pj_per_sample)] if two else [])])
    return rows


def _keep(ratios: list[float] | None) -> str:
    """The manifest's per-gated-layer keep ratios as ``0.5, 1, 1, 1``."""
    return "-" if ratios is None else ", ".join(f"{r:g}" for r in ratios)


def _keep_ratio(net: NetworkReport) -> str:
    return _keep(net.bundle.keep_ratio if net.bundle is not None else None)


def _schedule(net: NetworkReport) -> str:
    """``razor, skip``: how a bundle's frames were chosen and what a pruned one costs."""
    return "-" if net.bundle is None else f"{net.bundle.schedule_name}, {net.prune_mode}"


def _compare_rows(report: Report) -> list[list[str]]:
    a, b, c = report.primary, report.compare, report.comparison
    ra, rb = a.run, b.run
    return [
        ["bundle id", f"`{a.bundle_id}`", f"`{b.bundle_id}`", ""],
        ["keep ratio per gated layer", _keep_ratio(a), _keep_ratio(b), ""],
        ["schedule, prune mode", _schedule(a), _schedule(b), ""],
        ["kept layer-frames", count(sum(r.kept_frames for r in ra.layers)),
         count(sum(r.kept_frames for r in rb.layers)), ""],
        ["deploy accuracy", acc(a.accuracy), acc(b.accuracy), ""],
        ["time steps", count(ra.totals.time_steps), count(rb.totals.time_steps),
         ratio(c.time_steps_ratio_a_over_b)],
        ["output spikes", count(ra.totals.output_spikes), count(rb.totals.output_spikes),
         ratio(c.output_spikes_ratio_a_over_b)],
        ["synaptic ops", count(ra.totals.synops), count(rb.totals.synops),
         ratio(c.synops_ratio_a_over_b)],
        ["neuron updates", count(ra.totals.neuron_updates), count(rb.totals.neuron_updates),
         ratio(c.neuron_updates_ratio_a_over_b)],
        ["energy (nJ)", nj(ra.total_energy_pj_per_sample), nj(rb.total_energy_pj_per_sample),
         ratio(c.energy_ratio_a_over_b)],
        ["ANN-equivalent energy (nJ)", nj(ra.ann_energy_pj_per_sample),
         nj(rb.ann_energy_pj_per_sample),
         ratio(div(ra.ann_energy_pj_per_sample, rb.ann_energy_pj_per_sample))],
    ]


def _compare_layer_rows(report: Report) -> list[list[str]]:
    rows = []
    for ra, rb in zip(report.primary.run.layers, report.compare.run.layers):
        rows.append([f"`{ra.name}`", f"{ra.kept_frames}/{ra.frames}",
                     f"{rb.kept_frames}/{rb.frames}", count(ra.output_spikes),
                     count(rb.output_spikes), count(ra.synops), count(rb.synops),
                     ratio(div(ra.synops, rb.synops)), nj(ra.energy_pj),
                     nj(rb.energy_pj), ratio(div(ra.energy_pj, rb.energy_pj))])
    return rows


def _accuracy_line(report: Report) -> str:
    net = report.primary
    if net.kind != "bundle":
        return "- **Accuracy:** n/a (a netx network on one input, no labels)"
    if two_runs(net):
        line = (f"- **Deploy accuracy** (same run, static schedule, quantised weights): "
                f"{acc(net.accuracy)} with the schedule, "
                f"{acc(net.without_schedule.accuracy)} without")
    else:
        line = f"- **Deploy accuracy** (same run, quantised weights): {acc(net.accuracy)}"
    tr = net.bundle.training if net.bundle is not None else None
    if tr:
        if tr.get("deploy_accuracy") is not None:
            line += f"; training-time deploy-path accuracy {tr['deploy_accuracy']:.4f}"
        if tr.get("train_path_accuracy") is not None:
            line += f", float train-path accuracy {tr['train_path_accuracy']:.4f}"
    return line


def _hardware_lines(report: Report) -> list[str]:
    """``## Hardware model``: SANA-FE's figures per run and its placement."""
    h, other = report.hardware_model, report.compare.label if report.compare else ""
    header, rows = hwmodel.table(h, report.primary.label, other)
    lh, lrows = hwmodel.layer_table(h)
    return ["## Hardware model (SANA-FE)", "", hwmodel.summary(h), "",
            md_table(header, rows, "l" + "r" * (len(header) - 1)), "",
            md_table(lh, lrows, "lrrrlr"), ""]


def markdown(report: Report) -> str:
    """``report.md``."""
    net, prof, ann = report.primary, report.profile, report.ann_profile
    L: list[str] = [f"# {report.title}", ""]
    for p in (prof, ann):
        if p.caveat:
            L += [f"> **CAVEAT ({p.name}):** {p.caveat}", ""]
    L += [f"- **Network:** {_what(net)}",
          (f"- **Bundle id:** `{net.bundle_id}` (from manifest_sha256 `{net.sha256}`: "
           "the SHA-256 of the manifest's canonical content, which hashes every bundle file)"
           if net.kind == "bundle" else
           f"- **Network hash:** `{net.sha256}` (SHA-256 of the network file)"),
          f"- **Samples:** {_samples_line(net)}"]
    L += _licence(net)
    L += [_accuracy_line(report),
          f"- **Energy profile:** `{prof.name}` ({prof.file}): {prof.description}",
          f"- **ANN baseline profile:** `{ann.name}` ({ann.file}): {ann.description}",
          f"- **Cores (lower bound, {net.cores.profile} neurons/core):** "
          f"{net.cores.cores} core(s), {net.cores.chips} chip(s)",
          f"- **Versions:** {', '.join(f'{k} {v}' for k, v in report.versions.items())}", ""]

    two = two_runs(net)
    L += ["## Per layer, per sample", "",
          md_table(_layer_header(two), _layer_rows(net, two), "ll" + "r" * (10 if two else 8)),
          ""]
    if not net.run.schedule_held:
        L += ["**WARNING:** some layers received spikes on pruned frames: the schedule did "
              "not hold in this run (see `input_spikes_on_pruned_frames` in report.json).", ""]
    if two:
        L += ["## Totals per sample: with vs. without the schedule", "",
              md_table(["", "with schedule", "without schedule", "ratio with/without"],
                       _totals_rows(net, ann.name, two)), ""]
        s = net.savings
        L += [f"The schedule saves **{_pct(s.synops_reduction)}** of the synaptic "
              f"operations, **{_pct(s.neuron_updates_reduction)}** of the neuron updates, "
              f"**{_pct(s.time_steps_reduction)}** of the time steps and "
              f"**{_pct(s.energy_reduction)}** of the energy per sample ({prof.name}).", ""]
    else:
        why = "no frame schedule" if not net.schedule else "its schedule keeps every frame"
        L += ["## Totals per sample", "",
              f"The network has {why}, so there is no separate run without the schedule.", "",
              md_table(["", "per sample"], _totals_rows(net, ann.name, two)), ""]
    L += ["## Energy per operation kind (nJ per sample)", "",
          md_table(["operation", "constant", "with schedule" if two else "energy",
                    *(["without schedule"] if two else [])], _op_rows(net, prof, two)), ""]
    if report.compare is not None:
        a, b, c = net.label, report.compare.label, report.comparison
        L += [f"## Comparison: `{a}` (A) vs `{b}` (B)", "",
              f"Both on the same {c.samples} samples, {source_name(net)}; "
              f"B's counts: {report.compare.source.licence}.", "",
              md_table(["", f"A: {a}", f"B: {b}", "A/B"], _compare_rows(report)), ""]
        if c.same_layers:
            L += [md_table(["layer", "kept A", "kept B", "spikes A", "spikes B", "synops A",
                            "synops B", "synops A/B", "energy A (nJ)", "energy B (nJ)",
                            "energy A/B"], _compare_layer_rows(report)), ""]
        L += [f"A uses **{_pct(c.synops_reduction)}** fewer synaptic operations, "
              f"{ratio(c.neuron_updates_ratio_a_over_b)} of the neuron updates, "
              f"{ratio(c.time_steps_ratio_a_over_b)} of the time steps and "
              f"**{_pct(c.energy_reduction)}** less energy per sample than B.", ""]
    if report.hardware_model is not None:
        L += _hardware_lines(report)
    L += ["## Profile constants (every energy above is counts x these)", "",
          md_table(["profile", "constant", "value", "unit", "source"],
                   [[p.name, f"`{k}`", f"{c.value:g}", c.unit, c.source]
                    for p in (prof, ann) for k, c in p.energy.items()], "llrll"), ""]
    L += ["## Figures", ""]
    for f in report.figures:
        if f.endswith(".png"):
            L += [f"![{f}]({f})", ""]
    L += ["## Definitions", ""]
    L += [f"- `{k}`: {v}" for k, v in report.definitions.items()]
    L += ["", "## Caveats", ""] + [f"- {c}" for c in report.caveats] + [""]
    return "\n".join(L)

"""Report figures (matplotlib, Agg; no pyplot state): one figure concept per function.

Each ``*_figure`` function takes a :class:`~.data.Report` (or one of its networks) and
returns a :class:`matplotlib.figure.Figure`; the raster also takes the spikes of one sample,
which ``report.json`` does not hold.  :func:`write_figures` saves every one as PNG and PDF.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from razor_neuro.export.report.data import NetworkReport, Report
from razor_neuro.export.report.hwmodel import hardware_figure

__all__ = ["counts_figure", "energy_figure", "schedule_figure", "events_figure",
           "raster_figure", "comparison_figure", "write_figures", "FIGURES"]

FIGURES = ("counts", "energy", "schedule", "events", "raster")
_WITH, _WITHOUT = "#1f77b4", "#bbbbbb"
_OPS = {"synops": ("synaptic ops", "#1f77b4"),
        "neuron_inactive": ("neuron updates, no spike", "#ff7f0e"),
        "neuron_active": ("neuron updates, spiking", "#d62728"),
        "spike_routing": ("spike routing", "#2ca02c")}


def _new(width: float, height: float, **kw: Any) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained", **kw)
    FigureCanvasAgg(fig)
    return fig


def _source_line(net: NetworkReport) -> str:
    src = net.source
    what = f"Lava {src.tag}" if src.kind == "lava" else f"reference {src.tag} (verified)"
    n = net.samples
    return f"{net.label}: {what}, {n} sample{'s' if n != 1 else ''}, per sample"


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _log_if_wide(ax: Any, values: Sequence[float]) -> None:
    pos = [v for v in values if v and v > 0]
    if pos and max(pos) / min(pos) > 50:
        ax.set_yscale("log")


def counts_figure(net: NetworkReport) -> Figure:
    """Per-layer output spikes and synaptic ops per sample, with vs. without the schedule."""
    names = [r.name for r in net.run.layers]
    without = net.without_schedule.run.layers
    fig = _new(max(6.0, 1.3 * len(names) + 3), 3.4)
    axes = fig.subplots(1, 2)
    x = np.arange(len(names))
    for ax, key, title in ((axes[0], "output_spikes", "output spikes"),
                           (axes[1], "synops", "synaptic operations")):
        a = [getattr(r, key) for r in net.run.layers]
        b = [getattr(r, key) for r in without]
        ax.bar(x - 0.2, a, 0.4, color=_WITH, label="with schedule")
        ax.bar(x + 0.2, b, 0.4, color=_WITHOUT, label="without schedule")
        ax.set_xticks(x, names, rotation=30 if len(names) > 6 else 0)
        ax.set_title(f"{title} per sample")
        _log_if_wide(ax, a + b)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(_source_line(net), fontsize=9)
    return fig


def energy_figure(report: Report) -> Figure:
    """Energy per sample: per layer and per operation kind (stacked), with the schedule, and
    totals per operation kind with vs. without the schedule next to the ANN baseline."""
    net = report.primary
    run, un = net.run, net.without_schedule.run
    layers = run.layers
    names = [r.name for r in layers]
    fig = _new(max(8.0, 1.2 * len(names) + 5), 3.6)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[max(len(names), 2), 3])
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for op, (label, color) in _OPS.items():
        vals = np.array([getattr(r.energy_breakdown_pj, op) for r in layers]) / 1e3
        ax1.bar(x, vals, 0.6, bottom=bottom, color=color, label=label)
        bottom += vals
    ax1.set_xticks(x, names, rotation=30 if len(names) > 6 else 0)
    ax1.set_ylabel("nJ per sample")
    ax1.set_title(f"per layer, with schedule ({report.profile.name})")
    ax1.legend(fontsize=7)
    ax1.grid(axis="y", alpha=0.3)
    cols = [("with\nschedule", run.energy_by_operation_pj),
            ("without\nschedule", un.energy_by_operation_pj)]
    for j, (_, by_op) in enumerate(cols):
        base = 0.0
        for op, (_, color) in _OPS.items():
            v = getattr(by_op, op) / 1e3
            ax2.bar(j, v, 0.6, bottom=base, color=color)
            base += v
    ann = run.ann_energy_pj_per_sample / 1e3
    ax2.bar(2, ann, 0.6, color="#7f7f7f")
    ax2.set_xticks([0, 1, 2], [c[0] for c in cols] + [f"ANN\n{report.ann_profile.name}"])
    ax2.set_title("total per sample")
    ax2.grid(axis="y", alpha=0.3)
    totals = [run.total_energy_pj_per_sample / 1e3, un.total_energy_pj_per_sample / 1e3, ann]
    _log_if_wide(ax2, totals)
    for j, v in enumerate(totals):
        ax2.annotate(_fmt(v), (j, v), ha="center", va="bottom", fontsize=7)
    caveat = report.profile.caveat
    fig.suptitle(_source_line(net) + ("\nESTIMATE profile: see caveat" if caveat else ""),
                 fontsize=9)
    return fig


def schedule_figure(net: NetworkReport) -> Figure:
    """The frame schedule as a layer x time heat map (kept = dark)."""
    names = [r.name for r in net.run.layers]
    T = int(net.frames)
    table = np.ones((len(names), T))
    by_layer = {s.layer_index: s.keep_mask for s in net.schedule}
    for i, mask in by_layer.items():
        table[i] = mask
    fig = _new(min(max(5.0, 0.3 * T + 2.5), 12.0), 0.45 * len(names) + 1.6)
    ax = fig.subplots()
    ax.imshow(table, aspect="auto", cmap="Greys", vmin=0, vmax=1.25, interpolation="nearest")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("time step (frame) in the layer's window")
    if T <= 40:
        ax.set_xticks(range(T))
        ax.set_xticks(np.arange(-0.5, T, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, len(names), 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.8)
        ax.tick_params(which="minor", length=0)
    for i in range(len(names)):
        kept = int(table[i].sum())
        ax.annotate(f"{kept}/{T}" + ("" if i in by_layer else " (no gate)"), (1.01, i),
                    xycoords=("axes fraction", "data"), va="center", fontsize=8)
    title = "frame schedule (dark = frame kept)" if by_layer else \
        "no schedule: every frame kept"
    ax.set_title(f"{net.label}: {title}", fontsize=9)
    ax.legend(handles=[Patch(color="#202020", label="kept"),
                       Patch(facecolor="white", edgecolor="#999999", label="pruned")],
              loc="upper left", bbox_to_anchor=(1.08, 1.0), fontsize=7, frameon=False)
    return fig


def events_figure(net: NetworkReport) -> Figure:
    """Mean input events per frame over the report's samples (bars), and under it one row
    per gated layer with the frames its schedule keeps (dark) and prunes (white): which
    parts of the recordings the schedule drops."""
    events = np.asarray(net.input_events_per_frame or [], dtype=float)
    T = len(events)
    gates = [g for g in net.schedule if not all(g.keep_mask)] or net.schedule
    fig = _new(min(max(5.5, 0.3 * T + 3.0), 12.0), 2.6 + 0.3 * len(gates))
    ax, rows = fig.subplots(2, 1, sharex=True, height_ratios=[3, max(1, len(gates)) * 0.45])
    kept_any = np.zeros(T, dtype=bool)
    for g in gates:
        kept_any |= np.asarray(g.keep_mask, dtype=bool)
    colors = [_WITH if k else _WITHOUT for k in kept_any] if gates else [_WITH] * T
    ax.bar(np.arange(T), events, 0.85, color=colors)
    ax.set_ylabel("input events per frame")
    ax.grid(axis="y", alpha=0.3)
    n = net.samples
    ax.set_title(f"{net.label}: mean input events per frame over {n} sample"
                 f"{'s' if n != 1 else ''}", fontsize=9)
    if gates:
        ax.legend(handles=[Patch(color=_WITH, label="kept by a gated layer"),
                           Patch(color=_WITHOUT, label="pruned by every gated layer")],
                  fontsize=7, frameon=False)
        table = np.array([g.keep_mask for g in gates], dtype=float)
        rows.imshow(table, aspect="auto", cmap="Greys", vmin=0, vmax=1.25,
                    interpolation="nearest", extent=(-0.5, T - 0.5, len(gates) - 0.5, -0.5))
        rows.set_yticks(range(len(gates)), [f"{g.layer} keeps {g.kept_frames}/{T}"
                                            for g in gates], fontsize=7)
    else:
        rows.set_yticks([])
        rows.text(0.5, 0.5, "no schedule: every frame kept", ha="center", va="center",
                  transform=rows.transAxes, fontsize=8)
    rows.set_xlabel("frame")
    if T <= 40:
        rows.set_xticks(range(T))
    return fig


def raster_figure(net: NetworkReport, raster: Sequence[np.ndarray]) -> Figure:
    """Spike raster of one sample: the input and every layer's output over time, pruned
    frames of each gated layer's input shaded.

    ``raster``: ``[input, layer 0 output, ...]``, each ``[neurons, T]`` bool (the first
    sample of the scheduled run, :attr:`~.measure.RunCounts.raster`)."""
    names = ["input"] + [r.name for r in net.run.layers]
    T = int(raster[0].shape[1])  # the steps run: fewer than the frames in skip mode
    heights = [max(1.0, np.log10(max(r.shape[0], 1)) + 0.5) for r in raster]
    fig = _new(8.0, 0.6 * sum(heights) + 1.2)
    axes = fig.subplots(len(raster), 1, sharex=True, height_ratios=heights, squeeze=False)[:, 0]
    masks = {s.layer_index: np.asarray(s.keep_mask, dtype=bool) for s in net.schedule
             if net.prune_mode != "skip"}  # skipped frames are not in the run to shade
    for j, (ax, name, r) in enumerate(zip(axes, names, raster)):
        neuron, t = np.nonzero(np.asarray(r))
        ax.scatter(t, neuron, s=4 if len(t) < 5000 else 1, marker="|", color="black",
                   linewidths=0.6)
        mask = masks.get(j - 1)
        if mask is not None:
            for step in np.flatnonzero(~mask):
                ax.axvspan(step - 0.5, step + 0.5, color="#f4a582", alpha=0.35, linewidth=0)
        ax.set_ylim(-0.5, max(r.shape[0], 1) - 0.5)
        ax.set_ylabel(f"{name}\n{len(t)} sp.", rotation=0, ha="right", va="center", fontsize=7)
        ax.set_yticks([])
        ax.set_xlim(-0.5, T - 0.5)
    axes[-1].set_xlabel("time step")
    label = f"sample {net.first_sample}" if net.kind == "bundle" else "the input"
    how = (" with the schedule (shaded: frames pruned at that layer's input)"
           if masks else " (pruned frames skipped: one step per kept frame)"
           if net.prune_mode == "skip" else " (no schedule)")
    fig.suptitle(f"{net.label}: spike raster of {label}{how}", fontsize=9)
    return fig


def comparison_figure(report: Report) -> Figure:
    """Two bundles side by side on the same samples: per-layer synaptic ops and energy, and
    total energy per sample (with their schedules, and the ANN baseline)."""
    a, b = report.primary.run, report.compare.run
    la, lb = report.primary.label, report.compare.label
    if lb == la:
        lb = f"{lb} (compare)"
    same = report.comparison.same_layers
    fig = _new(11.0, 3.6)
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[3, 3, 2])
    for ax, key, title, scale in ((ax1, "synops", "synaptic ops per sample", 1.0),
                                  (ax2, "energy_pj", "energy per sample (nJ)", 1e3)):
        if same:
            names = [r.name for r in a.layers]
            x = np.arange(len(names))
            va = [getattr(r, key) / scale for r in a.layers]
            vb = [getattr(r, key) / scale for r in b.layers]
            ax.bar(x - 0.2, va, 0.4, color=_WITH, label=la)
            ax.bar(x + 0.2, vb, 0.4, color="#ff7f0e", label=lb)
            ax.set_xticks(x, names, rotation=30 if len(names) > 6 else 0)
            _log_if_wide(ax, va + vb)
        else:
            va = [a.totals.synops if key == "synops" else a.total_energy_pj_per_sample / scale]
            vb = [b.totals.synops if key == "synops" else b.total_energy_pj_per_sample / scale]
            ax.bar([0], va, 0.4, color=_WITH, label=la)
            ax.bar([0.5], vb, 0.4, color="#ff7f0e", label=lb)
            ax.set_xticks([0.25], ["total (layers differ)"])
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    ax1.legend(fontsize=7)
    tot = [a.total_energy_pj_per_sample / 1e3, b.total_energy_pj_per_sample / 1e3,
           a.ann_energy_pj_per_sample / 1e3]
    ax3.bar([0, 1, 2], tot, 0.6, color=[_WITH, "#ff7f0e", "#7f7f7f"])
    ax3.set_xticks([0, 1, 2], [la, lb, f"ANN ({report.primary.label})"], fontsize=7)
    for j, v in enumerate(tot):
        ax3.annotate(_fmt(v), (j, v), ha="center", va="bottom", fontsize=7)
    ax3.set_title("total energy per sample (nJ)", fontsize=9)
    ax3.grid(axis="y", alpha=0.3)
    _log_if_wide(ax3, tot)
    c = report.comparison
    ratio = c.energy_ratio_a_over_b
    fig.suptitle(f"{la} vs {lb} on the same {c.samples} samples "
                 f"({report.profile.name}; energy {la}/{lb} = "
                 f"{'n/a' if ratio is None else f'{ratio:.3f}'})", fontsize=9)
    return fig


def _save(fig: Figure, folder: Path, stem: str) -> list[Path]:
    png, pdf = folder / f"{stem}.png", folder / f"{stem}.pdf"
    fig.savefig(png, dpi=150)
    fig.savefig(pdf, metadata={"CreationDate": None, "ModDate": None})
    return [png, pdf]


def write_figures(folder: str | Path, report: Report,
                  raster: Sequence[np.ndarray]) -> list[Path]:
    """Write every figure as PNG + PDF into ``folder``; returns the paths.

    ``raster``: spikes of the report's first sample (see :func:`raster_figure`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    paths += _save(counts_figure(report.primary), folder, "counts")
    paths += _save(energy_figure(report), folder, "energy")
    paths += _save(schedule_figure(report.primary), folder, "schedule")
    if report.primary.input_events_per_frame:
        paths += _save(events_figure(report.primary), folder, "events")
    paths += _save(raster_figure(report.primary, raster), folder, "raster")
    if report.compare is not None:
        paths += _save(comparison_figure(report), folder, "comparison")
        paths += _save(schedule_figure(report.compare), folder, "schedule_compare")
    if report.hardware_model is not None:
        paths += _save(hardware_figure(report.hardware_model, report.primary.label, _new),
                       folder, "hardware_steps")
    return paths

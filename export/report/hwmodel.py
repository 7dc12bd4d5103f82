"""The report's ``hardware_model`` section: SANA-FE's energy and latency of the measured
spikes, next to the counts x constants estimate, in every format and one figure.

:func:`hardware_section` turns the hardware model's runs (:class:`~razor_neuro.export.
hardware.sanafe.ModelRuns`, batch arrays) into means per sample: energy in total and by
SANA-FE's kinds, latency (simulated step times summed), inferences per second
(1 / latency), energy-delay product, synaptic events (which must equal the counted synops),
and the mean energy and time of every step.  ``ratio_to_constants`` is SANA-FE's energy over
the report profile's counts x constants energy of the same run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from razor_neuro.export.report.jsonform import OPTIONAL
from razor_neuro.versions import package_version

__all__ = ["HardwareLayer", "HardwareModel", "HardwareRunData", "csv_rows", "hardware_figure",
           "hardware_section", "layer_table", "summary", "table"]

_PJ = 1e12


@dataclass(kw_only=True)
class HardwareLayer:
    """One group on the chip (``input`` first): neurons, cores, synapses in, spikes fired
    per sample with the schedule."""
    name: str
    neurons: int
    first_core: int
    cores: int
    synapses: int
    synapse_unit: Optional[str]
    spikes_per_sample: float


@dataclass(kw_only=True)
class HardwareRunData:
    """SANA-FE's figures of one run, per sample (pJ, seconds, J*s)."""
    energy_pj_per_sample: float
    energy_pj_by_kind: dict[str, float]
    latency_s_per_sample: float
    inferences_per_s: float
    edp_js: float
    synaptic_events_per_sample: float
    counted_synops_per_sample: float
    constants_energy_pj_per_sample: float
    ratio_to_constants: float
    spike_mismatches: int
    gate_dropped_spikes_per_sample: float
    energy_pj_per_step: list[float]
    time_s_per_step: list[float]


@dataclass(kw_only=True)
class HardwareModel:
    """``report.json``'s ``hardware_model``: the model, its architecture and placement, and
    its figures with the schedule (``energy_pj_per_sample``, ``latency_s_per_sample``
    repeat them), without it, and for the ``--compare`` network."""
    name: str
    package_version: str
    architecture: str
    method: str
    constants_profile: str
    energy_pj_per_sample: float
    latency_s_per_sample: float
    cores: int
    tiles: int
    cores_available: int
    spike_mismatches: int
    layers: list[HardwareLayer]
    with_schedule: HardwareRunData
    without_schedule: Optional[HardwareRunData] = field(default=None, metadata=OPTIONAL)
    compare_cores: Optional[int] = field(default=None, metadata=OPTIONAL)
    compare: Optional[HardwareRunData] = field(default=None, metadata=OPTIONAL)


METHOD = ("spike replay: every block's neurons fire exactly Lava's spikes (loihi_lif soma, "
          "forced update every step, zero-weight synapses); SANA-FE charges each neuron "
          "update, spike, synaptic event, message, hop and barrier sync of the placement")


def _run_data(hw: Any, n: int, net: Any) -> HardwareRunData:
    e = hw.energy_j
    total = float(e["total"].sum()) / n * _PJ
    latency = float(hw.time_s.sum()) / n
    constants = float(net.total_energy_pj_per_sample)
    return HardwareRunData(
        energy_pj_per_sample=total,
        energy_pj_by_kind={k: float(v.sum()) / n * _PJ for k, v in e.items() if k != "total"},
        latency_s_per_sample=latency, inferences_per_s=1.0 / latency if latency else 0.0,
        edp_js=total / _PJ * latency, synaptic_events_per_sample=float(hw.synaptic_events.sum()) / n,
        counted_synops_per_sample=float(net.totals.synops),
        constants_energy_pj_per_sample=constants,
        ratio_to_constants=total / constants if constants else 0.0,
        spike_mismatches=int(hw.mismatches), gate_dropped_spikes_per_sample=0.0,
        energy_pj_per_step=[float(v) * _PJ for v in e["total"].mean(0)],
        time_s_per_step=[float(v) for v in hw.time_s.mean(0)])


def _with_dropped(d: HardwareRunData, dropped: int, n: int) -> HardwareRunData:
    d.gate_dropped_spikes_per_sample = dropped / n
    return d


def hardware_section(m: Any, data: Any, other: Any = None, b: Any = None,
                     profile: str = "") -> HardwareModel:
    """The section from measurement ``m`` (``m.hardware``: ModelRuns) and its network
    report ``data``; ``other``/``b``: the ``--compare`` measurement and report."""
    hw, n = m.hardware, m.samples
    runs = [_with_dropped(_run_data(r, n, net), d, n) for r, net, d in zip(
        hw.runs, [data.run, data.without_schedule.run], hw.gate_dropped)]
    cmp = None
    if other is not None and other.hardware is not None:
        cmp = _with_dropped(_run_data(other.hardware.runs[0], n, b.run),
                            other.hardware.gate_dropped[0], n)
    layers = [HardwareLayer(name=g.name, neurons=g.neurons, first_core=g.first_core,
                            cores=g.cores, synapses=g.synapses, synapse_unit=g.synapse_unit,
                            spikes_per_sample=float(hw.runs[0].fired[:, i].sum()) / n)
              for i, g in enumerate(hw.placement.groups)]
    all_runs = hw.runs + ([] if other is None or other.hardware is None else other.hardware.runs)
    return HardwareModel(
        name="sanafe", package_version=package_version("sanafe"), architecture=hw.architecture,
        method=METHOD, constants_profile=profile,
        energy_pj_per_sample=runs[0].energy_pj_per_sample,
        latency_s_per_sample=runs[0].latency_s_per_sample, cores=hw.placement.cores_used,
        tiles=hw.placement.tiles_used, cores_available=hw.placement.cores_available,
        spike_mismatches=sum(int(r.mismatches) for r in all_runs), layers=layers,
        with_schedule=runs[0], without_schedule=runs[1] if len(runs) > 1 else None,
        compare_cores=None if cmp is None else other.hardware.placement.cores_used, compare=cmp)


def _columns(h: HardwareModel, label: str, other: str = "") -> list[tuple[str, HardwareRunData]]:
    cols = [(label, h.with_schedule)]
    if h.without_schedule is not None:
        cols.append((f"{label} w/o schedule", h.without_schedule))
    if h.compare is not None:
        cols.append((other or "compare", h.compare))
    return cols


def table(h: HardwareModel, label: str, other: str = "") -> tuple[list[str], list[list[str]]]:
    """Header and rows of the figures table: one column per run."""
    cols = _columns(h, label, other)
    rows = [["energy nJ / sample"] + [f"{d.energy_pj_per_sample / 1e3:,.2f}" for _, d in cols]]
    for kind in h.with_schedule.energy_pj_by_kind:
        rows.append([f"  {kind} nJ"] + [f"{d.energy_pj_by_kind[kind] / 1e3:,.2f}" for _, d in cols])
    rows += [["latency us / sample"] + [f"{d.latency_s_per_sample * 1e6:,.2f}" for _, d in cols],
             ["inferences / s"] + [f"{d.inferences_per_s:,.0f}" for _, d in cols],
             ["EDP nJ*s"] + [f"{d.edp_js * 1e9:.4g}" for _, d in cols],
             ["synaptic events (counted synops)"]
             + [f"{d.synaptic_events_per_sample:,.1f} ({d.counted_synops_per_sample:,.1f})"
                for _, d in cols],
             [f"{h.constants_profile} counts x constants nJ"]
             + [f"{d.constants_energy_pj_per_sample / 1e3:,.2f}" for _, d in cols],
             [f"SANA-FE / {h.constants_profile}"] + [f"{d.ratio_to_constants:.3f}" for _, d in cols],
             ["spike mismatches vs Lava"] + [str(d.spike_mismatches) for _, d in cols]]
    return ["", *[c for c, _ in cols]], rows


def summary(h: HardwareModel) -> str:
    """One sentence: version, architecture, cores used, method."""
    return (f"SANA-FE {h.package_version}, architecture {h.architecture}: {h.cores} of "
            f"{h.cores_available} cores on {h.tiles} tiles; {h.method}.")


def layer_table(h: HardwareModel) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the placement table (one row per group)."""
    return (["group", "neurons", "cores", "synapses", "synapse unit", "spikes/sample"],
            [[g.name, f"{g.neurons:,}", f"{g.first_core}..{g.first_core + g.cores - 1}",
              f"{g.synapses:,}", g.synapse_unit or "-", f"{g.spikes_per_sample:,.1f}"]
             for g in h.layers])


def csv_rows(h: HardwareModel, label: str, other: str = "") -> list[dict[str, Any]]:
    """One ``report.csv`` row per run: ``run`` and SANA-FE's figures."""
    rows = []
    for name, d in _columns(h, label, other):
        row: dict[str, Any] = {"section": "hardware_model", "run": name, "cores": h.cores}
        row.update({k: v for k, v in vars(d).items() if not isinstance(v, (list, dict))})
        row.update({f"{k}_energy_pj": v for k, v in d.energy_pj_by_kind.items()})
        rows.append(row)
    return rows


def hardware_figure(h: HardwareModel, label: str, new: Any) -> Any:
    """Energy and simulated time of every step (mean over the samples), with and without
    the schedule; ``new(width, height)`` makes the figure."""
    fig = new(7.0, 4.2)
    ax_e, ax_t = fig.subplots(2, 1, sharex=True)
    for name, d in _columns(h, label)[:2]:
        steps = np.arange(len(d.energy_pj_per_step))
        style = "-" if d is h.with_schedule else "--"
        ax_e.plot(steps, np.asarray(d.energy_pj_per_step) / 1e3, style, label=name)
        ax_t.plot(steps, np.asarray(d.time_s_per_step) * 1e6, style, label=name)
    ax_e.set_ylabel("energy per step (nJ)")
    ax_t.set_ylabel("time per step (us)")
    ax_t.set_xlabel("time step")
    ax_e.legend(fontsize=8)
    fig.suptitle(f"SANA-FE {h.package_version} Loihi model, {h.cores} cores: "
                 f"{label}, mean per sample", fontsize=9)
    return fig

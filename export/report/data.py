"""What ``report.json`` holds, as typed dataclasses, and the JSON form of them.

A :class:`Report` is one measured network (:class:`NetworkReport`: what was measured, where
the counts come from, the run with the schedule and the one without, savings and a core
estimate), the two hardware profiles that priced it, caveats, definitions, package versions,
optionally a second network measured on the same samples (``compare``) with the
:class:`Comparison` of the two, and the figure files.  Every count is a mean per sample: a
whole number is an ``int``, anything else a ``float``; energies are in pJ.

The JSON layout is :mod:`~razor_neuro.export.report.jsonform`'s: fields in order, blocks
marked ``INLINE`` written in place (the measured network's keys are top-level keys of
``report.json``, the run with the schedule's keys are the network's), ``OPTIONAL`` keys
left out when None.  :func:`from_json` / :func:`load` read it back (``write -> read``
gives an equal :class:`Report`); a missing, mistyped or unknown field raises
:class:`~razor_neuro.export.report.schema.ReportError` naming it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional, Union

from razor_neuro.energy import Constant
from razor_neuro.export.report.hwmodel import HardwareModel
from razor_neuro.export.report.jsonform import INLINE, OPTIONAL, finite, read, to_json
from razor_neuro.export.report.schema import FORMAT, ReportError

__all__ = ["Agreement", "ByOperation", "Comparison", "Cores", "CrossCheck", "Gate",
           "LayerMismatches", "LayerRow", "BundleInfo", "NetworkReport",
           "OPERATIONS", "Profile", "Report", "Run", "Savings", "Source", "Totals",
           "Unscheduled", "VerifyRun", "from_json", "json_text", "load"]

#: a count per sample: int when whole
Number = Union[int, float]


@dataclass(kw_only=True)
class ByOperation:
    """Energy per operation kind (pJ); each kind is priced by one profile constant
    (:data:`~razor_neuro.export.report.schema.OPERATION_CONSTANTS`)."""
    synops: float
    neuron_inactive: float
    neuron_active: float
    spike_routing: float


#: the energy operation kinds, in table order
OPERATIONS = tuple(f.name for f in fields(ByOperation))


@dataclass(kw_only=True)
class LayerRow:
    """One layer in one run, per sample: counts (:mod:`razor_neuro.counting`) and energy.

    ``kept_frames``/``frames``: frames the layer's gate keeps of T (T without a gate);
    ``*_on_pruned_frames``: spikes received / emitted on pruned frames."""
    name: str
    kind: str
    neurons: int
    kept_frames: int
    frames: int
    input_spikes: Number
    output_spikes: Number
    synops: Number
    dense_macs: Number
    neuron_updates: Number
    active_neuron_updates: Number
    pruned_frames: Number
    synops_saved: Number
    activation_sparsity: float
    input_spikes_on_pruned_frames: Number
    output_spikes_on_pruned_frames: Number
    energy_pj: float
    energy_breakdown_pj: ByOperation
    ann_energy_pj: Optional[float]


@dataclass(kw_only=True)
class Totals:
    """Counts summed over the layers, per sample; ``time_steps``: the steps each sample ran
    (every layer runs each of them)."""
    time_steps: Number
    input_spikes: Number
    output_spikes: Number
    synops: Number
    dense_macs: Number
    neuron_updates: Number
    active_neuron_updates: Number
    pruned_frames: Number
    synops_saved: Number
    activation_sparsity: float


@dataclass(kw_only=True)
class Run:
    """One run (with the schedule, or with all-ones gates): per-layer rows, their totals
    and energy per sample; ``schedule_held``: no layer received a spike on a pruned frame."""
    layers: list[LayerRow]
    totals: Totals
    energy_by_operation_pj: ByOperation
    total_energy_pj_per_sample: float
    ann_energy_pj_per_sample: float
    schedule_held: bool


@dataclass(kw_only=True)
class Unscheduled:
    """The run without the schedule; ``same_run``: nothing is pruned, so it is the
    scheduled run itself."""
    accuracy: Optional[float]
    run: Run = field(metadata=INLINE)
    same_run: bool


@dataclass(kw_only=True)
class Gate:
    """One gated layer of the frame schedule: its ``[T]`` keep mask (0/1)."""
    layer: str
    layer_index: int
    keep_mask: list[int]
    kept_frames: int


@dataclass(kw_only=True)
class LayerMismatches:
    """One layer's (sample, neuron, step) positions where Lava and the reference differ:
    output spikes, and spikes received after the gate (absent when not compared)."""
    name: str
    mismatches: int
    input_mismatches: Optional[int] = field(default=None, metadata=OPTIONAL)


@dataclass(kw_only=True)
class Agreement:
    """One run's comparison of Lava and the reference (totals and per layer)."""
    method: str
    mismatches: int
    input_mismatches: int
    layers: list[LayerMismatches]


@dataclass(kw_only=True)
class CrossCheck:
    """Source ``lava``: the reference run on the same samples, compared per run."""
    method: str
    samples: int
    mismatches: int
    runs: list[Agreement]


@dataclass(kw_only=True)
class VerifyRun:
    """Source ``reference``: one ``razor-neuro verify`` run that licenses it (a summary of
    ``verify.json``); ``gates``: which gates it ran with."""
    samples: int
    steps: int
    mismatches: int
    tolerance: int
    agree: bool
    lava: Optional[str] = field(default=None, metadata=OPTIONAL)
    reference: Optional[str] = field(default=None, metadata=OPTIONAL)
    lava_accuracy: Optional[float] = field(default=None, metadata=OPTIONAL)
    reference_accuracy: Optional[float] = field(default=None, metadata=OPTIONAL)
    gates: str
    input_mismatches: int
    layers: list[LayerMismatches]


@dataclass(kw_only=True)
class Source:
    """Where the counts come from (``kind`` ``lava`` or ``reference``, Lava ``tag``) and why
    they can be trusted: a cross-check (lava) or the verify runs (reference).

    ``lava_checked_samples``: on how many of the samples Lava and the reference were
    compared: all of them with ``lava``; with ``reference`` the first K that licensed it."""
    kind: str
    tag: str
    description: str
    cross_check: Optional[CrossCheck] = field(default=None, metadata=OPTIONAL)
    verify: Optional[list[VerifyRun]] = field(default=None, metadata=OPTIONAL)
    licence: str
    lava_checked_samples: int


@dataclass(kw_only=True)
class Savings:
    """Ratios ``a / b`` and reductions ``1 - a / b`` of the per-sample totals (None when
    ``b`` is 0)."""
    synops_ratio: Optional[float]
    synops_reduction: Optional[float]
    neuron_updates_ratio: Optional[float]
    neuron_updates_reduction: Optional[float]
    time_steps_ratio: Optional[float]
    time_steps_reduction: Optional[float]
    output_spikes_ratio: Optional[float]
    output_spikes_reduction: Optional[float]
    energy_ratio: Optional[float]
    energy_reduction: Optional[float]


@dataclass(kw_only=True)
class Cores:
    """Lower-bound core and chip count under ``profile`` (:func:`razor_neuro.energy.estimate_cores`)."""
    cores: int
    chips: int
    profile: str
    note: str


@dataclass(kw_only=True)
class BundleInfo:
    """What a bundle's manifest says about its training (absent for a plain netx network);
    ``schedule_name``: how its frames were chosen (``razor``, or a baseline of ``train --schedule``;
    ``razor`` for bundles exported before baselines existed)."""
    keep_ratio: Optional[list[float]]
    schedule_name: str
    training: Optional[dict[str, Any]]
    dataset: Optional[dict[str, Any]]
    bundle_versions: Optional[dict[str, str]]


@dataclass(kw_only=True)
class NetworkReport:
    """One measured network (``kind`` ``bundle`` or ``net``): identity, samples, source, the
    run with the schedule (``accuracy``, ``schedule``, ``run``), the run without it, the
    savings of the schedule, cores, and the mean input event count of each frame over the
    samples (``input_events_per_frame``, length ``frames``); ``prune_mode``: the schedule's
    mode (``gate``, ``skip``; None for a plain network); ``readout_steps``: a ``skip``
    schedule's empty steps after each sample's kept frames (absent otherwise)."""
    label: str
    kind: str
    path: str
    sha256: str
    bundle_id: Optional[str]
    network: str
    network_sha256: str
    input: Optional[str]
    frames: int
    samples: int
    first_sample: int
    source: Source
    prune_mode: Optional[str]
    accuracy: Optional[float]
    schedule: list[Gate]
    run: Run = field(metadata=INLINE)
    without_schedule: Unscheduled
    savings: Savings
    cores: Cores
    bundle: Optional[BundleInfo] = field(default=None, metadata=INLINE)
    input_events_per_frame: Optional[list[float]] = field(default=None, metadata=OPTIONAL)
    readout_steps: Optional[int] = field(default=None, metadata=OPTIONAL)


@dataclass(kw_only=True)
class Profile:
    """A hardware profile as the report records it (:class:`razor_neuro.energy.HardwareProfile`)."""
    name: str
    file: str
    description: str
    kind: str
    caveat: Optional[str]
    energy: dict[str, Constant]
    limits: dict[str, Constant]


@dataclass(kw_only=True)
class Comparison:
    """Network A (the report's) against B (``compare``) on the same samples: ratios A/B and
    reductions 1 - A/B of synops, output spikes and energy per sample."""
    a: str
    b: str
    a_sha256: str
    b_sha256: str
    same_samples: bool
    samples: int
    accuracy_a: Optional[float]
    accuracy_b: Optional[float]
    synops_ratio_a_over_b: Optional[float]
    neuron_updates_ratio_a_over_b: Optional[float]
    time_steps_ratio_a_over_b: Optional[float]
    output_spikes_ratio_a_over_b: Optional[float]
    energy_ratio_a_over_b: Optional[float]
    synops_reduction: Optional[float]
    output_spikes_reduction: Optional[float]
    energy_reduction: Optional[float]
    same_layers: bool


@dataclass(kw_only=True)
class Report:
    """``report.json``: the measured network (its keys at the top level), the profiles
    that priced it, caveats, definitions, versions, an optional comparison and the figure
    files (relative to the report directory)."""
    format: str = FORMAT
    title: str
    primary: NetworkReport = field(metadata=INLINE)
    profile: Profile
    ann_profile: Profile
    caveats: list[str]
    definitions: dict[str, str]
    versions: dict[str, str]
    compare: Optional[NetworkReport]
    comparison: Optional[Comparison]
    figures: list[str] = field(default_factory=list)
    hardware_model: Optional[HardwareModel] = field(default=None, metadata=OPTIONAL)


# --------------------------------------------------------------------------- JSON

def json_text(report: Report) -> str:
    """``report.json``'s text: :func:`to_json` (non-finite numbers as null), indented by 2,
    with a final newline."""
    return json.dumps(finite(to_json(report)), indent=2) + "\n"


def from_json(data: Any, where: str = "report.json") -> Report:
    """A :class:`Report` from parsed ``report.json`` data.

    Raises:
        ReportError: ``'<where>: <field path>: <problem>'`` for the first missing, mistyped
            or unknown field, or another ``format``.
    """
    try:
        report = read(Report, data)
    except ReportError as exc:
        raise ReportError(f"{where}: {exc}") from None
    if report.format != FORMAT:
        raise ReportError(f"{where}: format: expected {FORMAT!r}, got {report.format!r}")
    return report


def load(path: str | Path) -> Report:
    """Read a ``report.json`` file (see :func:`from_json`)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not JSON ({exc})") from None
    return from_json(data, str(path))

"""Make a report directory: measure, assemble, render every file, write atomically.

:func:`report_bundle` (a bundle over test samples, optionally against a second bundle) and
:func:`report_net` (a plain netx network on one input) each write ``report.md``,
``report.csv``, ``report.json``, ``report.tex`` and ``figures/*.png|pdf`` into a new
directory, or nothing at all when anything fails.  Arguments are taken as given: the CLI
(:mod:`razor_neuro.cli`) checks their combinations.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from razor_neuro.atomic import check_replaceable, check_writable, write_dir
from razor_neuro.data import same_recordings
from razor_neuro.energy import HardwareProfile, load_profile
from razor_neuro.export.report.assemble import assemble, check_kinds
from razor_neuro.export.report.csvtable import csv_text
from razor_neuro.export.report.data import Report, json_text
from razor_neuro.export.report.figures import write_figures
from razor_neuro.export.report.latex import latex
from razor_neuro.export.report.markdown import markdown
from razor_neuro.export.report.measure import Measurement, measure_bundle, measure_net, net_label
from razor_neuro.export.report.schema import FILES, FORMAT, ReportError

__all__ = ["LICENCE_SAMPLES", "ReportResult", "default_out", "report_bundle", "report_net",
           "write_report_dir"]

#: with every test sample (``samples=None``) and the reference as the source, Lava licenses
#: the reference on this many of them (the first) unless ``verify_samples`` says otherwise
LICENCE_SAMPLES = 32


@dataclass(frozen=True)
class ReportResult:
    """What a report call wrote: the directory, the report and its files (relative)."""
    path: Path
    report: Report
    files: tuple[str, ...]


def default_out(bundle: Optional[str | Path] = None, net: Optional[str | Path] = None) -> Path:
    """``reports/<bundle name>`` or ``reports/<net label>``."""
    if bundle is not None:
        return Path("reports") / Path(bundle).resolve().name
    return Path("reports") / (net_label(net) if net is not None else "report")


def write_report_dir(out: str | Path, writer: Callable[[Path], None],
                     overwrite: bool = False) -> Path:
    """Create ``out`` atomically (:func:`razor_neuro.atomic.write_dir`): ``writer(tmp)``
    fills a temporary sibling directory, which is then renamed into place.  A failure
    leaves nothing (and an existing ``out`` untouched); ``overwrite`` replaces only an
    existing report (a ``report.json`` of format :data:`~.schema.FORMAT`)."""
    return write_dir(out, writer, overwrite, "report.json", FORMAT)


def _profiles(profile: str, ann_profile: str) -> tuple[HardwareProfile, HardwareProfile]:
    prof, ann = load_profile(profile), load_profile(ann_profile)
    check_kinds(prof, ann)
    return prof, ann


def _prepare(out: str | Path, overwrite: bool, inputs: Sequence[str | Path | None]) -> None:
    """Refuse an ``out`` that is not replaceable or not writable, or that holds one of
    the files ``inputs`` the report reads (a profile is a name or a file), before any
    simulation."""
    check_replaceable(out, overwrite, "report.json", FORMAT,
                      tuple(p for p in inputs if p is not None and Path(p).exists()))
    check_writable(out, "--out", into=False)


def _hardware(hw_model: Optional[str], hw_arch: Optional[str | Path],
              verbose: bool) -> Optional[Callable[..., Any]]:
    """The hardware model a measurement runs (``'sanafe'``; checked before any simulation:
    SANA-FE's version and the architecture file), or None."""
    if hw_model is None:
        return None
    if hw_model != "sanafe":
        raise ReportError(f"--hw-model: expected 'sanafe', got '{hw_model}'")
    from razor_neuro.export.hardware.mapping import import_sanafe, load_architecture
    from razor_neuro.export.hardware.sanafe import quiet, run_model
    with quiet(not verbose):
        load_architecture(import_sanafe(), hw_arch)
    return functools.partial(run_model, architecture=None if hw_arch is None else str(hw_arch),
                             verbose=verbose)


def _write(out: str | Path, primary: Measurement, prof: HardwareProfile, ann: HardwareProfile,
           other: Optional[Measurement], overwrite: bool) -> ReportResult:
    report = assemble(primary, prof, ann, other)
    raster: Sequence[np.ndarray] = primary.with_schedule.raster

    def writer(tmp: Path) -> None:
        figs = write_figures(tmp / "figures", report, raster)
        report.figures = [str(p.relative_to(tmp)) for p in figs]
        (tmp / "report.md").write_text(markdown(report))
        (tmp / "report.csv").write_text(csv_text(report))
        (tmp / "report.tex").write_text(latex(report))
        (tmp / "report.json").write_text(json_text(report))

    path = write_report_dir(out, writer, overwrite)
    return ReportResult(path, report, FILES + tuple(report.figures))


def _check_comparable(b: Any, other: Any) -> None:
    """Raise :class:`ReportError` unless bundle ``other`` (``--compare``) runs on the same
    test recordings as ``b``: the same input shape and dataset, whose frames may differ
    only in the binning of the same recordings (:func:`razor_neuro.data.same_recordings`)."""
    same = {"input_shape": other.manifest.get("input_shape") == b.manifest.get("input_shape"),
            "dataset": same_recordings(other.manifest.get("dataset") or {},
                                       b.manifest.get("dataset") or {})}
    for key, ok in same.items():
        if not ok:
            raise ReportError(f"--compare: {other.path} has another '{key}' than {b.path}; "
                              f"bundles are compared on the same test recordings")


def report_bundle(out: str | Path, bundle: str | Path, profile: str = "loihi1",
                  ann_profile: str = "cmos45nm", samples: Optional[int] = 32, start: int = 0,
                  source: str = "lava", verify_samples: Optional[int] = None,
                  compare: Optional[str | Path] = None, overwrite: bool = False,
                  device: Optional[str] = None, hw_model: Optional[str] = None,
                  hw_arch: Optional[str | Path] = None, verbose: bool = False) -> ReportResult:
    """Measure a bundle on ``samples`` test samples from ``start`` (None: all of them; and
    ``compare``, a second bundle, on the same ones) with and without its schedule, and write
    the report to ``out``.

    Profiles are shipped names or paths to TOML files; ``source``/``verify_samples``: see
    :func:`~.measure.measure_bundle`, except that with ``samples=None`` and the reference as
    the source ``verify_samples`` defaults to :data:`LICENCE_SAMPLES` (or all, when fewer).
    ``hw_model='sanafe'``: also SANA-FE's Loihi model on the same spikes (architecture file
    ``hw_arch``, default SANA-FE's loihi.yaml), the report's ``hardware_model`` section.

    Raises:
        ReportError: bad profile, bundle or samples; ``compare`` made for another input
            shape or other recordings (nothing is written; the same recordings binned into
            other frames, the ``rebin`` schedule's, are compared sample by sample).
        ReportRefused: ``source='reference'`` and ``verify`` found mismatches.
    """
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.deploy import load_test_samples
    prof, ann = _profiles(profile, ann_profile)
    hw = _hardware(hw_model, hw_arch, verbose)
    _prepare(out, overwrite, [bundle, compare, profile, ann_profile])
    b = load_bundle(bundle)
    other_b = load_bundle(compare) if compare is not None else None
    if other_b is not None:
        _check_comparable(b, other_b)
    smp = load_test_samples(b, samples, start)
    if samples is None and source == "reference" and verify_samples is None:
        verify_samples = min(LICENCE_SAMPLES, len(smp.labels))
    primary = measure_bundle(b, smp, source, verify_samples, start, device, hw)
    other = None
    if other_b is not None:
        # the same recordings binned into other frames (rebin) are that bundle's samples
        same = other_b.manifest["dataset"] == b.manifest["dataset"] and other_b.frames == b.frames
        other_smp = smp if same else load_test_samples(other_b, samples, start)
        other = measure_bundle(other_b, other_smp, source, verify_samples, start, device, hw)
    return _write(out, primary, prof, ann, other, overwrite)


def report_net(out: str | Path, net: str | Path, spikes: str | Path,
               steps: Optional[int] = None, profile: str = "loihi1",
               ann_profile: str = "cmos45nm", source: str = "lava", overwrite: bool = False,
               device: Optional[str] = None, hw_model: Optional[str] = None,
               hw_arch: Optional[str | Path] = None, verbose: bool = False) -> ReportResult:
    """Measure a plain netx network on one input spike train (``.npy``; ``steps``: run this
    many, default its length) and write the report to ``out``; ``hw_model``, ``hw_arch``:
    as for :func:`report_bundle`.

    Raises:
        ReportError: bad profile, network or input (nothing is written).
        ReportRefused: ``source='reference'`` and ``verify --net`` found mismatches.
    """
    prof, ann = _profiles(profile, ann_profile)
    hw = _hardware(hw_model, hw_arch, verbose)
    _prepare(out, overwrite, [net, spikes, profile, ann_profile])
    return _write(out, measure_net(net, spikes, steps, source, device, hw), prof, ann, None,
                  overwrite)

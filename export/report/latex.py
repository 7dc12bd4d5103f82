"""``report.tex`` from a :class:`~.data.Report`: booktabs table(s) to ``\\input`` in a paper
(the layers with and without the schedule; with ``compare`` a second table A vs. B).

Counts are per sample; energies in nJ.  Needs ``\\usepackage{booktabs}``.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from razor_neuro.export.report.cells import acc, count, nj, ratio, two_runs
from razor_neuro.export.report import hwmodel
from razor_neuro.export.report.data import Report

__all__ = ["latex", "tex_escape"]

_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}


def tex_escape(text: Any) -> str:
    """Escape LaTeX special characters (and drop non-ASCII, which plain pdflatex may lack)."""
    s = "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))
    return s.replace("…", "...").encode("ascii", "replace").decode("ascii")


def _tnum(v: Any) -> str:
    return count(v).replace(",", r"\,")


def _tnj(v: Optional[float]) -> str:
    return nj(v).replace(",", r"\,")


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9:.-]+", "-", text).strip("-") or "report"


def _tex_rows(rows: list[list[str]]) -> list[str]:
    return ["    " + " & ".join(r) + r" \\" for r in rows]


def _compare_table(report: Report, src: str, cap_cav: str) -> list[str]:
    """The A vs. B table (``report.compare`` is set)."""
    a, b, c = report.primary, report.compare, report.comparison
    la, lb = tex_escape(a.label), tex_escape(b.label)
    body = [r"\begin{table}[t]", r"  \centering", r"  \small",
            f"  \\caption{{{la} (A) vs.\\ {lb} (B) on the same {a.samples} samples, per sample "
            f"(counts measured on {src}; {tex_escape(report.profile.name)} profile).{cap_cav}}}",
            f"  \\label{{tab:razor-neuro-{_label(a.label)}-vs-{_label(b.label)}}}",
            r"  \begin{tabular}{lrrrrrr}", r"    \toprule",
            r"    & \multicolumn{2}{c}{Kept frames} & \multicolumn{2}{c}{SynOps} & "
            r"\multicolumn{2}{c}{Energy (nJ)} \\",
            r"    \cmidrule(lr){2-3} \cmidrule(lr){4-5} \cmidrule(lr){6-7}",
            r"    Layer & A & B & A & B & A & B \\", r"    \midrule"]
    if c.same_layers:
        rows = [[tex_escape(ra.name), f"{ra.kept_frames}/{ra.frames}",
                 f"{rb.kept_frames}/{rb.frames}", _tnum(ra.synops), _tnum(rb.synops),
                 _tnj(ra.energy_pj), _tnj(rb.energy_pj)]
                for ra, rb in zip(a.run.layers, b.run.layers)]
        body += _tex_rows(rows) + [r"    \midrule"]
    body += _tex_rows([
        ["Total", "", "", _tnum(a.run.totals.synops), _tnum(b.run.totals.synops),
         _tnj(a.run.total_energy_pj_per_sample), _tnj(b.run.total_energy_pj_per_sample)],
        ["A/B", "", "", "", ratio(c.synops_ratio_a_over_b), "", ratio(c.energy_ratio_a_over_b)],
        ["Time steps", "", "", _tnum(a.run.totals.time_steps), _tnum(b.run.totals.time_steps),
         "A/B", ratio(c.time_steps_ratio_a_over_b)],
        ["Neuron updates", "", "", _tnum(a.run.totals.neuron_updates),
         _tnum(b.run.totals.neuron_updates), "A/B", ratio(c.neuron_updates_ratio_a_over_b)],
        ["Accuracy", "", "", "", "", acc(a.accuracy).replace(" (no labels)", ""),
         acc(b.accuracy).replace(" (no labels)", "")]])
    return body + [r"    \bottomrule", r"  \end{tabular}", r"\end{table}", ""]


def _hardware_table(report: Report) -> list[str]:
    """SANA-FE's figures per run (:mod:`.hwmodel`) as a booktabs table."""
    h = report.hardware_model
    header, rows = hwmodel.table(h, report.primary.label,
                                 report.compare.label if report.compare else "")
    return [r"\begin{table}[t]", r"  \centering", r"  \small",
            f"  \\caption{{{tex_escape(hwmodel.summary(h))}}}",
            f"  \\label{{tab:razor-neuro-sanafe-{_label(report.primary.label)}}}",
            "  \\begin{tabular}{l" + "r" * (len(header) - 1) + "}", r"    \toprule",
            *_tex_rows([[tex_escape(c) for c in header]]), r"    \midrule",
            *_tex_rows([[tex_escape(c) for c in r] for r in rows]),
            r"    \bottomrule", r"  \end{tabular}", r"\end{table}", ""]


def latex(report: Report) -> str:
    """``report.tex``: booktabs table(s) to ``\\input`` in a paper (needs ``booktabs``)."""
    net, prof, ann = report.primary, report.profile, report.ann_profile
    caveats = [f"{p.name}: {p.caveat}" for p in (prof, ann) if p.caveat]
    ident = (f"bundle id {net.bundle_id}, manifest_sha256" if net.bundle_id
             else f"{net.kind} sha256")
    head = [f"% razor-neuro report: {net.label} ({ident} {net.sha256})",
            f"% counts: {net.source.description}",
            f"% licence: {net.source.licence}",
            f"% energy profile: {prof.name} ({prof.file}); ANN: {ann.name}",
            *[f"% CAVEAT {c}" for c in caveats],
            r"% Needs \usepackage{booktabs}.  Counts are per sample; energies in nJ.", ""]
    head = [h.replace("\n", " ") for h in head]
    src = "Lava fixed\\_pt" if net.source.kind == "lava" else \
        "torch reference fixed\\_pt, verified spike-for-spike against Lava"
    n = net.samples
    cap_cav = "".join(f" CAVEAT: {tex_escape(c)}" for c in caveats)
    caption = (f"Per-sample spikes, synaptic operations (SynOps) and energy of "
               f"{tex_escape(net.label)} with and without the frame schedule "
               f"(mean over {n} sample{'s' if n != 1 else ''}; counts measured on {src}; "
               f"energy = counts $\\times$ constants of the {tex_escape(prof.name)} "
               f"profile, ANN baseline {tex_escape(ann.name)}).{cap_cav}")
    two = two_runs(net)
    if not two:
        caption = caption.replace(" with and without the frame schedule", "")
    body = [r"\begin{table}[t]", r"  \centering", r"  \small",
            f"  \\caption{{{caption}}}",
            f"  \\label{{tab:razor-neuro-{_label(net.label)}}}"]
    if two:
        body += [r"  \begin{tabular}{lrrrrrrr}", r"    \toprule",
                 r"    & & & Output & \multicolumn{2}{c}{SynOps} & "
                 r"\multicolumn{2}{c}{Energy (nJ)} \\",
                 r"    \cmidrule(lr){5-6} \cmidrule(lr){7-8}",
                 r"    Layer & Neurons & Kept & spikes & sched. & no sched. & sched. & "
                 r"no sched. \\", r"    \midrule"]
    else:
        body += [r"  \begin{tabular}{lrrrrr}", r"    \toprule",
                 r"    Layer & Neurons & Kept & Output spikes & SynOps & Energy (nJ) \\",
                 r"    \midrule"]

    def row(cells: list[str], extra_synops: str, extra_energy: str) -> list[str]:
        if two:
            return cells[:5] + [extra_synops, cells[5], extra_energy]
        return cells

    run, w = net.run, net.without_schedule
    rows = [row([tex_escape(r.name), _tnum(r.neurons), f"{r.kept_frames}/{r.frames}",
                 _tnum(r.output_spikes), _tnum(r.synops), _tnj(r.energy_pj)],
                _tnum(u.synops), _tnj(u.energy_pj))
            for r, u in zip(run.layers, w.run.layers)]
    body += _tex_rows(rows)
    body += [r"    \midrule"]
    body += _tex_rows([
        row(["Total", _tnum(sum(r.neurons for r in run.layers)), "",
             _tnum(run.totals.output_spikes), _tnum(run.totals.synops),
             _tnj(run.total_energy_pj_per_sample)],
            _tnum(w.run.totals.synops), _tnj(w.run.total_energy_pj_per_sample)),
        row([f"ANN ({tex_escape(ann.name)}, dense MACs)", "", "", "", "",
             _tnj(run.ann_energy_pj_per_sample)], "", _tnj(w.run.ann_energy_pj_per_sample)),
        row(["Time steps", "", "", "", _tnum(run.totals.time_steps), ""],
            _tnum(w.run.totals.time_steps), ""),
        row(["Neuron updates", "", "", "", _tnum(run.totals.neuron_updates), ""],
            _tnum(w.run.totals.neuron_updates), "")]
        + ([row(["Accuracy", "", "", "", "", acc(net.accuracy)], "", acc(w.accuracy))]
           if net.accuracy is not None else []))
    body += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}", ""]
    if report.compare is not None:
        body += _compare_table(report, src, cap_cav)
    if report.hardware_model is not None:
        body += _hardware_table(report)
    return "\n".join(head + body)

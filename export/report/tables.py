"""Report tables: Markdown, CSV, JSON and a booktabs LaTeX table, all from report data.

Every function takes the dict built by :func:`razor_neuro.export.report.build.report_data`
(what ``report.json`` holds) and returns text.  Counts are per sample (mean over the
reported samples); energies are in pJ in JSON/CSV and in nJ in the Markdown/LaTeX tables.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any, Optional

from razor_neuro.export.report.schema import OPERATION_CONSTANTS, OPERATION_LABELS, OPERATIONS

__all__ = ["markdown", "csv_text", "json_text", "latex", "CSV_COLUMNS"]

CSV_COLUMNS = ("network", "sha256", "schedule", "layer", "kind", "neurons", "kept_frames",
               "frames", "input_spikes", "output_spikes", "synops", "dense_macs",
               "neuron_updates", "active_neuron_updates", "pruned_frames", "synops_saved",
               "energy_pj", "synops_pj", "neuron_inactive_pj", "neuron_active_pj",
               "spike_routing_pj", "ann_energy_pj", "accuracy", "source", "profile")


# --------------------------------------------------------------------------- formatting

def _count(v: Any) -> str:
    if v is None:
        return "-"
    v = float(v)
    if v.is_integer():
        return f"{v:,.0f}"
    return f"{v:,.1f}" if abs(v) >= 10 else f"{v:,.2f}"


def _nj(pj: Optional[float]) -> str:
    if pj is None:
        return "-"
    v = pj / 1e3
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4g}"


def _ratio(v: Optional[float]) -> str:
    return "-" if v is None else f"{v:.3f}"


def _pct(v: Optional[float]) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _acc(v: Optional[float]) -> str:
    return "n/a (no labels)" if v is None else f"{v:.4f}"


def _div(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None or b == 0 else a / b


def _source_name(data: dict[str, Any]) -> str:
    src = data["source"]
    if src["kind"] == "lava":
        return f"Lava {src['tag']}"
    return f"torch reference {src['tag']}, licensed by verify"


def _what(data: dict[str, Any]) -> str:
    if data["kind"] == "bundle":
        return f"bundle `{data['path']}`"
    return f"netx network `{data['path']}` on `{data['input']}`"


def _samples_line(data: dict[str, Any]) -> str:
    n, first = data["samples"], data["first_sample"]
    if data["kind"] == "bundle":
        return (f"{n} test sample{'s' if n != 1 else ''} (#{first}..#{first + n - 1}) of "
                f"{data['frames']} frames each; every count is the mean per sample")
    return f"1 input of {data['frames']} time steps (no resets)"


def _versions(v: dict[str, str]) -> str:
    return ", ".join(f"{k} {val}" for k, val in v.items())


# --------------------------------------------------------------------------- markdown

def _md_table(header: list[str], rows: list[list[str]], align: Optional[str] = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_licence(data: dict[str, Any]) -> list[str]:
    src = data["source"]
    lines = [f"- **Counts from:** {src['description']}.", f"- **Licence:** {src['licence']}."]
    if src["kind"] == "reference":
        for v in src["verify"]:
            lines.append(f"  - verify ({v['gates']}): {v['mismatches']} output and "
                         f"{v['input_mismatches']} input mismatches, {v['samples']} "
                         f"sample(s) x {v['steps']} steps, Lava {v.get('lava', 'fixed_pt')} vs "
                         f"{v.get('reference', 'reference')}")
    else:
        cc = src["cross_check"]
        lines.append(f"  - cross-check ({cc['method']}): {cc['mismatches']} mismatches "
                     f"(outputs and gated inputs of every layer)")
    return lines


def _two(data: dict[str, Any]) -> bool:
    """A "without schedule" run that differs from the scheduled one exists."""
    return not data["without_schedule"].get("same_run")


def _layer_header(two: bool) -> list[str]:
    return ["layer", "kind", "neurons", "kept frames", "input spikes", "output spikes",
            "synops", *(["synops w/o schedule"] if two else []), "dense MACs",
            "neuron updates", "energy (nJ)", *(["energy w/o schedule (nJ)"] if two else [])]


def _layer_rows(data: dict[str, Any], two: bool) -> list[list[str]]:
    rows = []
    for r, u in zip(data["layers"], data["without_schedule"]["layers"]):
        rows.append([f"`{r['name']}`", r["kind"], _count(r["neurons"]),
                     f"{r['kept_frames']}/{r['frames']}", _count(r["input_spikes"]),
                     _count(r["output_spikes"]), _count(r["synops"]),
                     *([_count(u["synops"])] if two else []),
                     _count(r["dense_macs"]), _count(r["neuron_updates"]),
                     _nj(r["energy_pj"]), *([_nj(u["energy_pj"])] if two else [])])
    t, tu = data["totals"], data["without_schedule"]["totals"]
    rows.append(["**total**", "", _count(sum(r["neurons"] for r in data["layers"])), "",
                 _count(t["input_spikes"]), _count(t["output_spikes"]), _count(t["synops"]),
                 *([_count(tu["synops"])] if two else []),
                 _count(t["dense_macs"]), _count(t["neuron_updates"]),
                 _nj(data["total_energy_pj_per_sample"]),
                 *([_nj(data["without_schedule"]["total_energy_pj_per_sample"])] if two else [])])
    return rows


def _totals_rows(data: dict[str, Any], two: bool) -> list[list[str]]:
    t, w = data["totals"], data["without_schedule"]
    tu = w["totals"]
    rows = []

    def row(label: str, a: str, b: str, ratio: str) -> None:
        rows.append([label, a, b, ratio] if two else [label, a])

    keys = (("input_spikes", "input spikes"), ("output_spikes", "output spikes"),
            ("synops", "synaptic ops"), ("neuron_updates", "neuron updates"),
            ("active_neuron_updates", "spiking neuron updates"),
            ("pruned_frames", "pruned layer-frames"),
            ("synops_saved", "synops saved at the gates"))
    for key, label in keys if two else keys[:5]:
        row(label, _count(t[key]), _count(tu[key]), _ratio(_div(t[key], tu[key])))
    row("energy (nJ)", _nj(data["total_energy_pj_per_sample"]),
        _nj(w["total_energy_pj_per_sample"]),
        _ratio(_div(data["total_energy_pj_per_sample"], w["total_energy_pj_per_sample"])))
    row(f"ANN-equivalent energy, {data['ann_profile']['name']} (nJ)",
        _nj(data["ann_energy_pj_per_sample"]), _nj(w["ann_energy_pj_per_sample"]), "")
    row("SNN / ANN energy", _ratio(_div(data["total_energy_pj_per_sample"],
                                        data["ann_energy_pj_per_sample"])),
        _ratio(_div(w["total_energy_pj_per_sample"], w["ann_energy_pj_per_sample"])), "")
    if data["kind"] == "bundle":
        row("deploy accuracy", _acc(data["accuracy"]), _acc(w["accuracy"]), "")
    return rows


def _op_rows(data: dict[str, Any], two: bool) -> list[list[str]]:
    prof = data["profile"]
    rows = []
    for op in OPERATIONS:
        key = OPERATION_CONSTANTS[op]
        c = prof["energy"][key]
        rows.append([OPERATION_LABELS[op], f"`{key}` = {c['value']:g} {c['unit']}",
                     _nj(data["energy_by_operation_pj"][op]),
                     *([_nj(data["without_schedule"]["energy_by_operation_pj"][op])]
                       if two else [])])
    rows.append(["**total**", "", _nj(data["total_energy_pj_per_sample"]),
                 *([_nj(data["without_schedule"]["total_energy_pj_per_sample"])]
                   if two else [])])
    return rows


def _keep(ratios: list[float] | None) -> str:
    """The manifest's per-gated-layer keep ratios as ``0.5, 1, 1, 1``."""
    return "-" if ratios is None else ", ".join(f"{r:g}" for r in ratios)


def _compare_rows(data: dict[str, Any]) -> list[list[str]]:
    a, b, c = data, data["compare"], data["comparison"]
    rows = [
        ["bundle id", f"`{a['bundle_id']}`", f"`{b['bundle_id']}`", ""],
        ["keep ratio per gated layer", _keep(a.get("keep_ratio")), _keep(b.get("keep_ratio")), ""],
        ["kept layer-frames", _count(sum(r["kept_frames"] for r in a["layers"])),
         _count(sum(r["kept_frames"] for r in b["layers"])), ""],
        ["deploy accuracy", _acc(a["accuracy"]), _acc(b["accuracy"]), ""],
        ["output spikes", _count(a["totals"]["output_spikes"]),
         _count(b["totals"]["output_spikes"]), _ratio(c.get("output_spikes_ratio_a_over_b"))],
        ["synaptic ops", _count(a["totals"]["synops"]), _count(b["totals"]["synops"]),
         _ratio(c.get("synops_ratio_a_over_b"))],
        ["neuron updates", _count(a["totals"]["neuron_updates"]),
         _count(b["totals"]["neuron_updates"]),
         _ratio(_div(a["totals"]["neuron_updates"], b["totals"]["neuron_updates"]))],
        ["energy (nJ)", _nj(a["total_energy_pj_per_sample"]),
         _nj(b["total_energy_pj_per_sample"]), _ratio(c.get("energy_ratio_a_over_b"))],
        ["ANN-equivalent energy (nJ)", _nj(a["ann_energy_pj_per_sample"]),
         _nj(b["ann_energy_pj_per_sample"]),
         _ratio(_div(a["ann_energy_pj_per_sample"], b["ann_energy_pj_per_sample"]))],
    ]
    return rows


def _compare_layer_rows(data: dict[str, Any]) -> list[list[str]]:
    rows = []
    for ra, rb in zip(data["layers"], data["compare"]["layers"]):
        rows.append([f"`{ra['name']}`", f"{ra['kept_frames']}/{ra['frames']}",
                     f"{rb['kept_frames']}/{rb['frames']}", _count(ra["output_spikes"]),
                     _count(rb["output_spikes"]), _count(ra["synops"]), _count(rb["synops"]),
                     _ratio(_div(ra["synops"], rb["synops"])), _nj(ra["energy_pj"]),
                     _nj(rb["energy_pj"]), _ratio(_div(ra["energy_pj"], rb["energy_pj"]))])
    return rows


def _caveat_block(data: dict[str, Any]) -> list[str]:
    out = []
    for p in (data["profile"], data["ann_profile"]):
        if p.get("caveat"):
            out += [f"> **CAVEAT ({p['name']}):** {p['caveat']}", ""]
    return out


def markdown(data: dict[str, Any]) -> str:
    """``report.md``."""
    prof, ann = data["profile"], data["ann_profile"]
    bundle = data["kind"] == "bundle"
    L: list[str] = [f"# {data['title']}", ""]
    L += _caveat_block(data)
    L += [f"- **Network:** {_what(data)}",
          (f"- **Bundle id:** `{data['bundle_id']}` (from manifest_sha256 `{data['sha256']}`: "
           "the SHA-256 of the manifest's canonical content, which hashes every bundle file)"
           if bundle else f"- **Network hash:** `{data['sha256']}` (SHA-256 of the network file)"),
          f"- **Samples:** {_samples_line(data)}"]
    L += _md_licence(data)
    if data["kind"] != "bundle":
        acc = "- **Accuracy:** n/a (a netx network on one input, no labels)"
    elif _two(data):
        acc = (f"- **Deploy accuracy** (same run, static schedule, quantised weights): "
               f"{_acc(data['accuracy'])} with the schedule, "
               f"{_acc(data['without_schedule']['accuracy'])} without")
    else:
        acc = (f"- **Deploy accuracy** (same run, quantised weights): "
               f"{_acc(data['accuracy'])}")
    if data.get("training"):
        tr = data["training"]
        if tr.get("deploy_accuracy") is not None:
            acc += f"; training-time deploy-path accuracy {tr['deploy_accuracy']:.4f}"
        if tr.get("train_path_accuracy") is not None:
            acc += f", float train-path accuracy {tr['train_path_accuracy']:.4f}"
    L += [acc,
          f"- **Energy profile:** `{prof['name']}` ({prof['file']}): {prof['description']}",
          f"- **ANN baseline profile:** `{ann['name']}` ({ann['file']}): {ann['description']}",
          f"- **Cores (lower bound, {data['cores']['profile']} neurons/core):** "
          f"{data['cores']['cores']} core(s), {data['cores']['chips']} chip(s)",
          f"- **Versions:** {_versions(data['versions'])}", ""]

    two = _two(data)
    L += ["## Per layer, per sample", "",
          _md_table(_layer_header(two), _layer_rows(data, two), "ll" + "r" * (10 if two else 8)),
          ""]
    if not data["schedule_held"]:
        L += ["**WARNING:** some layers received spikes on pruned frames: the schedule did "
              "not hold in this run (see `input_spikes_on_pruned_frames` in report.json).", ""]
    if two:
        L += ["## Totals per sample: with vs. without the schedule", "",
              _md_table(["", "with schedule", "without schedule", "ratio with/without"],
                        _totals_rows(data, two)), ""]
        s = data["savings"]
        L += [f"The schedule saves **{_pct(s['synops_reduction'])}** of the synaptic "
              f"operations and **{_pct(s['energy_reduction'])}** of the energy per sample "
              f"({prof['name']}).", ""]
    else:
        why = "no frame schedule" if not data["schedule"] else "its schedule keeps every frame"
        L += ["## Totals per sample", "",
              f"The network has {why}, so there is no separate run without the schedule.", "",
              _md_table(["", "per sample"], _totals_rows(data, two)), ""]
    L += ["## Energy per operation kind (nJ per sample)", "",
          _md_table(["operation", "constant", "with schedule" if two else "energy",
                     *(["without schedule"] if two else [])], _op_rows(data, two)), ""]
    if data.get("compare") is not None:
        a, b, c = data["label"], data["compare"]["label"], data["comparison"]
        L += [f"## Comparison: `{a}` (A) vs `{b}` (B)", "",
              f"Both on the same {c['samples']} samples, {_source_name(data)}; "
              f"B's counts: {data['compare']['source']['licence']}.", "",
              _md_table(["", f"A: {a}", f"B: {b}", "A/B"], _compare_rows(data)), ""]
        if c["same_layers"]:
            L += [_md_table(["layer", "kept A", "kept B", "spikes A", "spikes B", "synops A",
                             "synops B", "synops A/B", "energy A (nJ)", "energy B (nJ)",
                             "energy A/B"], _compare_layer_rows(data)), ""]
        L += [f"A uses **{_pct(c['synops_reduction'])}** fewer synaptic operations and "
              f"**{_pct(c['energy_reduction'])}** less energy per sample than B.", ""]
    L += ["## Profile constants (every energy above is counts x these)", "",
          _md_table(["profile", "constant", "value", "unit", "source"],
                    [[p["name"], f"`{k}`", f"{c['value']:g}", c["unit"], c["source"]]
                     for p in (prof, ann) for k, c in p["energy"].items()], "llrll"), ""]
    L += ["## Figures", ""]
    for f in data.get("figures", []):
        if f.endswith(".png"):
            L += [f"![{f}]({f})", ""]
    L += ["## Definitions", ""]
    L += [f"- `{k}`: {v}" for k, v in data["definitions"].items()]
    L += ["", "## Caveats", ""] + [f"- {c}" for c in data["caveats"]] + [""]
    return "\n".join(L)


# --------------------------------------------------------------------------- csv / json

def _csv_rows(d: dict[str, Any], top: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    src = _source_name(d)
    for sched, block in (("with", d), ("without", d["without_schedule"])):
        for r in block["layers"]:
            out.append({
                "network": d["label"], "sha256": d["sha256"], "schedule": sched,
                "layer": r["name"], "kind": r["kind"], "neurons": r["neurons"],
                "kept_frames": r["kept_frames"], "frames": r["frames"],
                **{k: r[k] for k in ("input_spikes", "output_spikes", "synops", "dense_macs",
                                     "neuron_updates", "active_neuron_updates",
                                     "pruned_frames", "synops_saved", "energy_pj")},
                **{f"{op}_pj": r["energy_breakdown_pj"][op] for op in OPERATIONS},
                "ann_energy_pj": r["ann_energy_pj"], "accuracy": block["accuracy"],
                "source": src, "profile": top["profile"]["name"]})
        t = block["totals"]
        out.append({
            "network": d["label"], "sha256": d["sha256"], "schedule": sched, "layer": "total",
            "kind": "", "neurons": sum(r["neurons"] for r in block["layers"]),
            "kept_frames": "", "frames": d["frames"],
            **{k: t[k] for k in ("input_spikes", "output_spikes", "synops", "dense_macs",
                                 "neuron_updates", "active_neuron_updates", "pruned_frames",
                                 "synops_saved")},
            "energy_pj": block["total_energy_pj_per_sample"],
            **{f"{op}_pj": block["energy_by_operation_pj"][op] for op in OPERATIONS},
            "ann_energy_pj": block["ann_energy_pj_per_sample"], "accuracy": block["accuracy"],
            "source": src, "profile": top["profile"]["name"]})
    return out


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.10g}"
    return v


def csv_text(data: dict[str, Any]) -> str:
    """``report.csv``: one row per network x schedule (with/without) x layer, plus totals,
    all per sample; ``#`` comment lines on top carry source, profile and caveats."""
    buf = io.StringIO()
    buf.write(f"# {data['title']}; counts per sample over {data['samples']} sample(s)\n")
    buf.write(f"# source: {data['source']['description']}\n")
    buf.write(f"# licence: {data['source']['licence']}\n")
    buf.write(f"# profile: {data['profile']['name']} ({data['profile']['file']}); ANN: "
              f"{data['ann_profile']['name']}; energies in pJ\n")
    for p in (data["profile"], data["ann_profile"]):
        if p.get("caveat"):
            buf.write(f"# CAVEAT ({p['name']}): {p['caveat']}\n")
    if data.get("bundle_id"):
        buf.write(f"# bundle id: {data['bundle_id']}\n")
    buf.write(f"# {data['kind']} sha256: {data['sha256']}\n")
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    rows = _csv_rows(data, data)
    if data.get("compare") is not None:
        rows += _csv_rows(data["compare"], data)
    for row in rows:
        w.writerow({k: _csv_cell(row.get(k)) for k in CSV_COLUMNS})
    return buf.getvalue()


def json_text(data: dict[str, Any]) -> str:
    """``report.json``."""
    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(data), indent=2) + "\n"


# --------------------------------------------------------------------------- latex

_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}


def tex_escape(text: Any) -> str:
    """Escape LaTeX special characters (and drop non-ASCII, which plain pdflatex may lack)."""
    s = "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))
    return s.replace("…", "...").encode("ascii", "replace").decode("ascii")


def _tnum(v: Any) -> str:
    return _count(v).replace(",", r"\,")


def _tnj(v: Optional[float]) -> str:
    return _nj(v).replace(",", r"\,")


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9:.-]+", "-", text).strip("-") or "report"


def _tex_rows(rows: list[list[str]]) -> list[str]:
    return ["    " + " & ".join(r) + r" \\" for r in rows]


def latex(data: dict[str, Any]) -> str:
    """``report.tex``: booktabs table(s) to ``\\input`` in a paper (needs ``booktabs``)."""
    prof, ann = data["profile"], data["ann_profile"]
    caveats = [f"{p['name']}: {p['caveat']}" for p in (prof, ann) if p.get("caveat")]
    ident = (f"bundle id {data['bundle_id']}, manifest_sha256" if data.get("bundle_id")
             else f"{data['kind']} sha256")
    head = [f"% razor-neuro report: {data['label']} ({ident} {data['sha256']})",
            f"% counts: {data['source']['description']}",
            f"% licence: {data['source']['licence']}",
            f"% energy profile: {prof['name']} ({prof['file']}); ANN: {ann['name']}",
            *[f"% CAVEAT {c}" for c in caveats],
            r"% Needs \usepackage{booktabs}.  Counts are per sample; energies in nJ.", ""]
    head = [h.replace("\n", " ") for h in head]
    src = "Lava fixed\\_pt" if data["source"]["kind"] == "lava" else \
        "torch reference fixed\\_pt, verified spike-for-spike against Lava"
    n = data["samples"]
    cap_cav = "".join(f" CAVEAT: {tex_escape(c)}" for c in caveats)
    caption = (f"Per-sample spikes, synaptic operations (SynOps) and energy of "
               f"{tex_escape(data['label'])} with and without the frame schedule "
               f"(mean over {n} sample{'s' if n != 1 else ''}; counts measured on {src}; "
               f"energy = counts $\\times$ constants of the {tex_escape(prof['name'])} "
               f"profile, ANN baseline {tex_escape(ann['name'])}).{cap_cav}")
    two = _two(data)
    if not two:
        caption = caption.replace(" with and without the frame schedule", "")
    body = [r"\begin{table}[t]", r"  \centering", r"  \small",
            f"  \\caption{{{caption}}}",
            f"  \\label{{tab:razor-neuro-{_label(data['label'])}}}"]
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

    rows = []
    for r, u in zip(data["layers"], data["without_schedule"]["layers"]):
        rows.append(row([tex_escape(r["name"]), _tnum(r["neurons"]),
                         f"{r['kept_frames']}/{r['frames']}", _tnum(r["output_spikes"]),
                         _tnum(r["synops"]), _tnj(r["energy_pj"])],
                        _tnum(u["synops"]), _tnj(u["energy_pj"])))
    body += _tex_rows(rows)
    t, w = data["totals"], data["without_schedule"]
    body += [r"    \midrule"]
    body += _tex_rows([
        row(["Total", _tnum(sum(r["neurons"] for r in data["layers"])), "",
             _tnum(t["output_spikes"]), _tnum(t["synops"]),
             _tnj(data["total_energy_pj_per_sample"])],
            _tnum(w["totals"]["synops"]), _tnj(w["total_energy_pj_per_sample"])),
        row([f"ANN ({tex_escape(ann['name'])}, dense MACs)", "", "", "", "",
             _tnj(data["ann_energy_pj_per_sample"])], "", _tnj(w["ann_energy_pj_per_sample"]))]
        + ([row(["Accuracy", "", "", "", "", _acc(data["accuracy"])], "",
                _acc(w["accuracy"]))] if data["accuracy"] is not None else []))
    body += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}", ""]
    if data.get("compare") is not None:
        b, c = data["compare"], data["comparison"]
        la, lb = tex_escape(data["label"]), tex_escape(b["label"])
        body += [r"\begin{table}[t]", r"  \centering", r"  \small",
                 f"  \\caption{{{la} (A) vs.\\ {lb} (B) on the same {n} samples, per sample "
                 f"(counts measured on {src}; {tex_escape(prof['name'])} profile).{cap_cav}}}",
                 f"  \\label{{tab:razor-neuro-{_label(data['label'])}-vs-{_label(b['label'])}}}",
                 r"  \begin{tabular}{lrrrrrr}", r"    \toprule",
                 r"    & \multicolumn{2}{c}{Kept frames} & \multicolumn{2}{c}{SynOps} & "
                 r"\multicolumn{2}{c}{Energy (nJ)} \\",
                 r"    \cmidrule(lr){2-3} \cmidrule(lr){4-5} \cmidrule(lr){6-7}",
                 r"    Layer & A & B & A & B & A & B \\", r"    \midrule"]
        rows = []
        if c["same_layers"]:
            for ra, rb in zip(data["layers"], b["layers"]):
                rows.append([tex_escape(ra["name"]), f"{ra['kept_frames']}/{ra['frames']}",
                             f"{rb['kept_frames']}/{rb['frames']}", _tnum(ra["synops"]),
                             _tnum(rb["synops"]), _tnj(ra["energy_pj"]), _tnj(rb["energy_pj"])])
            body += _tex_rows(rows) + [r"    \midrule"]
        body += _tex_rows([
            ["Total", "", "", _tnum(data["totals"]["synops"]), _tnum(b["totals"]["synops"]),
             _tnj(data["total_energy_pj_per_sample"]), _tnj(b["total_energy_pj_per_sample"])],
            ["A/B", "", "", "", _ratio(c.get("synops_ratio_a_over_b")), "",
             _ratio(c.get("energy_ratio_a_over_b"))],
            ["Accuracy", "", "", "", "", _acc(data["accuracy"]).replace(" (no labels)", ""),
             _acc(b["accuracy"]).replace(" (no labels)", "")]])
        body += [r"    \bottomrule", r"  \end{tabular}", r"\end{table}", ""]
    return "\n".join(head + body)

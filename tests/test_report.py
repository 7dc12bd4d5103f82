"""``razor-neuro report``: measured counts (Lava fixed_pt, or the verified reference), energy =
counts x profile constants recomputed here from the TOML files, schedule savings, --compare,
--net on the external Oxford network, figures, tex/csv/json/md, refusals and atomic writes."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from razor_neuro.cli import main
from razor_neuro.export.bundle import load_bundle, sha256_file
from razor_neuro.export.deploy import load_test_samples
from razor_neuro.export.lava_graph import LavaGraph  # noqa: F401  (Lava's mp setup before train)
from razor_neuro.export.reference import Reference
from razor_neuro.export.report import data as report_data, measure
from razor_neuro.export.report.make import write_report_dir
from razor_neuro.export.report.schema import FORMAT, ReportError
from razor_neuro.schedule import FrameSchedule

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "hw_profiles"
SAMPLES = 4
LAYER_KEYS = {"name", "input_spikes", "output_spikes", "synops", "dense_macs", "neuron_updates",
              "pruned_frames", "energy_pj"}


def _toml(name: str) -> dict:
    data = tomllib.loads((PROFILES / f"{name}.toml").read_text())
    return {k: v["value"] for k, v in data["energy"].items()}


@pytest.fixture(scope="module")
def bundle_dir(trained_bundle) -> Path:
    return trained_bundle(0.5)[1]


@pytest.fixture(scope="module")
def full_dir(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory, resign) -> Path:
    """The same weights with an all-ones schedule (keep ratio 1.0), a valid bundle."""
    out = tmp_path_factory.mktemp("b") / "full"
    shutil.copytree(bundle_dir, out)
    s = FrameSchedule.load(out / "schedule.json")
    s.all_kept().save(out / "schedule.json")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"]["schedule.json"] = sha256_file(out / "schedule.json")
    manifest["keep_ratio"] = [1.0] * len(s.layers)
    resign(out, manifest, indent=2)
    load_bundle(out)
    return out


@pytest.fixture(scope="module")
def report_dir(bundle_dir: Path, full_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rep") / "half"
    assert main(["report", str(bundle_dir), "--profile", "loihi1", "--samples", str(SAMPLES),
                 "--compare", str(full_dir), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def data(report_dir: Path) -> dict:
    return json.loads((report_dir / "report.json").read_text())


def test_files_and_json_keys(report_dir: Path, data: dict, bundle_dir: Path) -> None:
    for name in ("report.md", "report.csv", "report.json", "report.tex"):
        assert (report_dir / name).is_file()
    for key in ("source", "profile", "samples", "accuracy", "layers",
                "total_energy_pj_per_sample", "ann_energy_pj_per_sample", "versions", "sha256"):
        assert key in data
    assert data["samples"] == SAMPLES and data["profile"]["name"] == "loihi1"
    assert data["sha256"] == load_bundle(bundle_dir).sha256
    assert {"lava-nc", "lava-dl", "torch", "numpy"} <= set(data["versions"])
    src = data["source"]
    assert src["kind"] == "lava" and src["tag"] == "fixed_pt"
    assert src["cross_check"]["mismatches"] == 0 and src["cross_check"]["samples"] == SAMPLES
    assert len(data["layers"]) == 4
    for row in data["layers"]:
        assert LAYER_KEYS <= set(row)
    md = (report_dir / "report.md").read_text()
    assert data["sha256"] in md and "Lava fixed_pt" in md and "lava-nc 0.10.0" in md
    assert data["bundle_id"] == load_bundle(bundle_dir).id and f"`{data['bundle_id']}`" in md
    assert "0 mismatches" in md
    assert src["lava_checked_samples"] == SAMPLES
    assert f"- **Lava vs. reference:** compared on {SAMPLES} of the {SAMPLES} samples\n" in md


def test_accuracy_is_the_deploy_accuracy_of_the_same_samples(data: dict, bundle_dir: Path) -> None:
    b = load_bundle(bundle_dir)
    s = load_test_samples(b, SAMPLES)
    out = Reference(b.network).simulate(torch.from_numpy(s.x), {
        i: torch.from_numpy(m) for i, m in b.gates.items()}, stream=True).outputs[-1]
    pred = out.numpy().sum(-1).argmax(-1)
    assert data["accuracy"] == pytest.approx(float((pred == s.labels).mean()))


def test_events_per_frame_is_the_mean_input_count(data: dict, bundle_dir: Path) -> None:
    s = load_test_samples(load_bundle(bundle_dir), data["samples"], data["first_sample"])
    x = np.asarray(s.x)
    expected = x.reshape(x.shape[0], -1, x.shape[-1]).sum(axis=1).mean(axis=0)
    assert len(data["input_events_per_frame"]) == data["frames"]
    assert np.allclose(data["input_events_per_frame"], expected)
    assert max(data["input_events_per_frame"]) > 0


def test_counts_against_independent_recount(data: dict, bundle_dir: Path) -> None:
    """Spikes, synops (as #(output, tap) pairs reading a spike) and dense MACs recounted in
    netx (x, y, f) order straight from the reference's spikes, without the report's code."""
    b = load_bundle(bundle_dir)
    s = load_test_samples(b, SAMPLES)
    res = Reference(b.network).simulate(torch.from_numpy(s.x), {
        i: torch.from_numpy(m) for i, m in b.gates.items()}, stream=True)
    T = b.frames
    for layer, row, inp, out in zip(b.network.layers, data["layers"], res.inputs, res.outputs):
        inp, out = inp.double(), out.double()
        assert row["input_spikes"] == pytest.approx(inp.sum().item() / SAMPLES)
        assert row["output_spikes"] == pytest.approx(out.sum().item() / SAMPLES)
        assert row["neuron_updates"] == layer.num_neurons * T  # pruned frames still decay
        if layer.kind == "dense":
            n_in = int(np.prod(layer.input_shape))
            assert row["synops"] == pytest.approx(inp.sum().item() * layer.num_neurons / SAMPLES)
            assert row["dense_macs"] == n_in * layer.num_neurons * T
        else:  # conv in (x, y) order: [N*T, f, x, y] with a (kx, ky) kernel of ones
            w = torch.ones(layer.output_shape[2], layer.input_shape[2] // layer.groups,
                           layer.weight.shape[1], layer.weight.shape[2], dtype=torch.float64)
            conv = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                        groups=layer.groups)
            frames = inp.permute(0, 4, 3, 1, 2).reshape(-1, *inp.shape[3:4], *inp.shape[1:3])
            assert row["synops"] == pytest.approx(F.conv2d(frames, w, **conv).sum().item()
                                                  / SAMPLES)
            ones = torch.ones(1, layer.input_shape[2], *layer.input_shape[:2], dtype=torch.float64)
            assert row["dense_macs"] == F.conv2d(ones, w, **conv).sum().item() * T
    mask = b.gates
    for i, row in enumerate(data["layers"]):
        assert row["pruned_frames"] == int((~mask[i]).sum())
        assert row["input_spikes_on_pruned_frames"] == 0


def test_layer_spec_converts_netx_order_on_a_non_square_conv() -> None:
    """(x, y, f) -> (C, H, W) with asymmetric kernel, stride and padding, checked against a
    conv computed directly in netx (x, y) order; an Input block has one synapse per spike."""
    from razor_neuro.counting import count_layer
    from razor_neuro.export.netfile import NetLayer, NeuronParams

    neuron = NeuronParams("CUBA", 80, 4096, 4096)
    layer = NetLayer(index=0, file_index=0, kind="conv", flatten_before=False,
                     input_shape=(5, 3, 2), output_shape=(3, 3, 4), neuron=neuron,
                     weight=np.ones((4, 3, 1, 2), dtype=int), stride=(2, 1), padding=(1, 0),
                     dilation=(1, 1), groups=1)
    spec = measure.layer_spec(layer, "c")
    assert spec.in_shape == (2, 3, 5) and spec.out_shape == (4, 3, 3) and spec.kernel == (1, 3)
    x = (torch.rand(2, 5, 3, 2, 4, generator=torch.Generator().manual_seed(0)) < 0.4)
    y = torch.zeros(2, 3, 3, 4, 4, dtype=torch.bool)
    c = count_layer(spec, torch.from_numpy(measure.to_slayer(x)),
                    torch.from_numpy(measure.to_slayer(y)))
    frames = x.double().permute(0, 4, 3, 1, 2).reshape(-1, 2, 5, 3)  # [N*T, f, x, y]
    w = torch.ones(4, 2, 3, 1, dtype=torch.float64)
    assert c.synops == F.conv2d(frames, w, stride=(2, 1), padding=(1, 0)).sum().item()
    assert c.dense_macs == F.conv2d(torch.ones(1, 2, 5, 3, dtype=torch.float64), w,
                                    stride=(2, 1), padding=(1, 0)).sum().item() * 4 * 2
    inp = NetLayer(index=0, file_index=0, kind="input", flatten_before=False, input_shape=(6,),
                   output_shape=(6,), neuron=neuron)
    spec = measure.layer_spec(inp, "in")
    s = torch.rand(3, 6, 5, generator=torch.Generator().manual_seed(1)) < 0.5
    c = count_layer(spec, s, s)
    assert c.synops == int(s.sum()) and c.dense_macs == 6 * 5 * 3


def test_energy_is_counts_times_toml_constants(data: dict) -> None:
    e, ann = _toml("loihi1"), _toml("cmos45nm")
    for block in (data, data["without_schedule"], data["compare"]):
        total = ann_total = 0.0
        for r in block["layers"]:
            active = r["output_spikes"]
            expect = (r["synops"] * e["synop"]
                      + (r["neuron_updates"] - active) * e["neuron_update_inactive"]
                      + active * e["neuron_update_active"]
                      + r["output_spikes"] * e["spike_within_tile"])
            assert r["energy_pj"] == pytest.approx(expect, rel=1e-12)
            assert r["ann_energy_pj"] == pytest.approx(r["dense_macs"] * ann["mac"], rel=1e-12)
            total += expect
            ann_total += r["dense_macs"] * ann["mac"]
        assert block["total_energy_pj_per_sample"] == pytest.approx(total, rel=1e-12)
        assert block["ann_energy_pj_per_sample"] == pytest.approx(ann_total, rel=1e-12)


def test_schedule_saves_synops_and_energy(data: dict) -> None:
    w = data["without_schedule"]
    assert not w["same_run"]
    assert data["totals"]["synops"] < w["totals"]["synops"]
    assert data["total_energy_pj_per_sample"] < w["total_energy_pj_per_sample"]
    assert data["savings"]["synops_ratio"] == pytest.approx(
        data["totals"]["synops"] / w["totals"]["synops"])
    for r, u in zip(data["layers"], w["layers"]):
        assert r["synops"] <= u["synops"] and u["pruned_frames"] == 0


def test_compare_runs_the_other_bundle_on_the_same_samples(data: dict, full_dir: Path) -> None:
    b, c = data["compare"], data["comparison"]
    assert b["sha256"] == load_bundle(full_dir).sha256 and b["without_schedule"]["same_run"]
    # one cross-checked run per Lava run: two for A (with and without), one for B
    assert [len(n["source"]["cross_check"]["runs"]) for n in (data, b)] == [2, 1]
    assert b["samples"] == data["samples"] and b["first_sample"] == data["first_sample"]
    # same weights, all frames kept, same samples: exactly the half bundle's unscheduled counts
    for rb, ru in zip(b["layers"], data["without_schedule"]["layers"]):
        for key in ("input_spikes", "output_spikes", "synops", "energy_pj"):
            assert rb[key] == ru[key]
    assert b["accuracy"] == data["without_schedule"]["accuracy"]
    assert c["synops_ratio_a_over_b"] < 1 and c["energy_ratio_a_over_b"] < 1
    assert c["energy_reduction"] == pytest.approx(1 - c["energy_ratio_a_over_b"])


def test_compare_table_names_each_bundles_keep_ratios(report_dir: Path) -> None:
    # keep_ratio=0.5 in training: the first gated layer keeps half, deeper layers keep all
    assert "| keep ratio per gated layer | 0.5, 1, 1, 1 | 1, 1, 1, 1 |" in (report_dir / "report.md").read_text()


def test_csv(report_dir: Path, data: dict) -> None:
    text = (report_dir / "report.csv").read_text()
    rows = list(csv.DictReader(io.StringIO("".join(
        line for line in text.splitlines(keepends=True) if not line.startswith("#")))))
    assert len(rows) == 2 * 2 * (len(data["layers"]) + 1)
    tot = [r for r in rows if r["network"] == data["label"] and r["schedule"] == "with"
           and r["layer"] == "total"]
    assert float(tot[0]["energy_pj"]) == pytest.approx(data["total_energy_pj_per_sample"])
    assert float(tot[0]["synops"]) == pytest.approx(data["totals"]["synops"])
    assert "# source: Lava fixed_pt" in text


def test_figures_open_as_images(report_dir: Path, data: dict) -> None:
    import matplotlib.image as mpimg

    pngs = sorted((report_dir / "figures").glob("*.png"))
    names = {p.stem for p in pngs}
    assert {"counts", "energy", "schedule", "events", "raster", "comparison"} <= names
    for p in pngs:
        img = mpimg.imread(p)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
        assert float(img[..., :3].std()) > 0.01  # not blank
        pdf = p.with_suffix(".pdf")
        assert pdf.read_bytes()[:5] == b"%PDF-"
    assert sorted(data["figures"]) == sorted(str(p.relative_to(report_dir))
                                             for p in (report_dir / "figures").iterdir())


def _tex_structure(tex: str) -> None:
    body = "\n".join(line.split("%")[0] if not line.lstrip().startswith("%") else ""
                     for line in tex.replace(r"\%", "PCT").splitlines())
    assert body.count(r"\begin{table}") == body.count(r"\end{table}") >= 1
    assert body.count("{") - body.count(r"\{") == body.count("}") - body.count(r"\}")
    for spec, inner in re.findall(r"\\begin\{tabular\}\{([lrc]+)\}(.*?)\\end\{tabular\}",
                                  body, flags=re.S):
        for line in inner.splitlines():
            line = line.strip()
            if line.endswith(r"\\") and r"\multicolumn" not in line:
                assert line.count("&") == len(spec) - 1, line
        assert r"\toprule" in inner and r"\bottomrule" in inner
    for ch in ("_", "#", "$"):  # unescaped specials outside math
        assert not re.search(rf"(?<!\\){re.escape(ch)}", body.replace("$\\times$", "")), ch


def test_tex_table_structure(report_dir: Path) -> None:
    _tex_structure((report_dir / "report.tex").read_text())


@pytest.mark.skipif(not (shutil.which("pdflatex") or shutil.which("latexmk")),
                    reason="no LaTeX compiler on PATH")
def test_tex_compiles(report_dir: Path, tmp_path: Path) -> None:
    shutil.copy(report_dir / "report.tex", tmp_path / "report.tex")
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n"
                                      "\\begin{document}\n\\input{report.tex}\n\\end{document}\n")
    cmd = (["latexmk", "-pdf", "-interaction=nonstopmode", "doc.tex"] if shutil.which("latexmk")
           else ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"])
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "doc.pdf").is_file()


def test_reference_source_is_licensed_by_verify_and_agrees(bundle_dir: Path, data: dict,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "ref"
    assert main(["report", str(bundle_dir), "--samples", str(SAMPLES), "--source", "reference",
                 "--verify-samples", "2", "--out", str(out)]) == 0
    ref = json.loads((out / "report.json").read_text())
    src = ref["source"]
    assert src["kind"] == "reference" and len(src["verify"]) == 2  # with and without schedule
    assert all(v["mismatches"] == 0 and v["input_mismatches"] == 0 and v["samples"] == 2
               for v in src["verify"])
    assert "verify" in (out / "report.md").read_text()
    assert src["lava_checked_samples"] == 2
    assert ("- **Lava vs. reference:** compared on 2 of the 4 samples; the other 2 ran on the "
            "reference alone\n") in (out / "report.md").read_text()
    for a, b in zip(ref["layers"] + ref["without_schedule"]["layers"],
                    data["layers"] + data["without_schedule"]["layers"]):
        for key in ("input_spikes", "output_spikes", "synops", "neuron_updates", "energy_pj"):
            assert a[key] == b[key]  # the verified reference counts equal Lava's
    assert ref["accuracy"] == data["accuracy"]


def test_reference_refused_when_verify_finds_mismatches(bundle_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    import dataclasses

    from razor_neuro.export import backend

    real = backend.ReferenceSim.run  # a reference that ignores the schedule disagrees
    monkeypatch.setattr(backend.ReferenceSim, "run", lambda self, d, states=False: real(
        self, dataclasses.replace(d, gates={}), states))
    out = tmp_path / "refused"
    assert main(["report", str(bundle_dir), "--samples", "2", "--source", "reference",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "not licensed" in err and len(err.strip().splitlines()) == 1
    assert re.search(r"found \d+ output and [1-9]\d* input mismatches", err)
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace("[energy.synop]\nvalue = 23.6\n", "[energy.synop]\n"),
     "energy.synop.value"),
    (lambda t: t.replace("value = 52.0", "value = -52.0"), "energy.neuron_update_inactive.value"),
    (lambda t: t.replace('value = 81.0\nunit = "pJ"', 'value = 81.0\nunit = "nJ"'),
     "energy.neuron_update_active.unit"),
])
def test_bad_profile_exits_2_naming_the_field(bundle_dir: Path, tmp_path: Path, edit, field,
                                              capsys: pytest.CaptureFixture) -> None:
    text = (PROFILES / "loihi1.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(edit(text))
    assert bad.read_text() != text
    out = tmp_path / "r"
    assert main(["report", str(bundle_dir), "--profile", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and field in err and "bad.toml" in err
    assert not out.exists()


def test_argument_and_compare_refusals(bundle_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture, resign) -> None:
    other = tmp_path / "other"
    shutil.copytree(bundle_dir, other)
    m = json.loads((other / "manifest.json").read_text())
    m["dataset"]["seed"] = 12345
    resign(other, m)
    out = tmp_path / "r"
    assert main(["report", str(bundle_dir), "--compare", str(other), "--out", str(out)]) == 2
    assert "--compare" in capsys.readouterr().err
    assert main(["report", "--out", str(out)]) == 2
    assert main(["report", str(bundle_dir), "--profile", "cmos45nm", "--out", str(out)]) == 2
    assert "neuromorphic" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["report"], "give either a BUNDLE directory or --net FILE.net --input SPIKES.npy"),
    (["report", "b", "--net", "n.net", "--input", "x.npy"],
     "give either a BUNDLE directory or --net FILE.net --input SPIKES.npy"),
    (["report", "--net", "n.net"], "--net needs --input SPIKES.npy"),
    (["report", "b", "--steps", "5"], "--input/--steps go with --net"),
    (["report", "--net", "n.net", "--input", "x.npy", "--compare", "c"],
     "--compare works with bundles, not with --net"),
    (["report", "b", "--verify-samples", "2"], "--verify-samples goes with --source reference"),
])
def test_report_option_combinations_are_checked_by_the_cli(argv: list[str], message: str,
                                                           tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "r"
    assert main(argv + ["--out", str(out)]) == 2
    assert capsys.readouterr().err == f"razor-neuro report: error: {message}\n"
    assert not out.exists()


@pytest.mark.parametrize("command", ["run", "report"])
def test_samples_all_parses_as_none(command: str, capsys: pytest.CaptureFixture) -> None:
    from razor_neuro.cli import build_parser
    parse = build_parser().parse_args
    assert parse([command, "b", "--samples", "all", "--out", "o"]).samples is None
    assert parse([command, "b", "--samples", "7", "--out", "o"]).samples == 7
    with pytest.raises(SystemExit) as exc:
        parse([command, "b", "--samples", "most", "--out", "o"])
    assert exc.value.code == 2
    assert "--samples: expected an integer >= 1 or 'all', got 'most'" in capsys.readouterr().err


def test_whole_test_set_licence_default() -> None:
    from razor_neuro.export.report import make
    assert make.LICENCE_SAMPLES == 32


def _split_size(bundle: Path) -> int:
    from razor_neuro.data import dataset_from_spec
    return len(dataset_from_spec(load_bundle(bundle).manifest["dataset"], train=False))


def test_samples_all_loads_every_test_sample(bundle_dir: Path, tmp_path: Path) -> None:
    b, n = load_bundle(bundle_dir), _split_size(bundle_dir)
    every = load_test_samples(b, None)
    assert every.x.shape[0] == len(every.labels) == n > SAMPLES
    rest = load_test_samples(b, None, 5)
    assert np.array_equal(rest.x, every.x[5:]) and np.array_equal(rest.labels, every.labels[5:])
    with pytest.raises(ValueError, match=f"the test split has {n} samples, asked for all from {n}"):
        load_test_samples(b, None, n)
    assert main(["run", str(bundle_dir), "--samples", "all", "--out", str(tmp_path)]) == 0
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["samples"] == len(run["predictions"]) == n


def test_report_over_the_whole_test_set_states_the_lava_check(
        bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    """--samples all with the reference: every test sample counted, Lava licensing the
    reference on the first LICENCE_SAMPLES of them (5 here, as the split has fewer than 32)."""
    from razor_neuro.export.report import make
    monkeypatch.setattr(make, "LICENCE_SAMPLES", 5)
    n, out = _split_size(bundle_dir), tmp_path / "all"
    assert main(["report", str(bundle_dir), "--samples", "all", "--source", "reference",
                 "--out", str(out)]) == 0
    d = json.loads((out / "report.json").read_text())
    assert d["samples"] == n and d["first_sample"] == 0
    assert d["source"]["lava_checked_samples"] == 5
    assert [v["samples"] for v in d["source"]["verify"]] == [5, 5]  # with and without schedule
    assert (f"- **Lava vs. reference:** compared on 5 of the {n} samples; the other {n - 5} ran "
            "on the reference alone\n") in (out / "report.md").read_text()
    assert f"per sample over {n} sample(s)" in capsys.readouterr().out
    out3 = tmp_path / "three"
    assert main(["report", str(bundle_dir), "--samples", "all", "--source", "reference",
                 "--verify-samples", "3", "--out", str(out3)]) == 0
    d3 = json.loads((out3 / "report.json").read_text())
    assert d3["source"]["lava_checked_samples"] == 3 and d3["samples"] == n
    for a, b in zip(d3["layers"], d["layers"]):
        assert a["synops"] == b["synops"]  # same counts, another licence


def _fake_report(tmp: Path, text: str) -> None:
    (tmp / "report.md").write_text(text)
    (tmp / "report.json").write_text(json.dumps({"format": FORMAT}))


def test_failed_write_leaves_nothing_and_keeps_the_old_report(tmp_path: Path) -> None:
    out = tmp_path / "r"

    def boom(tmp: Path) -> None:
        (tmp / "report.md").write_text("partial")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        write_report_dir(out, boom)
    assert not list(tmp_path.iterdir())
    write_report_dir(out, lambda tmp: _fake_report(tmp, "old"))
    with pytest.raises(RuntimeError):
        write_report_dir(out, boom, overwrite=True)
    assert (out / "report.md").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    write_report_dir(out, lambda tmp: _fake_report(tmp, "new"), overwrite=True)
    assert (out / "report.md").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def _tiny_report(kind: str = "bundle", compare: bool = False) -> report_data.Report:
    """A report assembled from counts of random spikes, without Lava: two dense layers,
    T = 5, 3 samples; a bundle (first layer gated, Lava source) or a net (reference source)."""
    from razor_neuro.counting import LayerSpec, count_layer
    from razor_neuro.energy import load_profile
    from razor_neuro.export.report.assemble import assemble

    g = torch.Generator().manual_seed(0)
    specs = [LayerSpec("layer0", "dense", (6,), (4,)), LayerSpec("layer1", "dense", (4,), (2,))]
    spikes = [torch.rand(3, n, 5, generator=g) < 0.3 for n in (6, 4, 2)]
    run = measure.RunCounts([count_layer(s, spikes[i], spikes[i + 1])
                             for i, s in enumerate(specs)], 0.5, [], [0, 0], [1, 0],
                             [1.0] * 5)
    layers = [report_data.LayerMismatches(name=s.name, mismatches=0,
                                          input_mismatches=0 if kind == "bundle" else None)
              for s in specs]
    if kind == "bundle":
        check = report_data.Agreement(method="m", mismatches=0, input_mismatches=0,
                                      layers=layers)
        source = report_data.Source(kind="lava", tag="fixed_pt", description="d", licence="l",
                                    lava_checked_samples=3, cross_check=report_data.CrossCheck(
                                        method="m", samples=3, mismatches=0, runs=[check]))
    else:
        source = report_data.Source(kind="reference", tag="fixed_pt", description="d",
                                    licence="l", lava_checked_samples=1,
                                    verify=[report_data.VerifyRun(
                                        samples=1, steps=5, mismatches=0, tolerance=0,
                                        agree=True, lava="fixed_pt", reference="torch",
                                        gates="no schedule", input_mismatches=0,
                                        layers=layers)])
    bundle = kind == "bundle"
    m = measure.Measurement(
        label="tiny", kind=kind, path="/b", sha256="ab", network_path="/b/network.net",
        network_sha256="cd", names=[s.name for s in specs], kinds=["dense", "dense"],
        specs=specs, frames=5, samples=3, first_sample=0,
        gates={0: np.array([1, 0, 1, 1, 0], bool)} if bundle else {}, with_schedule=run,
        without_schedule=run, same_run=not bundle, source=source,
        manifest={"keep_ratio": [0.6], "training": {"epochs": 1}, "dataset": {"name": "x"},
                  "versions": {"torch": "2"}} if bundle else None,
        bundle_id="ab" if bundle else None, input_path=None if bundle else "/in.npy")
    return assemble(m, load_profile("loihi1"), load_profile("cmos45nm"), m if compare else None)


@pytest.mark.parametrize("kind, compare", [("bundle", False), ("bundle", True), ("net", False)])
def test_report_json_round_trip(kind: str, compare: bool) -> None:
    """write -> read gives an equal Report, which writes the same bytes again."""
    rep = _tiny_report(kind, compare)
    rep.figures = ["figures/counts.png", "figures/counts.pdf"]
    text = report_data.json_text(rep)
    back = report_data.from_json(json.loads(text))
    assert back == rep and report_data.json_text(back) == text
    assert ("keep_ratio" in json.loads(text)) == (kind == "bundle")  # inline block, or none


def test_report_json_of_a_real_report_reads_back(report_dir: Path) -> None:
    text = (report_dir / "report.json").read_text()
    rep = report_data.load(report_dir / "report.json")
    assert rep.primary.run.layers[0].name == "layer0" and rep.compare is not None
    assert report_data.json_text(rep) == text


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["layers"][1].pop("synops"), "layers[1].synops: missing"),
    (lambda d: d.update(samples="four"), "samples: expected an integer, got 'four'"),
    (lambda d: d["without_schedule"].update(same_run=1),
     "without_schedule.same_run: expected true or false, got 1"),
    (lambda d: d["profile"]["energy"]["synop"].update(value="23.6"),
     "profile.energy.synop.value: expected a number, got '23.6'"),
    (lambda d: d["source"]["cross_check"].update(runs={}),
     "source.cross_check.runs: expected a list, got {}"),
    (lambda d: d.pop("keep_ratio"), "keep_ratio: missing"),
    (lambda d: d["totals"].update(synapses=3), "totals.synapses: unknown field"),
    (lambda d: d.update(format="razor-neuro-report/0"),
     "format: expected 'razor-neuro-report/1', got 'razor-neuro-report/0'"),
])
def test_reading_a_bad_report_json_names_the_field(edit, message: str, tmp_path: Path) -> None:
    d = json.loads(report_data.json_text(_tiny_report()))
    edit(d)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ReportError) as err:
        report_data.load(path)
    assert str(err.value) == f"{path}: {message}"


def test_net_report_on_the_oxford_network(oxford: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "oxford"
    assert main(["report", "--net", str(oxford / "network.net"), "--input",
                 str(oxford / "input.npy"), "--steps", "2000", "--profile", "loihi2-estimate",
                 "--source", "reference", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    d = json.loads((out / "report.json").read_text())
    assert d["kind"] == "net" and d["accuracy"] is None and d["frames"] == 2000
    assert d["source"]["kind"] == "reference" and d["source"]["verify"][0]["mismatches"] == 0
    assert [r["output_spikes"] for r in d["layers"]][-1] == 9565  # Lava's count (README)
    assert d["layers"][0]["synops"] == d["layers"][0]["input_spikes"] * 256
    assert d["without_schedule"]["same_run"] and d["schedule"] == []
    caveat = tomllib.loads((PROFILES / "loihi2-estimate.toml").read_text())["caveat"]
    for name in ("report.md", "report.tex", "report.csv"):
        assert caveat in (out / name).read_text().replace("\n", " ") or \
            caveat.replace("_", r"\_") in (out / name).read_text()
    assert d["profile"]["caveat"] == caveat and caveat in stdout
    _tex_structure((out / "report.tex").read_text())
    e = _toml("loihi2-estimate")
    r = d["layers"][1]
    assert r["energy_pj"] == pytest.approx(
        r["synops"] * e["synop"] + (r["neuron_updates"] - r["output_spikes"])
        * e["neuron_update_inactive"] + r["output_spikes"] * (e["neuron_update_active"]
                                                               + e["spike_within_tile"]))

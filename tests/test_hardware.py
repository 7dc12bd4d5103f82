"""SANA-FE behind ``report --hw-model sanafe`` (issue #24): our mapping path reproduces
SANA-FE's own DVS-gesture example, the structural synapses equal netx's convolution, a
report replays Lava's spikes with 0 mismatches, and bad input gives one line and its code."""
from __future__ import annotations

import dataclasses
import json
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace as NS

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from razor_neuro.cli import main
from razor_neuro.export.hardware import mapping
from razor_neuro.export.hardware.mapping import (HardwareModelRefused, edges, import_sanafe,
                                                 load_architecture, place)
from razor_neuro.export.hardware.sanafe import build, quiet

sanafe = pytest.importorskip("sanafe")
DVS_STEPS = 1000
#: neurons fired in 1,000 steps, the check in SANA-FE's DVS tutorial (tutorial_5_dvs)
DVS_FIRED = 365277
#: the tutorial's cores per layer
DVS_SPREAD = [1, 4, 16, 16, 4, 1]


def _conv(w: np.ndarray, shape: tuple, stride: int) -> NS:
    """A netx-like conv block from a SANA-FE kernel ``(W, H, C_in, C_out)``: SANA-FE's
    row-major neuron order is our (x, y, f) with x its slow axis, so kx = dim 0."""
    x, y, _ = shape
    out = ((x - 3) // stride + 1, (y - 3) // stride + 1, w.shape[3])
    return NS(kind="conv", weight=w.transpose(3, 0, 1, 2), input_shape=shape, output_shape=out,
              stride=(stride, stride), padding=(0, 0), dilation=(1, 1), groups=1,
              flatten_before=False, num_neurons=int(np.prod(out)))


def _dvs_network(a) -> NS:
    l1 = _conv(a["conv1"], (32, 32, 1), 2)
    l2 = _conv(a["conv2"], l1.output_shape, 1)
    l3 = _conv(a["conv3"], l2.output_shape, 1)
    l4 = _conv(a["conv4"], l3.output_shape, 1)
    # SANA-FE flattens conv4 channel-major (f, x, y); netx flattens (f, y, x)
    f, x, y = np.meshgrid(np.arange(11), np.arange(9), np.arange(9), indexing="ij")
    w = np.asarray(a["dense1"]).T
    wn = np.zeros_like(w)
    wn[:, (f * 81 + y * 9 + x).ravel()] = w[:, (f * 81 + x * 9 + y).ravel()]
    d = NS(kind="dense", weight=wn, input_shape=(891,), output_shape=(11,), flatten_before=True,
           num_neurons=11)
    return NS(path="dvs_challenge.npz", input_shape=(32, 32, 1), layers=[l1, l2, l3, l4, d])


def _sim(chip) -> dict:
    with quiet():
        return chip.sim(DVS_STEPS)


def test_dvs_example_reproduced_through_our_mapping_path() -> None:
    """SANA-FE's own build of its DVS example (sanafe.layers, the tutorial's mapping) and
    ours (netx-like blocks -> edges/place/build, SANA-FE's LIF with the example's weights,
    thresholds and biases) fire the same neurons and charge the same synapse and soma
    energy.  Network energy and time differ by design: our placement numbers neurons in
    netx order and sends one message per destination core."""
    import sanafe.layers
    a = np.load(files("sanafe.examples") / "dvs_challenge.npz")
    th = a["thresholds"]
    arch, _ = load_architecture(sanafe)
    theirs = sanafe.Network()
    layers = [sanafe.layers.Input2D(theirs, 32, 32, threshold=th[0])]
    layers.append(sanafe.layers.Conv2D(theirs, layers[-1], a["conv1"], stride_width=2,
                                       stride_height=2, threshold=th[1]))
    for k, name in enumerate(("conv2", "conv3", "conv4")):
        layers.append(sanafe.layers.Conv2D(theirs, layers[-1], a[name], threshold=th[2 + k]))
    layers.append(sanafe.layers.Dense(theirs, layers[-1], 11, a["dense1"], threshold=th[5]))
    for n, b in zip(layers[0], a["inputs"]):
        n.set_attributes(model_attributes={"bias": b})
    cores, used = arch.cores(), 0
    for layer, k in zip(layers, DVS_SPREAD):
        per = len(layer) // k
        for i in range(k):
            for n in (layer[i * per:] if i == k - 1 else layer[i * per:(i + 1) * per]):
                n.map_to_core(cores[used])
            used += 1
    chip = sanafe.SpikingChip(arch)
    chip.load(theirs)
    ref = _sim(chip)

    net = _dvs_network(a)
    pl = place(net, ["c1", "c2", "c3", "c4", "d"], arch, spread=DVS_SPREAD)
    # the example connects through SANA-FE's default (first) synapse unit
    pl = dataclasses.replace(pl, groups=tuple(
        dataclasses.replace(g, synapse_unit="loihi_dense_synapse") for g in pl.groups))
    with quiet():
        ours = build(sanafe, arch, net, pl, attrs=[{"threshold": float(v)} for v in th[1:]],
                     weights=True, input_attrs={"threshold": float(th[0])})
        for n, b in zip(ours["input"], a["inputs"]):
            n.set_attributes(model_attributes={"bias": float(b)})
        chip = sanafe.SpikingChip(arch)
        chip.load(ours)
    got = _sim(chip)
    assert ref["neurons_fired"] == got["neurons_fired"] == DVS_FIRED
    for key in ("spikes", "neurons_updated"):
        assert got[key] == ref[key], key
    for kind in ("synapse", "soma"):
        assert got["energy"][kind] == pytest.approx(ref["energy"][kind], rel=1e-9), kind


def test_conv_edges_are_netx_convolution() -> None:
    """Every (pre, post) synapse equals torch's conv2d connectivity for a non-square input
    with stride, padding, dilation and groups (netx (x, y, f) numbering)."""
    rng = np.random.default_rng(0)
    layer = NS(kind="conv", weight=rng.integers(-5, 5, (6, 3, 2, 2)), input_shape=(7, 5, 4),
               output_shape=None, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2,
               flatten_before=False)
    x_n, y_n, c = layer.input_shape
    eye = torch.eye(x_n * y_n * c).reshape(-1, x_n, y_n, c).permute(0, 3, 2, 1)  # N, C, H, W
    wt = torch.ones(6, 2, 2, 3)  # (C_out, C_in/g, kH, kW)
    out = F.conv2d(eye, wt, stride=(1, 2), padding=(0, 1), dilation=(2, 1), groups=2)
    layer.output_shape = (out.shape[3], out.shape[2], out.shape[1])
    want = out.permute(0, 3, 2, 1).reshape(out.shape[0], -1) > 0
    pre, post = edges(layer, layer.input_shape)
    got = np.zeros(want.shape, dtype=bool)
    got[pre, post] = True
    assert len(pre) == int(want.sum()) and (got == want.numpy()).all()


def test_network_over_one_chip_is_refused() -> None:
    arch, _ = load_architecture(sanafe)
    big = NS(path="big.net", input_shape=(64,), layers=[
        NS(kind="dense", weight=np.broadcast_to(0, (130 * 1024, 64)), num_neurons=130 * 1024)])
    with pytest.raises(HardwareModelRefused, match="needs 131 Loihi cores"):
        place(big, ["layer0"], arch)


def test_bad_architecture_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "arch.yaml"
    bad.write_text("architecture: [unclosed\n")
    out = tmp_path / "r"
    assert main(["report", str(tmp_path / "bundle"), "--hw-model", "sanafe", "--hw-arch",
                 str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--hw-arch" in err[0] and str(bad) in err[0]
    assert not out.exists()


@pytest.mark.parametrize("version", ["", "2.2.8"])
def test_sanafe_absent_or_other_version_exits_4(version: str, tmp_path: Path, monkeypatch,
                                                capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(mapping, "package_version", lambda name, missing="": version)
    with pytest.raises(HardwareModelRefused):
        import_sanafe()
    out = tmp_path / "r"
    assert main(["report", str(tmp_path / "bundle"), "--hw-model", "sanafe",
                 "--out", str(out)]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sanafe==2.2.9" in err[0]
    assert not out.exists()


def test_report_replays_lava_spikes(trained_bundle, tmp_path: Path) -> None:
    """A demo bundle's report with --hw-model sanafe: 0 spike mismatches, SANA-FE's
    synaptic events equal the counted synops, kinds sum to the total, positive energy and
    latency with and without the schedule, the ratio to loihi1, the figure and each format."""
    bundle = trained_bundle(0.5)[1]
    out = tmp_path / "rep"
    assert main(["report", str(bundle), "--samples", "3", "--hw-model", "sanafe",
                 "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    hw = data["hardware_model"]
    assert hw["name"] == "sanafe" and hw["package_version"] == "2.2.9"
    assert hw["spike_mismatches"] == 0 and 0 < hw["cores"] <= hw["cores_available"] == 128
    runs = [("with_schedule", data), ("without_schedule", data["without_schedule"])]
    for key, net in runs:
        r = hw[key]
        assert r["energy_pj_per_sample"] > 0 and r["latency_s_per_sample"] > 0
        assert sum(r["energy_pj_by_kind"].values()) == pytest.approx(r["energy_pj_per_sample"])
        assert sum(r["energy_pj_per_step"]) == pytest.approx(r["energy_pj_per_sample"])
        assert sum(r["time_s_per_step"]) == pytest.approx(r["latency_s_per_sample"])
        assert r["synaptic_events_per_sample"] == pytest.approx(net["totals"]["synops"], rel=1e-12)
        assert r["ratio_to_constants"] == pytest.approx(
            r["energy_pj_per_sample"] / net["total_energy_pj_per_sample"])
        assert r["edp_js"] == pytest.approx(r["energy_pj_per_sample"] * 1e-12
                                            * r["latency_s_per_sample"])
    assert hw["energy_pj_per_sample"] == hw["with_schedule"]["energy_pj_per_sample"]
    assert hw["with_schedule"]["energy_pj_by_kind"]["synapse"] < \
        hw["without_schedule"]["energy_pj_by_kind"]["synapse"]
    assert (out / "figures" / "hardware_steps.png").is_file()
    assert "## Hardware model (SANA-FE)" in (out / "report.md").read_text()
    assert "section=hardware_model" in (out / "report.csv").read_text()
    assert "SANA-FE" in (out / "report.tex").read_text()

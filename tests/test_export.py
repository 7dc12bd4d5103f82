"""Export -> bundle -> Lava graph with schedule gates, checked against the reference and the
training model; bundle validation; the export/run/verify CLI."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from razor_neuro.cli import main
from razor_neuro.export.bundle import BundleError, load_bundle
from razor_neuro.export.deploy import predict, run_bundle, load_test_samples
from razor_neuro.export.exporter import export_checkpoint
from razor_neuro.export.lava_graph import GraphError, LavaGraph
from razor_neuro.export.reference import Reference
from razor_neuro.timebase import lava_latency, layer_pipeline_delay
from razor_neuro.export import verify as verify_mod
from razor_neuro.schedule import FrameSchedule, ScheduleError
from razor_neuro.training.checkpoint import CheckpointError, load_checkpoint

SAMPLES = 12
#: every gated layer prunes (one ratio per layer), so every gate in the graph is exercised
KEEP = (0.5, 0.75, 0.75, 0.75)


@pytest.fixture(scope="module")
def trained(trained_bundle) -> Path:
    return trained_bundle(KEEP)[0]


@pytest.fixture(scope="module")
def bundle_dir(trained_bundle) -> Path:
    return trained_bundle(KEEP)[1]


@pytest.fixture(scope="module")
def verified(bundle_dir: Path) -> dict:
    return verify_mod.verify_bundle(load_bundle(bundle_dir), SAMPLES)


def test_bundle_files_and_manifest(bundle_dir: Path) -> None:
    b = load_bundle(bundle_dir)
    assert sorted(p.name for p in bundle_dir.iterdir()) == ["manifest.json", "network.net",
                                                             "schedule.json"]
    for name, digest in b.manifest["files"].items():
        assert hashlib.sha256((bundle_dir / name).read_bytes()).hexdigest() == digest
    assert b.input_shape == (32, 32, 2) and b.frames == 16 and b.manifest["n_classes"] == 6
    assert {"torch", "lava-nc", "lava-dl", "numpy"} <= set(b.manifest["versions"])
    sched = json.loads((bundle_dir / "schedule.json").read_text())
    assert [layer["pipeline_delay"] for layer in sched["layers"]] == [0, 1, 2, 3]
    assert [len(layer["keep_mask"]) for layer in sched["layers"]] == [16] * 4
    assert [sum(layer["keep_mask"]) for layer in sched["layers"]] == [8, 12, 12, 12]


def test_lava_agrees_with_reference_and_gates_hold(verified: dict, bundle_dir: Path) -> None:
    assert verified["mismatches"] == 0 and verified["samples"] == SAMPLES
    assert verified["steps"] == 16
    for row in verified["layers"]:
        assert row["mismatches"] == 0 and row["input_mismatches"] == 0
        assert row["lava_spikes"] == row["reference_spikes"]
        assert row["lava_input_spikes_on_pruned_frames"] == 0  # every layer is gated
    assert verified["layers"][0]["lava_spikes"] > 0 and verified["layers"][-1]["lava_spikes"] > 0
    # the gates really remove something: without them the pruned frames carry spikes
    b = load_bundle(bundle_dir)
    x = load_test_samples(b, SAMPLES).x
    ungated = Reference(b.network).simulate(torch.from_numpy(x)).inputs
    assert sum(int(ungated[i][..., ~m].sum()) for i, m in b.gates.items()) > 0


def test_lava_equals_training_model_deploy_path(trained: Path, bundle_dir: Path) -> None:
    """The deployed graph computes what training called its deploy path, spike for spike."""
    model, ckpt = load_checkpoint(trained)
    b = load_bundle(bundle_dir)
    samples = load_test_samples(b, 4)
    run = LavaGraph(b.network, b.frames, gates=b.gates).run(samples.x)
    x = torch.from_numpy(samples.x.transpose(0, 3, 2, 1, 4)).float()  # netx -> slayer order
    with torch.no_grad():
        _, outs = model(x, model.masks(ckpt.keep_ratios), record=True)
    for lava, torch_out in zip(run.outputs, outs):
        t = torch_out.numpy()
        if t.ndim == 5:
            t = t.transpose(0, 3, 2, 1, 4)
        assert lava.sum() > 0 or t.sum() == 0
        np.testing.assert_array_equal(lava, t != 0)


def test_run_accuracy_equals_reference(bundle_dir: Path, tmp_path: Path) -> None:
    b = load_bundle(bundle_dir)
    result = run_bundle(b, SAMPLES)
    samples = load_test_samples(b, SAMPLES)
    ref = Reference(b.network).simulate(torch.from_numpy(samples.x),
                                        {i: torch.from_numpy(m) for i, m in b.gates.items()}).outputs
    assert result["predictions"] == predict(ref[-1].numpy()).tolist()
    assert result["accuracy"] == float((predict(ref[-1].numpy()) == samples.labels).mean())
    assert result["labels"] == samples.labels.tolist()
    assert all(r["input_spikes_on_pruned_frames"] == 0 for r in result["layers"])


def test_floating_pt_runs_and_is_compared(bundle_dir: Path) -> None:
    result = verify_mod.verify_bundle(load_bundle(bundle_dir), 2, tag="floating_pt")
    assert result["lava"] == "floating_pt" and result["mismatches"] == 0
    assert result["layers"][0]["lava_spikes"] > 0


@pytest.fixture
def copy(bundle_dir: Path, tmp_path: Path) -> Path:
    import shutil
    return Path(shutil.copytree(bundle_dir, tmp_path / "copy"))


def test_tampered_network_is_refused(copy: Path) -> None:
    data = bytearray((copy / "network.net").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "network.net").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="network.net: SHA-256"):
        load_bundle(copy)


def test_truncated_schedule_is_refused(copy: Path, rehash) -> None:
    text = (copy / "schedule.json").read_text()
    (copy / "schedule.json").write_text(text[: len(text) // 2])
    with pytest.raises(BundleError, match="schedule.json: SHA-256"):
        load_bundle(copy)
    rehash(copy, "schedule.json")  # even when the manifest is made to agree
    with pytest.raises(BundleError, match="schedule.json: cannot read"):
        load_bundle(copy)


def test_schedule_of_wrong_length_is_refused(copy: Path, rehash) -> None:
    sched = json.loads((copy / "schedule.json").read_text())
    for layer in sched["layers"]:
        layer["keep_mask"] = layer["keep_mask"][:-1]
    sched["frames"] = 15
    (copy / "schedule.json").write_text(json.dumps(sched))
    rehash(copy, "schedule.json")
    with pytest.raises(BundleError, match="schedule.json: schedule has 15 frames, the network "
                                          "expects 16"):
        load_bundle(copy)


def test_gated_layers_are_found_by_name_and_checked_against_the_network(
        copy: Path, rehash, resign) -> None:
    """Schedule and manifest edited alike (so that they agree with each other): a gated
    layer the network lacks, one layer gated twice, and a pipeline delay the network's
    time base does not give are each refused, naming the manifest."""
    texts = {name: (copy / name).read_text() for name in ("schedule.json", "manifest.json")}

    def edit(change) -> None:
        for name, text in texts.items():
            (copy / name).write_text(text)
        sched = json.loads(texts["schedule.json"])
        change(sched["layers"])
        (copy / "schedule.json").write_text(json.dumps(sched))
        rehash(copy, "schedule.json")
        manifest = json.loads((copy / "manifest.json").read_text())
        change(manifest["gated_layers"])
        resign(copy, manifest)

    names = [layer["name"] for layer in json.loads(texts["schedule.json"])["layers"]]
    edit(lambda layers: layers[-1].update(name="layer9"))
    with pytest.raises(BundleError, match="manifest.json: schedule gates layer 'layer9', which "
                                          "the network does not have"):
        load_bundle(copy)
    edit(lambda layers: layers[1].update(layers[0]))
    with pytest.raises(BundleError, match="must be distinct layers of network.net"):
        load_bundle(copy)
    edit(lambda layers: layers[2].update(pipeline_delay=3))
    with pytest.raises(BundleError, match=re.escape(
            f"pipeline_delay [0, 1, 3, 3] does not match network.net, in which {names} sit at "
            "[0, 1, 2, 3]")):
        load_bundle(copy)
    edit(lambda layers: None)
    assert load_bundle(copy).schedule.pipeline_delays == (0, 1, 2, 3)


def test_schedule_finds_layers_by_name_and_keeps_its_json() -> None:
    s = FrameSchedule.from_dict({"frames": 4, "weights_sha256": "w", "layers": [
        {"name": "layer0", "keep_mask": [1, 0, 1, 1], "keep_ratio": 0.75, "pipeline_delay": 0},
        {"name": "layer3", "keep_mask": [0, 1, 0, 0], "keep_ratio": 0.25, "pipeline_delay": 2}]})
    assert s.pipeline_delays == (0, 2)
    names = ["layer0", "layer1", "layer3"]
    assert s.layer_indices(names) == (0, 2)
    gates = s.gates(names)
    assert list(gates) == [0, 2] and gates[2].tolist() == [False, True, False, False]
    with pytest.raises(ScheduleError, match="gates layer 'layer3', which the network does not"):
        s.gates(["layer0", "layer1", "layer2"])
    full = s.all_kept()
    assert full.masks.all() and full.masks.shape == (2, 4)
    assert (full.layers, full.pipeline_delays, full.weights_sha256) == (s.layers, (0, 2), "w")
    assert [layer["pipeline_delay"] for layer in s.to_dict()["layers"]] == [0, 2]
    assert FrameSchedule.from_dict(s.to_dict()).to_dict() == s.to_dict()


def test_pipeline_delay_of_a_network_layer() -> None:
    def net(*kinds: str) -> SimpleNamespace:
        return SimpleNamespace(layers=[SimpleNamespace(kind=k) for k in kinds])
    synapse_first = net("conv", "conv", "dense")
    assert [layer_pipeline_delay(synapse_first, i) for i in range(3)] == [0, 1, 2] == [
        lava_latency(synapse_first, i) - 1 for i in range(3)]
    assert [layer_pipeline_delay(net("input", "dense", "dense"), i) for i in range(3)] == [0, 0, 1]
    assert layer_pipeline_delay(synapse_first, -1) == 2


def test_manifest_shape_mismatch_and_missing_manifest(copy: Path, resign) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["n_classes"] = 10
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="manifest.json: content does not match its "
                                          "manifest_sha256"):
        load_bundle(copy)
    resign(copy, manifest)
    with pytest.raises(BundleError, match="n_classes 10 but network.net has 6"):
        load_bundle(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(BundleError, match="manifest.json: cannot read"):
        load_bundle(copy)


def test_changed_dataset_is_refused(copy: Path, resign) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["dataset"]["noise_events"] += 1  # same spec fields, other samples
    resign(copy, manifest)
    with pytest.raises(ValueError, match="differs from the one the bundle was exported with"):
        load_test_samples(load_bundle(copy), 2)


def test_wrong_input_shape_is_refused(bundle_dir: Path) -> None:
    b = load_bundle(bundle_dir)
    graph = LavaGraph(b.network, b.frames, gates=b.gates)
    with pytest.raises(GraphError, match=r"expected \[N, 32, 32, 2, T\]"):
        graph.run(np.zeros((1, 2, 32, 32, 16), np.uint8))
    with pytest.raises(GraphError, match="15 frames per sample, the graph expects 16"):
        graph.run(np.zeros((1, 32, 32, 2, 15), np.uint8))
    with pytest.raises(GraphError, match="mask has shape"):
        LavaGraph(b.network, b.frames, gates={0: np.ones(15)})


def test_failed_export_leaves_nothing(trained: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CheckpointError, match="missing.pt: no such checkpoint file"):
        export_checkpoint(tmp_path / "missing.pt", tmp_path / "b1")
    old = torch.load(trained, weights_only=False)
    del old["keep_ratios"]  # as written before keep ratios were per layer
    torch.save(old, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="old.pt: no per-layer keep ratios"):
        export_checkpoint(tmp_path / "old.pt", tmp_path / "b1")
    (tmp_path / "old.pt").unlink()
    from lava.lib.dl.slayer.block.cuba import Dense

    def boom(self: object, handle: object) -> None:
        raise RuntimeError("disk full")
    monkeypatch.setattr(Dense, "export_hdf5", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        export_checkpoint(trained, tmp_path / "b2")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_export_run_verify(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "bundle"
    assert main(["export", str(trained), "--target", "loihi-sim", "--out", str(bundle)]) == 0
    assert main(["export", str(trained), "--out", str(bundle)]) == 4
    assert "already exists" in capsys.readouterr().err
    assert main(["run", str(bundle), "--samples", "3", "--out", str(tmp_path / "r")]) == 0
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["samples"] == 3 and len(run["predictions"]) == 3 and 0 <= run["accuracy"] <= 1
    assert main(["verify", str(bundle), "--samples", "3", "--out", str(tmp_path / "v")]) == 0
    v = json.loads((tmp_path / "v" / "verify.json").read_text())
    assert v["mismatches"] == 0 and v["samples"] == 3 and v["steps"] == 16
    bundle_id = load_bundle(bundle).id  # both outputs name the bundle they measured
    assert run["bundle_id"] == v["bundle_id"] == bundle_id and len(bundle_id) == 16
    assert {"name", "lava_spikes", "reference_spikes", "mismatches"} <= set(v["layers"][0])

    # a reference that ignores the schedule disagrees: exit 1, unless tolerated
    real = verify_mod.ReferenceSim.run
    monkeypatch.setattr(verify_mod.ReferenceSim, "run",
                        lambda self, d, states=False: real(self, dataclasses.replace(d, gates={}),
                                                           states))
    assert main(["verify", str(bundle), "--samples", "3", "--out", str(tmp_path / "v2")]) == 1
    bad = json.loads((tmp_path / "v2" / "verify.json").read_text())
    assert bad["mismatches"] > 0 and not bad["agree"]
    assert main(["verify", str(bundle), "--samples", "3", "--tolerance", "1000000",
                 "--out", str(tmp_path / "v3")]) == 0
    capsys.readouterr()
    assert main(["run", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 3  # not a bundle
    err = capsys.readouterr().err.strip()
    assert "nope: not a bundle directory" in err and len(err.splitlines()) == 1


def test_cli_verify_state(bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    """verify --state compares u and v of every layer, neuron and step; a reference whose
    voltages differ by one unit (spikes unchanged) fails it."""
    assert main(["verify", str(bundle_dir), "--samples", "3", "--state",
                 "--out", str(tmp_path / "s")]) == 0
    v = json.loads((tmp_path / "s" / "verify.json").read_text())
    assert v["mismatches"] == 0 and v["state_mismatches"] == 0 and v["agree"]
    assert all(r["current_mismatches"] == 0 and r["voltage_mismatches"] == 0
               for r in v["layers"])
    real = Reference._layer

    def shifted(self, *args):
        spikes, u, v = real(self, *args)
        return spikes, u, v + (v != 0)  # off by one unit wherever the voltage is non-zero

    monkeypatch.setattr(Reference, "_layer", shifted)
    assert main(["verify", str(bundle_dir), "--samples", "3", "--state",
                 "--out", str(tmp_path / "s2")]) == 1
    bad = json.loads((tmp_path / "s2" / "verify.json").read_text())
    assert bad["mismatches"] == 0 and bad["state_mismatches"] > 0 and not bad["agree"]
    assert sum(r["voltage_mismatches"] for r in bad["layers"]) == bad["state_mismatches"]
    assert "state mismatches" in capsys.readouterr().err


def test_cli_verify_external_net(oxford: Path, tmp_path: Path) -> None:
    """Intel's Oxford network, all 2000 steps: spikes (9,565 output spikes, as plain netx
    gives) and every current and voltage agree."""
    assert main(["verify", "--net", str(oxford / "network.net"), "--input",
                 str(oxford / "input.npy"), "--steps", "2000", "--state",
                 "--out", str(tmp_path)]) == 0
    v = json.loads((tmp_path / "verify.json").read_text())
    assert v["mismatches"] == 0 and v["steps"] == 2000 and v["samples"] == 1
    assert v["state_mismatches"] == 0
    assert [r["name"] for r in v["layers"]] == ["layer0", "layer1"]
    assert v["layers"][1]["lava_spikes"] == 9565

"""Prune mode ``skip``: pruned input frames removed from the time axis — the schedule's
form and refusals, the training model's compressed run, and a skip bundle deployed on Lava
against the reference and the training model, verified, run and reported."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from razor_neuro.cli import main
from razor_neuro.epm import skip_frames
from razor_neuro.export.bundle import BundleError, load_bundle
from razor_neuro.export.deploy import load_test_samples
from razor_neuro.export.lava_graph import LavaGraph
from razor_neuro.export.verify import verify_bundle
from razor_neuro.model import RazorSNN
from razor_neuro.presets import PRESETS
from razor_neuro.schedule import FrameSchedule, ScheduleError
from razor_neuro.training.checkpoint import load_checkpoint

KEPT = [0, 2, 3, 5, 7, 9, 12, 14]


def _schedule(mode: str, deeper_keep_all: bool = True, first_delay: int = 0) -> FrameSchedule:
    masks = np.ones((3, 16), dtype=bool)
    masks[0] = False
    masks[0, KEPT] = True
    if not deeper_keep_all:
        masks[2, 4] = False
    return FrameSchedule(masks, ("layer0", "layer1", "layer3"), (first_delay, 1, 2), mode=mode)


def test_skip_schedule_runs_only_the_kept_frames() -> None:
    s = _schedule("skip")
    assert s.steps == 8 and s.step_frames.tolist() == KEPT
    x = np.arange(2 * 16).reshape(2, 16)
    np.testing.assert_array_equal(s.step_input(x), x[:, KEPT])
    gates = s.step_gates(["layer0", "layer1", "layer2", "layer3"])
    assert sorted(gates) == [1, 3] and all(m.shape == (8,) and m.all() for m in gates.values())
    # without the schedule: the same network on every frame
    assert s.all_kept().steps == 16 and s.all_kept().mode == "skip"
    g = _schedule("gate")
    assert g.steps == 16 and g.step_input(x) is x
    assert sorted(g.step_gates(["layer0", "layer1", "layer2", "layer3"])) == [0, 1, 3]


def test_readout_steps_follow_the_kept_frames() -> None:
    s = dataclasses.replace(_schedule("skip"), readout=3)
    assert s.steps == 11 and s.step_frames.tolist() == KEPT
    x = np.arange(1, 2 * 16 + 1).reshape(2, 16)
    np.testing.assert_array_equal(s.step_input(x), np.concatenate([x[:, KEPT], np.zeros((2, 3))], 1))
    gates = s.step_gates(["layer0", "layer1", "layer2", "layer3"])
    assert all(m.shape == (11,) and m.all() for m in gates.values())
    assert s.all_kept().steps == 16  # nothing cut, nothing to read out after
    back = FrameSchedule.from_dict(s.to_dict())
    assert back.readout == 3 and back.steps == 11
    assert "readout_steps" not in _schedule("gate").to_dict()  # gate schedules unchanged
    with pytest.raises(ScheduleError, match="src: readout_steps apply to mode 'skip' only"):
        FrameSchedule.from_dict({**_schedule("gate").to_dict(), "readout_steps": 2}, "src")
    for bad in (-1, True, 1.5):
        with pytest.raises(ScheduleError, match="src: readout_steps must be an integer >= 0"):
            FrameSchedule.from_dict({**s.to_dict(), "readout_steps": bad}, "src")


def test_mode_is_written_read_and_checked() -> None:
    s = _schedule("skip")
    assert FrameSchedule.from_dict(s.to_dict()).mode == "skip"
    old = _schedule("gate").to_dict()
    del old["mode"]  # a schedule written before modes existed
    assert FrameSchedule.from_dict(old).mode == "gate"
    with pytest.raises(ScheduleError, match=r"src: 'mode' must be one of gate, skip, got 'drop'"):
        FrameSchedule.from_dict({**s.to_dict(), "mode": "drop"}, "src")
    with pytest.raises(ScheduleError, match="src: mode 'skip' prunes the first gated layer only; "
                                            "layer3.keep_mask must keep every frame"):
        FrameSchedule.from_dict(_schedule("gate", deeper_keep_all=False).to_dict() |
                                {"mode": "skip"}, "src")
    with pytest.raises(ScheduleError, match="first gated layer must see the input"):
        _schedule("skip", first_delay=1)


def test_skip_frames_equals_running_each_sample_on_its_own_frames() -> None:
    torch.manual_seed(0)
    model = RazorSNN(PRESETS["synthetic"], 0, "skip")
    plain = RazorSNN(PRESETS["synthetic"], 0, "gate")
    plain.load_state_dict(model.state_dict())
    x = (torch.rand(3, 2, 32, 32, 16) < 0.15).float()
    static = torch.zeros(16, dtype=torch.bool)
    static[KEPT] = True
    masks = torch.ones(4, 16, dtype=torch.bool)
    masks[0] = static
    ones8 = torch.ones(4, 8, dtype=torch.bool)
    with torch.no_grad():
        out = model(x, masks)
        assert out.shape == (3, 6, 8)
        assert torch.equal(out, plain(x[..., static], ones8))
        assert out.sum() > 0
        per_sample = torch.ones(4, 3, 16, dtype=torch.bool)
        per_sample[0] = static
        per_sample[0, 1, 3] = False  # sample 1 also loses frame 3 (frame dropout, a probe)
        out = model(x, per_sample)
        k = per_sample[0, 1]
        alone = plain(x[1:2][..., k], torch.ones(4, int(k.sum()), dtype=torch.bool))
        assert torch.equal(out[1:2, :, :7], alone) and out[1, :, 7:].sum() == 0
        assert torch.equal(out[0], plain(x[:1][..., static], ones8)[0])
    # readout steps: the same run, then R empty input steps the network answers in
    reader = RazorSNN(PRESETS["synthetic"], 0, "skip", readout_steps=3)
    reader.load_state_dict(model.state_dict())
    with torch.no_grad():
        out = reader(x, masks)
        tail = torch.cat([x[..., static], torch.zeros(x.shape[:-1] + (3,))], -1)
        assert out.shape == (3, 6, 11)
        assert torch.equal(out, plain(tail, torch.ones(4, 11, dtype=torch.bool)))
    # the gate's factor follows its frames
    f = torch.arange(16.0)
    _, factor, steps = skip_frames(x, static, f)
    assert steps is None and factor.tolist() == [float(t) for t in KEPT]


def test_skip_refuses_pruning_deeper_layers(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["train", "--keep-ratio", "0.5,0.5,1,1", "--prune-mode", "skip", "--epochs", "1",
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--prune-mode skip prunes the first gated layer only" in err[0]
    assert not (tmp_path / "r").exists()
    with pytest.raises(SystemExit) as exc:
        main(["train", "--prune-mode", "drop", "--out", str(tmp_path / "r")])
    assert exc.value.code == 2 and "--prune-mode" in capsys.readouterr().err


@pytest.fixture(scope="module")
def skip_run(trained_bundle) -> tuple[Path, Path]:
    return trained_bundle(0.5, 96, "skip")


def test_skip_bundle_on_lava_equals_reference_and_training_model(skip_run) -> None:
    ckpt_path, bundle_dir = skip_run
    b = load_bundle(bundle_dir)
    assert b.schedule.mode == "skip" and b.steps == 8 and b.frames == 16
    assert json.loads((bundle_dir / "schedule.json").read_text())["mode"] == "skip"
    result = verify_bundle(b, 6, states=True)
    assert result["mismatches"] == 0 and result["state_mismatches"] == 0
    assert result["steps"] == 8 and result["layers"][0]["lava_spikes"] > 0
    # the training model's deploy path runs the same compressed sequences
    model, ckpt = load_checkpoint(ckpt_path)
    samples = load_test_samples(b, 4)
    run = LavaGraph(b.network, b.steps, gates=b.gates).run(b.step_input(samples.x))
    x = torch.from_numpy(samples.x.transpose(0, 3, 2, 1, 4)).float()
    with torch.no_grad():
        _, outs = model(x, model.masks(ckpt.keep_ratios), record=True)
    for lava, t in zip(run.outputs, outs):
        t = t.numpy()
        np.testing.assert_array_equal(lava, (t.transpose(0, 3, 2, 1, 4) if t.ndim == 5 else t) != 0)


def test_readout_bundle_on_lava_equals_reference_and_is_reported(trained_bundle, tmp_path: Path
                                                               ) -> None:
    ckpt_path, bundle_dir = trained_bundle(0.5, 96, "skip", 2)
    b = load_bundle(bundle_dir)
    assert b.steps == 10 and json.loads((bundle_dir / "schedule.json").read_text())["readout_steps"] == 2
    result = verify_bundle(b, 6, states=True)
    assert result["mismatches"] == 0 and result["state_mismatches"] == 0 and result["steps"] == 10
    model, ckpt = load_checkpoint(ckpt_path)
    assert model.readout_steps == 2
    samples = load_test_samples(b, 4)
    run = LavaGraph(b.network, b.steps, gates=b.gates).run(b.step_input(samples.x))
    x = torch.from_numpy(samples.x.transpose(0, 3, 2, 1, 4)).float()
    with torch.no_grad():
        _, outs = model(x, model.masks(ckpt.keep_ratios), record=True)
    last = outs[-1].numpy() != 0
    np.testing.assert_array_equal(run.outputs[-1], last)
    out = tmp_path / "rep"
    assert main(["report", str(bundle_dir), "--samples", "4", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert data["readout_steps"] == 2 and data["totals"]["time_steps"] == 10
    assert data["without_schedule"]["totals"]["time_steps"] == 16
    assert "then 2 empty readout steps" in (out / "report.md").read_text()


def test_readout_steps_refused_in_gate_mode(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["train", "--readout-steps", "2", "--epochs", "1", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--readout-steps: only with --prune-mode skip" in err[0]
    assert not (tmp_path / "r").exists()


def test_skip_report_counts_fewer_steps(skip_run, tmp_path: Path) -> None:
    _, bundle_dir = skip_run
    out = tmp_path / "rep"
    assert main(["report", str(bundle_dir), "--samples", "4", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text())
    assert data["prune_mode"] == "skip"
    assert data["totals"]["time_steps"] == 8
    assert data["without_schedule"]["totals"]["time_steps"] == 16
    assert data["savings"]["time_steps_ratio"] == 0.5
    assert data["savings"]["neuron_updates_ratio"] == 0.5
    assert len(data["input_events_per_frame"]) == 16
    assert "time steps" in (out / "report.md").read_text()
    header = [l for l in (out / "report.csv").read_text().splitlines() if not l.startswith("#")][0]
    assert "time_steps" in header.split(",")


def test_skip_mode_in_schedule_is_tamper_checked(skip_run, tmp_path: Path, rehash,
                                                 capsys: pytest.CaptureFixture) -> None:
    copy = tmp_path / "b"
    shutil.copytree(skip_run[1], copy)
    sched = json.loads((copy / "schedule.json").read_text())
    (copy / "schedule.json").write_text(json.dumps({**sched, "mode": "gate"}))
    with pytest.raises(BundleError, match="schedule.json: SHA-256"):
        load_bundle(copy)
    (copy / "schedule.json").write_text(json.dumps({**sched, "mode": "later"}))
    rehash(copy, "schedule.json")
    assert main(["verify", str(copy), "--samples", "1", "--out", str(tmp_path / "v")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'mode' must be one of gate, skip" in err[0]
    for bad, says in (({**sched, "readout_steps": -1}, "readout_steps must be an integer >= 0"),
                      ({**sched, "mode": "gate", "readout_steps": 2},
                       "readout_steps apply to mode 'skip' only")):
        (copy / "schedule.json").write_text(json.dumps(bad))
        rehash(copy, "schedule.json")
        assert main(["verify", str(copy), "--samples", "1", "--out", str(tmp_path / "v")]) == 3
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0]


def test_nir_export_refuses_a_skip_checkpoint(skip_run, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    code = main(["export", str(skip_run[0]), "--target", "nir", "--out", str(tmp_path / "m.nir")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "NIR cannot express" in err[0]
    assert not (tmp_path / "m.nir").exists()

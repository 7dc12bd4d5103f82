import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from razor_neuro.data.synthetic import SyntheticEvents, SyntheticSpec, frame_pattern, make_sample
from razor_neuro.model import PRESETS, ConfigError, ModelConfig, RazorSNN
from razor_neuro.train import (TrainConfig, TrainError, count_cross_entropy, informative_scores,
                               keep_ratio_at, probe_frames, reweight_at, train)
from razor_neuro.checkpoint import load_checkpoint

TINY = dict(epochs=2, n_samples=48, batch_size=8)


def test_synthetic_is_deterministic_and_marks_frames():
    spec = SyntheticSpec()
    a, la = make_sample(spec, 5)
    b, lb = make_sample(spec, 5)
    assert la == lb and (a == b).all()
    kinds = frame_pattern(spec)
    assert (kinds == 1).sum() == spec.informative_frames
    assert (kinds == 2).sum() == spec.noise_frames
    # empty frames carry no events, noise frames do, informative frames do
    assert a[..., kinds == 0].sum() == 0
    assert all(a[..., t].sum() > 0 for t in range(spec.frames) if kinds[t] != 0)
    ds = SyntheticEvents(spec)
    assert ds.informative.tolist() == (kinds == 1).tolist()
    train_idx, test_idx = set(SyntheticEvents(spec).indices), set(SyntheticEvents(spec, False).indices)
    assert not train_idx & test_idx


def test_noise_frames_are_unrelated_to_the_label():
    spec = SyntheticSpec()
    kinds = frame_pattern(spec)
    noise_t = int((kinds == 2).nonzero()[0][0])
    counts = {make_sample(spec, i)[0][..., noise_t].sum() for i in range(6)}
    assert all(c <= spec.noise_events for c in counts)


def test_schedules_anneal_to_target():
    cfg = TrainConfig(epochs=10, keep_ratio=0.5, prune_start=0.2, anneal_fraction=0.5)
    ratios = [keep_ratio_at(cfg, e) for e in range(10)]
    # all frames while the network first learns the task, then a monotone anneal
    assert ratios[:2] == [1.0, 1.0] and ratios[2] < 1.0 and ratios == sorted(ratios, reverse=True)
    assert ratios[6:] == [0.5] * 4
    assert reweight_at(cfg, 0) > reweight_at(cfg, 5) > 0 and reweight_at(cfg, 6) == 0.0


def test_probe_ignores_empty_frames_and_measures_evidence():
    model = RazorSNN(PRESETS["synthetic"])
    x = (torch.rand(3, 2, 32, 32, 16, generator=torch.Generator().manual_seed(0)) < 0.2).float()
    x[..., 3] = 0
    drop = torch.ones(len(model.epms), 3, 16, dtype=torch.bool)
    _, _, counted = probe_frames(model, x, torch.tensor([0, 1, 2]), drop, 0.0)
    # the empty input frame is never a drop at the first gated layer; the others are
    assert not counted[0, :, 3].any() and counted[0, :, [0, 1, 2, 4]].all()
    out = torch.zeros(1, 6, 16)
    out[0, 0, :4] = 1
    more = out.clone()
    more[0, 0, 4:8] = 1
    y = torch.tensor([0])
    assert count_cross_entropy(more, y) < count_cross_entropy(out, y)


def test_masks_are_hierarchical_and_sized():
    model = RazorSNN(PRESETS["synthetic"])
    masks = model.masks([0.75, 0.5, 0.5, 0.25])
    T = PRESETS["synthetic"].frames
    assert masks.shape == (4, T)
    assert masks.sum(1).tolist() == [12, 8, 8, 4]
    for l in range(1, len(masks)):
        assert not (masks[l] & ~masks[l - 1]).any()


def test_pruned_frames_deliver_nothing():
    model = RazorSNN(PRESETS["synthetic"])
    x = torch.ones(2, 2, 32, 32, 16)
    masks = model.masks(0.5)
    epm = model.epms["0"]
    y = epm(x, masks[0])
    assert (y[..., ~masks[0]] == 0).all() and (y[..., masks[0]] == 1).all()


def test_informative_scores():
    informative = torch.tensor([1, 1, 0, 0], dtype=torch.bool)
    s = informative_scores(torch.tensor([1, 0, 1, 0]), informative)
    assert s == {"informative_frame_recall": 0.5, "pruned_frame_precision": 0.5}
    s = informative_scores(torch.tensor([1, 1, 1, 1]), informative)
    assert s == {"informative_frame_recall": 1.0, "pruned_frame_precision": None}


def test_bad_arguments():
    with pytest.raises(TrainError, match="keep-ratio"):
        train(TrainConfig(keep_ratio=0.0), "/nonexistent")
    with pytest.raises(ConfigError, match=r"layers\[0\].kind"):
        ModelConfig.from_dict({"input_shape": [2], "n_classes": 2, "frames": 4,
                               "layers": [{"kind": "pool", "out": 2}]})


def test_train_writes_contract_and_is_deterministic(tmp_path):
    _, m1 = train(TrainConfig(**TINY), tmp_path / "a", progress=False)
    _, m2 = train(TrainConfig(**TINY), tmp_path / "b", progress=False)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    for key in ("deploy_accuracy", "train_path_accuracy", "frames", "keep_ratio", "kept_frames",
                "epochs", "seconds", "informative_frame_recall", "pruned_frame_precision"):
        assert key in metrics
    assert metrics["frames"] == 16 and len(metrics["kept_frames"]) == len(metrics["keep_ratio"])
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert m1["kept_frames"] == m2["kept_frames"]
    model, ckpt = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    assert ckpt["epoch"] == 1 and all(torch.equal(model.state_dict()[k], a[k]) for k in a)


def test_resume_equals_uninterrupted(tmp_path):
    train(TrainConfig(**{**TINY, "epochs": 1}), tmp_path / "r", progress=False)
    _, resumed = train(TrainConfig(**TINY), tmp_path / "r", resume=True, progress=False)
    _, straight = train(TrainConfig(**TINY), tmp_path / "s", progress=False)
    a = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "s" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert len(resumed["history"]) == 2
    with pytest.raises(TrainError, match="other settings"):
        train(TrainConfig(**{**TINY, "keep_ratio": 0.25}), tmp_path / "r", resume=True, progress=False)


def test_cli_train_and_error(tmp_path):
    cmd = [sys.executable, "-m", "razor_neuro.cli"]
    bad = subprocess.run(cmd + ["train", "--epochs", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--epochs" in bad.stderr
    assert not (tmp_path / "metrics.json").exists()


def test_torchrun_two_ranks_identical_weights(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", "29517", str(worker), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    initial = RazorSNN(PRESETS["synthetic"], seed=0).epms["0"].embedding
    assert not torch.allclose(r0["epms.0.embedding"], initial)  # the pruning phase learned
    assert json.loads((tmp_path / "metrics.json").read_text())["world_size"] == 2


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_build_and_match_loader_shapes(name):
    from razor_neuro.data.loaders import DATASETS
    cfg = PRESETS[name]
    if name != "synthetic":
        x, y, p = DATASETS[name].sensor_size
        expected = (700,) if name == "shd" else (p, y, x)
        assert cfg.input_shape == expected
    model = RazorSNN(cfg)
    out = model(torch.zeros(1, *cfg.input_shape, cfg.frames), model.masks(0.5))
    assert out.shape == (1, cfg.n_classes, cfg.frames)

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from razor_neuro import threads
from razor_neuro.data.synthetic import SyntheticEvents, SyntheticSpec, frame_pattern, make_sample
from razor_neuro.epm import scale_frames
from razor_neuro.model import RazorSNN, gated_block
from razor_neuro.model_config import ConfigError, ModelConfig
from razor_neuro.presets import PRESETS
from razor_neuro.training.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from razor_neuro.threads import available_cores
from razor_neuro.training.config import TrainConfig, TrainError
from razor_neuro.training.evaluate import informative_scores
from razor_neuro.training.loop import train
from razor_neuro.training.policies import (EpochPlan, frame_dropout, keep_ratio_at,
                                          reweight_at)
from razor_neuro.training.probe import count_cross_entropy, probe_frames

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


def test_each_epoch_draws_new_training_samples_never_test_samples():
    spec = SyntheticSpec(n_samples=40)
    train_set, test_set = SyntheticEvents(spec), SyntheticEvents(spec, False)
    epochs = [train_set.for_epoch(e) for e in range(4)]
    assert list(epochs[0].indices) == list(train_set.indices)
    seen = [set(e.indices) for e in epochs]
    assert all(len(s) == len(train_set) for s in seen)
    assert not set().union(*seen) & set(test_set.indices)
    assert all(not seen[i] & seen[j] for i in range(4) for j in range(i))
    x, y = epochs[2][0]
    assert torch.equal(x, torch.from_numpy(make_sample(spec, epochs[2].indices[0])[0]).float())
    assert torch.equal(epochs[2].informative, train_set.informative)
    with pytest.raises(ValueError, match="training split"):
        test_set.for_epoch(1)


def test_noise_frames_are_unrelated_to_the_label():
    spec = SyntheticSpec()
    kinds = frame_pattern(spec)
    noise_t = int((kinds == 2).nonzero()[0][0])
    counts = {make_sample(spec, i)[0][..., noise_t].sum() for i in range(6)}
    assert all(c <= spec.noise_events for c in counts)


def test_schedules_anneal_to_target():
    cfg = TrainConfig(epochs=10, keep_ratio=0.5, prune_start=0.2, anneal_fraction=0.5)
    ratios = [keep_ratio_at(cfg, e, 4) for e in range(10)]
    first = [r[0] for r in ratios]
    # all frames while the network first learns the task, then a monotone anneal
    assert first[:2] == [1.0, 1.0] and first[2] < 1.0 and first == sorted(first, reverse=True)
    assert first[6:] == [0.5] * 4
    # one number prunes the input only; a list anneals every gated layer to its own target
    assert all(r[1:] == [1.0, 1.0, 1.0] for r in ratios)
    per_layer = TrainConfig(epochs=10, keep_ratio=(0.5, 0.75, 1.0, 0.25), prune_start=0.2,
                            anneal_fraction=0.5)
    assert keep_ratio_at(per_layer, 9, 4) == [0.5, 0.75, 1.0, 0.25]
    assert keep_ratio_at(per_layer, 4, 4)[3] < keep_ratio_at(per_layer, 4, 4)[1] < 1.0
    assert reweight_at(cfg, 0) > reweight_at(cfg, 5) > 0 and reweight_at(cfg, 6) == 0.0


def test_probe_ignores_empty_frames_and_measures_evidence():
    model = RazorSNN(PRESETS["synthetic"])
    x = (torch.rand(3, 2, 32, 32, 16, generator=torch.Generator().manual_seed(0)) < 0.2).float()
    x[..., 3] = 0
    drop = torch.ones(len(model.epms), 3, 16, dtype=torch.bool)
    probed = probe_frames(model, x, torch.tensor([0, 1, 2]), drop, 0.0)
    counted, density = probed.drop, probed.density
    assert density.shape == (len(model.epms), 16) and density[0, 3] == 0 and density[0, 0] > 0
    # the empty input frame is never a drop at the first gated layer; the others are
    assert not counted[0, :, 3].any() and counted[0, :, [0, 1, 2, 4]].all()
    out = torch.zeros(1, 6, 16)
    out[0, 0, :4] = 1
    more = out.clone()
    more[0, 0, 4:8] = 1
    y = torch.tensor([0])
    assert count_cross_entropy(more, y) < count_cross_entropy(out, y)


def test_masks_are_per_layer_and_sized():
    model = RazorSNN(PRESETS["synthetic"])
    T = PRESETS["synthetic"].frames
    with torch.no_grad():
        for l, epm in enumerate(model.epms[k] for k in sorted(model.epms, key=int)):
            epm.embedding.copy_(torch.arange(T, dtype=torch.float) * (1 if l % 2 else -1))
    masks = model.masks([0.75, 0.5, 0.5, 0.25])
    assert masks.shape == (4, T)
    assert masks.sum(1).tolist() == [12, 8, 8, 4]
    # each layer keeps the frames its own embedding ranks highest, even ones pruned upstream
    assert masks[0].tolist() == [True] * 12 + [False] * 4
    assert masks[1].tolist() == [False] * 8 + [True] * 8
    assert masks[3].tolist() == [False] * 12 + [True] * 4
    # one number prunes the network's input; deeper gated layers keep every frame
    single = model.masks(0.5)
    assert single[0].sum() == 8 and single[1:].all()
    with pytest.raises(ConfigError, match="one per gated layer"):
        model.masks([0.5, 0.5])
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        model.masks([0.5, 0.5, 0.0, 1.0])


def test_frame_dropout_drops_whole_frames_per_sample():
    masks = torch.ones(3, 16, dtype=torch.bool)
    masks[:, 5] = False
    out = frame_dropout(masks, 200, 0.25, torch.Generator().manual_seed(0))
    assert out.shape == (3, 200, 16)
    assert not out[:, :, 5].any()  # a pruned frame stays pruned
    assert (out == out[0]).all()  # the same frames at every gated layer
    dropped = 1 - out[0][:, masks[0]].float().mean()
    assert 0.2 < dropped < 0.3
    assert (out[0].sum(1) != out[0, 0].sum()).any()  # drawn per sample
    assert frame_dropout(masks, 4, 0.0, torch.Generator()).equal(masks.unsqueeze(1).expand(3, 4, 16))


def test_per_layer_decays_build_the_blocks_and_round_trip():
    d = PRESETS["synthetic"].to_dict()
    assert "current_decay" not in d["layers"][0]  # a layer without its own decays: as before
    d["layers"][0] |= {"current_decay": 0.6, "voltage_decay": 0.1}
    cfg = ModelConfig.from_dict(d)
    assert cfg.to_dict() == d
    model = RazorSNN(cfg)
    scale = model.blocks[0].neuron.p_scale
    decays = [(float(b.neuron.current_decay) / scale, float(b.neuron.voltage_decay) / scale)
              for b in model.blocks if hasattr(b, "neuron")]
    assert decays[0] == pytest.approx((0.6, 0.1), abs=1e-3)
    assert decays[1] == pytest.approx((0.25, 0.03), abs=1e-3)  # the model's own
    d["layers"][1]["voltage_decay"] = 2
    with pytest.raises(ConfigError, match=r"layers\[1\]\.voltage_decay must be a number in \[0.0, 1.0\]"):
        ModelConfig.from_dict(d)


def test_recipes_apply_per_dataset_and_yield_to_given_fields():
    from razor_neuro.training.config import RECIPES

    synthetic = TrainConfig.for_dataset("synthetic", seed=3)
    assert RECIPES["synthetic"] and all(getattr(synthetic, k) == v
                                        for k, v in RECIPES["synthetic"].items())
    assert synthetic.seed == 3 and synthetic.fresh_samples
    assert not TrainConfig.for_dataset("synthetic", fresh_samples=False).fresh_samples
    nmnist = TrainConfig.for_dataset("nmnist")
    assert nmnist.probe_every == 1 != TrainConfig.probe_every and not nmnist.fresh_samples
    assert TrainConfig.for_dataset("nmnist", probe_every=8).probe_every == 8
    assert TrainConfig.for_dataset("shd") == TrainConfig(dataset="shd")  # no recipe


def test_losses():
    from razor_neuro.training.loop import make_loss

    out = (torch.rand(4, 6, 16, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    y = torch.tensor([0, 1, 2, 5])
    count = make_loss(TrainConfig())(out, y)
    logits = out.sum(-1)
    assert count == pytest.approx(float(-(logits.log_softmax(-1)[range(4), y]).sum()))
    rate = make_loss(TrainConfig(loss="rate"))(out, y)
    assert rate != pytest.approx(float(count))
    with pytest.raises(TrainError, match="loss: expected 'rate' or 'count'"):
        make_loss(TrainConfig(loss="hinge"))


def test_probe_and_dropout_policies():
    """The probe runs one batch in probe_every while the schedule is learned, never when
    every target keeps all frames; frame dropout until the freeze, or to the end, and in
    a run that keeps every frame only with dropout_unpruned (the default) or to the end."""
    cfg = TrainConfig(epochs=20, keep_ratio=0.5, probe_every=3)
    learning, frozen = EpochPlan.at(cfg, 0, 4), EpochPlan.at(cfg, 19, 4)
    assert [learning.probes(i) for i in range(7)] == [True, False, False, True, False, False, True]
    assert not any(frozen.probes(i) for i in range(7))
    assert learning.frame_dropout == 0.25 and frozen.frame_dropout == 0.0
    full = TrainConfig(epochs=20, keep_ratio=1.0)
    assert not any(EpochPlan.at(full, 0, 4).probes(i) for i in range(8))
    assert EpochPlan.at(full, 0, 4).frame_dropout == 0.25
    assert EpochPlan.at(full, 19, 4).frame_dropout == 0.0
    bare = TrainConfig(epochs=20, keep_ratio=1.0, dropout_unpruned=False)
    assert EpochPlan.at(bare, 0, 4).frame_dropout == 0.0
    assert EpochPlan.at(replace(bare, keep_ratio=0.5), 0, 4).frame_dropout == 0.25
    bare_to_end = replace(bare, dropout_to_end=True)
    assert EpochPlan.at(bare_to_end, 19, 4).frame_dropout == 0.25
    deeper = TrainConfig(epochs=20, keep_ratio=(1.0, 0.5, 1.0, 1.0))
    assert EpochPlan.at(deeper, 0, 4).probes(0)
    assert EpochPlan.at(deeper, 0, 4).frame_dropout == 0.25
    to_end = TrainConfig(epochs=20, keep_ratio=0.5, dropout_to_end=True)
    assert EpochPlan.at(to_end, 19, 4).frame_dropout == 0.25
    masks = torch.ones(4, 16, dtype=torch.bool)
    assert frozen.train_masks(masks, 3, torch.Generator()) is masks


def test_pruned_frames_deliver_nothing():
    model = RazorSNN(PRESETS["synthetic"])
    x = torch.ones(2, 2, 32, 32, 16)
    masks = model.masks(0.5)
    factor = model.epms["0"].gate(x, masks[0])
    assert (factor[~masks[0]] == 0).all() and (factor[masks[0]] == 1).all()
    assert model.epms["0"].gate(x, torch.ones(16, dtype=torch.bool)) is None
    # with the attention blended in, pruned frames still get exactly 0
    factor = model.epms["0"].gate(x, masks[0], reweight=0.5)
    assert factor.shape == (2, 16) and (factor[:, ~masks[0]] == 0).all()
    assert ((factor[:, masks[0]] > 0.5) & (factor[:, masks[0]] < 1)).all()


def test_gating_the_synapse_output_is_gating_the_input():
    """gated_block scales each frame's synapse output; that is the block run on the
    scaled input: bit for bit with binary masks, to float rounding with real factors."""
    torch.manual_seed(3)
    model = RazorSNN(PRESETS["synthetic"], seed=3)
    x = (torch.rand(4, 2, 32, 32, 16) < 0.3).float()
    for i, block in enumerate(model.blocks):
        if not hasattr(block, "synapse"):
            x = block(x)
            continue
        assert x.sum() > 0, i  # this block's input has spikes, so the comparisons can fail
        binary = torch.rand(4, 16) < 0.6
        for factor in (binary[0], binary):
            scaled = x * (factor.float() if factor.dim() == 1 else factor.float().view(
                (4,) + (1,) * (x.dim() - 2) + (16,)))
            assert torch.equal(gated_block(block, x, factor.float()), block(scaled)), i
        real = torch.rand(4, 16)
        z = block.synapse(x * real.view((4,) + (1,) * (x.dim() - 2) + (16,)))
        assert torch.allclose(scale_frames(block.synapse(x), real), z, atol=1e-5), i
        x = block(x)


def test_informative_scores():
    informative = torch.tensor([1, 1, 0, 0], dtype=torch.bool)
    s = informative_scores(torch.tensor([1, 0, 1, 0]), informative)
    assert s == {"informative_frame_recall": 0.5, "pruned_frame_precision": 0.5}
    s = informative_scores(torch.tensor([1, 1, 1, 1]), informative)
    assert s == {"informative_frame_recall": 1.0, "pruned_frame_precision": None}


def test_checkpoint_round_trip_and_older_layout(tmp_path):
    gram, rhs = torch.arange(4.0, dtype=torch.float64).view(2, 2), torch.ones(2, dtype=torch.float64)
    ckpt = Checkpoint({"w": torch.ones(3)}, {"frames": 2}, {"seed": 1}, {"name": "synthetic"}, 4,
                      [{"epoch": 5}], keep_ratios=[0.5], optimizer={"state": {}},
                      rng=torch.get_rng_state(), probe={"gram": gram, "rhs": rhs})
    ckpt.save(tmp_path / "new.pt")
    back = Checkpoint.read(tmp_path / "new.pt")
    assert back.model.keys() == {"w"} and back.probe["gram"].equal(gram) and back.rng.equal(ckpt.rng)
    assert (back.epoch, back.history, back.keep_ratios) == (4, [{"epoch": 5}], [0.5])
    # written while the probe's normal equations were model buffers: read as the probe's state
    old = torch.load(tmp_path / "new.pt", weights_only=False)
    del old["probe"]
    old["model"] |= {"probe_gram": gram, "probe_rhs": rhs}
    torch.save(old, tmp_path / "old.pt")
    back = Checkpoint.read(tmp_path / "old.pt")
    assert back.model.keys() == {"w"} and back.probe["gram"].equal(gram) and back.probe["rhs"].equal(rhs)
    with pytest.raises(KeyError, match="optimizer"):
        Checkpoint({}, {}, {}, {}, 0, []).require("optimizer")


def test_bad_arguments():
    with pytest.raises(TrainError, match=r"--keep-ratio: expected values in \(0, 1\]"):
        train(TrainConfig(keep_ratio=0.0), "/nonexistent")
    with pytest.raises(TrainError, match="--keep-ratio: expected one value or 4"):
        train(TrainConfig(keep_ratio=(0.5, 0.5)), "/nonexistent")
    with pytest.raises(TrainError, match="--keep-ratio: 0.02 keeps no frame of 16"):
        train(TrainConfig(keep_ratio=(0.5, 1.0, 0.02, 1.0)), "/nonexistent")
    with pytest.raises(TrainError, match="fresh_samples: only the synthetic dataset"):
        train(TrainConfig(dataset="nmnist", data_root="/nonexistent", fresh_samples=True),
              "/nonexistent")


def test_keep_ratio_has_one_spelling_per_meaning():
    assert TrainConfig(keep_ratio=[0.5, 1, 1, 1]) == TrainConfig(keep_ratio=(0.5, 1.0, 1.0, 1.0))
    assert TrainConfig(keep_ratio=[0.5]).keep_ratio == 0.5 and TrainConfig(keep_ratio=1).keep_ratio == 1.0
    assert isinstance(TrainConfig(keep_ratio=[0.5, 1, 1, 1]).keep_ratio, tuple)
    # the annealed ratio is the target itself, not 1 + (r - 1) * 1.0 (which can round differently)
    cfg = TrainConfig(epochs=4, keep_ratio=(0.05, 1.0, 1.0, 1.0))
    assert keep_ratio_at(cfg, 3, 4) == [0.05, 1.0, 1.0, 1.0]
    with pytest.raises(ConfigError, match=r"layers\[0\].kind"):
        ModelConfig.from_dict({"input_shape": [2], "n_classes": 2, "frames": 4,
                               "layers": [{"kind": "pool", "out": 2}]})


@pytest.mark.slow
def test_train_writes_contract_and_is_deterministic(tmp_path, monkeypatch):
    # alone: an empty job registry, whatever other trainings this machine runs
    monkeypatch.setattr(threads, "JOBS", tmp_path / "jobs")
    before = torch.get_num_threads()
    torch.use_deterministic_algorithms(False)
    _, m1 = train(TrainConfig(**TINY), tmp_path / "a", progress=False)
    assert m1["threads"] == available_cores()  # alone: every core it may use
    assert torch.get_num_threads() == before  # the caller's settings are restored
    assert not torch.are_deterministic_algorithms_enabled()
    _, m2 = train(TrainConfig(**TINY), tmp_path / "b", progress=False)
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    for key in ("deploy_accuracy", "train_path_accuracy", "frames", "keep_ratio", "kept_frames",
                "epochs", "seconds", "informative_frame_recall", "pruned_frame_precision"):
        assert key in metrics
    assert metrics["frames"] == 16 and len(metrics["kept_frames"]) == len(metrics["keep_ratio"])
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    assert all(torch.equal(a[part][k], b[part][k]) for part in ("model", "probe") for k in a[part])
    assert m1["kept_frames"] == m2["kept_frames"]
    model, ckpt = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    assert ckpt.epoch == 1 and all(torch.equal(model.state_dict()[k], a["model"][k])
                                   for k in a["model"])


def test_fresh_samples_train_on_new_samples_each_epoch(tmp_path, monkeypatch):
    seen = []
    original = SyntheticEvents.__getitem__
    monkeypatch.setattr(SyntheticEvents, "__getitem__",
                        lambda self, i: seen.append(self.indices[i]) or original(self, i))
    train(TrainConfig(**TINY, fresh_samples=True), tmp_path / "f", progress=False)
    n_train, n_test = 36, 12  # TINY's 48 samples, a quarter for testing
    test = set(range(n_train, n_train + n_test))
    trained = [i for i in seen if i not in test]
    assert set(trained) == set(range(n_train)) | set(range(48, 48 + n_train))


@pytest.mark.slow
def test_resume_equals_uninterrupted(tmp_path):
    train(TrainConfig(**{**TINY, "epochs": 1}), tmp_path / "r", progress=False)
    # the same checkpoint as written while the probe's state was a model buffer
    old = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=False)
    probe = old.pop("probe")
    old["model"] |= {"probe_gram": probe["gram"], "probe_rhs": probe["rhs"]}
    (tmp_path / "o").mkdir()
    torch.save(old, tmp_path / "o" / "checkpoint.pt")
    _, resumed = train(TrainConfig(**TINY), tmp_path / "r", resume=True, progress=False)
    _, straight = train(TrainConfig(**TINY), tmp_path / "s", progress=False)
    _, from_old = train(TrainConfig(**TINY), tmp_path / "o", resume=True, progress=False)
    b = torch.load(tmp_path / "s" / "checkpoint.pt", weights_only=False)
    for run in ("r", "o"):
        a = torch.load(tmp_path / run / "checkpoint.pt", weights_only=False)
        assert all(torch.equal(a[part][k], b[part][k]) for part in ("model", "probe")
                   for k in b[part])
        assert a["model"].keys() == b["model"].keys()
    assert len(resumed["history"]) == 2 and from_old["history"] == resumed["history"]
    with pytest.raises(CheckpointError, match="other settings"):
        train(TrainConfig(**{**TINY, "epochs": 3, "keep_ratio": 0.25}), tmp_path / "r", resume=True,
              progress=False)


def test_cli_train_and_error(tmp_path):
    cmd = [sys.executable, "-m", "razor_neuro.cli"]
    bad = subprocess.run(cmd + ["train", "--epochs", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--epochs" in bad.stderr
    bad = subprocess.run(cmd + ["train", "--keep-ratio", "0.5,0.5", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "--keep-ratio: expected one value or 4 (one per gated layer), got 2" in bad.stderr
    bad = subprocess.run(cmd + ["train", "--threads", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--threads" in bad.stderr
    bad = subprocess.run(cmd + ["train", "--dataset", "nmnist", "--synthetic-samples", "40",
                                "--out", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "--synthetic-samples: sizes the synthetic dataset only" in bad.stderr
    for flag in ("--event-cost", "--synops-cost"):
        for cost in ("-1", "nan", "cheap"):
            bad = subprocess.run(cmd + ["train", flag, cost, "--out", str(tmp_path)],
                                 capture_output=True, text=True)
            assert bad.returncode == 2 and bad.stderr.count("\n") == 1
            assert f"{flag}: expected a number >= 0, got '{cost}'" in bad.stderr
    assert not (tmp_path / "metrics.json").exists()
    ok = subprocess.run(cmd + ["train", "--threads", "1", "--synthetic-samples", "48", "--epochs",
                               "1", "--event-cost", "2.5", "--synops-cost", "0.5", "--quiet",
                               "--out", str(tmp_path / "run")],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["threads"] == 1
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert ckpt["dataset"]["n_samples"] == 48
    assert ckpt["train_config"]["event_cost"] == 2.5
    assert ckpt["train_config"]["synops_cost"] == 0.5


@pytest.mark.parametrize("args,message", [
    (["--schedule", "latest"], "argument --schedule: invalid choice: 'latest'"),
    (["--schedule", "oracle", "--dataset", "nmnist", "--data-root", "/nonexistent"],
     "--schedule oracle: only the synthetic dataset knows its informative frames, not 'nmnist'"),
    (["--budget", "synops=1.5"], "--budget: expected synops=F with F in (0, 1], got synops=1.5"),
    (["--budget", "synops=0"], "--budget: expected synops=F with F in (0, 1], got synops=0.0"),
    (["--budget", "0.5"], "argument --budget: expected synops=F with F in (0, 1], got '0.5'"),
    (["--budget", "synops=half"], "argument --budget: expected synops=F with F in (0, 1], got"),
    (["--budget", "energy=0.5"], "(energy budgets are not supported)"),
])
def test_cli_refuses_bad_schedule_and_budget(tmp_path, args, message):
    bad = subprocess.run([sys.executable, "-m", "razor_neuro.cli", "train", *args, "--out",
                          str(tmp_path / "run")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and message in bad.stderr
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


@pytest.mark.slow
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

"""Issue #23: baseline schedules (``--schedule``) and the synaptic-operations budget
(``--budget synops=F``): each baseline keeps its frames, deterministic from the seed and
the data, through training, metrics and export."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from razor_neuro.data.synthetic import SyntheticEvents, SyntheticSpec, frame_pattern
from razor_neuro.training.baselines import BASELINES, FrameFacts, scores
from razor_neuro.training.config import TrainConfig, TrainError
from razor_neuro.training.loop import train
from razor_neuro.training.policies import probes_at
from razor_neuro.training.schedules import largest_within

TINY = dict(epochs=2, n_samples=48, batch_size=8)
T = 16


def training_events(n_samples: int = 48, seed: int = 0) -> np.ndarray:
    """Input events per frame summed over the synthetic training split, counted here."""
    data = SyntheticEvents(SyntheticSpec(n_samples=n_samples, seed=seed), train=True)
    return sum(data[i][0].numpy().sum(axis=(0, 1, 2)) for i in range(len(data)))


def expected_frames(name: str, keep: int, seed: int = 0) -> list[int]:
    """What each baseline must keep, from its definition (not from the code under test)."""
    if name == "first":
        return list(range(keep))
    if name == "uniform":
        return [i * T // keep for i in range(keep)]
    if name == "density":
        events = training_events(seed=seed)
        return sorted(sorted(range(T), key=lambda t: (-events[t], t))[:keep])
    if name == "oracle":
        informative = np.flatnonzero(frame_pattern(SyntheticSpec(n_samples=48, seed=seed)) == 1)
        assert len(informative) == keep  # the synthetic set's 8 of 16
        return informative.tolist()
    raise AssertionError(name)


def test_baselines_keep_their_frames():
    events = np.array([5, 0, 9, 1, 9, 3, 0, 7], dtype=float)
    informative = np.array([0, 1, 1, 0, 0, 1, 0, 0], dtype=bool)
    facts = FrameFacts(8, seed=3, events=events, informative=informative)
    assert BASELINES["first"](facts, 3).tolist() == [0, 1, 2]
    assert BASELINES["uniform"](facts, 4).tolist() == [0, 2, 4, 6]
    assert BASELINES["uniform"](facts, 3).tolist() == [0, 2, 5]
    assert BASELINES["density"](facts, 3).tolist() == [2, 4, 7]  # tie 2/4: the earlier first
    assert BASELINES["oracle"](facts, 3).tolist() == [1, 2, 5]
    # fewer: the earliest informative; more: then the uninformative, fewest events first
    assert BASELINES["oracle"](facts, 2).tolist() == [1, 2]
    assert BASELINES["oracle"](facts, 5).tolist() == [1, 2, 5, 6, 3]
    drawn = BASELINES["random"](facts, 4)
    assert len(set(drawn.tolist())) == 4 and drawn.tolist() == BASELINES["random"](facts, 4).tolist()
    assert set(BASELINES["random"](facts, 2).tolist()) <= set(drawn.tolist())
    others = {tuple(BASELINES["random"](FrameFacts(8, seed=s), 4).tolist()) for s in range(5)}
    assert len(others) > 1  # the subset depends on the seed


def test_scores_put_exactly_the_kept_frames_on_top():
    kept = np.array([7, 2, 5])
    e = torch.from_numpy(scores(kept, 8))
    assert set(torch.topk(e, 3).indices.tolist()) == {7, 2, 5}
    assert e[7] > e[2] > e[5] > 0 and int((e > 0).sum()) == 3


def test_largest_within_bounds_the_event_share():
    events = np.array([10.0, 20.0, 30.0, 40.0])
    prefix = lambda k: np.arange(k)  # noqa: E731
    assert largest_within(prefix, events, 4, 0.3) == 2   # 30 of 100
    assert largest_within(prefix, events, 4, 0.29) == 1
    assert largest_within(prefix, events, 1, 1.0) == 1   # never above the keep ratio's count
    assert largest_within(lambda k: np.arange(4)[::-1][:k], events, 4, 0.3) == 1  # 40 > 30: one frame


def test_baselines_are_never_probed_and_refuse_what_they_cannot_do():
    assert probes_at(TrainConfig(epochs=20), 5, 4)
    assert not probes_at(TrainConfig(epochs=20, schedule="first"), 5, 4)
    assert probes_at(TrainConfig(epochs=20, keep_ratio=1.0, budget=0.5), 5, 4)
    with pytest.raises(TrainError, match="--schedule first: a baseline schedules the first gated"):
        train(TrainConfig(schedule="first", keep_ratio=(0.5, 0.5, 1.0, 1.0)), "/nonexistent")
    with pytest.raises(TrainError, match="--schedule: expected one of razor, first"):
        train(TrainConfig(schedule="last"), "/nonexistent")


@pytest.mark.slow
@pytest.mark.parametrize("name,keep", [("first", 0.5), ("uniform", 0.25), ("density", 0.5),
                                       ("oracle", 0.5)])
def test_trained_baseline_keeps_its_frames(tmp_path, name, keep):
    _, m = train(TrainConfig(**TINY, schedule=name, keep_ratio=keep), tmp_path / "run",
                 progress=False, threads=1)
    assert m["schedule"] == name
    assert m["kept_frames"][0] == expected_frames(name, int(keep * T))
    assert all(frames == list(range(T)) for frames in m["kept_frames"][1:])
    if name == "oracle":
        assert m["informative_frame_recall"] == 1.0 and m["pruned_frame_precision"] == 1.0


@pytest.mark.slow
def test_random_baseline_is_drawn_from_the_seed(tmp_path):
    runs = {}
    for seed, out in ((0, "a"), (0, "b"), (1, "c")):
        _, m = train(TrainConfig(**TINY, schedule="random", seed=seed), tmp_path / out,
                     progress=False, threads=1)
        runs[out] = m["kept_frames"][0]
    assert runs["a"] == runs["b"] and len(runs["a"]) == 8
    assert runs["a"] != runs["c"]


@pytest.mark.slow
def test_skip_mode_baseline_keeps_its_frames(tmp_path):
    _, m = train(TrainConfig(**TINY, schedule="uniform", prune_mode="skip"), tmp_path / "run",
                 progress=False, threads=1)
    assert m["kept_frames"][0] == expected_frames("uniform", 8)


@pytest.mark.slow
def test_budget_bounds_the_kept_event_share(tmp_path):
    events = training_events()
    share = lambda frames: events[frames].sum() / events.sum()  # noqa: E731
    # a baseline: the longest prefix of the first frames within 0.3 of the events
    _, m = train(TrainConfig(**TINY, schedule="first", keep_ratio=1.0, budget=0.3),
                 tmp_path / "first", progress=False, threads=1)
    k = max(k for k in range(1, T + 1) if share(list(range(k))) <= 0.3)
    assert m["kept_frames"][0] == list(range(k)) and k < T
    assert m["kept_event_share"] == pytest.approx(share(list(range(k))))
    # razor: the highest-ranked frames of the learned embedding while they fit the budget
    _, m = train(TrainConfig(**TINY, keep_ratio=1.0, budget=0.3), tmp_path / "razor",
                 progress=False, threads=1)
    ckpt = torch.load(tmp_path / "razor" / "checkpoint.pt", weights_only=False)
    ranked = torch.argsort(ckpt["model"]["epms.0.embedding"], descending=True).tolist()
    kept = m["kept_frames"][0]
    assert sorted(ranked[:len(kept)]) == kept and share(kept) <= 0.3
    assert share(ranked[:len(kept) + 1]) > 0.3
    assert m["synops_budget"] == 0.3 and m["kept_event_share"] == pytest.approx(share(kept))


@pytest.mark.slow
def test_cli_razor_schedule_is_the_default(tmp_path):
    cmd = [sys.executable, "-m", "razor_neuro.cli", "train", "--threads", "1", "--quiet",
           "--synthetic-samples", "48", "--epochs", "2", "--batch-size", "8"]
    for out, extra in (("default", []), ("razor", ["--schedule", "razor"])):
        done = subprocess.run(cmd + extra + ["--out", str(tmp_path / out)], capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
    a, b = ({k: v for k, v in json.loads((tmp_path / out / "metrics.json").read_text()).items()
             if k != "seconds"} for out in ("default", "razor"))
    assert a == b and a["schedule"] == "razor"
    wa, wb = (torch.load(tmp_path / out / "checkpoint.pt", weights_only=False)["model"]
              for out in ("default", "razor"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.slow
def test_baseline_bundle_names_its_schedule(tmp_path):
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.exporter import export_checkpoint

    train(TrainConfig(**TINY, schedule="uniform"), tmp_path / "run", progress=False, threads=1)
    bundle = load_bundle(export_checkpoint(tmp_path / "run" / "checkpoint.pt", tmp_path / "b"))
    assert bundle.manifest["schedule"] == "uniform"
    assert np.flatnonzero(bundle.schedule.masks[0]).tolist() == expected_frames("uniform", 8)
    # a checkpoint written before schedules existed trained the learned one
    old = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    del old["train_config"]["schedule"], old["train_config"]["budget"]
    (tmp_path / "old").mkdir()
    torch.save(old, tmp_path / "old" / "checkpoint.pt")
    old_bundle = load_bundle(export_checkpoint(tmp_path / "old" / "checkpoint.pt", tmp_path / "o"))
    assert old_bundle.manifest["schedule"] == "razor"


def test_relative_cost_rule_prices_events_on_the_importance_scale() -> None:
    from razor_neuro.epm import EPM
    epm = EPM(5)
    importance = torch.tensor([30.0, 10.0, 20.0, 0.0, -5.0])
    density = torch.tensor([0.01, 0.01, 0.10, 0.0, 0.02])
    epm.learn(importance, density, 1.0)  # density rule: a 0.1 density costs 0.1 of 30
    assert epm.keep_mask(3).tolist() == [True, True, True, False, False]
    epm.learn(importance, density, 1.0, "relative")
    # mean |importance| over frames with events 16.25, mean density 0.035: the dense frame
    # 2 is worth 20/16.25 - 0.1/0.035 = -1.63, below frame 4's -5/16.25 - 0.02/0.035 = -0.88
    assert epm.keep_mask(3).tolist() == [True, True, False, False, True]
    expected = importance / 16.25 - density / 0.035
    assert torch.allclose(epm.embedding[[0, 1, 2, 4]], expected[[0, 1, 2, 4]])
    assert epm.embedding[3] < epm.embedding[[0, 1, 2, 4]].min()  # no events: ranked last


def test_synthetic_merge_is_the_or_of_consecutive_frames():
    plain = SyntheticEvents(SyntheticSpec(n_samples=8), train=False)
    merged = SyntheticEvents(SyntheticSpec(n_samples=8, merge=2), train=False)
    for i in range(len(plain)):
        (x, y), (m, my) = plain[i], merged[i]
        pairs = (x[..., 0::2].bool() | x[..., 1::2].bool()).float()
        assert m.shape[-1] == T // 2 and torch.equal(m, pairs) and my == y
        assert m.sum() < x.sum() or x.sum() == 0  # a pair's overlapping spikes count once
    flags = plain.informative
    assert merged.informative.tolist() == (flags[0::2] | flags[1::2]).tolist()
    with pytest.raises(ValueError, match="merge 3 does not divide frames 16"):
        SyntheticEvents(SyntheticSpec(n_samples=8, merge=3))


def test_same_recordings_ignore_only_the_binning():
    from razor_neuro.data import same_recordings
    syn = {"name": "synthetic", "n_samples": 48, "frames": 16, "seed": 0}
    assert same_recordings(syn, syn | {"merge": 2}) and same_recordings(syn | {"merge": 1}, syn)
    assert not same_recordings(syn, syn | {"frames": 8})  # other motion, not other bins
    assert not same_recordings(syn, syn | {"seed": 1, "merge": 2})
    real = {"name": "nmnist", "root": "/data", "frames": 20}
    assert same_recordings(real, real | {"frames": 5})
    assert not same_recordings(real, real | {"root": "/other"})
    assert not same_recordings(real, syn)


def test_rebin_refuses_what_it_cannot_bin(capsys):
    from razor_neuro.cli import main
    for cfg, message in ((TrainConfig(schedule="rebin", budget=0.5), "no --budget"),
                         (TrainConfig(schedule="rebin", keep_ratio=(0.5, 1.0, 1.0, 1.0)),
                          "one number")):
        with pytest.raises(TrainError, match=message):
            train(cfg, "/nonexistent")
    # 0.3 of 16 frames is 5, which does not divide 16: synthetic frames merge in equal runs
    assert main(["train", "--schedule", "rebin", "--keep-ratio", "0.3", "--epochs", "1",
                 "--synthetic-samples", "48", "--out", "/nonexistent/run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "expected a divisor of 16" in err


def deploy_against(tmp_path, full) -> tuple[dict, dict]:
    """Export ``tmp_path/run``'s checkpoint, check that it verifies on every test sample with
    0 spike and 0 state mismatches, report it against the bundle ``full`` on every sample;
    returns its manifest and report."""
    from razor_neuro.cli import main
    bundle = tmp_path / "bundle"
    assert main(["export", str(tmp_path / "run" / "checkpoint.pt"), "--target", "loihi-sim",
                 "--out", str(bundle)]) == 0
    assert main(["verify", str(bundle), "--samples", "all", "--state", "--threads", "1",
                 "--out", str(tmp_path / "v")]) == 0
    v = json.loads((tmp_path / "v" / "verify.json").read_text())
    assert v["samples"] == 12 and v["mismatches"] == 0 and v["state_mismatches"] == 0
    assert main(["report", str(bundle), "--compare", str(full), "--samples", "all",
                 "--source", "reference", "--threads", "1", "--out", str(tmp_path / "r")]) == 0
    return (json.loads((bundle / "manifest.json").read_text()),
            json.loads((tmp_path / "r" / "report.json").read_text()))


@pytest.mark.slow
def test_rebin_bundle_verifies_and_compares_with_the_full_run(tmp_path, trained_bundle):
    _, full = trained_bundle(1.0, n_samples=48)
    _, m = train(TrainConfig(epochs=1, n_samples=48, batch_size=16, schedule="rebin",
                             keep_ratio=0.25), tmp_path / "run", progress=False, threads=1)
    assert m["schedule"] == "rebin" and m["frames"] == 4
    assert m["kept_frames"] == [[0, 1, 2, 3]] * 4 and m["keep_ratio"] == [1.0] * 4
    assert "pruned_frame_precision" not in m and "informative_frame_recall" not in m
    manifest, r = deploy_against(tmp_path, full)
    assert manifest["schedule"] == "rebin" and manifest["frames"] == 4
    assert manifest["dataset"]["merge"] == 4 and manifest["dataset"]["frames"] == T
    assert r["totals"]["time_steps"] == 4 and r["compare"]["totals"]["time_steps"] == T
    assert r["comparison"]["time_steps_ratio_a_over_b"] == 0.25
    # each bundle ran its own binning of the same 12 test recordings
    for merge, block in ((4, r), (1, r["compare"])):
        data = SyntheticEvents(SyntheticSpec(n_samples=48, merge=merge), train=False)
        events = sum(float(data[i][0].sum()) for i in range(len(data))) / len(data)
        assert block["samples"] == 12 and block["layers"][0]["input_spikes"] == pytest.approx(events)


def test_frames_bins_then_the_schedule_prunes_the_bins():
    from razor_neuro.presets import PRESETS
    from razor_neuro.training.datasets import binned_frames
    from razor_neuro.training.schedules import check_schedule
    assert binned_frames(TrainConfig(dataset="nmnist"), 20) == 20
    assert binned_frames(TrainConfig(dataset="nmnist", frames=12), 20) == 12
    assert binned_frames(TrainConfig(frames=8), T) == 8
    assert binned_frames(TrainConfig(schedule="rebin", keep_ratio=0.25), T) == 4
    with pytest.raises(TrainError, match="--frames 6; .* expected a divisor of 16"):
        binned_frames(TrainConfig(frames=6), T)
    with pytest.raises(TrainError, match="--frames: --schedule rebin"):
        check_schedule(TrainConfig(dataset="nmnist", frames=12, schedule="rebin"),
                       PRESETS["nmnist"])


def test_frames_refusals_are_one_line(capsys, tmp_path):
    from razor_neuro.cli import main
    for args, message in ((["--frames", "6"], "expected a divisor of 16"),
                          (["--frames", "8", "--schedule", "rebin"], "give one of them"),
                          (["--frames", "4", "--keep-ratio", "0.1"], "keeps no frame of 4")):
        assert main(["train", *args, "--epochs", "1", "--synthetic-samples", "48",
                     "--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "run").exists()


def test_keep_ratio_is_a_share_of_the_frames_it_prunes(tmp_path):
    """rebin's ratio is a share of T (0.125 of 16: 2 frames, all kept); with --frames it is a
    share of the bins (0.25 of 4 bins keeps one)."""
    tiny = dict(epochs=1, n_samples=48, batch_size=16)
    _, m = train(TrainConfig(schedule="rebin", keep_ratio=0.125, **tiny), tmp_path / "rebin",
                 progress=False, threads=1)
    assert m["frames"] == 2 and m["kept_frames"][0] == [0, 1]
    _, m = train(TrainConfig(frames=4, keep_ratio=0.25, **tiny), tmp_path / "frames",
                 progress=False, threads=1)
    assert m["frames"] == 4 and len(m["kept_frames"][0]) == 1


@pytest.mark.slow
def test_frames_skip_bundle_runs_its_kept_bins(tmp_path, trained_bundle):
    """Merge, then prune: 16 frames binned into 8, half of them kept and skipped, so a sample
    runs 4 steps; the bundle verifies and compares per sample with the 16-frame run."""
    _, full = trained_bundle(1.0, n_samples=48)
    _, m = train(TrainConfig(epochs=1, n_samples=48, batch_size=16, frames=8, keep_ratio=0.5,
                             prune_mode="skip"), tmp_path / "run", progress=False, threads=1)
    assert m["frames"] == 8 and len(m["kept_frames"][0]) == 4
    assert "pruned_frame_precision" in m  # scored against the merged informative flags
    manifest, r = deploy_against(tmp_path, full)
    assert manifest["frames"] == 8 and manifest["dataset"]["merge"] == 2
    assert r["totals"]["time_steps"] == 4 and r["compare"]["totals"]["time_steps"] == T
    assert r["comparison"]["time_steps_ratio_a_over_b"] == 0.25

"""``train``: the training loop as named steps (:func:`setup`, :func:`train_epoch`,
:func:`evaluate_epoch`, :func:`save_checkpoint`, :func:`final_metrics`).

Output contract (relied on by export and report): ``OUT/checkpoint.pt``
(:class:`~razor_neuro.training.checkpoint.Checkpoint`, after every epoch) and
``OUT/metrics.json`` (:func:`final_metrics`).
"""
from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm.auto import tqdm

from razor_neuro import _compat
from razor_neuro.atomic import OutputExists, check_writable, write_file
from razor_neuro.data.synthetic import SyntheticEvents
from razor_neuro.model import RazorSNN
from razor_neuro.model_config import ModelConfig
from razor_neuro.presets import PRESETS
from razor_neuro.training import distributed
from razor_neuro.training.activity import SynopsCost
from razor_neuro.training.checkpoint import (Checkpoint, CheckpointError, read_resumable,
                                             schedule_from_model)
from razor_neuro.training.config import TrainConfig, TrainError
from razor_neuro.training.datasets import binned_frames, build_datasets, check_data_fits
from razor_neuro.training.evaluate import evaluate, informative_scores
from razor_neuro.training.policies import EpochPlan, check_keep_ratio
from razor_neuro.training.probe import FrameProbe, count_cross_entropy
from razor_neuro.training.schedules import FrameChoice, check_schedule
from razor_neuro.threads import fair_share, registered_job

slayer = _compat.slayer()


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators; deterministic torch kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


@dataclass
class Run:
    """One training run between its steps.

    ``net`` is ``model`` or its DistributedDataParallel wrapper; ``sampler`` splits the
    training set between the ranks (None on one); ``data_gen`` orders the training samples
    and ``probe_gen`` draws the probe's drops and the frame dropout (both re-seeded every
    epoch); ``history`` holds one record per epoch trained, from epoch ``start`` on this
    run; ``t0`` is when training started (``time.time()``); ``choice`` applies the schedule
    and budget to each epoch's plan; ``threads`` is torch's CPU thread count for the run.
    """

    cfg: TrainConfig
    mcfg: ModelConfig
    out: Path
    device: torch.device
    rank: int
    world: int
    model: RazorSNN
    net: torch.nn.Module
    opt: torch.optim.Optimizer
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    probe: FrameProbe
    train_set: Dataset
    test_loader: DataLoader
    data_spec: dict[str, Any]
    start: int
    history: list[dict[str, Any]]
    sampler: DistributedSampler | None
    data_gen: torch.Generator
    probe_gen: torch.Generator
    t0: float
    choice: FrameChoice
    synops_loss: SynopsCost | None = None
    threads: int = 1

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"


def make_loss(cfg: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss of ``cfg.loss``, summed over the batch: ``rate``, slayer's
    ``SpikeRate`` towards ``true_rate``/``false_rate``; ``count``, the cross-entropy of the
    output spike counts taken as logits (:func:`~razor_neuro.training.probe.count_cross_entropy`;
    slayer's ``SpikeMax`` takes the softmax of the rates, counts / T, whose range of at
    most 1 cannot express a confident answer)."""
    if cfg.loss == "rate":
        return slayer.loss.SpikeRate(true_rate=cfg.true_rate, false_rate=cfg.false_rate,
                                     reduction="sum")
    if cfg.loss == "count":
        return count_cross_entropy
    raise TrainError(f"loss: expected 'rate' or 'count', got {cfg.loss!r}")


def _check_out(cfg: TrainConfig, out: Path, resume: bool) -> None:
    """Refuse bad counts, an unwritable ``out``, a run there without ``resume``, and
    ``resume`` without a checkpoint (before any work)."""
    if cfg.epochs < 1:
        raise TrainError(f"--epochs: expected a positive integer, got {cfg.epochs}")
    if cfg.batch_size < 1:
        raise TrainError(f"--batch-size: expected a positive integer, got {cfg.batch_size}")
    if not 0 <= cfg.synops_cost < float("inf"):
        raise TrainError(f"--synops-cost: expected a finite number >= 0, got {cfg.synops_cost}")
    check_writable(out, "--out", into=True)  # before any work, not after the first epoch
    if not resume and any((out / f).exists() for f in ("checkpoint.pt", "metrics.json")):
        raise OutputExists(f"--out {out}: already holds a training run (checkpoint.pt, "
                           "metrics.json); pass --resume to continue it, or choose another "
                           "--out")
    if resume and not (out / "checkpoint.pt").exists():
        raise TrainError(f"{out / 'checkpoint.pt'}: --resume needs an existing checkpoint")


def setup(cfg: TrainConfig, out: Path, model_config: ModelConfig | None, resume: bool) -> Run:
    """Check the arguments, start DDP, seed, read the checkpoint to resume, build the data,
    the model, its optimiser and the probe, and restore them when resuming."""
    _check_out(cfg, out, resume)
    device = distributed.init_distributed()
    rank, world = distributed.rank_and_world()
    seed_everything(cfg.seed)
    mcfg = model_config or PRESETS.get(cfg.dataset)
    if mcfg is None:
        raise TrainError(f"--dataset: no preset for {cfg.dataset!r}; pass --config")
    # the keep ratio is a share of --frames' bins where given, else of T (rebin's too)
    check_keep_ratio(cfg, replace(mcfg, frames=cfg.frames or mcfg.frames))
    check_schedule(cfg, mcfg)
    if cfg.fresh_samples and cfg.dataset != "synthetic":
        raise TrainError(f"fresh_samples: only the synthetic dataset draws new samples, not "
                         f"{cfg.dataset!r}")
    frames = mcfg.frames
    mcfg = replace(mcfg, frames=binned_frames(cfg, frames))  # --frames, rebin: the binned frames
    synops_loss = SynopsCost(mcfg, cfg.synops_cost, device) if cfg.synops_cost else None
    ckpt = read_resumable(out / "checkpoint.pt", cfg, mcfg, device) if resume else None
    train_set, test_set, data_spec = build_datasets(cfg, frames)
    check_data_fits(train_set, mcfg, cfg.dataset)
    model = RazorSNN(mcfg, seed=cfg.seed, prune_mode=cfg.prune_mode,
                     readout_steps=cfg.readout_steps).to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    probe = FrameProbe(cfg, len(model.epms), mcfg.frames, device)
    start, history = 0, []
    if ckpt is not None:
        _restore(ckpt, out / "checkpoint.pt", model, opt, probe)
        start, history = ckpt.epoch + 1, ckpt.history
        torch.set_rng_state(ckpt.require("rng"))
    sampler = (DistributedSampler(train_set, world, rank, shuffle=True, seed=cfg.seed)
               if world > 1 else None)
    loss_fn = make_loss(cfg)
    return Run(cfg, mcfg, out, device, rank, world, model, distributed.wrap(model), opt, loss_fn,
               probe, train_set, DataLoader(test_set, batch_size=64), data_spec, start, history,
               sampler, torch.Generator().manual_seed(cfg.seed), torch.Generator(), time.time(),
               FrameChoice.setup(cfg, mcfg.frames, train_set), synops_loss)


def _restore(ckpt: Checkpoint, path: Path, model: RazorSNN, opt: torch.optim.Optimizer,
             probe: FrameProbe) -> None:
    """Load the weights, optimiser and probe state of ``ckpt`` (read from ``path``)."""
    try:
        model.load_state_dict(ckpt.model)
        opt.load_state_dict(ckpt.require("optimizer"))
        probe.load_state_dict(ckpt.require("probe"))
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: weights do not fit the model "
                              f"({str(exc).splitlines()[0]})") from exc


def train_epoch(run: Run, plan: EpochPlan, progress: bool) -> None:
    """One pass over the training set with one mask per gated layer (``plan``'s keep ratio
    of the embeddings as the epoch starts), with ``plan``'s frame dropout; while the
    schedule is probed, one batch in ``probe_every`` is also probed and updates the
    embeddings.  With ``synops_loss`` the loss adds the hidden spikes' synaptic operations."""
    cfg, model = run.cfg, run.model
    for group in run.opt.param_groups:
        group["lr"] = plan.lr
    if run.sampler is not None:
        run.sampler.set_epoch(plan.epoch)
    run.data_gen.manual_seed(cfg.seed + plan.epoch)
    # per epoch (resume-exact) and per rank (each rank's samples get their own drops)
    run.probe_gen.manual_seed(cfg.seed * 1000 + plan.epoch + 1 + 100_003 * run.rank)
    train_set = run.train_set.for_epoch(plan.epoch) if cfg.fresh_samples else run.train_set
    loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=run.sampler is None,
                        sampler=run.sampler, generator=run.data_gen)
    # the per-batch bar only on a terminal; in a log file the per-epoch line says it
    bar = tqdm(loader, desc=f"epoch {plan.epoch + 1}/{cfg.epochs}", leave=False,
               disable=not progress or run.rank != 0 or not sys.stderr.isatty())
    masks = model.masks(plan.keep_ratio)
    for i, (x, y) in enumerate(bar):
        x, y = x.to(run.device), y.to(run.device)
        probed = plan.probes(i)
        if probed:
            batch = run.probe.measure(model, x, y, plan.reweight, run.probe_gen)
        train_masks = plan.train_masks(masks, len(y), run.probe_gen)
        if run.synops_loss is None:
            loss = run.loss_fn(run.net(x, train_masks, plan.reweight), y)
        else:
            out, spikes = run.net(x, train_masks, plan.reweight, record=True)
            loss = run.loss_fn(out, y) + run.synops_loss(spikes)
        run.opt.zero_grad()
        loss.backward()
        run.opt.step()
        if probed:
            run.probe.learn(model, batch)
        bar.set_postfix(loss=f"{loss.item() / len(y):.3f}")


def evaluate_epoch(run: Run, plan: EpochPlan) -> dict[str, Any]:
    """The epoch's record: test accuracy with the masks the embeddings now give, on the
    deploy path (no re-weighting) and on the training path."""
    masks = run.model.masks(plan.keep_ratio)
    return {"epoch": plan.epoch + 1, "keep_ratio": plan.keep_ratio, "reweight": plan.reweight,
            "deploy_accuracy": evaluate(run.model, run.test_loader, masks, 0.0, run.device),
            "train_path_accuracy": evaluate(run.model, run.test_loader, masks, plan.reweight,
                                            run.device)}


def save_checkpoint(run: Run, plan: EpochPlan) -> None:
    """Write ``OUT/checkpoint.pt`` after ``plan``'s epoch."""
    Checkpoint(run.model.state_dict(), run.mcfg.to_dict(), asdict(run.cfg), run.data_spec,
               plan.epoch, run.history, keep_ratios=plan.keep_ratio,
               optimizer=run.opt.state_dict(), rng=torch.get_rng_state(),
               probe=run.probe.state_dict()).save(run.checkpoint_path)


def final_metrics(run: Run) -> dict[str, Any]:
    """The content of ``metrics.json``: the last epoch's accuracies, the schedule the last
    epoch's keep ratio gives, the run's settings and history."""
    cfg, model = run.cfg, run.model
    masks = model.masks(run.history[-1]["keep_ratio"])  # the last epoch's, after its choice
    schedule = schedule_from_model(model, masks)
    last = run.history[-1]
    metrics: dict[str, Any] = {
        "dataset": cfg.dataset,
        "deploy_accuracy": last["deploy_accuracy"],
        "train_path_accuracy": last["train_path_accuracy"],
        "frames": run.mcfg.frames,
        "keep_ratio": schedule.keep_ratios,
        "kept_frames": schedule.kept_frames(),
        "gated_layers": list(schedule.layers),
        "epochs": cfg.epochs,
        "seconds": time.time() - run.t0,
        "world_size": run.world,
        "device": str(run.device),
        "threads": run.threads,
        "history": run.history,
        **run.choice.metrics(masks[0]),
    }
    test_set = run.test_loader.dataset
    # rebin prunes no frame: nothing to score against the informative flags
    if isinstance(test_set, SyntheticEvents) and cfg.schedule != "rebin":
        metrics.update(informative_scores(masks[0], test_set.informative))
    return metrics


def train(cfg: TrainConfig, out: str | Path, model_config: ModelConfig | None = None,
          resume: bool = False, progress: bool = True,
          threads: int | None = None) -> tuple[RazorSNN, dict[str, Any]]:
    """Train a Razor SNN and write ``out/checkpoint.pt`` and ``out/metrics.json``.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) it trains with DistributedDataParallel (gloo on
    CPU, nccl on CUDA); rank 0 writes the files.  ``threads``: torch's CPU threads for the
    whole run (default :func:`razor_neuro.threads.fair_share`, taken once the data and
    model are built; recorded in the metrics).  Torch's thread count and its deterministic
    algorithms setting are the caller's again afterwards.  Returns the trained model and the
    metrics (the contents of ``metrics.json``).
    """
    before = torch.get_num_threads()
    deterministic = (torch.are_deterministic_algorithms_enabled(),
                     torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        with registered_job():
            return _train(cfg, Path(out), model_config, resume, progress, threads)
    finally:
        torch.set_num_threads(before)
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])


def _train(cfg: TrainConfig, out: Path, model_config: ModelConfig | None, resume: bool,
           progress: bool, threads: int | None) -> tuple[RazorSNN, dict[str, Any]]:
    run = setup(cfg, out, model_config, resume)
    run.threads = threads or fair_share()
    torch.set_num_threads(run.threads)
    for epoch in range(run.start, cfg.epochs):
        plan = EpochPlan.at(cfg, epoch, len(run.model.epms))
        train_epoch(run, run.choice.plan(plan, run.model), progress)
        plan = run.choice.plan(plan, run.model)  # the embedding the epoch learned
        record = evaluate_epoch(run, plan)
        run.history.append(record)
        if run.rank == 0:
            if progress:
                keep = ",".join(f"{r:.2f}" for r in plan.keep_ratio)
                tqdm.write(f"epoch {epoch + 1}: keep {keep}  deploy acc "
                           f"{record['deploy_accuracy']:.3f}  train-path acc "
                           f"{record['train_path_accuracy']:.3f}")
            save_checkpoint(run, plan)
    metrics = final_metrics(run)
    if run.rank == 0:
        write_file(run.out / "metrics.json", json.dumps(metrics, indent=2).encode())
    return run.model, metrics

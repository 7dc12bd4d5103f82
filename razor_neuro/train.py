"""Training loop: progressive keep ratio, per-layer masks, frame dropout, checkpoints, resume, DDP.

Output contract (relied on by export and report): ``OUT/checkpoint.pt`` and
``OUT/metrics.json`` (see :func:`train`).
"""
from __future__ import annotations

import io
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm.auto import tqdm

from razor_neuro import _compat
from razor_neuro.atomic import OutputExists, check_writable, write_file
from razor_neuro.data.synthetic import SyntheticEvents, SyntheticSpec
from razor_neuro.model import PRESETS, ConfigError, ModelConfig, RazorSNN, layer_keep_ratios
from razor_neuro.checkpoint import CheckpointError, read_checkpoint, schedule_from_model
from razor_neuro.data import dataset_from_spec
from razor_neuro.train_config import TrainConfig

slayer = _compat.slayer()


class TrainError(ValueError):
    """Bad training arguments or an unusable checkpoint."""


def _pruning_span(cfg: TrainConfig) -> tuple[int, int]:
    """First epoch of the keep-ratio annealing and its length in epochs."""
    return (int(round(cfg.prune_start * cfg.epochs)),
            max(1, int(round(cfg.anneal_fraction * cfg.epochs))))


def keep_ratio_at(cfg: TrainConfig, epoch: int, layers: int) -> list[float]:
    """Progressive keep ratio of each of the ``layers`` gated layers: 1.0 for the first
    ``prune_start`` of the epochs (frame importance is then measured on a network that has
    learned the task, not on a random one), then annealed linearly to the layer's target
    (:func:`razor_neuro.model.layer_keep_ratios`) over ``anneal_fraction`` of the epochs."""
    start, span = _pruning_span(cfg)
    frac = min(1.0, max(0, epoch + 1 - start) / span)
    targets = layer_keep_ratios(cfg.keep_ratio, layers)
    # the targets themselves once annealed: 1 + (r - 1) * 1.0 need not round to r's frames
    return targets if frac >= 1.0 else [1.0 + (r - 1.0) * frac for r in targets]


def frame_dropout(masks: torch.Tensor, n: int, p: float, generator: torch.Generator) -> torch.Tensor:
    """Per-sample training masks ``[L, n, T]``: ``masks`` ``[L, T]`` with each sample's
    frames dropped at random (probability ``p``, the same frames at every gated layer).

    While the schedule is being learned, a network that always sees every frame learns to
    lean on whatever a frame brings, noise bursts included (they drive the neurons towards
    threshold), and then loses accuracy when the schedule prunes them.  Trained with random
    frames missing, it cannot count on any single frame, and the probe measures what each
    frame is worth to a network that does not depend on it."""
    keep = torch.rand((n, masks.shape[1]), generator=generator) >= p
    return masks.unsqueeze(1) & keep.to(masks.device).unsqueeze(0)


def reweight_at(cfg: TrainConfig, epoch: int) -> float:
    """Strength of the per-sample attention re-weighting: 1 → 0 by the end of the
    keep-ratio annealing, so the trained network ends on the deploy path (binary spikes,
    static masks)."""
    start, span = _pruning_span(cfg)
    return max(0.0, 1.0 - (epoch + 1) / (start + span))


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Cosine learning-rate decay from ``cfg.lr`` towards 0 over the epochs: the last
    epochs settle the network on the frozen schedule instead of jumping between minima.
    A function of the epoch alone, so a resumed run uses the same rates."""
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / cfg.epochs))


def build_datasets(cfg: TrainConfig, frames: int) -> tuple[Dataset, Dataset, dict[str, Any]]:
    """Train/test datasets and the JSON-able spec that recreates them
    (:func:`razor_neuro.data.dataset_from_spec`; export stores it in the bundle)."""
    if cfg.dataset == "synthetic":
        spec: dict[str, Any] = {"name": "synthetic", **asdict(
            SyntheticSpec(n_samples=cfg.n_samples, frames=frames, seed=cfg.seed))}
    elif not cfg.data_root:
        raise TrainError(f"--data-root: dataset {cfg.dataset!r} needs the directory that holds it")
    else:
        spec = {"name": cfg.dataset, "root": cfg.data_root, "frames": frames}
    return dataset_from_spec(spec, train=True), dataset_from_spec(spec, train=False), spec


def _check_keep_ratio(cfg: TrainConfig, mcfg: ModelConfig) -> None:
    """Raise :class:`TrainError` naming ``--keep-ratio`` unless ``cfg.keep_ratio`` fits the
    model's gated layers and keeps at least one frame in each (checked before any data is
    read)."""
    try:
        ratios = layer_keep_ratios(cfg.keep_ratio, mcfg.gated_layers)
    except ConfigError as exc:
        raise TrainError(f"--keep-ratio: {str(exc).removeprefix('keep ratio: ')}") from None
    for r in ratios:
        if round(r * mcfg.frames) < 1:
            raise TrainError(f"--keep-ratio: {r} keeps no frame of {mcfg.frames}; expected at least "
                             f"{1 / mcfg.frames:.3g}")


def _resumable_checkpoint(path: Path, cfg: TrainConfig, mcfg: ModelConfig,
                          device: torch.device) -> dict[str, Any]:
    """The checkpoint ``--resume`` continues, read before any data is: it must be a
    razor-neuro checkpoint of the same model and settings (only ``--epochs`` may grow),
    with fewer epochs than ``cfg.epochs``.

    Raises:
        CheckpointError: unreadable or from another model or settings.
        TrainError: ``cfg.epochs`` not above the epochs already trained.
    """
    ckpt = read_checkpoint(path, device)
    done = int(ckpt["epoch"]) + 1
    if cfg.epochs <= done:
        raise TrainError(f"--epochs {cfg.epochs}: {path} has already trained {done} epoch(s); "
                         f"expected more than {done} to continue training")
    if ckpt["model_config"] != mcfg.to_dict():
        theirs, ours = ckpt["model_config"], mcfg.to_dict()
        fields = [k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)]
        raise CheckpointError(f"{path}: trained with another model configuration (differs in "
                              f"{', '.join(fields)}); resume with the same --dataset/--config")
    if ckpt["train_config"] != asdict(cfg) | {"epochs": ckpt["train_config"]["epochs"]}:
        raise CheckpointError(f"{path}: checkpoint was trained with other settings; "
                              "resume with the same arguments (only --epochs may grow)")
    return ckpt


def _check_data_fits(data: Dataset, mcfg: ModelConfig, dataset: str) -> None:
    """Raise :class:`TrainError` unless the dataset's samples have the model's
    ``(*input_shape, frames)`` and its class count is ``n_classes``."""
    x, _ = data[0]
    expected = (*mcfg.input_shape, mcfg.frames)
    if tuple(x.shape) != expected:
        raise TrainError(f"model config: input_shape {list(mcfg.input_shape)} with frames "
                         f"{mcfg.frames} expects samples of shape {expected}; dataset "
                         f"{dataset!r} gives {tuple(x.shape)}")
    n_classes = data.spec.n_classes
    if n_classes != mcfg.n_classes:
        raise TrainError(f"model config: n_classes is {mcfg.n_classes}; dataset {dataset!r} has "
                         f"{n_classes} classes")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@torch.no_grad()
def evaluate(model: RazorSNN, loader: DataLoader, masks: torch.Tensor, reweight: float,
             device: torch.device) -> float:
    """Accuracy of ``model`` (rate-coded output) with the given masks and re-weighting."""
    model.eval()
    correct = total = 0
    for x, y in loader:
        out = model(x.to(device), masks, reweight)
        correct += int((slayer.classifier.Rate.predict(out).cpu() == y).sum())
        total += len(y)
    model.train()
    return correct / max(total, 1)


def informative_scores(kept: torch.Tensor, informative: torch.Tensor) -> dict[str, float | None]:
    """Score the first gated layer's kept frames ``[T]`` against the generator's flags ``[T]``:
    recall of informative frames, and precision of the pruned frames (share uninformative)."""
    kept, informative = kept.bool().cpu(), informative.bool().cpu()
    pruned = ~kept
    recall = float((kept & informative).sum()) / max(int(informative.sum()), 1)
    # undefined (None) when nothing is pruned, e.g. the keep-ratio 1.0 baseline
    precision = float((pruned & ~informative).sum()) / int(pruned.sum()) if pruned.any() else None
    return {"informative_frame_recall": recall, "pruned_frame_precision": precision}


def train(cfg: TrainConfig, out: str | Path, model_config: ModelConfig | None = None,
          resume: bool = False, progress: bool = True) -> tuple[RazorSNN, dict[str, Any]]:
    """Train a Razor SNN and write ``out/checkpoint.pt`` and ``out/metrics.json``.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) it trains with DistributedDataParallel (gloo on
    CPU, nccl on CUDA); rank 0 writes the files.  Returns the trained model and the
    metrics (the contents of ``metrics.json``).
    """
    if cfg.epochs < 1:
        raise TrainError(f"--epochs: expected a positive integer, got {cfg.epochs}")
    if cfg.batch_size < 1:
        raise TrainError(f"--batch-size: expected a positive integer, got {cfg.batch_size}")
    out = Path(out)
    ckpt_path = out / "checkpoint.pt"
    check_writable(out, "--out", into=True)  # before any work, not after the first epoch
    if not resume and any((out / f).exists() for f in ("checkpoint.pt", "metrics.json")):
        raise OutputExists(f"--out {out}: already holds a training run (checkpoint.pt, "
                           "metrics.json); pass --resume to continue it, or choose another "
                           "--out")
    if resume and not ckpt_path.exists():
        raise TrainError(f"{ckpt_path}: --resume needs an existing checkpoint")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    rank, world = _dist_info()
    seed_everything(cfg.seed)

    mcfg = model_config or PRESETS.get(cfg.dataset)
    if mcfg is None:
        raise TrainError(f"--dataset: no preset for {cfg.dataset!r}; pass --config")
    _check_keep_ratio(cfg, mcfg)
    ckpt = _resumable_checkpoint(ckpt_path, cfg, mcfg, device) if resume else None
    train_set, test_set, data_spec = build_datasets(cfg, mcfg.frames)
    _check_data_fits(train_set, mcfg, cfg.dataset)
    model = RazorSNN(mcfg, seed=cfg.seed).to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    start, history = 0, []
    if ckpt is not None:
        try:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{ckpt_path}: weights do not fit the model "
                                  f"({str(exc).splitlines()[0]})") from exc
        start, history = ckpt["epoch"] + 1, ckpt["history"]
        torch.set_rng_state(ckpt["rng"])

    net: torch.nn.Module = model
    if world > 1:
        # the EPM scorers get no gradient once the attention is annealed away
        net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=cfg.seed) if world > 1 else None
    gen = torch.Generator().manual_seed(cfg.seed)
    test_loader = DataLoader(test_set, batch_size=64)
    loss_fn = slayer.loss.SpikeRate(true_rate=cfg.true_rate, false_rate=cfg.false_rate, reduction="sum")
    probe_gen = torch.Generator()
    t0 = time.time()
    for epoch in range(start, cfg.epochs):
        ratio, reweight = keep_ratio_at(cfg, epoch, len(model.epms)), reweight_at(cfg, epoch)
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        gen.manual_seed(cfg.seed + epoch)
        # per epoch (resume-exact) and per rank (each rank's samples get their own drops)
        probe_gen.manual_seed(cfg.seed * 1000 + epoch + 1 + 100_003 * rank)
        loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=sampler is None,
                            sampler=sampler, generator=gen)
        # the per-batch bar only on a terminal; in a log file the per-epoch line below says it
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=not progress or rank != 0 or not sys.stderr.isatty())
        # One mask per epoch (a top-k that flips between batches trains on no schedule at
        # all); the schedule is learned until the annealing ends, then frozen, so the last
        # epochs fine-tune the network on exactly the masks it is deployed with.
        masks = model.masks(ratio)
        learning = epoch < sum(_pruning_span(cfg))
        for x, y in bar:
            x, y = x.to(device), y.to(device)
            if learning:
                drop = (torch.rand((len(masks), len(y), masks.shape[1]), generator=probe_gen)
                        < cfg.probe_drop).to(device)
                probed, base, drop, density = probe_frames(model, x, y, drop, reweight)
            # once the schedule is frozen, the network trains on exactly the deployed masks
            train_masks = frame_dropout(masks, len(y), cfg.frame_dropout, probe_gen) if learning else masks
            loss = loss_fn(net(x, train_masks, reweight), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if learning:
                learn_embeddings(model, probed, base, drop, density, cfg)
            bar.set_postfix(loss=f"{loss.item() / len(y):.3f}")
        masks = model.masks(ratio)
        record = {"epoch": epoch + 1, "keep_ratio": ratio, "reweight": reweight,
                  "deploy_accuracy": evaluate(model, test_loader, masks, 0.0, device),
                  "train_path_accuracy": evaluate(model, test_loader, masks, reweight, device)}
        history.append(record)
        if rank == 0:
            if progress:
                keep = ",".join(f"{r:.2f}" for r in ratio)
                tqdm.write(f"epoch {epoch + 1}: keep {keep}  deploy acc {record['deploy_accuracy']:.3f}  "
                           f"train-path acc {record['train_path_accuracy']:.3f}")
            _save_checkpoint(ckpt_path, model, opt, cfg, mcfg, data_spec, epoch, history, ratio)
    masks = model.masks(keep_ratio_at(cfg, cfg.epochs - 1, len(model.epms)))
    schedule = schedule_from_model(model, masks)
    last = history[-1]
    metrics: dict[str, Any] = {
        "dataset": cfg.dataset,
        "deploy_accuracy": last["deploy_accuracy"],
        "train_path_accuracy": last["train_path_accuracy"],
        "frames": mcfg.frames,
        "keep_ratio": schedule.keep_ratios,
        "kept_frames": schedule.kept_frames(),
        "gated_layers": list(schedule.layers),
        "epochs": cfg.epochs,
        "seconds": time.time() - t0,
        "world_size": world,
        "device": str(device),
        "history": history,
    }
    if isinstance(test_set, SyntheticEvents):
        metrics.update(informative_scores(masks[0], test_set.informative))
    if rank == 0:
        write_file(out / "metrics.json", json.dumps(metrics, indent=2).encode())
    return model, metrics


@torch.no_grad()
def probe_frames(model: RazorSNN, x: torch.Tensor, y: torch.Tensor, drop: torch.Tensor,
                 reweight: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``x`` with all frames and with random frame drops; the loss of both per sample.

    The drops are taken from the full input, not the current masks, so a frame the top-k
    already excludes is still measured and can come back.  A drop that removes no events
    (an empty frame) changes nothing and is not counted as one, so an empty frame's
    measured importance is exactly 0 rather than regression noise.

    Args:
        drop: ``[L, N, T]`` bool, the frames to drop at each gated layer.
    Returns:
        ``(probed, base, drop, density)``: the per-sample :func:`count_cross_entropy` with
        and without the drops, ``[N]`` each; the drops that removed events, ``[L, N, T]``;
        and each gated layer's input event density per frame with all frames, ``[L, T]``.
    """
    full = torch.ones(drop.shape[0], drop.shape[2], dtype=torch.bool, device=x.device)
    base = per_sample(count_cross_entropy, model(x, full, reweight), y)
    epms = [model.epms[k] for k in sorted(model.epms, key=int)]
    drop = drop & torch.stack([epm.last_active for epm in epms])
    density = torch.stack([epm.last_density for epm in epms])
    probed = per_sample(count_cross_entropy, model(x, full.unsqueeze(1) & ~drop, reweight), y)
    return probed, base, drop, density


def count_cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the output spike counts ``out.sum(-1)`` (``out`` ``[N, classes, T]``)
    taken as logits, summed over the batch: the probe's measure of class evidence.

    Unlike the training loss (``SpikeRate``, a squared error to a target rate), it is
    monotone in the evidence: fewer true-class or more wrong-class spikes always cost
    more.  Under ``SpikeRate`` a confident sample whose true class fires above the target
    rate *gains* when an informative frame is dropped, which taught the schedule to drop
    the frames the network relies on most."""
    return torch.nn.functional.cross_entropy(out.flatten(1, -2).sum(-1), y, reduction="sum")


def per_sample(loss_fn: torch.nn.Module, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample values ``[N]`` of a summed slayer loss."""
    return torch.stack([loss_fn(out[i:i + 1], y[i:i + 1]) for i in range(len(y))])


def learn_embeddings(model: RazorSNN, losses: torch.Tensor, base: torch.Tensor,
                     drop: torch.Tensor, density: torch.Tensor, cfg: TrainConfig) -> None:
    """Update each EPM's embedding from one batch of random frame drops.

    The per-sample loss increase over the undropped run, ``losses - base``, is regressed
    (ridge, no intercept: no drop means no change) on the drop indicators of all gated
    layers at once; coefficient ``beta[l, t]`` is the measured cost of dropping frame ``t``
    at layer ``l``.  Pairing each sample with itself removes sample difficulty from the
    estimate, and the joint regression separates the effects of frames dropped together.
    The normal equations accumulate over batches (``model.probe_gram``/``probe_rhs``, with
    slow forgetting as the network changes): one batch has fewer samples than unknowns.
    Each embedding is then set to ``beta - event_cost * density``.

    Args:
        losses: per-sample loss with drops, ``[N]``.
        base: per-sample loss of the same samples without drops, ``[N]``.
        drop: ``[L, N, T]``, True where sample ``n`` had frame ``t`` of gated layer ``l`` dropped.
        density: ``[L, T]``, each gated layer's input event density per frame (the probe's
            run with all frames, so neither the masks nor frame dropout bias the event cost).
    """
    L, N, T = drop.shape
    design = drop.permute(1, 0, 2).reshape(N, L * T).double()
    diff = ((losses - base) / base.mean().clamp_min(1e-8)).double()
    gram, rhs = design.T @ design, design.T @ diff
    epms = [model.epms[k] for k in sorted(model.epms, key=int)]
    density = density.clone()
    if dist.is_available() and dist.is_initialized():  # every rank learns from all probes
        for t in (gram, rhs, density):
            dist.all_reduce(t)
        density /= dist.get_world_size()
    keep = 1.0 - cfg.probe_forgetting
    model.probe_gram.mul_(keep).add_(gram)
    model.probe_rhs.mul_(keep).add_(rhs)
    eye = torch.eye(L * T, dtype=torch.float64, device=design.device)
    beta = torch.linalg.solve(model.probe_gram + eye, model.probe_rhs).float().view(L, T)
    for l, epm in enumerate(epms):
        epm.learn(beta[l], density[l], cfg.event_cost)


def _save_checkpoint(path: Path, model: RazorSNN, opt: torch.optim.Optimizer, cfg: TrainConfig,
                     mcfg: ModelConfig, data_spec: dict[str, Any], epoch: int,
                     history: list[dict[str, Any]], keep_ratios: list[float]) -> None:
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "model_config": mcfg.to_dict(), "train_config": asdict(cfg),
                "keep_ratios": keep_ratios,  # this epoch's, per gated layer: export's schedule
                "dataset": data_spec, "epoch": epoch, "history": history,
                "rng": torch.get_rng_state()}, buffer)
    write_file(path, buffer.getvalue())

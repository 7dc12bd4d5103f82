"""Per-epoch training policies: keep ratio, attention re-weighting, learning rate and frame
dropout, each a pure function of the :class:`TrainConfig` and the epoch (so a resumed run
uses the same values); :class:`EpochPlan` bundles one epoch's values for the loop.

Epochs count from 0.  With ``start, span = pruning_span(cfg)``:

* keep ratio of a gated layer with target ``r`` (:func:`target_keep_ratios`): ``1`` before ``start``, then
  ``1 + (r - 1) * min(1, (epoch + 1 - start) / span)``, exactly ``r`` once annealed;
* re-weighting: ``max(0, 1 - (epoch + 1) / (start + span))``;
* learning rate: ``lr * (1 + cos(pi * epoch / epochs)) / 2``;
* the schedule is learned (probe) while ``epoch < start + span`` and some target ratio or
  the budget is below 1 (a schedule that keeps every frame needs no probe), with the
  ``razor`` schedule only (a baseline's is fixed);
* frame dropout in the epochs that learn the schedule, or in every epoch with
  ``dropout_to_end``; a run that keeps every frame drops frames in those epochs only with
  ``dropout_unpruned``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from razor_neuro.model_config import ConfigError, ModelConfig, layer_keep_ratios
from razor_neuro.training.config import TrainConfig, TrainError


def pruning_span(cfg: TrainConfig) -> tuple[int, int]:
    """First epoch of the keep-ratio annealing and its length in epochs."""
    return (int(round(cfg.prune_start * cfg.epochs)),
            max(1, int(round(cfg.anneal_fraction * cfg.epochs))))


def target_keep_ratios(cfg: TrainConfig, layers: int) -> list[float]:
    """The keep ratio each of the ``layers`` gated layers anneals to
    (:func:`razor_neuro.model_config.layer_keep_ratios`); 1 with the ``rebin`` schedule,
    whose keep ratio sets how many frames the samples are binned into, every one kept."""
    return layer_keep_ratios(1.0 if cfg.schedule == "rebin" else cfg.keep_ratio, layers)


def keep_ratio_at(cfg: TrainConfig, epoch: int, layers: int) -> list[float]:
    """Keep ratio of each of the ``layers`` gated layers at ``epoch``: 1.0 for the first
    ``prune_start`` of the epochs, then annealed linearly to the layer's target
    (:func:`target_keep_ratios`) over ``anneal_fraction`` of the epochs."""
    start, span = pruning_span(cfg)
    frac = min(1.0, max(0, epoch + 1 - start) / span)
    targets = target_keep_ratios(cfg, layers)
    # the targets themselves once annealed: 1 + (r - 1) * 1.0 need not round to r's frames
    return targets if frac >= 1.0 else [1.0 + (r - 1.0) * frac for r in targets]


def reweight_at(cfg: TrainConfig, epoch: int) -> float:
    """Strength of the per-sample attention re-weighting at ``epoch``: 1 → 0 by the end of
    the keep-ratio annealing."""
    start, span = pruning_span(cfg)
    return max(0.0, 1.0 - (epoch + 1) / (start + span))


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate at ``epoch``: cosine decay from ``cfg.lr`` towards 0 over the epochs."""
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / cfg.epochs))


def learns_schedule(cfg: TrainConfig, epoch: int) -> bool:
    """Whether ``epoch`` still learns the schedule rather than fine-tuning on the frozen
    masks: until the keep-ratio annealing ends (the anneal's span, whatever the targets)."""
    return epoch < sum(pruning_span(cfg))


def prunes(cfg: TrainConfig, layers: int) -> bool:
    """Whether some of the ``layers`` gated layers' target keep ratio is below 1, or the run
    has a budget below 1."""
    return min(target_keep_ratios(cfg, layers)) < 1.0 or cfg.budget < 1.0


def probes_at(cfg: TrainConfig, epoch: int, layers: int) -> bool:
    """Whether ``epoch`` probes frame importance: while it learns the schedule and the run
    :func:`prunes` with the learned (``razor``) schedule; a baseline's is fixed."""
    return learns_schedule(cfg, epoch) and prunes(cfg, layers) and cfg.schedule == "razor"


def drops_frames_at(cfg: TrainConfig, epoch: int, layers: int) -> bool:
    """Whether ``epoch`` trains with frame dropout: always with ``cfg.dropout_to_end``;
    else while it learns the schedule (:func:`learns_schedule`: the dropout prepares the
    network for the frames the schedule will prune), and in a run whose targets keep every
    frame only with ``cfg.dropout_unpruned`` (there it only regularises)."""
    return cfg.dropout_to_end or (learns_schedule(cfg, epoch) and
                                  (prunes(cfg, layers) or cfg.dropout_unpruned))


def frame_dropout(masks: torch.Tensor, n: int, p: float, generator: torch.Generator) -> torch.Tensor:
    """Per-sample training masks ``[L, n, T]``: ``masks`` ``[L, T]`` with each sample's
    frames dropped at random (probability ``p``, the same frames at every gated layer)."""
    keep = torch.rand((n, masks.shape[1]), generator=generator) >= p
    return masks.unsqueeze(1) & keep.to(masks.device).unsqueeze(0)


def check_keep_ratio(cfg: TrainConfig, mcfg: ModelConfig) -> None:
    """Raise :class:`TrainError` naming ``--keep-ratio`` unless ``cfg.keep_ratio`` fits the
    model's gated layers and keeps at least one frame in each."""
    try:
        ratios = layer_keep_ratios(cfg.keep_ratio, mcfg.gated_layers)
    except ConfigError as exc:
        raise TrainError(f"--keep-ratio: {str(exc).removeprefix('keep ratio: ')}") from None
    if cfg.prune_mode == "skip" and any(r < 1.0 for r in ratios[1:]):
        raise TrainError("--keep-ratio: --prune-mode skip prunes the first gated layer only "
                         "(a deeper layer cannot skip a step the layers around it run); give "
                         "one ratio, or use --prune-mode gate to prune deeper layers")
    for r in ratios:
        if round(r * mcfg.frames) < 1:
            raise TrainError(f"--keep-ratio: {r} keeps no frame of {mcfg.frames}; expected at least "
                             f"{1 / mcfg.frames:.3g}")


@dataclass(frozen=True)
class EpochPlan:
    """What epoch ``epoch`` trains with.

    Attributes:
        keep_ratio: per gated layer, length ``L`` (:func:`keep_ratio_at`).
        reweight: attention strength in [0, 1] (:func:`reweight_at`).
        lr: learning rate (:func:`lr_at`).
        probing: frame importance is probed (:func:`probes_at`), one batch in
            ``probe_every``.
        frame_dropout: share of each sample's frames dropped, 0 when the epoch trains
            without frame dropout (:func:`drops_frames_at`).
    """

    epoch: int
    keep_ratio: list[float]
    reweight: float
    lr: float
    probing: bool
    frame_dropout: float
    probe_every: int = 1

    @classmethod
    def at(cls, cfg: TrainConfig, epoch: int, layers: int) -> "EpochPlan":
        """The plan of ``epoch`` for a model with ``layers`` gated layers."""
        return cls(epoch, keep_ratio_at(cfg, epoch, layers), reweight_at(cfg, epoch),
                   lr_at(cfg, epoch), probes_at(cfg, epoch, layers),
                   cfg.frame_dropout if drops_frames_at(cfg, epoch, layers) else 0.0, cfg.probe_every)

    def probes(self, batch: int) -> bool:
        """Whether batch number ``batch`` (from 0) of the epoch is probed."""
        return self.probing and batch % self.probe_every == 0

    def train_masks(self, masks: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """The masks a batch of ``n`` samples trains with: ``masks`` ``[L, T]`` with frame
        dropout (``[L, n, T]``) when the epoch drops frames, else ``masks`` itself."""
        return frame_dropout(masks, n, self.frame_dropout, generator) if self.frame_dropout else masks

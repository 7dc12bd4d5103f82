"""The frames the first gated layer keeps, where more than the keep-ratio annealing decides
them: a baseline schedule (``--schedule``, :mod:`razor_neuro.training.baselines`) written
into that layer's EPM embedding, and the synaptic-operations budget (``--budget synops=F``).

At epoch ``e`` let ``k_r`` be the annealed frame count of the first gated layer
(``round(keep_ratio_at(cfg, e)[0] * T)``) and ``b`` the budget annealed from 1 to ``F`` as
the keep ratio is annealed to its target.  The layer keeps ``S(k)`` for the largest
``k <= k_r`` whose share of the input events (summed over the training split) is at most
``b``, and at least one frame; ``S(k)`` is the top ``k`` of the learned embedding (razor)
or the baseline's ``k`` frames.  The first layer's synaptic operations are proportional to
its input events, so ``F`` bounds that layer's share of them, not the deeper layers'.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from razor_neuro.model import RazorSNN

from razor_neuro.model_config import ModelConfig, layer_keep_ratios
from razor_neuro.training.baselines import BASELINES, SCHEDULES, FrameFacts, scores
from razor_neuro.training.config import TrainConfig, TrainError
from razor_neuro.training.policies import EpochPlan, keep_ratio_at


def check_schedule(cfg: TrainConfig, mcfg: ModelConfig) -> None:
    """Raise :class:`TrainError` (one line) for an unknown schedule, ``oracle`` on a dataset
    that does not know its informative frames (only the synthetic one does), a budget outside
    (0, 1], or a baseline with deeper gated layers pruning (a baseline schedules the first
    gated layer only; the deeper ones would have nothing to learn their schedule from), or
    ``rebin`` with a budget or more than one keep ratio (it prunes nothing) or with
    ``--frames`` (it chooses its own binning)."""
    if cfg.schedule not in SCHEDULES:
        raise TrainError(f"--schedule: expected one of {', '.join(SCHEDULES)}, got "
                         f"{cfg.schedule!r}")
    if cfg.schedule == "oracle" and cfg.dataset != "synthetic":
        raise TrainError(f"--schedule oracle: only the synthetic dataset knows its informative "
                         f"frames, not {cfg.dataset!r}")
    if not 0.0 < cfg.budget <= 1.0:
        raise TrainError(f"--budget: expected synops=F with F in (0, 1], got synops={cfg.budget}")
    if cfg.schedule == "rebin" and (cfg.budget < 1.0 or not isinstance(cfg.keep_ratio, float)):
        raise TrainError("--schedule rebin: keeps every frame of samples binned into "
                         "round(keep ratio x T) frames; give --keep-ratio one number and no "
                         "--budget")
    if cfg.schedule == "rebin" and cfg.frames:
        raise TrainError("--frames: --schedule rebin bins the samples into round(keep ratio x "
                         "T) frames itself; give one of them")
    if cfg.schedule != "razor" and min(layer_keep_ratios(cfg.keep_ratio, mcfg.gated_layers)[1:],
                                       default=1.0) < 1.0:
        raise TrainError(f"--schedule {cfg.schedule}: a baseline schedules the first gated layer "
                         f"only; give --keep-ratio one number (deeper layers keep every frame)")


def frame_events(data: Dataset, frames: int) -> np.ndarray:
    """Input events of each frame summed over every sample of ``data`` (items ``(x [..., T],
    y)``), ``[T]`` float64."""
    total = torch.zeros(frames, dtype=torch.float64)
    for x, _ in DataLoader(data, batch_size=64):
        total += x.reshape(-1, frames).sum(0, dtype=torch.float64)
    return total.numpy()


def largest_within(frames_of: Callable[[int], np.ndarray], events: np.ndarray, most: int,
                   share: float) -> int:
    """The largest ``k <= most`` whose frames ``frames_of(k)`` hold at most ``share`` of all
    ``events`` ``[T]``; 1 when even one frame holds more."""
    total = float(events.sum())
    for k in range(most, 0, -1):
        if float(events[frames_of(k)].sum()) <= share * total:
            return k
    return 1


@dataclass(frozen=True)
class FrameChoice:
    """A run's schedule (``cfg.schedule``) and budget (``cfg.budget``) with what they need to
    know about the frames (``facts``)."""

    cfg: TrainConfig
    facts: FrameFacts

    @classmethod
    def setup(cls, cfg: TrainConfig, frames: int, train_set: Dataset) -> "FrameChoice":
        """Measure the training split's events per frame where the schedule or the budget
        needs them; read its informative flags where it has them."""
        needs = cfg.budget < 1.0 or cfg.schedule in ("density", "oracle")
        informative = getattr(train_set, "informative", None)
        return cls(cfg, FrameFacts(frames, cfg.seed,
                                   frame_events(train_set, frames) if needs else None,
                                   None if informative is None else informative.numpy()))

    def plan(self, plan: EpochPlan, model: RazorSNN) -> EpochPlan:
        """``plan`` with the first gated layer's keep ratio lowered to the budget's frame count
        where the budget binds; for a baseline, its frames at that count are written into the
        first gated layer's embedding (call before taking the plan's masks)."""
        cfg, facts = self.cfg, self.facts
        if cfg.schedule not in BASELINES and cfg.budget >= 1.0:  # razor, or rebin
            return plan
        epm = model.epms[str(min(int(i) for i in model.epms))]
        most = int(round(plan.keep_ratio[0] * facts.frames))
        if cfg.schedule == "razor":
            def frames_of(k: int) -> np.ndarray:
                return np.flatnonzero(epm.keep_mask(k).cpu().numpy())
        else:
            def frames_of(k: int) -> np.ndarray:
                return BASELINES[cfg.schedule](facts, k)
        keep = most
        if cfg.budget < 1.0:
            budget = keep_ratio_at(replace(cfg, keep_ratio=cfg.budget), plan.epoch, 1)[0]
            keep = largest_within(frames_of, facts.events, most, budget)
        if cfg.schedule != "razor":
            with torch.no_grad():
                epm.embedding.copy_(torch.from_numpy(scores(frames_of(keep), facts.frames)))
        if keep == most:
            return plan
        return replace(plan, keep_ratio=[keep / facts.frames, *plan.keep_ratio[1:]])

    def metrics(self, kept: torch.Tensor) -> dict[str, Any]:
        """What ``metrics.json`` records of the schedule, given the first gated layer's kept
        frames ``[T]``: its name, and with a budget the budget and the share of the training
        split's input events the kept frames hold."""
        out: dict[str, Any] = {"schedule": self.cfg.schedule}
        if self.cfg.budget < 1.0:
            events, total = self.facts.events, float(self.facts.events.sum())
            kept_events = float(events[kept.cpu().numpy().astype(bool)].sum())
            out["synops_budget"] = self.cfg.budget
            out["kept_event_share"] = kept_events / total if total else 0.0
        return out

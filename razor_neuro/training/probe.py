"""Frame-importance probing: what dropping each frame at each gated layer costs, learned
into the EPM embeddings.

One training batch in ``probe_every`` is probed (its two extra forward passes cost about
as much as the training step they accompany).  For a probed batch of ``N`` samples, each sample
runs once with all frames and once with random frames dropped (``drop`` ``[L, N, T]``, a
drop counted only where the frame carried events).  A drop silences its frame in both prune
modes (in ``skip`` mode only the first gated layer drops): removing it instead would also
take a time step from the sample, and a rate-coded output needs steps to answer, so late
empty and noise frames measured as important (docs/design.md, "Skipping pruned frames").  The relative loss increase ``d[n] = (probed[n] - base[n]) / mean(base)`` is
regressed on the drops (ridge, no intercept) with normal equations that accumulate over
probed batches with forgetting ``f``::

    X[n, l*T + t] = drop[l, n, t]
    G <- (1 - f) G + X^T X        (G: [L*T, L*T], float64)
    r <- (1 - f) r + X^T d        (r: [L*T],      float64)
    beta = (G + I)^-1 r           (viewed [L, T])
    e_l = beta[l] - event_cost * density[l]        (cost_rule "density"; "relative":
                                                    razor_neuro.epm.EPM.learn)

``density`` ``[L, T]`` is each gated layer's input event density per frame in the run
with all frames, averaged over the batch (and over the ranks under DDP, where ``G`` and
``r`` are summed over the ranks).  :class:`FrameProbe` owns ``G`` and ``r``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from razor_neuro.model import RazorSNN
from razor_neuro.training.config import TrainConfig
from razor_neuro.training.distributed import sum_over_ranks


def count_cross_entropy(out: torch.Tensor, y: torch.Tensor,
                        reduction: str = "sum") -> torch.Tensor:
    """Cross-entropy of the output spike counts ``out.sum(-1)`` (``out`` ``[N, classes, T]``)
    taken as logits: the probe's measure of class evidence.  Summed over the batch, or per
    sample ``[N]`` with ``reduction="none"``."""
    return torch.nn.functional.cross_entropy(out.flatten(1, -2).sum(-1), y, reduction=reduction)


@dataclass(frozen=True)
class ProbeBatch:
    """One batch's probe.

    Attributes:
        probed: per-sample :func:`count_cross_entropy` with the drops, ``[N]``.
        base: the same without drops, ``[N]``.
        drop: ``[L, N, T]`` bool, the drops that removed events.
        density: ``[L, T]``, each gated layer's input event density per frame with all
            frames (mean over the batch).
    """

    probed: torch.Tensor
    base: torch.Tensor
    drop: torch.Tensor
    density: torch.Tensor


@torch.no_grad()
def probe_frames(model: RazorSNN, x: torch.Tensor, y: torch.Tensor, drop: torch.Tensor,
                 reweight: float) -> ProbeBatch:
    """Run ``x`` ``[N, *input_shape, T]`` with all frames and with the frames ``drop``
    ``[L, N, T]`` dropped (taken from the full input, not the current masks); ``y`` ``[N]``
    are the labels."""
    full = torch.ones(drop.shape[0], drop.shape[2], dtype=torch.bool, device=x.device)
    out, density = model.forward_with_density(x, full, reweight)
    base = count_cross_entropy(out, y, reduction="none")
    # a skip model's deeper layers run T + readout steps; frames are what the probe weighs
    density = [d[..., :drop.shape[2]] for d in density]
    drop = drop & torch.stack([d > 0 for d in density])
    density = torch.stack([d.mean(dim=0) for d in density])
    with model.silencing():  # what a frame's events are worth, in either prune mode
        probed = count_cross_entropy(model(x, full.unsqueeze(1) & ~drop, reweight), y,
                                     reduction="none")
    return ProbeBatch(probed, base, drop, density)


def normal_equations(batch: ProbeBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """``(X^T X, X^T d)`` of one batch (module docstring), ``[L*T, L*T]`` and ``[L*T]``
    float64."""
    L, N, T = batch.drop.shape
    design = batch.drop.permute(1, 0, 2).reshape(N, L * T).double()
    diff = ((batch.probed - batch.base) / batch.base.mean().clamp_min(1e-8)).double()
    return design.T @ design, design.T @ diff


def ridge_solve(gram: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``beta = (gram + I)^-1 rhs``, float32, shape of ``rhs``."""
    eye = torch.eye(len(rhs), dtype=torch.float64, device=rhs.device)
    return torch.linalg.solve(gram + eye, rhs).float()


class FrameProbe:
    """The frame-importance probe of one training run (module docstring); owns the
    running normal equations ``gram`` ``[L*T, L*T]`` and ``rhs`` ``[L*T]`` (float64).

    Args:
        cfg: ``probe_drop``, ``probe_forgetting``, ``event_cost`` and ``cost_rule`` are read.
        layers: L, the gated layers.
        frames: T.
        device: where the normal equations live.
    """

    def __init__(self, cfg: TrainConfig, layers: int, frames: int, device: torch.device) -> None:
        self.layers, self.frames = layers, frames
        self.drop_p, self.forgetting, self.event_cost = (cfg.probe_drop, cfg.probe_forgetting,
                                                         cfg.event_cost)
        self.cost_rule = cfg.cost_rule
        n = layers * frames
        self.gram = torch.zeros(n, n, dtype=torch.float64, device=device)
        self.rhs = torch.zeros(n, dtype=torch.float64, device=device)

    def measure(self, model: RazorSNN, x: torch.Tensor, y: torch.Tensor, reweight: float,
                generator: torch.Generator) -> ProbeBatch:
        """Draw each sample's drops (probability ``probe_drop`` per layer and frame, from
        ``generator``) and probe the batch ``x``, ``y`` (:func:`probe_frames`)."""
        drop = torch.rand((self.layers, len(y), self.frames), generator=generator) < self.drop_p
        if model.prune_mode == "skip":  # only the first gated layer prunes
            drop[1:] = False
        return probe_frames(model, x, y, drop.to(x.device), reweight)

    def learn(self, model: RazorSNN, batch: ProbeBatch) -> None:
        """Fold ``batch`` into the normal equations and set every EPM's embedding to its
        measured importance less its events' cost (:meth:`razor_neuro.epm.EPM.learn`)."""
        gram, rhs = normal_equations(batch)
        density = batch.density.clone()
        density /= sum_over_ranks(gram, rhs, density)
        keep = 1.0 - self.forgetting
        self.gram.mul_(keep).add_(gram)
        self.rhs.mul_(keep).add_(rhs)
        beta = ridge_solve(self.gram, self.rhs).view(self.layers, self.frames)
        epms = [model.epms[k] for k in sorted(model.epms, key=int)]
        for l, epm in enumerate(epms):
            epm.learn(beta[l], density[l], self.event_cost, self.cost_rule)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """``{"gram", "rhs"}``: what a checkpoint stores to resume exactly."""
        return {"gram": self.gram, "rhs": self.rhs}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`state_dict`.

        Raises:
            KeyError: a state without ``gram`` or ``rhs``.
            RuntimeError: one of another shape.
        """
        for name in ("gram", "rhs"):
            mine, theirs = getattr(self, name), state[name]
            if theirs.shape != mine.shape:
                raise RuntimeError(f"size mismatch for probe {name}: {tuple(theirs.shape)} in "
                                   f"the checkpoint, {tuple(mine.shape)} in the model")
            mine.copy_(theirs)

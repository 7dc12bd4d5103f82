"""Event Pruning Mechanism (EPM): global temporal embedding, dynamic scorer, keep masks.

One EPM sits before each gated layer (see ``shared/design/razor-snn.md``).  slayer has no
temporal-gating block, so this small module is our own.
"""
from __future__ import annotations

import torch
from torch import nn


class _StraightThrough(torch.autograd.Function):
    """Forward: the hard 0/1 mask.  Backward: the mask's gradient goes unchanged to the
    embedding, so ``e_t`` accumulates the first-order loss change of keeping frame ``t``."""

    @staticmethod
    def forward(ctx, mask: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return mask.to(embedding.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, torch.Tensor]:  # type: ignore[override]
        return None, grad


class EPM(nn.Module):
    """Temporal frame gate for inputs shaped ``[N, ..., T]``.

    Args:
        frames: T, the number of time bins.
        hidden: width of the squeeze-and-excite scorer.
        seed: seeds the embedding's small random initialisation (breaks top-k ties).
    """

    def __init__(self, frames: int, hidden: int = 8, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        #: global temporal embedding ``e`` of shape ``[T]``, shared by all samples.
        self.embedding = nn.Parameter(0.01 * torch.randn(frames, generator=g))
        self.fc1 = nn.Linear(frames, hidden)
        self.fc2 = nn.Linear(hidden, frames)

    @property
    def frames(self) -> int:
        return int(self.embedding.numel())

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample frame scores ``a = sigmoid(W2 relu(W1 (s + e)))``, shape ``[N, T]``.

        ``s[n, t]`` is the event density of frame ``t`` (mean over all non-time axes).
        """
        s = x.flatten(1, -2).mean(dim=1)
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(s + self.embedding))))

    def keep_mask(self, keep: int, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Static binary mask ``[T]``: the ``keep`` frames with the largest embedding,
        chosen among ``allowed`` frames (hierarchical pruning); depends on ``e`` alone."""
        e = self.embedding.detach()
        if allowed is not None:
            keep = min(keep, int(allowed.sum()))
            e = e.masked_fill(~allowed, float("-inf"))
        mask = torch.zeros(self.frames, dtype=torch.bool, device=e.device)
        if keep > 0:
            mask[torch.topk(e, keep).indices] = True
        return mask

    def forward(self, x: torch.Tensor, mask: torch.Tensor, reweight: float = 0.0) -> torch.Tensor:
        """Gate ``x`` (``[N, ..., T]``) with the hard ``mask`` (``[T]``).

        The forward pass multiplies by the hard 0/1 mask exactly; the backward pass sends
        the mask's gradient to ``e`` (straight-through), so dropped frames can come back.
        ``reweight`` in [0, 1] blends in the per-sample attention (training only; it
        cannot be deployed with binary spikes, so training anneals it to 0).
        """
        y = x * _StraightThrough.apply(mask, self.embedding)
        if reweight > 0:
            a = self.attention(x)
            shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
            y = y * (1 - reweight + reweight * a.view(shape))
        return y

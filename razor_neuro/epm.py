"""Event Pruning Mechanism (EPM): global temporal embedding, dynamic scorer, keep masks.

One EPM sits before each gated layer (see ``shared/design/razor-snn.md``).  slayer has no
temporal-gating block, so this small module is our own.

How the embedding learns.  We first trained ``e`` by back-propagation through a
straight-through top-k mask.  Measured on the synthetic set, that first-order signal is
nearly zero for every frame but the first two informative ones (a rate-coded SNN's
output depends most on early input), so it cannot tell a late informative frame from an
empty one.  ``e`` is therefore learned from a zeroth-order estimate instead: during the
training each sample also runs with a random subset of frames dropped, and ``e_t`` becomes the
measured loss increase when frame ``t`` is dropped (regressed over all probes so far, see
``razor_neuro.training.probe``) minus an event cost (its event density: what
keeping it costs in synaptic operations).  The probe's loss is the cross-entropy of the
output spike counts, which is monotone in class evidence (the training loss, a squared
error to a target rate, is not), and a frame without events is never counted as dropped,
so an empty frame's importance is exactly 0.
"""
from __future__ import annotations

import torch
from torch import nn


def frame_density(x: torch.Tensor) -> torch.Tensor:
    """Event density of each frame of ``x`` ``[N, ..., T]``: the mean over all axes but the
    sample and time axes, ``[N, T]``."""
    return x.flatten(1, -2).mean(dim=1)


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
        self.embedding = nn.Parameter(0.01 * torch.randn(frames, generator=g), requires_grad=False)
        self.fc1 = nn.Linear(frames, hidden)
        self.fc2 = nn.Linear(hidden, frames)

    @property
    def frames(self) -> int:
        return int(self.embedding.numel())

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample frame scores ``a = sigmoid(W2 relu(W1 (s + e)))``, shape ``[N, T]``.

        ``s[n, t]`` is the event density of frame ``t`` (:func:`frame_density`), read as an
        observation of the input: no gradient flows back through it into the spikes that
        produced it (a mean over C·H·W inputs, its share of each spike's gradient is
        1/(C·H·W); docs/design.md, "The gate scales the synapse's output").
        """
        s = frame_density(x.detach())
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(s + self.embedding))))

    def keep_mask(self, keep: int) -> torch.Tensor:
        """Static binary mask ``[T]``: the ``keep`` frames with the largest embedding;
        depends on ``e`` alone."""
        mask = torch.zeros(self.frames, dtype=torch.bool, device=self.embedding.device)
        if keep > 0:
            mask[torch.topk(self.embedding.detach(), keep).indices] = True
        return mask

    @torch.no_grad()
    def learn(self, importance: torch.Tensor, density: torch.Tensor, event_cost: float,
              rule: str = "density") -> None:
        """Set the embedding to the frames' value, by ``rule``
        (:data:`razor_neuro.training.config.COST_RULES`):

        * ``density``: ``importance - event_cost * density``;
        * ``relative``: ``importance / mean|importance| - event_cost * density / mean
          density`` (means over the frames with events), so a cost of 1 prices a frame of
          average density at the average importance; a frame without events ranks last
          (it carries nothing, and skipping it saves a time step).

        ``importance`` ``[T]`` is the measured loss increase when frame ``t`` is dropped;
        ``density`` ``[T]`` is each frame's event density (a batch mean of :func:`frame_density`)."""
        value = importance - event_cost * density
        has = density > 0
        if rule == "relative" and bool(has.any()):
            scale = importance[has].abs().mean().clamp_min(1e-12)
            value = importance / scale - event_cost * density / density[has].mean()
            value[~has] = value[has].min() - 1.0
        self.embedding.copy_(value)

    def gate(self, x: torch.Tensor, mask: torch.Tensor,
             reweight: float = 0.0) -> torch.Tensor | None:
        """The factor by which the gated layer's input ``x`` (``[N, ..., T]``) is scaled per
        frame: the binary ``mask``, ``[T]`` (static) or ``[N, T]`` (per sample, used while
        measuring frame importance), times ``1 - reweight + reweight * a`` (``a`` =
        :meth:`attention`, ``[N, T]``) when ``reweight`` > 0.  ``None`` when the factor is
        1 everywhere (nothing to gate).

        ``reweight`` in [0, 1] blends in the per-sample attention (training only; it
        cannot be deployed with binary spikes, so training anneals it to 0).
        """
        m = mask.to(x.dtype)
        if reweight > 0:
            return m * (1 - reweight + reweight * self.attention(x))
        return None if bool(mask.all()) else m


def scale_frames(z: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``z`` ``[N, ..., T]`` times a per-frame ``factor``, ``[T]`` or ``[N, T]``."""
    if factor.dim() == 1:
        return z * factor
    return z * factor.view((z.shape[0],) + (1,) * (z.dim() - 2) + (z.shape[-1],))


def skip_frames(x: torch.Tensor, mask: torch.Tensor, factor: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Remove the frames ``mask`` prunes from the time axis of ``x`` ``[N, ..., T]`` and of
    the gate's ``factor`` (``[T]`` or ``[N, T]``, or None).

    A static ``mask`` ``[T]`` keeps ``K`` frames: ``x[..., mask]``, ``[N, ..., K]``, and
    ``steps`` is None.  A per-sample ``mask`` ``[N, T]`` (frame dropout, the probe) moves each
    sample's kept frames to its first ``k_n`` steps, in order, and zeros the rest:
    ``[N, ..., max k_n]``, with ``steps`` ``[N]`` = ``k_n``.  The network is causal, so its
    first ``k_n`` output steps are those of the sample's own ``k_n``-step run; the caller
    zeros the output after them.

    Returns:
        ``(x, factor, steps)``; ``factor`` is None where it is 1 everywhere.
    """
    if mask.dim() == 1:
        keep = torch.nonzero(mask).flatten()
        x = x.index_select(-1, keep)
        if factor is not None:
            factor = factor.index_select(-1, keep)
            if bool(factor.eq(1).all()):
                factor = None
        return x, factor, None
    steps = mask.sum(-1)
    width = int(steps.max())
    order = torch.sort((~mask).to(torch.int8), dim=-1, stable=True).indices[:, :width]
    valid = torch.arange(width, device=x.device) < steps[:, None]  # [N, width]
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (width,)
    x = scale_frames(x.gather(-1, order.view(shape).expand(*x.shape[:-1], width)),
                     valid.to(x.dtype))
    if factor is not None:
        factor = factor.expand(mask.shape).gather(-1, order) * valid.to(factor.dtype)
    return x, factor, steps

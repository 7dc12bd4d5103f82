"""Accuracy of a model on a test loader, and the frame schedule scored against the
synthetic generator's informative frames."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from razor_neuro import _compat
from razor_neuro.model import RazorSNN

slayer = _compat.slayer()


@torch.no_grad()
def evaluate(model: RazorSNN, loader: DataLoader, masks: torch.Tensor, reweight: float,
             device: torch.device) -> float:
    """Accuracy of ``model`` (rate-coded output) with the masks ``[L, T]`` and re-weighting
    ``reweight``; leaves the model in training mode."""
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

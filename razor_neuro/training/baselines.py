"""Baseline frame schedules: the trivial schedules a learned one is measured against
(``razor-neuro train --schedule NAME``), each a pure function of what it may know (the frame
count, the seed, the training split's events, the dataset's informative flags) and of
``keep``, the number of frames the first gated layer keeps.

Each returns the frames it keeps, ``[keep]`` int64, most important first; docs/design.md
("Baseline schedules") says how training uses them.  Imports numpy only: the CLI reads
:data:`SCHEDULES`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True)
class FrameFacts:
    """What a baseline may know about the frames.

    Attributes:
        frames: T, the number of time bins.
        seed: the run's seed.
        events: input events of each frame summed over the training split, ``[T]``
            (None where no baseline or budget needs it).
        informative: the dataset's informative-frame flags, ``[T]`` bool (None where the
            dataset does not know them).
    """

    frames: int
    seed: int = 0
    events: Optional[np.ndarray] = None
    informative: Optional[np.ndarray] = None


def first(facts: FrameFacts, keep: int) -> np.ndarray:
    """Frames ``0 .. keep - 1``: truncation, fewer time steps."""
    return np.arange(keep)


def uniform(facts: FrameFacts, keep: int) -> np.ndarray:
    """Frames ``floor(i * T / keep)`` for ``i < keep``: every ``(T / keep)``-th frame from frame
    0 (keep 0.5 of 16 frames: 0, 2, ..., 14; keep 0.25: 0, 4, 8, 12)."""
    return (np.arange(keep) * facts.frames) // keep


def random(facts: FrameFacts, keep: int) -> np.ndarray:
    """The first ``keep`` frames of a permutation of the T frames drawn from the seed (one
    permutation per seed, so a smaller keep keeps a subset of a larger one's frames)."""
    return np.random.default_rng([facts.seed, 23]).permutation(facts.frames)[:keep]


def density(facts: FrameFacts, keep: int) -> np.ndarray:
    """The ``keep`` frames with the most input events on the training split (ties: the
    earlier frame)."""
    return np.argsort(-np.asarray(facts.events), kind="stable")[:keep]


def oracle(facts: FrameFacts, keep: int) -> np.ndarray:
    """The informative frames (in time order), then the uninformative frames from the fewest
    input events on the training split to the most (empty before noise), the first ``keep``
    of them: at ``keep`` = the number of informative frames, exactly the informative frames;
    with fewer, the earliest informative frames."""
    informative = np.asarray(facts.informative, dtype=bool)
    rest = np.flatnonzero(~informative)
    rest = rest[np.argsort(np.asarray(facts.events)[rest], kind="stable")]
    return np.concatenate([np.flatnonzero(informative), rest])[:keep]


#: the baselines by name; ``razor`` is the learned schedule
BASELINES: dict[str, Callable[[FrameFacts, int], np.ndarray]] = {
    "first": first, "uniform": uniform, "random": random, "density": density, "oracle": oracle}
#: every ``--schedule`` name, the default first; ``rebin`` keeps every frame of samples
#: binned into fewer (:func:`razor_neuro.training.datasets.binned_frames`)
SCHEDULES = ("razor", *BASELINES, "rebin")


def scores(kept: np.ndarray, frames: int) -> np.ndarray:
    """An EPM embedding ``[T]`` (float32) whose top ``len(kept)`` frames are exactly ``kept``:
    ``(T - i) / T`` for the ``i``-th frame of ``kept``, 0 for every other frame."""
    out = np.zeros(frames, dtype=np.float32)
    out[np.asarray(kept, dtype=np.int64)] = (frames - np.arange(len(kept))) / frames
    return out

"""Built-in synthetic DVS-like event dataset: the default that runs anywhere.

A bright square moves on a ``size``×``size`` sensor with two polarities (ON at its
leading edge, OFF at its trailing edge).  It moves in one of ``n_classes // 2`` headings
during the first half of its motion, then turns left or right by one heading step; the
class is the pair (heading, turn).  The second leg then runs along another heading, so
each leg alone is shared by two classes, and the turning point is drawn independently of
the class, so the object's position does not give the first leg away either: no single
frame tells the class, and both halves of the motion are needed.

Only some of the ``frames`` time bins carry motion ("informative").  The others are, by
construction, either empty (the object pauses, the sensor is silent) or pure noise (a
burst of random events unrelated to the object).  Which frames are which is a fixed
property of the dataset (drawn from ``seed``), as it is for a sensor whose redundant
periods recur, so a *static* frame schedule can learn to drop them.  Every sample records
its ``informative`` flags so a learned schedule can be scored against them.

``merge`` bins the same samples into fewer, longer frames: each run of ``merge`` consecutive
frames becomes one, the OR of their spikes (the ``rebin`` schedule's data; the motion
pattern is still drawn for ``frames``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass(frozen=True)
class SyntheticSpec:
    """Parameters of the synthetic event stream (all deterministic from ``seed``)."""

    n_samples: int = 960
    frames: int = 16
    size: int = 32
    n_classes: int = 6
    informative_frames: int = 8
    noise_frames: int = 4
    noise_events: int = 200
    object_size: int = 6
    active_fraction_eighths: int = 5
    speed: float = 1.5
    seed: int = 0
    merge: int = 1  # frames OR-ed into one (merge_frames); 1 leaves the samples as drawn


def frame_pattern(spec: SyntheticSpec) -> np.ndarray:
    """Frame kinds of the dataset, shape ``[T]``: 0 empty, 1 informative, 2 noise."""
    rng = np.random.default_rng([spec.seed, 7])
    kinds = np.zeros(spec.frames, dtype=np.int8)
    # Motion happens in the first 5/8 of the window; the rest is a trailing lull (empty
    # or noise), as after a gesture ends.  This also keeps motion inside what a network
    # with a few layers of pipeline delay can still turn into output spikes within T steps.
    active = max(spec.informative_frames, (spec.active_fraction_eighths * spec.frames) // 8)
    order = rng.permutation(active)
    kinds[np.sort(order[:spec.informative_frames])] = 1
    rest = np.concatenate([order[spec.informative_frames:], np.arange(active, spec.frames)])
    kinds[rng.permutation(rest)[:spec.noise_frames]] = 2
    return kinds


def _square(size: int, cx: float, cy: float, side: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    half = side / 2
    return ((np.abs(xx - cx) < half) & (np.abs(yy - cy) < half)).astype(np.int8)


def make_sample(spec: SyntheticSpec, index: int) -> tuple[np.ndarray, int]:
    """One sample: spikes ``[2, size, size, T]`` (uint8, C,H,W,T as slayer) and its label."""
    rng = np.random.default_rng([spec.seed, index])
    label = int(rng.integers(spec.n_classes))
    headings = spec.n_classes // 2
    angle = 2 * np.pi * (label % headings) / headings
    # Turning by one heading step makes the second leg run along another class's heading,
    # so each leg alone is shared by two classes: only both legs together tell the class.
    turn = (1 if label // headings else -1) * 2 * np.pi / headings
    half = spec.informative_frames // 2
    margin = spec.object_size / 2 + spec.speed * half + 1
    # The turning point, not the start, is drawn uniformly: it is then independent of the
    # class, so where the object is says nothing about where it came from.
    tx, ty = rng.uniform(margin, spec.size - margin, size=2)
    cx, cy = tx - spec.speed * half * np.cos(angle), ty - spec.speed * half * np.sin(angle)
    kinds = frame_pattern(spec)
    moves = 0
    out = np.zeros((2, spec.size, spec.size, spec.frames), dtype=np.uint8)
    image = _square(spec.size, cx, cy, spec.object_size)
    for t, kind in enumerate(kinds):
        if kind == 1:
            a = angle if moves < half else angle + turn
            moves += 1
            cx, cy = cx + spec.speed * np.cos(a), cy + spec.speed * np.sin(a)
            new = _square(spec.size, cx, cy, spec.object_size)
            diff = new - image
            out[0, :, :, t] = diff > 0
            out[1, :, :, t] = diff < 0
            image = new
        elif kind == 2:
            pol = rng.integers(2, size=spec.noise_events)
            ys, xs = rng.integers(spec.size, size=(2, spec.noise_events))
            out[pol, ys, xs, t] = 1
    return out, label


def merge_frames(x: np.ndarray, merge: int) -> np.ndarray:
    """Each run of ``merge`` consecutive frames OR-ed into one: ``[..., T]`` ->
    ``[..., T / merge]`` (a spike where any of the run's frames has one)."""
    return x.reshape(*x.shape[:-1], x.shape[-1] // merge, merge).max(-1)


class SyntheticEvents(Dataset):
    """Deterministic synthetic DVS dataset; ``train`` and test splits never overlap.

    Items are ``(x, y)``: ``x`` float32 ``[2, size, size, T / merge]`` in {0, 1}, ``y`` int;
    ``informative`` ``[T / merge]``: a merged frame is informative where one of its frames is.

    Raises:
        ValueError: ``spec.merge`` does not divide ``spec.frames``.
    """

    def __init__(self, spec: SyntheticSpec = SyntheticSpec(), train: bool = True,
                 test_fraction: float = 0.25) -> None:
        if spec.merge < 1 or spec.frames % spec.merge:
            raise ValueError(f"dataset spec: merge {spec.merge} does not divide frames "
                             f"{spec.frames}; expected a divisor of it")
        self.spec = spec
        n_test = int(round(spec.n_samples * test_fraction))
        offset = 0 if train else spec.n_samples - n_test
        self.indices = range(offset, offset + (spec.n_samples - n_test if train else n_test))
        self.informative = torch.from_numpy(merge_frames(frame_pattern(spec) == 1, spec.merge))

    def for_epoch(self, epoch: int) -> "SyntheticEvents":
        """This training split with new samples for ``epoch`` (from 0): epoch 0 is the split
        itself, epoch ``e`` the ``len(self)`` sample indices that follow ``n_samples + (e - 1)
        * len(self)``, past the test split, so no epoch ever trains on a test sample.

        Raises:
            ValueError: called on the test split.
        """
        if self.indices.start != 0:
            raise ValueError("for_epoch: only the training split draws new samples")
        n = len(self.indices)
        start = 0 if epoch == 0 else self.spec.n_samples + (epoch - 1) * n
        other = copy.copy(self)  # the same spec and frame pattern, other indices
        other.indices = range(start, start + n)
        return other

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x, y = make_sample(self.spec, self.indices[i])
        return torch.from_numpy(merge_frames(x, self.spec.merge)).float(), y

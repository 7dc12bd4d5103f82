"""Events -> spike frames: the transforms a loaded dataset applies to each recording."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Compose", "ToSpikeFrames"]


class ToSpikeFrames:
    """Bin a structured event array into exactly ``frames`` equal time bins.

    ``tonic.transforms.ToFrame(n_time_bins=T)`` uses half-open windows of width
    ``(t_last - t_first) // T`` and therefore always drops the events at ``t_last`` (and
    up to ``T - 1`` time units more). Here every timestamp is first mapped to its bin index
    ``floor((t - t_first) * T / (t_last - t_first + 1))`` in ``[0, T)`` and tonic's
    ``ToFrame(time_window=1)`` then accumulates one frame per index, so no event is lost.

    Returns:
        ``np.ndarray`` of int16 counts, shape ``[T, P, H, W]`` (``[T, P, W]`` when the
        event dtype has no ``y`` field, as for SHD).
    """

    def __init__(self, sensor_size: tuple[int, int, int], frames: int):
        self.sensor_size = tuple(int(s) for s in sensor_size)
        self.frames = int(frames)

    def __call__(self, events: np.ndarray) -> np.ndarray:
        import tonic

        w, h, p = self.sensor_size
        has_y = "y" in events.dtype.names
        shape = (self.frames, p, h, w) if has_y else (self.frames, p, w)
        if len(events) == 0:
            return np.zeros(shape, dtype=np.int16)
        xs = events["x"].astype(np.int64)
        ys = events["y"].astype(np.int64) if has_y else np.zeros_like(xs)
        ps = events["p"].astype(np.int64)
        if p == 1:
            ps = np.zeros_like(ps)
        bad = (xs < 0) | (xs >= w) | (ys < 0) | (ys >= (h if has_y else 1)) | (ps < 0) | (ps >= p)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"event {i} at x={xs[i]} y={ys[i]} p={ps[i]} lies outside the sensor {self.sensor_size}"
            )
        t = events["t"].astype(np.float64)
        t0, span = t.min(), t.max() - t.min()
        bins = np.floor((t - t0) * self.frames / (span + 1.0)).astype(np.int64)
        bins = np.clip(bins, 0, self.frames - 1)
        names = ["x", "y", "p", "t"] if has_y else ["x", "p", "t"]
        ev = np.empty(len(events), dtype=[(n, np.int64) for n in names])
        ev["x"], ev["p"], ev["t"] = xs, ps, bins
        if has_y:
            ev["y"] = ys
        ev = ev[np.argsort(ev["t"], kind="stable")]
        frame = tonic.transforms.ToFrame(
            sensor_size=self.sensor_size, time_window=1, start_time=0, end_time=self.frames
        )(ev)
        assert frame.shape == shape, (frame.shape, shape)
        return frame.astype(np.int16)


class Compose:
    """Apply ``fns`` in order.

    Not ``tonic.transforms.Compose``: that one stops at an empty event array (``if
    len(events) == 0: break``, tonic 1.7), so an empty recording would leave it as events
    instead of the ``T`` empty frames :class:`ToSpikeFrames` makes of it.
    """

    def __init__(self, fns: list[Callable]):
        self.fns = fns

    def __call__(self, x: Any) -> Any:
        for fn in self.fns:
            x = fn(x)
        return x

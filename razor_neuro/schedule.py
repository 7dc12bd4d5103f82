"""FrameSchedule: the static, per-layer frame keep masks of a trained Razor SNN.

One definition, used by training (to report kept frames), export (``schedule.json``), the
Lava graph (gate processes) and the torch reference.  Gated layers are found by name
(``layer<i>``), never by their pipeline delay.

Two modes (:data:`MODES`) say what a pruned frame of the first gated layer costs:

* ``gate``: it delivers no input spikes to its layer, but the network still runs that time
  step (every neuron updates and decays); every gated layer may prune.
* ``skip``: it is removed from the time axis.  A sample runs only the kept frames, in order,
  as consecutive steps (``steps`` = the kept count per sample); the first gated layer must be
  the network's first layer (it sees the input) and no deeper layer may prune.  A ``skip``
  schedule may add ``readout`` empty steps after the kept frames: a sample's last kept
  frame otherwise ends its run, and a rate-coded output needs steps after its evidence to
  answer (docs/design.md, "Skipping pruned frames").
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from razor_neuro.errors import ArtefactError


def layer_name(index: int) -> str:
    """The name of the layer in group ``index`` of a netx file's ``layer`` group, by which
    a frame schedule gates it (the training model numbers its blocks the same way)."""
    return f"layer{int(index)}"


class ScheduleError(ArtefactError):
    """A schedule file or table that is malformed or does not fit the network."""


#: What a pruned frame is (module docstring); ``gate`` is the mode of schedules written
#: before modes existed.
MODES = ("gate", "skip")


@dataclass(frozen=True)
class FrameSchedule:
    """Static frame schedule.

    Attributes:
        masks: bool array ``[L, T]``; ``masks[l, t]`` is True when gated layer ``l``
            receives its input spikes at step ``t`` (in that layer's own time base).
        layers: names of the gated layers, length ``L``: ``layer<i>``, ``i`` the layer's
            group in the netx file (:meth:`layer_indices` finds them in a network).
        pipeline_delays: steps between a frame entering the network and reaching each
            gated layer, length ``L`` (:func:`razor_neuro.timebase.pipeline_delay`),
            as the model that made the schedule counted them; recorded (``pipeline_delay``
            in ``schedule.json``) so that a bundle can check them against its network's time
            base, never used to find a layer.
        weights_sha256: hash of the weights the schedule was derived from.
        mode: ``gate`` or ``skip`` (:data:`MODES`, module docstring).
        readout: empty time steps a ``skip`` sample runs after its kept frames (0 in
            ``gate`` mode, where every frame's step runs).
    """

    masks: np.ndarray
    layers: tuple[str, ...]
    pipeline_delays: tuple[int, ...]
    weights_sha256: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    mode: str = "gate"
    readout: int = 0

    def __post_init__(self) -> None:
        m = np.asarray(self.masks)
        if m.ndim != 2:
            raise ScheduleError(f"schedule masks: expected a 2-d [layers, frames] table, got shape {m.shape}")
        if len(self.layers) != m.shape[0] or len(self.pipeline_delays) != m.shape[0]:
            raise ScheduleError(f"schedule: {m.shape[0]} masks but {len(self.layers)} layer names "
                                f"and {len(self.pipeline_delays)} delays")
        if self.mode not in MODES:
            raise ScheduleError(f"schedule: mode must be one of {', '.join(MODES)}, got "
                                f"{self.mode!r}")
        object.__setattr__(self, "masks", m.astype(bool))
        if type(self.readout) is not int or self.readout < 0:
            raise ScheduleError(f"schedule: readout_steps must be an integer >= 0, got "
                                f"{self.readout!r:.40}")
        if self.readout and self.mode != "skip":
            raise ScheduleError("schedule: readout_steps apply to mode 'skip' only (in 'gate' "
                                "mode every frame's step runs)")
        if self.mode == "skip":
            if m.shape[0] == 0 or self.pipeline_delays[0] != 0:
                raise ScheduleError("schedule: mode 'skip' removes frames of the network's "
                                    "input, so the first gated layer must see the input "
                                    "(pipeline_delay 0)")
            deeper = [n for n, row in zip(self.layers[1:], self.masks[1:]) if not row.all()]
            if deeper:
                raise ScheduleError(f"schedule: mode 'skip' prunes the first gated layer only; "
                                    f"{deeper[0]}.keep_mask must keep every frame")

    @property
    def frames(self) -> int:
        """T, the number of time bins per sample."""
        return int(self.masks.shape[1])

    @property
    def keep_ratios(self) -> list[float]:
        """Kept share of frames per gated layer."""
        return [float(r) for r in self.masks.mean(axis=1)]

    def all_kept(self) -> "FrameSchedule":
        """The same layers with every frame kept (keep ratio 1.0): the unscheduled run (in
        ``skip`` mode the same network on all ``T`` frames).  The one place an all-frames
        schedule is made; it runs no readout steps, as nothing was cut before them."""
        return replace(self, masks=np.ones_like(self.masks, dtype=bool), readout=0)

    @property
    def step_frames(self) -> np.ndarray:
        """Indices of the input frames a deployed sample runs, one per time step, ``[steps]``
        int64: every frame in ``gate`` mode, the first gated layer's kept frames in
        ``skip`` mode."""
        if self.mode == "skip":
            return np.flatnonzero(self.masks[0])
        return np.arange(self.frames)

    @property
    def steps(self) -> int:
        """Time steps a deployed sample runs: ``len(step_frames) + readout``."""
        return int(len(self.step_frames)) + self.readout

    def step_input(self, x: np.ndarray) -> np.ndarray:
        """The input a deployed network receives: ``x`` ``[..., T]`` cut to
        :attr:`step_frames`, then ``readout`` empty frames, ``[..., steps]`` (``x`` itself in
        ``gate`` mode)."""
        if self.mode == "gate":
            return x
        tail = np.zeros(x.shape[:-1] + (self.readout,), dtype=x.dtype)
        return np.ascontiguousarray(np.concatenate([x[..., self.step_frames], tail], axis=-1))

    def step_gates(self, layer_names: list[str]) -> dict[int, np.ndarray]:
        """The gates of the deployed graph, ``{index in layer_names: keep mask [steps]}``:
        :meth:`gates` in ``gate`` mode; in ``skip`` mode the first gated layer has none
        (its pruned frames are not in the input) and the deeper ones keep every step."""
        gates = self.gates(layer_names)
        if self.mode == "gate":
            return gates
        first = self.layer_indices(layer_names)[0]
        return {i: np.concatenate([m[self.step_frames], np.ones(self.readout, dtype=bool)])
                for i, m in gates.items() if i != first}

    def layer_indices(self, layer_names: list[str]) -> tuple[int, ...]:
        """Index in ``layer_names`` of each gated layer, found by its name (a network's
        layers are named ``layer<i>`` after their group in the netx file)."""
        index = {name: i for i, name in enumerate(layer_names)}
        missing = [n for n in self.layers if n not in index]
        if missing:
            raise ScheduleError(f"schedule gates layer {missing[0]!r}, which the network "
                                f"does not have (its layers: {layer_names})")
        return tuple(index[n] for n in self.layers)

    def gates(self, layer_names: list[str]) -> dict[int, np.ndarray]:
        """``{index in layer_names: keep mask [T]}`` (:meth:`layer_indices`)."""
        return dict(zip(self.layer_indices(layer_names), self.masks))

    def kept_frames(self) -> list[list[int]]:
        """Indices of the kept frames per gated layer."""
        return [np.flatnonzero(m).tolist() for m in self.masks]

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "mode": self.mode,
            **({"readout_steps": self.readout} if self.mode == "skip" else {}),
            "weights_sha256": self.weights_sha256,
            "layers": [
                {"name": n, "keep_mask": [int(v) for v in m], "keep_ratio": r, "pipeline_delay": d}
                for n, m, r, d in zip(self.layers, self.masks, self.keep_ratios,
                                      self.pipeline_delays)
            ],
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "schedule") -> "FrameSchedule":
        """Parse :meth:`to_dict`'s form strictly: integer ``frames`` and delays, string
        names, each ``keep_mask`` a list of ``frames`` integers 0 or 1, ``mode`` one of
        :data:`MODES` (``gate`` when absent: schedules written before modes existed) and
        ``readout_steps`` an integer >= 0 (0 when absent), only in ``skip`` mode."""
        try:
            frames, layers = data["frames"], data["layers"]
            if type(frames) is not int or not isinstance(layers, list):
                raise TypeError("'frames' must be an integer and 'layers' a list")
            names = tuple(layer["name"] for layer in layers)
            delays = tuple(layer["pipeline_delay"] for layer in layers)
            rows = [layer["keep_mask"] for layer in layers]
            if not all(isinstance(n, str) for n in names) or \
                    not all(type(d) is int for d in delays):
                raise TypeError("names must be strings and pipeline_delay integers")
        except (KeyError, TypeError) as exc:
            raise ScheduleError(f"{source}: malformed schedule ({exc}); expected 'frames' and "
                                "'layers' with name, keep_mask, pipeline_delay") from None
        for name, row in zip(names, rows):
            if not isinstance(row, list) or len(row) != frames or \
                    not all(type(v) is int and v in (0, 1) for v in row):
                raise ScheduleError(f"{source}: {name}.keep_mask must be a list of {frames} "
                                    f"values 0 or 1, got {row!r:.80}")
        mode = data.get("mode", "gate")
        if mode not in MODES:
            raise ScheduleError(f"{source}: 'mode' must be one of {', '.join(MODES)}, got "
                                f"{mode!r:.80}")
        try:
            return cls(np.array(rows, dtype=bool).reshape(len(names), frames), names, delays,
                       str(data.get("weights_sha256", "")), dict(data.get("meta", {})), mode,
                       data.get("readout_steps", 0))
        except ScheduleError as exc:
            raise ScheduleError(f"{source}: {str(exc).removeprefix('schedule: ')}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "FrameSchedule":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ScheduleError(f"{path}: cannot read schedule ({exc})") from None
        return cls.from_dict(data, str(path))

    def check_fits(self, layers: list[str], pipeline_delays: list[int], frames: int,
                   source: str = "schedule") -> None:
        """Raise :class:`ScheduleError` unless the schedule gates exactly the gated
        ``layers`` (names, count and order) recorded with it (a bundle's manifest), at
        the same ``pipeline_delays``, over ``frames`` steps, keeping at least one frame in
        each (training refuses a ratio that keeps none; a deployed schedule is held to the
        same rule)."""
        if self.frames != frames:
            raise ScheduleError(f"{source}: schedule has {self.frames} frames, the network expects {frames}")
        if list(self.layers) != list(layers):
            raise ScheduleError(f"{source}: schedule gates layers {list(self.layers)}, the network's "
                                f"gated layers are {list(layers)}")
        if list(self.pipeline_delays) != list(pipeline_delays):
            raise ScheduleError(f"{source}: pipeline_delay {list(self.pipeline_delays)}, the "
                                f"network's gated layers sit at {list(pipeline_delays)}")
        empty = [n for n, m in zip(self.layers, self.masks) if not m.any()]
        if empty:
            raise ScheduleError(f"{source}: {empty[0]}.keep_mask keeps no frame; expected at "
                                "least one kept frame per gated layer")

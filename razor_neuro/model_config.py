"""The Razor SNN's architecture as data: :class:`ModelConfig` (layers, neurons, frames),
its validation, and the per-gated-layer keep ratios.

Imports no torch: the CLI, the presets and the training policies read it.
"""
from __future__ import annotations

import math
import numbers
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from razor_neuro.layout import conv_out_size


class ConfigError(ValueError):
    """A model configuration that is malformed."""


@dataclass(frozen=True)
class LayerConfig:
    """One slayer block. ``kind`` is ``conv``, ``dense`` or ``flatten``; ``current_decay`` and
    ``voltage_decay``, when given, replace the model's for this block's neurons."""

    kind: str
    out: int = 0
    kernel: int = 3
    stride: int = 1
    padding: int = 0
    gated: bool = True
    current_decay: float | None = None
    voltage_decay: float | None = None


@dataclass(frozen=True)
class ModelConfig:
    """Razor SNN architecture.  ``input_shape`` is (C, H, W) or (C,)."""

    input_shape: tuple[int, ...]
    n_classes: int
    frames: int
    layers: tuple[LayerConfig, ...]
    threshold: float = 1.25
    current_decay: float = 0.25
    voltage_decay: float = 0.03
    tau_grad: float = 0.03
    scale_grad: float = 3.0
    epm_hidden: int = 8

    @property
    def gated_layers(self) -> int:
        """How many layers have an EPM: the gated weight layers (a flatten has none)."""
        return sum(layer.gated and layer.kind != "flatten" for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # a layer without its own decays is written as before they existed (and as TOML can)
        d["layers"] = [{k: v for k, v in asdict(layer).items() if v is not None}
                       for layer in self.layers]
        return d

    def layer_shapes(self, source: str = "config") -> list[tuple[int, ...]]:
        """Input shape of every layer (slayer order, ``(C, H, W)`` or ``(n,)``), then the
        output shape: ``len(layers) + 1`` shapes.

        Raises:
            ConfigError: a conv on a flat input, a dense layer on a 3-d input, or a conv
                whose output would be empty.
        """
        shapes = [tuple(self.input_shape)]
        for i, layer in enumerate(self.layers):
            shape = shapes[-1]
            if layer.kind == "flatten":
                shape = (math.prod(shape),)
            elif layer.kind == "conv":
                if len(shape) != 3:
                    raise ConfigError(f"{source}: layers[{i}]: conv needs a (C, H, W) input, "
                                      f"got {shape}")
                h, w = (conv_out_size(size, layer.kernel, layer.stride, layer.padding, 1)
                        for size in shape[1:])
                if h < 1 or w < 1:
                    raise ConfigError(f"{source}: layers[{i}]: kernel {layer.kernel} with "
                                      f"padding {layer.padding} does not fit its {shape[1]}x"
                                      f"{shape[2]} input; expected a smaller kernel")
                shape = (layer.out, h, w)
            else:
                if len(shape) != 1:
                    raise ConfigError(f"{source}: layers[{i}]: dense needs a flat input; add a "
                                      "flatten layer")
                shape = (layer.out,)
            shapes.append(shape)
        return shapes

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> "ModelConfig":
        """Build and validate a config: every field of the right type and range, the
        layers chain, the last layer is dense with ``n_classes`` outputs.

        Raises:
            ConfigError: one line naming the field and what was expected.
        """
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: expected a [model] table")
        layers = d.get("layers")
        if not isinstance(layers, list) or not layers or \
                not all(isinstance(layer, dict) for layer in layers):
            raise ConfigError(f"{source}: 'layers' must be a non-empty list of layer tables "
                              "([[model.layers]] with kind, out, ...)")
        try:
            rest = {k: v for k, v in d.items() if k != "layers"}
            shape = rest["input_shape"]
            if not isinstance(shape, (list, tuple)):
                raise TypeError("input_shape must be a list")
            cfg = cls(layers=tuple(LayerConfig(**layer) for layer in layers),
                      **{**rest, "input_shape": tuple(shape)})
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{source}: invalid model config ({exc})") from None

        def integer(value: Any, field: str, low: int) -> None:
            if type(value) is not int or value < low:
                raise ConfigError(f"{source}: {field} must be an integer >= {low}, got {value!r}")

        def real(value: Any, field: str, low: float, high: float, low_open: bool) -> None:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and \
                math.isfinite(value) and (value > low if low_open else value >= low) and \
                value <= high
            if not ok:
                raise ConfigError(f"{source}: {field} must be a number in "
                                  f"{'(' if low_open else '['}{low}, {high}], got {value!r}")

        if len(cfg.input_shape) not in (1, 3):
            raise ConfigError(f"{source}: input_shape must be [C, H, W] or [n], got "
                              f"{list(cfg.input_shape)}")
        for j, v in enumerate(cfg.input_shape):
            integer(v, f"input_shape[{j}]", 1)
        integer(cfg.n_classes, "n_classes", 1)
        integer(cfg.frames, "frames", 1)
        integer(cfg.epm_hidden, "epm_hidden", 1)
        for name in ("threshold", "tau_grad", "scale_grad"):
            real(getattr(cfg, name), name, 0.0, math.inf, True)
        for name in ("current_decay", "voltage_decay"):
            real(getattr(cfg, name), name, 0.0, 1.0, False)
        for i, layer in enumerate(cfg.layers):
            if layer.kind not in ("conv", "dense", "flatten"):
                raise ConfigError(f"{source}: layers[{i}].kind is {layer.kind!r}; expected conv, dense or flatten")
            if layer.kind != "flatten":
                integer(layer.out, f"layers[{i}].out", 1)
            integer(layer.kernel, f"layers[{i}].kernel", 1)
            integer(layer.stride, f"layers[{i}].stride", 1)
            integer(layer.padding, f"layers[{i}].padding", 0)
            if not isinstance(layer.gated, bool):
                raise ConfigError(f"{source}: layers[{i}].gated must be true or false")
            for name in ("current_decay", "voltage_decay"):
                if getattr(layer, name) is not None:
                    real(getattr(layer, name), f"layers[{i}].{name}", 0.0, 1.0, False)
        if cfg.layers[-1].kind != "dense" or cfg.layers[-1].out != cfg.n_classes:
            raise ConfigError(f"{source}: the last layer must be dense with out = n_classes ({cfg.n_classes})")
        cfg.layer_shapes(source)
        return cfg

    @classmethod
    def from_toml(cls, path: str | Path) -> "ModelConfig":
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read TOML ({exc})") from None
        return cls.from_dict(data.get("model", data), str(path))


def layer_keep_ratios(keep_ratio: float | Sequence[float], layers: int) -> list[float]:
    """Per-gated-layer keep ratios, length ``layers``.

    One number prunes the first gated layer (the network's input, in the presets): it keeps
    that share of the frames and deeper gated layers keep all of theirs.  A sequence gives
    one ratio per gated layer (deeper layers then prune too, each choosing its own frames).

    Raises:
        ConfigError: a ratio outside (0, 1], or a sequence of the wrong length.
    """
    if isinstance(keep_ratio, numbers.Real):
        ratios = [float(keep_ratio)] + [1.0] * (layers - 1)
    else:
        ratios = [float(r) for r in keep_ratio]
        if len(ratios) != layers:
            raise ConfigError(f"keep ratio: expected one value or {layers} (one per gated layer), "
                              f"got {len(ratios)}")
    bad = [r for r in ratios if not 0.0 < r <= 1.0]
    if bad:
        raise ConfigError(f"keep ratio: expected values in (0, 1], got {bad[0]}")
    return ratios

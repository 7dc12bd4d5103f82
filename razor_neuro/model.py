"""Razor SNN: slayer CUBA blocks with an EPM before each gated block; presets per dataset.

Pooling is expressed as strided convolutions: netx 0.6 cannot build a Pool block
(``NotImplementedError: pool``), and a strided conv is a pooling that netx runs.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import tomllib
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from razor_neuro import _compat
from razor_neuro.epm import EPM, frame_density, scale_frames, skip_frames
from razor_neuro import timebase
from razor_neuro.layout import conv_out_size
from razor_neuro.schedule import MODES, layer_name

slayer = _compat.slayer()


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


def _conv(out: int, k: int, s: int, p: int) -> LayerConfig:
    return LayerConfig("conv", out, k, s, p)


PRESETS: dict[str, ModelConfig] = {
    # small and fast: the built-in default
    "synthetic": ModelConfig((2, 32, 32), 6, 16, (
        _conv(8, 3, 2, 1), _conv(16, 3, 2, 1), LayerConfig("flatten"),
        LayerConfig("dense", 64), LayerConfig("dense", 6))),
    # sized after the paper's DVS networks (pooling as strided conv)
    "dvs_gesture": ModelConfig((2, 128, 128), 11, 16, (
        _conv(16, 5, 4, 2), _conv(32, 3, 1, 1), _conv(32, 3, 2, 1), _conv(64, 3, 1, 1),
        _conv(64, 3, 2, 1), LayerConfig("flatten"), LayerConfig("dense", 512), LayerConfig("dense", 11))),
    "ncaltech101": ModelConfig((2, 180, 240), 101, 10, (
        _conv(16, 5, 4, 2), _conv(32, 3, 1, 1), _conv(64, 3, 2, 1), _conv(64, 3, 2, 1),
        LayerConfig("flatten"), LayerConfig("dense", 512), LayerConfig("dense", 101))),
    "cifar10_dvs": ModelConfig((2, 128, 128), 10, 10, (
        _conv(16, 5, 4, 2), _conv(32, 3, 1, 1), _conv(64, 3, 2, 1), _conv(64, 3, 2, 1),
        LayerConfig("flatten"), LayerConfig("dense", 512), LayerConfig("dense", 10))),
    "shd": ModelConfig((700,), 20, 100, (
        LayerConfig("dense", 256), LayerConfig("dense", 256), LayerConfig("dense", 20))),
    # T = 20: a sample lasts ~300 ms, so a frame is ~15 ms; the three saccades show as
    # bursts of ~5 frames, each followed by 2-3 nearly silent frames (the 30-40 ms gaps),
    # which the schedule can prune. 30 frames of 10 ms show the same gaps (3-4 frames each)
    # at 1.5 times the cost on 2 CPU cores. Two strided convs and no hidden dense layer:
    # measured (seed 0, keep 1.0, 30 epochs) 0.89, against 0.86 for T = 30 with one conv and
    # a 1296-128 dense layer, which memorised the 1,000 training samples, and 0.85 with an
    # overlapping 6x6 first kernel.
    "nmnist": ModelConfig((2, 34, 34), 10, 20, (
        _conv(16, 4, 4, 1), _conv(32, 3, 2, 1), LayerConfig("flatten"), LayerConfig("dense", 10))),
}


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


class RazorSNN(nn.Module):
    """Razor SNN.  Input ``[N, *input_shape, T]`` spikes; output ``[N, n_classes, T']``
    spikes, ``T' = T`` in ``gate`` mode and the kept frames in ``skip`` mode.

    ``self.blocks`` are slayer CUBA blocks (exportable with ``export_hdf5``); ``self.epms``
    maps a block index to its EPM.  ``gated_names`` lists the gated blocks in order.
    ``prune_mode`` (:data:`razor_neuro.schedule.MODES`): ``gate`` silences the first gated
    layer's pruned frames, ``skip`` removes them from the time axis (:func:`skip_frames`;
    the first gated block must then be block 0, and deeper gated blocks are not gated).
    """

    def __init__(self, config: ModelConfig, seed: int = 0, prune_mode: str = "gate") -> None:
        super().__init__()
        if prune_mode not in MODES:
            raise ConfigError(f"prune mode: expected one of {', '.join(MODES)}, got {prune_mode!r}")
        gated = [i for i, layer in enumerate(config.layers)
                 if layer.gated and layer.kind != "flatten"]
        if prune_mode == "skip" and gated[:1] != [0]:
            raise ConfigError("--prune-mode skip: the first layer must be gated (it removes "
                              "frames of the network's input)")
        self.config = config
        self.prune_mode = prune_mode
        neuron = dict(threshold=config.threshold, current_decay=config.current_decay,
                      voltage_decay=config.voltage_decay, tau_grad=config.tau_grad,
                      scale_grad=config.scale_grad, requires_grad=False)
        with warnings.catch_warnings():  # slayer's weight_norm uses a deprecated torch API
            warnings.simplefilter("ignore", FutureWarning)
            self._build(config, neuron, seed)

    def _build(self, config: ModelConfig, neuron: dict[str, Any], seed: int) -> None:
        blocks, epms = [], {}
        for i, (layer, shape) in enumerate(zip(config.layers, config.layer_shapes())):
            if layer.kind == "flatten":
                blocks.append(slayer.block.cuba.Flatten())
                continue
            params = dict(neuron, **{k: getattr(layer, k) for k in ("current_decay", "voltage_decay")
                                     if getattr(layer, k) is not None})
            if layer.kind == "conv":
                blocks.append(slayer.block.cuba.Conv(params, shape[0], layer.out, layer.kernel,
                                                     stride=layer.stride, padding=layer.padding,
                                                     weight_scale=2, weight_norm=True,
                                                     delay_shift=False))
            else:
                blocks.append(slayer.block.cuba.Dense(params, shape[0], layer.out,
                                                      weight_scale=2, weight_norm=True,
                                                      delay_shift=False))
            if layer.gated:
                epms[str(i)] = EPM(config.frames, config.epm_hidden, seed=seed * 1000 + i)
        self.blocks = nn.ModuleList(blocks)
        self.epms = nn.ModuleDict(epms)

    @contextlib.contextmanager
    def silencing(self) -> Iterator[None]:
        """Run in ``gate`` mode inside the block (pruned frames silenced, not skipped): the
        probe's measure of what a frame's events are worth."""
        mode, self.prune_mode = self.prune_mode, "gate"
        try:
            yield
        finally:
            self.prune_mode = mode

    @property
    def gated_names(self) -> list[str]:
        return [layer_name(i) for i in sorted(int(k) for k in self.epms)]

    def pipeline_delay(self, block: int) -> int:
        """Hardware steps between a frame entering the network and reaching block ``block``
        (one per weight block before it: each Loihi synapse delivers one step late).

        The model runs with ``delay_shift=False``: every layer sees frame ``t`` at step ``t``
        of its own window, and the deployed graph resets each layer one step after the layer
        before it (netx's ``reset_offset``), so the two time bases agree and the schedule
        masks are the same frame masks in both."""
        return timebase.pipeline_delay([hasattr(b, "synapse") for b in self.blocks], block)

    def masks(self, keep_ratio: float | Sequence[float]) -> torch.Tensor:
        """Static keep masks ``[L, T]`` (bool), one row per gated block.

        Each gated layer keeps the ``round(ratio * T)`` frames with the largest values of
        its own embedding (see :func:`layer_keep_ratios` for how ``keep_ratio`` maps to
        layers).  A deeper layer's mask is not confined to the frames the layer before it
        keeps: its input at a frame pruned upstream still carries spikes from the earlier
        layers' state, and those late steps are where a rate-coded network turns its
        integrated evidence into output spikes (``README.md``, "Which layers prune")."""
        T = self.config.frames
        ratios = layer_keep_ratios(keep_ratio, len(self.epms))
        epms = [epm for _, epm in sorted(self.epms.items(), key=lambda kv: int(kv[0]))]
        return torch.stack([epm.keep_mask(int(round(r * T))) for epm, r in zip(epms, ratios)])

    def forward(self, x: torch.Tensor, masks: torch.Tensor, reweight: float = 0.0,
                record: bool = False) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the network.

        Args:
            x: input spikes ``[N, *input_shape, T]``.
            masks: ``[L, T]`` bool from :meth:`masks` (or a schedule), or ``[L, N, T]``
                per-sample masks.
            reweight: attention strength (training path); 0 is the deploy path.
            record: also return each weight block's output spikes.
        """
        x, outputs, _ = self._run(x, masks, reweight, density=False)
        return (x, outputs) if record else x

    def forward_with_density(self, x: torch.Tensor, masks: torch.Tensor,
                             reweight: float = 0.0) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the network (arguments as :meth:`forward`); returns the output spikes and,
        per gated layer, its input's event density per sample and frame ``[N, T]``
        (:func:`razor_neuro.epm.frame_density`, before the layer's mask)."""
        x, _, density = self._run(x, masks, reweight, density=True)
        return x, density

    def _run(self, x: torch.Tensor, masks: torch.Tensor, reweight: float,
             density: bool) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Output spikes, each weight block's output spikes, and (with ``density``) each
        gated layer's input event density ``[N, T]``."""
        gated = sorted(int(k) for k in self.epms)
        outputs, densities = [], []
        steps = None  # skip mode: each sample's steps [N] when they differ between samples
        for i, block in enumerate(self.blocks):
            if i in gated:
                if density:
                    densities.append(frame_density(x.detach()))
                l = gated.index(i)
                if self.prune_mode == "skip" and l > 0:
                    x = block(x)  # on the skipped time axis; deeper layers keep every step
                else:
                    factor = self.epms[str(i)].gate(x, masks[l], reweight)
                    if self.prune_mode == "skip":
                        x, factor, steps = skip_frames(x, masks[l], factor)
                    x = gated_block(block, x, factor)
            else:
                x = block(x)
            if hasattr(block, "synapse"):
                outputs.append(x)
        if steps is not None:
            x = x * (torch.arange(x.shape[-1], device=x.device) < steps[:, None]).view(
                (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)).to(x.dtype)
        return x, outputs, densities


def gated_block(block: nn.Module, x: torch.Tensor, factor: torch.Tensor | None) -> torch.Tensor:
    """``block(x * factor)`` for a slayer Conv or Dense block built by :class:`RazorSNN`
    (no delay, no count log), input ``[N, ..., T]``, ``factor`` ``[T]`` or ``[N, T]`` (an
    EPM's :meth:`~razor_neuro.epm.EPM.gate`; None gates nothing).

    The factor scales the synapse's output instead of its input: a slayer synapse is
    linear, has no bias and maps frame ``t`` to frame ``t``, so both give the same current
    (bit for bit with a binary mask), but scaling the output spares back-propagating
    through the first synapse to the network's input and scales the smaller tensor."""
    z = block.synapse(x)
    if factor is not None:
        z = scale_frames(z, factor)
    return block.neuron(z)

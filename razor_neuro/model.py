"""Razor SNN: slayer CUBA blocks with an EPM before each gated block (the architecture is a
:class:`~razor_neuro.model_config.ModelConfig`; presets in :mod:`razor_neuro.presets`)."""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from razor_neuro import _compat
from razor_neuro.epm import EPM, frame_density, scale_frames, skip_frames
from razor_neuro import timebase
from razor_neuro.model_config import ConfigError, ModelConfig, layer_keep_ratios
from razor_neuro.schedule import MODES, layer_name

slayer = _compat.slayer()


class RazorSNN(nn.Module):
    """Razor SNN.  Input ``[N, *input_shape, T]`` spikes; output ``[N, n_classes, T']``
    spikes, ``T' = T`` in ``gate`` mode and the kept frames plus ``readout_steps`` in ``skip``
    mode.

    ``self.blocks`` are slayer CUBA blocks (exportable with ``export_hdf5``); ``self.epms``
    maps a block index to its EPM.  ``gated_names`` lists the gated blocks in order.
    ``prune_mode`` (:data:`razor_neuro.schedule.MODES`): ``gate`` silences the first gated
    layer's pruned frames, ``skip`` removes them from the time axis (:func:`skip_frames`;
    the first gated block must then be block 0, and deeper gated blocks are not gated).
    ``readout_steps`` (``skip`` mode only) empty input steps follow each sample's kept
    frames (:attr:`razor_neuro.schedule.FrameSchedule.readout`).
    """

    def __init__(self, config: ModelConfig, seed: int = 0, prune_mode: str = "gate",
                 readout_steps: int = 0) -> None:
        super().__init__()
        if prune_mode not in MODES:
            raise ConfigError(f"prune mode: expected one of {', '.join(MODES)}, got {prune_mode!r}")
        first = config.layers[0]
        if prune_mode == "skip" and not (first.gated and first.kind != "flatten"):
            raise ConfigError("--prune-mode skip: the first layer must be gated (it removes "
                              "frames of the network's input)")
        if readout_steps and prune_mode != "skip":
            raise ConfigError("--readout-steps: only with --prune-mode skip (gate mode runs "
                              "every frame's step)")
        self.config = config
        self.prune_mode = prune_mode
        self.readout_steps = readout_steps
        self.silenced = False  # :meth:`silencing`
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
        """Inside the block the first gated layer silences its pruned frames instead of
        skipping them (the rest of the network runs as its mode says): the probe's measure
        of what a frame's events are worth."""
        self.silenced = True
        try:
            yield
        finally:
            self.silenced = False

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
            record: also return each weight block's output spikes ``[N, *shape, T']``
                (in skip mode only the steps each sample runs: none after its last).
        """
        x, outputs, _ = self._run(x, masks, reweight, density=False, record=record)
        return (x, outputs) if record else x

    def forward_with_density(self, x: torch.Tensor, masks: torch.Tensor,
                             reweight: float = 0.0) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the network (arguments as :meth:`forward`); returns the output spikes and,
        per gated layer, its input's event density per sample and frame ``[N, T]``
        (:func:`razor_neuro.epm.frame_density`, before the layer's mask)."""
        x, _, density = self._run(x, masks, reweight, density=True, record=False)
        return x, density

    def _run(self, x: torch.Tensor, masks: torch.Tensor, reweight: float, density: bool,
             record: bool) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Output spikes, (with ``record``) each weight block's output spikes, and (with
        ``density``) each gated layer's input event density ``[N, T]``."""
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
                    if self.prune_mode == "skip" and not self.silenced:
                        x, factor, steps = skip_frames(x, masks[l], factor)
                    if self.readout_steps:  # also while silencing: the probe's runs match
                        x, factor, steps = readout(x, factor, steps, self.readout_steps)
                    x = gated_block(block, x, factor)
            else:
                x = block(x)
            if record and hasattr(block, "synapse"):
                outputs.append(x)
        if steps is not None:  # each sample's run, output and recorded spikes end with its steps
            valid = (torch.arange(x.shape[-1], device=x.device) < steps[:, None]).to(x.dtype)
            x = scale_frames(x, valid)
            outputs = [scale_frames(o, valid) for o in outputs]
        return x, outputs, densities


def readout(x: torch.Tensor, factor: torch.Tensor | None, steps: torch.Tensor | None, r: int
            ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Append ``r`` empty steps to ``x`` ``[N, ..., T']`` (ungated: ``factor`` 1 there) and
    to each sample's ``steps`` ``[N]`` (None: every sample runs all ``T'`` steps).  A sample
    with fewer steps than ``T'`` already ends in empty steps, so its ``r`` lie inside."""
    x = torch.cat([x, x.new_zeros(x.shape[:-1] + (r,))], dim=-1)
    if factor is not None:
        factor = torch.cat([factor, factor.new_ones(factor.shape[:-1] + (r,))], dim=-1)
    return x, factor, None if steps is None else steps + r


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

"""The synaptic operations a network's spikes cost, as a training loss (``train --synops-cost``).

A spike of weight block ``l`` at position ``p`` costs the next weight block ``fan_out[p]``
synaptic operations (:func:`razor_neuro.counting.fan_out`, the count every report uses), so
the synaptic operations the trained weights cause in one sample are::

    S(n) = sum_l sum_{p,t} s_l[n, p, t] * fan_out_l[p]

over every weight block but the last (the first block's input is the data, fixed by the
schedule, not by the weights) and over the steps the sample runs (in skip mode none after
its last: :meth:`razor_neuro.model.RazorSNN.forward` records no more).  The loss term is
``C * S(n) / D`` summed over the batch, with ``D`` the dense MACs of the same synapses over
the model's ``T`` frames (:func:`razor_neuro.counting.dense_macs_per_step` x T): the share of
the synapses' dense work the spikes trigger, between 0 and 1 whatever the network's size
(above 1 only with readout steps, which run more than T steps).  The spikes carry slayer's
surrogate gradient, so the term lowers the firing that drives the most synapses (the
synaptic-operation regulariser of Sorbaro et al., Front. Neurosci. 2020).

Where a deeper layer is gated too (one keep ratio per layer, gate mode), a spike at a frame
the next layer prunes reaches no synapse there, yet is priced: the term is an upper bound of
the synaptic operations in that case.
"""
from __future__ import annotations

from typing import Sequence

import torch

from razor_neuro.counting import LayerSpec, dense_macs_per_step, fan_out
from razor_neuro.model_config import ModelConfig
from razor_neuro.schedule import layer_name
from razor_neuro.training.config import TrainError


def synapse_specs(mcfg: ModelConfig) -> list[LayerSpec]:
    """The :class:`~razor_neuro.counting.LayerSpec` of every weight block of ``mcfg`` but the
    first: the synapses that hidden spikes drive, in order."""
    shapes = mcfg.layer_shapes()
    specs = []
    for i, layer in enumerate(mcfg.layers):
        if layer.kind == "conv":
            specs.append(LayerSpec(layer_name(i), "conv", shapes[i], shapes[i + 1],
                                   kernel=layer.kernel, stride=layer.stride,
                                   padding=layer.padding))
        elif layer.kind == "dense":
            specs.append(LayerSpec(layer_name(i), "dense", shapes[i], shapes[i + 1]))
    return specs[1:]


class SynopsCost:
    """``C * S(n) / D`` summed over the batch (module docstring); ``fan_outs[l]`` is the
    flattened fan-out ``[P_l]`` of weight block ``l``'s output into the next weight block."""

    def __init__(self, mcfg: ModelConfig, cost: float, device: torch.device) -> None:
        specs = synapse_specs(mcfg)
        if not specs:
            raise TrainError("--synops-cost: the model has one weight block, so no hidden "
                             "spikes drive a synapse; expected at least two")
        self.cost = cost
        self.fan_outs = [fan_out(s).flatten().to(device, torch.float32) for s in specs]
        self.dense = float(sum(dense_macs_per_step(s) for s in specs) * mcfg.frames)

    def __call__(self, outputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """The loss term (a 0-d tensor, summed over the batch) of every weight block's output
        spikes ``outputs[l]`` ``[N, *shape_l, T]`` (the last block's drive no synapse)."""
        synops = sum((out.flatten(1, -2).sum(-1) * fo).sum()
                     for out, fo in zip(outputs[:-1], self.fan_outs, strict=True))
        return self.cost * synops / self.dense

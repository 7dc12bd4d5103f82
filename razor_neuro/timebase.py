"""The time base of a deployed network: when layer ``i`` sees frame ``t``.

One home for latency, reset offsets, gate steps, streaming and window cutting; the training
model (:meth:`razor_neuro.model.RazorSNN.pipeline_delay`), the Lava graph
(:mod:`~razor_neuro.export.lava_graph`), the torch reference
(:mod:`~razor_neuro.export.reference`) and the test harness all ask this module.

Symbols (used the same way in every docstring and in ``docs/design.md``):

* ``T`` -- frames per sample (netx ``reset_interval``); ``N`` -- samples in one stream.
* ``s0`` -- :func:`lava_reset_offset`: 1 when layer 0 has a synapse (Conv/Dense: the source
  drives ``net.inp``), 0 when layer 0 is an Input block (the source drives its neurons).
* ``L_i`` -- :func:`lava_latency`: ``i + s0``, the Lava steps between a frame at source index
  ``j`` and layer ``i``'s response to it at sink index ``j + L_i`` (every synapse delivers one
  step late).  It is also layer ``i``'s *pre-roll*: Lava runs every layer from step 1, so
  layer ``i`` runs ``L_i`` steps before its first window.
* ``W_i`` -- :func:`window_start`: ``1 + L_i``, the Lava time step (1-based) at which layer
  ``i`` processes frame 0 of sample 0; netx resets layer ``i`` at steps ``W_i + k*T``
  (``reset_offset = W_i % T``, :func:`layer_reset_offset`).
* window -- layer ``i``'s record cut at those phases: ``[N, *shape, T]`` in which layer ``i``
  sees frame ``t`` at step ``t`` (the training model's time base: slayer blocks with
  ``delay_shift=False``), so a schedule mask is the same frame mask everywhere.

Shapes: spikes are ``[N, *netx_shape, T]`` (netx order, 0/1); a Lava record of one layer is
``[*shape, steps]`` with index = Lava time step - 1.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

__all__ = ["cut_windows", "frame_of_step", "gate_first_step", "lava_latency",
           "lava_reset_offset", "lava_stream", "lava_windows", "layer_pipeline_delay",
           "layer_reset_offset", "pipeline_delay", "window_start"]


def pipeline_delay(has_synapse: Sequence[bool], block: int) -> int:
    """Steps between a frame entering a network and reaching block ``block``: one per block
    with a synapse before it (Flatten has none).

    Args:
        has_synapse: per block of the model, whether it has a synapse.
        block: block index.

    Returns:
        the delay in steps: the block's index among the blocks with a synapse (for a
        network whose layer 0 has a synapse, ``lava_latency(network, i) - 1``).
    """
    return sum(1 for s in has_synapse[:block] if s)


def layer_pipeline_delay(network: Any, layer: int) -> int:
    """:func:`pipeline_delay` of layer ``layer`` of a netx network, in which every layer but
    an Input block has a synapse."""
    index = range(len(network.layers))[layer]
    return pipeline_delay([block.kind != "input" for block in network.layers], index)


def lava_reset_offset(network: Any) -> int:
    """``s0``, the recommended netx ``reset_offset``: 1 when layer 0 has a synapse, 0 when it
    is an Input block driven straight into its neurons.  With it, sample ``k``'s frame
    ``tau`` sits at source index ``k*T + tau``.

    Args:
        network: a :class:`~razor_neuro.export.netfile.Network` (anything with ``layers``
            whose items have ``kind``).
    """
    return 0 if network.layers[0].kind == "input" else 1


def lava_latency(network: Any, layer: int) -> int:
    """``L_i = i + s0``: Lava sink index minus source index for ``layer``.

    Args:
        network: the network.
        layer: layer index (negative counts from the end).

    Returns:
        number of Lava steps between a frame at source index j and layer ``layer``'s
        response to it at sink index ``j + latency`` (also the layer's pre-roll).
    """
    index = range(len(network.layers))[layer]
    return index + lava_reset_offset(network)


def window_start(network: Any, layer: int) -> int:
    """``W_i = 1 + L_i``: the Lava time step (1-based) at which layer ``layer`` processes
    frame 0 of the first sample (its record index is ``W_i - 1``)."""
    return 1 + lava_latency(network, layer)


def layer_reset_offset(network: Any, layer: int, frames: int) -> int:
    """netx ``reset_offset`` of layer ``layer`` when each layer resets every ``frames``
    steps at its own window start: ``W_i % T``."""
    return window_start(network, layer) % frames


def gate_first_step(network: Any, layer: int) -> int:
    """The Lava time step at which frame 0 of sample 0 passes the gate on the connection
    into layer ``layer``: one step before ``W_i`` (the synapse behind the gate delivers one
    step late), except into an Input block, which has no synapse."""
    return window_start(network, layer) - (network.layers[layer].kind != "input")


def frame_of_step(pre: int, frames: int) -> np.ndarray:
    """Frame index ``t`` of each of the ``pre + T`` steps a layer with pre-roll ``pre``
    runs (pre-roll steps count backwards from the window by phase: netx resets by phase).

    Returns:
        int64 array ``[pre + T]``: ``(s - pre) % T`` for step ``s``.
    """
    return np.arange(-pre, frames) % frames


def cut_windows(record: np.ndarray, first: int, n: int, frames: int) -> np.ndarray:
    """Record ``[..., steps]`` (index = step - 1) -> windows ``[n, ..., frames]``, window
    ``k`` starting at index ``first + k*frames``."""
    cut = record[..., first:first + n * frames]
    cut = cut.reshape(*record.shape[:-1], n, frames)
    return np.moveaxis(cut, -2, 0)


def lava_stream(network: Any, x: Any) -> Tuple[np.ndarray, int, int]:
    """Source data for streaming N samples back to back through one Lava run.

    Args:
        network: the network.
        x: [N, *input_shape, T] spikes (0/1; numpy or torch).

    Returns:
        (data, num_steps, reset_offset): ``data`` has shape
        ``[*input_shape, num_steps]`` (int32) with sample k's frame tau at index
        ``k*T + tau`` (multiplied by ``input_weight`` when layer 0 is an Input block -
        connect the source to ``net.layers[0].neuron.a_in`` then, else to
        ``net.inp``); run ``num_steps = N*T + L_last`` steps with
        ``netx.hdf5.Network(..., reset_interval=T, reset_offset=reset_offset)``.
    """
    arr = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    arr = (arr != 0).astype(np.int32)
    n, steps = arr.shape[0], arr.shape[-1]
    frames = np.moveaxis(arr, 0, -2).reshape(*arr.shape[1:-1], n * steps)
    tail = lava_latency(network, -1)
    data = np.concatenate([frames, np.zeros(frames.shape[:-1] + (tail,), np.int32)], -1)
    first = network.layers[0]
    if first.kind == "input":
        data = data * int(first.input_weight if first.input_weight is not None else 64)
    return data, n * steps + tail, lava_reset_offset(network)


def lava_windows(network: Any, layer: int, recording: np.ndarray,
                 num_samples: int, steps: int,
                 reset_offset: Optional[int] = None) -> np.ndarray:
    """Cut a Lava sink recording of one layer into per-sample windows.

    Args:
        network: the network.
        layer: layer index.
        recording: ``sink.data.get()`` of ``net.layers[layer].out``:
            [*out_shape, num_steps].
        num_samples: N.
        steps: T (= netx ``reset_interval``).
        reset_offset: netx ``reset_offset`` used (default :func:`lava_reset_offset`).

    Returns:
        [N, *out_shape, T] array; window k, step tau is sink index
        ``k*T + reset_offset + tau + layer``.
    """
    index = range(len(network.layers))[layer]
    r = lava_reset_offset(network) if reset_offset is None else int(reset_offset)
    start = r + index
    rec = np.asarray(recording)
    if rec[..., start:start + num_samples * steps].shape[-1] != num_samples * steps:
        raise ValueError(f"recording of {rec.shape[-1]} steps is too short for "
                         f"{num_samples} windows of {steps} steps from index {start}")
    return cut_windows(rec, start, num_samples, steps)

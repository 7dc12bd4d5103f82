"""Ground truth for the reference tests: plain ``lava.lib.dl.netx.hdf5.Network`` on
``Loihi2SimCfg(select_tag='fixed_pt')``, built by netx itself (not by razor-neuro's graph).

Lava alignment used (see ``export/reference.py``): with ``reset_offset = s0`` (1 when layer 0
has a synapse, 0 for an Input block driven into its neurons) sample k's frame tau sits at
source index ``k*T + tau`` and layer i's window k is sink indices ``k*T + tau + i + s0``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, List, Optional

import numpy as np

from razor_neuro._compat import netx, patch_lava
from razor_neuro.export.netfile import Network
from razor_neuro.timebase import lava_latency, lava_stream, lava_windows


def lava_run(network: Network, data: np.ndarray, steps: int, *,
             reset_interval: Optional[int] = None, reset_offset: int = 0,
             tag: str = "fixed_pt", states: bool = False) -> List[Any]:
    """Run ``netx.hdf5.Network`` fed by a RingBuffer with ``data`` for ``steps`` steps.

    Returns:
        every layer's spike record ``[*out_shape, steps]`` (index = Lava step - 1); with
        ``states`` every layer's ``(spikes, u, v)`` records of that shape.
    """
    patch_lava()
    nx = netx()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io

    from razor_neuro.export.processes import SpikeRecorder, StateRecorder

    first = network.layers[0]
    net = nx.hdf5.Network(net_config=network.path, reset_interval=reset_interval,
                          reset_offset=reset_offset,
                          input_shape=network.input_shape if first.kind == "conv" else None)
    source = io.source.RingBuffer(data=data)
    if first.kind == "input":  # netx leaves Input.inp unconnected: drive the neurons
        source.s_out.connect(net.layers[0].neuron.a_in)
    else:
        source.s_out.connect(net.inp)
    with tempfile.TemporaryDirectory(prefix="razor-netx-") as tmp:
        paths = [Path(tmp) / f"layer{i}.npy" for i in range(len(net.layers))]
        for i, (layer, path) in enumerate(zip(net.layers, paths)):
            layer.out.connect(SpikeRecorder(shape=layer.out.shape, steps=steps,
                                            path=path).a_in)
            if states:
                recorder = StateRecorder(shape=layer.out.shape, steps=steps,
                                         path=Path(tmp) / f"state{i}.npz")
                recorder.u.connect_var(layer.neuron.u)
                recorder.v.connect_var(layer.neuron.v)
        try:
            net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag=tag))
        finally:
            net.stop()
        if not states:
            return [np.load(path) for path in paths]
        out = []
        for i, path in enumerate(paths):
            record = np.load(Path(tmp) / f"state{i}.npz")
            out.append((np.load(path), record["u"], record["v"]))
        return out


def lava_windows_run(network: Network, x: np.ndarray, reset: bool = True,
                     states: bool = False) -> List[Any]:
    """Stream the samples ``x [K, *in, T]`` back to back through one netx run with
    ``reset_interval=T`` (or, ``reset=False``, one sample without resets); return per layer
    the spikes ``[K, *out, T]``, or with ``states`` per layer ``(spikes, u, v)`` windows."""
    k, t = x.shape[0], x.shape[-1]
    if not reset and k != 1:
        raise ValueError("without resets only one sample can run")
    data, steps, offset = lava_stream(network, x)
    assert steps == k * t + lava_latency(network, -1)
    records = lava_run(network, data, steps, reset_interval=t if reset else None,
                       reset_offset=offset, states=states)
    if not states:
        return [lava_windows(network, i, rec, k, t, offset) for i, rec in enumerate(records)]
    return [tuple(lava_windows(network, i, r, k, t, offset) for r in rec)
            for i, rec in enumerate(records)]


def mismatches(ref: List[np.ndarray], lava: List[np.ndarray]) -> List[int]:
    """Per layer, the number of (sample, neuron, step) positions where the spikes differ."""
    assert [r.shape for r in ref] == [l.shape for l in lava]
    return [int((r.astype(bool) != l.astype(bool)).sum()) for r, l in zip(ref, lava)]

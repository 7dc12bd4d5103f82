"""``razor-neuro export CKPT --target nir --out MODEL.nir``: a Razor model as a NIR graph.

The checkpoint is first exported exactly as for ``--target loihi-sim`` (same code, into a
temporary directory), and that bundle's netx network is written as NIR nodes, so the
graph holds the numbers the Loihi bundle runs::

    Input (C, H, W) -> Conv2d -> CubaLIF -> ... -> Flatten -> Linear -> CubaLIF -> Output

* Conv2d/Linear weights: the bundle's integer weights (float64 holding integers);
  Conv2d bias 0 (Razor blocks have none).
* CubaLIF per neuron: ``tau_syn = dt 4096 / iDecay``, ``tau_mem = dt 4096 / vDecay`` (forward
  Euler: ``dt / tau = decay / 4096``), ``w_in = tau_syn / dt`` and ``r = tau_mem / dt`` (input
  gain 1, the convention of snntorch's ``Synaptic``), ``v_threshold = vThMant`` (in weight
  units: Loihi spikes when ``v > vThMant << 6`` with inputs ``w << 6``), ``v_leak = v_reset
  = 0``.
* ``metadata``: ``dt`` (one frame per step), ``razor_schedule`` (JSON: ``frames`` and, per
  gated layer, the NIR ``synapse`` and ``neuron`` it gates, ``keep_mask`` [T] and
  ``keep_ratio``), ``razor_schedule_meaning`` (what it means, in words), ``n_classes``.

``razor-neuro import`` of that file keeps every integer as it is (see :mod:`.quantise`),
so the imported network is the bundle's network and, run with the stored schedule, agrees
with the bundle spike for spike.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from razor_neuro.atomic import OutputExists, check_writable, write_file
from razor_neuro.layout import reverse_order
from razor_neuro.export.nir.read import NirError

__all__ = ["export_nir", "EXPORT_DT", "SCHEDULE_MEANING"]

EXPORT_DT = 1e-3  # seconds per frame written to the graph; any value gives the same decays
SCHEDULE_MEANING = (
    "Razor frame schedule: time is in frames of dt seconds, T = 'frames' per sample, and "
    "every neuron's state starts from 0 at each sample. For each listed layer, at a frame "
    "whose keep_mask is 0 the synapse node receives no input spikes (the frame is pruned; "
    "its neurons still decay and may still spike from their state); at a frame whose mask "
    "is 1 it receives the spikes of the node before it as usual. Layers not listed receive "
    "every frame. A target that cannot gate frames runs the network unpruned, which costs "
    "accuracy and energy the schedule was trained to save.")


def _is_nir_file(path: Path) -> bool:
    import h5py
    try:
        with h5py.File(path, "r") as handle:
            return "node" in handle and "version" in handle
    except (OSError, ValueError):
        return False


def _graph(network: Any, raw: Any, frames: int, gates: dict[int, np.ndarray],
           n_classes: int, dt: float) -> Any:
    import nir

    def cuba(layer: Any) -> Any:
        shape = reverse_order(layer.output_shape)  # netx -> (C, H, W)
        i_decay, v_decay = layer.neuron.current_decay, layer.neuron.voltage_decay
        if i_decay == 0 or v_decay == 0:
            raise NirError(f"{network.path}: layer {layer.file_index} has iDecay {i_decay}, "
                           f"vDecay {v_decay}; a state that never decays has no finite NIR "
                           f"time constant")
        full = np.ones(shape)
        tau_syn, tau_mem = dt * 4096 / i_decay * full, dt * 4096 / v_decay * full
        return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / dt,
                           v_leak=0 * full, v_threshold=float(layer.neuron.threshold) * full,
                           v_reset=0 * full, w_in=tau_syn / dt)

    in_shape = reverse_order(network.input_shape)
    nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(in_shape)})}
    order = ["input"]
    sched = []
    shape = in_shape
    for i, layer in enumerate(network.layers):
        group = raw["layer"][str(layer.file_index)]
        if layer.kind not in ("conv", "dense") or layer.delay is not None or \
                layer.bias is not None and np.any(layer.bias):
            raise NirError(f"{network.path}: layer {layer.file_index} ({layer.kind}, delays or "
                           f"bias) is not a Razor block razor-neuro exports to NIR")
        weight = np.asarray(group["weight"][()], dtype=np.float64)
        if layer.kind == "conv":
            synapse = nir.Conv2d(input_shape=shape[1:], weight=weight,
                                 stride=reverse_order(layer.stride),
                                 padding=reverse_order(layer.padding),
                                 dilation=reverse_order(layer.dilation),
                                 groups=int(layer.groups), bias=np.zeros(weight.shape[0]))
            name = f"conv{i}"
        else:
            if len(shape) > 1:
                nodes["flatten"] = nir.Flatten(input_type={"input": np.array(shape)},
                                               start_dim=0, end_dim=-1)
                order.append("flatten")
            synapse = nir.Linear(weight=weight.reshape(weight.shape[0], -1))
            name = f"linear{i}"
        nodes[name], nodes[f"cubalif{i}"] = synapse, cuba(layer)
        order += [name, f"cubalif{i}"]
        shape = reverse_order(layer.output_shape)
        if i in gates:
            sched.append({"stage": i, "synapse": name, "neuron": f"cubalif{i}",
                          "keep_mask": [int(v) for v in gates[i]],
                          "keep_ratio": float(np.mean(gates[i]))})
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    order.append("output")
    metadata = {"dt": dt, "n_classes": n_classes, "source": "razor-neuro",
                "razor_schedule": json.dumps({"frames": frames, "layers": sched}),
                "razor_schedule_meaning": SCHEDULE_MEANING}
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])),
                        metadata=metadata)


def export_nir(checkpoint: str | os.PathLike[str], out: str | os.PathLike[str],
               overwrite: bool = False, dt: float = EXPORT_DT) -> Path:
    """Write the Razor model of ``checkpoint`` as the NIR file ``out``.

    Raises:
        CheckpointError: as for ``--target loihi-sim``.
        OutputExists: ``out`` exists (without ``overwrite``, or it is not a NIR file); also
            when a concurrent export created it first (the name is claimed atomically).
        NirError: a network razor-neuro cannot write as NIR (never from ``train``).
    """
    import h5py
    import nir

    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.exporter import export_checkpoint

    out = Path(out)
    if out.exists() and not (overwrite and out.is_file() and _is_nir_file(out)):
        raise OutputExists(f"--out {out}: already exists" + (
            "; --overwrite replaces only a NIR file" if overwrite else
            " (pass --overwrite to replace it)"))
    if Path(checkpoint).resolve() == out.resolve():
        raise OutputExists(f"--out {out}: is the input checkpoint")
    check_writable(out.parent, "--out", into=True)
    with tempfile.TemporaryDirectory(prefix="razor-nir-") as tmp:
        bundle = load_bundle(export_checkpoint(checkpoint, Path(tmp) / "bundle"))
        if bundle.schedule.mode != "gate":
            # the razor_schedule metadata describes gates; NIR has no node that removes
            # time steps from a stream, so a reader would run every frame
            raise NirError(f"{checkpoint}: trained with --prune-mode {bundle.schedule.mode}, "
                           "which NIR cannot express (its pruned frames are removed from the "
                           "time axis); export it with --target loihi-sim")
        with h5py.File(bundle.path / "network.net", "r") as raw:
            graph = _graph(bundle.network, raw, bundle.frames, bundle.gates,
                           int(bundle.manifest["n_classes"]), dt)
        nir.write(Path(tmp) / "model.nir", graph)
        write_file(out, (Path(tmp) / "model.nir").read_bytes(), replace=overwrite)
    return out

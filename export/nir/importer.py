"""``razor-neuro import``: a NIR graph -> ``DIR/network.net`` (netx HDF5) + ``DIR/import.json``.

The network is a chain of Conv/Dense CUBA blocks (:mod:`.read`, :mod:`.quantise`) that Lava
runs and razor-neuro's reference simulates, so ``verify --net``, ``run`` and ``report --net``
work on it unchanged.  ``import.json`` holds, per layer, the NIR nodes it came from, its
Loihi integers and its quantisation errors; with ``check`` also the fidelity check
(:func:`check`): the float NIR simulation next to the Lava run of the imported network and
the bit-exact reference.  ``DIR`` is written to a temporary sibling and renamed: a refusal
or a crash leaves nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from razor_neuro.atomic import check_replaceable, check_writable, write_dir
from razor_neuro.versions import package_versions
from razor_neuro.layout import swap_spike_order
from razor_neuro.export.nir.quantise import LoihiLayer, quantise_chain
from razor_neuro.export.nir.read import Chain, NirError, read_chain
from razor_neuro.export.nir.write import write_netx

__all__ = ["FORMAT", "DEFAULT_DT", "SCHEDULE_KEY", "import_nir", "netx_layers", "resolve_dt",
           "schedule_gates", "nir_to_netx", "check"]

FORMAT = "razor-neuro-nir-import/1"
DEFAULT_DT = 1e-4     # snntorch's export_to_nir writes tau = dt / (1 - beta) with dt = 1e-4
SCHEDULE_KEY = "razor_schedule"


def resolve_dt(chain: Chain, dt: float | None) -> tuple[float, str]:
    """The step in seconds and where it came from: ``--dt``, the graph's ``metadata['dt']``,
    or :data:`DEFAULT_DT` (snntorch's).

    Raises:
        NirError: a ``metadata['dt']`` that is not a positive number (naming the field).
    """
    if dt is not None:
        return float(dt), "--dt"
    if "dt" in chain.metadata:
        try:
            value = float(np.asarray(chain.metadata["dt"]).reshape(-1)[0])
        except (TypeError, ValueError, IndexError):
            value = float("nan")
        if not np.isfinite(value) or value <= 0:
            raise NirError(f"{chain.path}: metadata 'dt' {chain.metadata['dt']!r}; expected "
                           f"a positive number of seconds (or pass --dt)")
        return value, "graph metadata 'dt'"

    return DEFAULT_DT, "default (snntorch's export_to_nir uses dt = 1e-4 s)"


def schedule_gates(chain: Chain) -> tuple[dict[int, np.ndarray], dict[str, Any] | None]:
    """The frame schedule ``razor-neuro export --target nir`` stores in the graph's
    metadata, as ``{stage index: keep mask [T]}`` plus the stored record (``None`` and
    ``{}`` for graphs without one).

    Raises:
        NirError: a schedule that is not JSON, has fewer than 1 frame, lists a stage
            twice, names other nodes, or holds masks of the wrong length or values other
            than 0/1.
    """
    raw = chain.metadata.get(SCHEDULE_KEY)
    if raw is None:
        return {}, None
    where = f"{chain.path}: metadata '{SCHEDULE_KEY}'"
    try:
        record = json.loads(raw if isinstance(raw, str) else bytes(raw).decode())
        frames = int(record["frames"])
        if frames < 1:
            raise NirError(f"{where}: frames {record['frames']!r}; expected an integer >= 1")
        gates = {}
        for entry in record["layers"]:
            i = int(entry["stage"])
            if i in gates:
                raise NirError(f"{where}: stage {i} is listed twice; expected one entry "
                               f"per gated stage")
            if not 0 <= i < len(chain.stages):
                raise NirError(f"{where}: stage {i}; the graph has stages 0.."
                               f"{len(chain.stages) - 1}")
            stage = chain.stages[i]
            if (entry["synapse"], entry["neuron"]) != (stage.synapse_name, stage.neuron_name):
                raise NirError(f"{where}: stage {i} names nodes '{entry['synapse']}', "
                               f"'{entry['neuron']}'; the graph has '{stage.synapse_name}', "
                               f"'{stage.neuron_name}'")
            mask = np.asarray(entry["keep_mask"])
            if mask.shape != (frames,) or not np.all((mask == 0) | (mask == 1)):
                raise NirError(f"{where}: keep_mask of stage {i} is not {frames} values 0/1")
            gates[i] = mask.astype(bool)
    except NirError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise NirError(f"{where}: malformed ({type(exc).__name__}: {exc})") from None
    return gates, record


def netx_layers(chain: Chain, layers: list[LoihiLayer]) -> list[dict[str, Any]]:
    """The ``layer/<i>`` entries of the netx file (:func:`.write.write_netx`): a bare
    ``input`` entry giving the (C, H, W) shape when the first block is a Conv, a ``flatten``
    entry before a Dense block that follows a Conv, one ``conv``/``dense`` entry per layer."""
    specs: list[dict[str, Any]] = []
    if chain.stages[0].kind == "conv":
        specs.append({"type": "input", "shape": np.array(chain.input_shape)})
    for i, layer in enumerate(layers):
        stage = layer.stage
        if stage.flatten_before and i > 0:
            specs.append({"type": "flatten", "shape": np.array(chain.stages[i - 1].output_shape)})
        neuron = {"type": "CUBA", "vThMant": layer.threshold, "iDecay": layer.current_decay,
                  "vDecay": layer.voltage_decay, "refDelay": 1, "gradedSpike": False}
        spec: dict[str, Any] = {"type": stage.kind, "shape": np.array(stage.output_shape),
                                "weight": layer.weight.astype(np.float32), "neuron": neuron}
        if stage.kind == "conv":
            spec |= {"stride": np.array(stage.stride), "padding": np.array(stage.padding),
                     "dilation": np.array(stage.dilation), "groups": stage.groups}
        if layer.bias is not None:
            spec["bias"] = layer.bias.astype(np.float32)
        specs.append(spec)
    return specs


def nir_to_netx(x: np.ndarray, chain: Chain) -> np.ndarray:
    """Input spikes ``[N, *chain.input_shape, T]`` (NIR order) -> the imported network's
    input ``[N, *input_shape, T]`` (netx order: (W, H, C) for a Conv first layer, flat
    C-order over (C, H, W) when the chain starts with a Flatten)."""
    n, steps = x.shape[0], x.shape[-1]
    if chain.stages[0].kind == "dense":
        return np.ascontiguousarray(x.reshape(n, -1, steps))
    return swap_spike_order(x)


def _netx_to_nir(spikes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return swap_spike_order(spikes) if len(shape) == 3 else spikes


def read_check_input(path: str | os.PathLike[str], chain: Chain) -> np.ndarray:
    """Input spikes for :func:`check` from ``.npy``: ``[N, *input_shape, T]`` or one sample
    ``[*input_shape, T]`` in NIR order ((C, H, W) or (n,)), values 0/1.

    Raises:
        NirError: unreadable file, a dtype that is not real numbers (complex, text,
            objects), wrong shape or non-binary values (naming the file).
    """
    name = os.fspath(path)
    expect = f"expected [N, {', '.join(map(str, chain.input_shape))}, T] spikes 0/1 (NIR order)"
    try:
        x = np.load(name, allow_pickle=False)
    except Exception as exc:
        raise NirError(f"--check {name}: cannot read ({' '.join(str(exc).split())}); "
                       f"{expect}") from None
    if x.dtype.kind not in "biuf":
        raise NirError(f"--check {name}: dtype {x.dtype}; {expect} as real numbers")
    if x.ndim == len(chain.input_shape) + 1:
        x = x[None]
    if x.ndim != len(chain.input_shape) + 2 or tuple(x.shape[1:-1]) != chain.input_shape \
            or x.shape[0] < 1 or x.shape[-1] < 1:
        raise NirError(f"--check {name}: shape {x.shape}; {expect}")
    if not np.all((x == 0) | (x == 1)):
        raise NirError(f"--check {name}: holds values other than 0 and 1; {expect}")
    return x.astype(np.uint8)


def check(chain: Chain, network_path: Path, x: np.ndarray, dt: float,
          gates: dict[int, np.ndarray], names: list[str]) -> dict[str, Any]:
    """Fidelity of the imported network to the NIR graph on input ``x`` (NIR order).

    Runs the float NIR simulation (:func:`.simulate.simulate`), Lava ``fixed_pt`` on the
    imported network (samples streamed with a reset every ``T`` steps, the schedule's gates
    applied) and razor-neuro's bit-exact reference, and compares them per layer.

    Returns:
        ``samples``, ``steps``; per layer ``nir_spikes``, ``lava_spikes``,
        ``reference_spikes``, ``lava_reference_mismatches`` (must be 0),
        ``nir_lava_mismatches`` ((sample, neuron, step) positions that differ),
        ``spike_agreement`` (spikes both fire / spikes either fires; 1 = identical);
        ``lava_reference_mismatches`` (total), ``class_agreement`` (share of samples whose
        most-spiking output neuron, ties to the lowest index, is the same in the NIR graph
        and in Lava), ``nir_classes`` and ``lava_classes``.
    """
    from razor_neuro.export.backend import Deployment, Lava, ReferenceSim, compare
    from razor_neuro.export.deploy import predict
    from razor_neuro.export.netfile import read_network
    from razor_neuro.export.nir.simulate import simulate

    steps = int(x.shape[-1])
    d = Deployment(read_network(network_path), nir_to_netx(x, chain), steps,
                   {int(i): np.asarray(m, dtype=bool) for i, m in gates.items()})
    lava = Lava("fixed_pt").run(d)
    exact = compare(lava, ReferenceSim("fixed_pt").run(d)).outputs
    nir_out = simulate(chain, x, dt, gates)
    rows = []
    for i, (stage, c) in enumerate(zip(chain.stages, exact)):
        a = nir_out[i]
        b = _netx_to_nir(np.asarray(lava.outputs[i]) != 0, stage.output_shape)
        both, either = int((a & b).sum()), int((a | b).sum())
        rows.append({"name": names[i], "nir_synapse": stage.synapse_name,
                     "nir_neuron": stage.neuron_name, "nir_spikes": int(a.sum()),
                     "lava_spikes": c.lava_spikes, "reference_spikes": c.reference_spikes,
                     "lava_reference_mismatches": c.mismatches,
                     "nir_lava_mismatches": int((a != b).sum()),
                     "spike_agreement": 1.0 if either == 0 else both / either})
    nir_cls = predict(nir_out[-1].reshape(len(x), -1, steps))
    lava_cls = predict(np.asarray(lava.outputs[-1]).reshape(len(x), -1, steps))
    return {"samples": int(len(x)), "steps": steps,
            "lava_reference_mismatches": sum(c.mismatches for c in exact),
            "class_agreement": float((nir_cls == lava_cls).mean()),
            "nir_classes": nir_cls.tolist(), "lava_classes": lava_cls.tolist(),
            "layers": rows}


def import_nir(path: str | os.PathLike[str], out: str | os.PathLike[str],
               dt: float | None = None, check_input: str | os.PathLike[str] | None = None,
               overwrite: bool = False) -> dict[str, Any]:
    """Import the NIR file ``path`` into the directory ``out``.

    Args:
        dt: step in seconds (default: :func:`resolve_dt`).
        check_input: ``.npy`` input spikes for the fidelity check (:func:`check`).
        overwrite: replace an existing import directory (only one).

    Returns:
        the content of ``out/import.json``.

    Raises:
        NirError: a graph or input razor-neuro cannot import (nothing is written).
        OutputExists: see :func:`razor_neuro.atomic.write_dir`; also when ``out`` holds
            ``path`` or ``check_input`` (``--overwrite`` would delete them).
        OutputUnwritable: see :func:`razor_neuro.atomic.write_dir`.
    """
    from razor_neuro.export.netfile import read_network

    check_replaceable(out, overwrite, "import.json", FORMAT,
                      inputs=(path,) + (() if check_input is None else (check_input,)))
    check_writable(out, "--out", into=False)
    chain = read_chain(path)
    step, dt_from = resolve_dt(chain, dt)
    layers = quantise_chain(chain, step, dt_from)
    gates, schedule = schedule_gates(chain)
    x = None if check_input is None else read_check_input(check_input, chain)
    if x is not None and schedule is not None and x.shape[-1] != int(schedule["frames"]):
        raise NirError(f"--check {check_input}: {x.shape[-1]} steps per sample; the graph's "
                       f"schedule has {schedule['frames']} frames")
    result: dict[str, Any] = {}

    def fill(tmp: Path) -> None:
        net_path = write_netx(tmp / "network.net", netx_layers(chain, layers))
        network = read_network(net_path)  # what verify/run/report will read
        names = network.names
        result.update({
            "format": FORMAT, "source": os.fspath(path),
            "source_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
            "dt": step, "dt_from": dt_from,
            "input_shape_nir": list(chain.input_shape),
            "input_shape_netx": list(network.input_shape),
            "layers": [{"name": name, "nir_synapse": q.stage.synapse_name,
                        "nir_neuron": q.stage.neuron_name,
                        "neuron_type": type(q.stage.neuron).__name__, "kind": q.stage.kind,
                        "neurons": int(np.prod(q.stage.output_shape)),
                        "vThMant": q.threshold, "iDecay": q.current_decay,
                        "vDecay": q.voltage_decay, "quantisation": q.errors}
                       for name, q in zip(names, layers)],
            "schedule": schedule,
        })
        if x is not None:
            result["check"] = {"input": os.fspath(check_input),
                               **check(chain, net_path, x, step, gates, names)}
        result["versions"] = package_versions()
        (tmp / "import.json").write_text(json.dumps(result, indent=1) + "\n")

    write_dir(out, fill, overwrite, "import.json", FORMAT)
    return result

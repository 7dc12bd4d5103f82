"""A NIR graph as an ordered chain of Loihi layers, or a one-line refusal.

netx runs a feed-forward chain of blocks, each a synapse (Conv or Dense) followed by CUBA
neurons, with an optional flatten between a Conv and a Dense block.  :func:`read_chain`
turns a NIR graph (``nir.read``) into exactly that::

    Input -> [Flatten] -> (Linear | Affine | Conv2d) -> (CubaLIF | LIF | IF) -> ... -> Output

and refuses, naming the node and the reason, anything else: other node types (pooling,
delays, ``Scale``, ``Threshold``, leaky integrators without spikes, sub-graphs such as
snntorch's RLeaky/RSynaptic), branches, merges, recurrent edges, nodes off the chain, two
synapses or two neurons in a row, a Conv after a Flatten, a partial Flatten.

Shapes are in NIR's (torch's) order: ``(C, H, W)`` for convolutional layers, ``(n,)`` for
dense ones; a Conv2d's ``weight`` is ``(C_out, C_in/groups, kH, kW)``.  Parameter checks
that depend on ``dt`` or on Loihi's number formats live in :mod:`.quantise`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from razor_neuro.layout import conv_out_size

__all__ = ["NirError", "Stage", "Chain", "read_chain", "chain_from_graph"]

SYNAPSES = ("Linear", "Affine", "Conv2d")
NEURONS = ("CubaLIF", "LIF", "IF")
_SUPPORTED = ("supported: Input -> [Flatten] -> Linear/Affine/Conv2d -> CubaLIF/LIF/IF "
              "... -> Output, a feed-forward chain")
_WHY = {
    "AvgPool2d": "netx 0.6 has no pooling block (write pooling as a strided Conv2d)",
    "SumPool2d": "netx 0.6 has no pooling block (write pooling as a strided Conv2d)",
    "Delay": "axonal delays are not imported",
    "Conv1d": "netx runs 2-D convolutions only",
    "Scale": "a per-neuron Scale between layers has no netx block",
    "Threshold": "a stateless threshold has no Loihi neuron",
    "LI": "a leaky integrator without spikes has no output netx can pass on",
    "CubaLI": "a leaky integrator without spikes has no output netx can pass on",
    "I": "an integrator without spikes has no output netx can pass on",
    "NIRGraph": "sub-graphs (e.g. snntorch's RLeaky/RSynaptic: recurrent weights) are "
                "not supported",
}


class NirError(ValueError):
    """A NIR file razor-neuro cannot import or write (one line naming the file and node)."""


@dataclass(frozen=True, eq=False)
class Stage:
    """One Loihi layer: a synapse node and the neuron node it drives.

    Attributes:
        synapse_name, neuron_name: the nodes' names in the graph.
        synapse: ``nir.Linear``, ``nir.Affine`` or ``nir.Conv2d``.
        neuron: ``nir.CubaLIF``, ``nir.LIF`` or ``nir.IF``.
        flatten_before: a Flatten precedes the synapse (C-order over ``(C, H, W)``).
        input_shape: shape of the spikes entering the synapse (after the flatten).
        output_shape: shape of the neurons.
        kind: ``'conv'`` or ``'dense'``.
        stride, padding, dilation: Conv2d parameters in (H, W) order, else None.
        groups: Conv2d groups (1 for dense).
    """
    synapse_name: str
    synapse: Any
    neuron_name: str
    neuron: Any
    flatten_before: bool
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    kind: str
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] | None = None
    dilation: tuple[int, int] | None = None
    groups: int = 1

    @property
    def weight(self) -> np.ndarray:
        """Synaptic weights as float64: dense (n_out, n_in), conv (C_out, C_in/g, kH, kW)."""
        return np.asarray(self.synapse.weight, dtype=np.float64)

    @property
    def bias(self) -> np.ndarray | None:
        """Affine/Conv2d bias as float64 ((n_out,) or (C_out,)), None for Linear."""
        b = getattr(self.synapse, "bias", None)
        return None if b is None else np.asarray(b, dtype=np.float64).reshape(-1)


@dataclass(frozen=True, eq=False)
class Chain:
    """A NIR graph read as a chain of :class:`Stage` s.

    Attributes:
        path: the file (or ``'<graph>'``).
        input_shape: shape of one input frame (NIR order).
        stages: the layers in order.
        metadata: the graph's ``metadata`` dict.
    """
    path: str
    input_shape: tuple[int, ...]
    stages: tuple[Stage, ...]
    metadata: dict = field(default_factory=dict)


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in np.asarray(value).reshape(-1))


def _pair(value: Any, where: str, what: str) -> tuple[int, int]:
    arr = np.asarray(value).reshape(-1)
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or not np.all(arr == np.round(arr)):
        raise NirError(f"{where}: {what} {value!r} is not one or two integers")
    return int(arr[0]), int(arr[1])


def read_chain(path: str | os.PathLike[str]) -> Chain:
    """Read a NIR file (``nir.read``) as a :class:`Chain`.

    Raises:
        NirError: unreadable file, or a graph that is not a supported chain (one line
            naming the file, the node and the reason).
    """
    import nir

    name = os.fspath(path)
    if not os.path.isfile(name):
        raise NirError(f"{name}: no such NIR file")
    try:
        graph = nir.read(name)
    except Exception as exc:  # h5py/nir raise OSError, KeyError, ValueError, AssertionError
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise NirError(f"{name}: not a readable NIR graph ({type(exc).__name__}: "
                       f"{text})") from None
    return chain_from_graph(graph, name)


def _on_cycles(left: set[str], outgoing: dict[str, list[str]],
               incoming: dict[str, list[str]]) -> set[str]:
    """Nodes on (or between) cycles: peel off nodes without predecessors, then nodes without
    successors, among those left (Kahn's algorithm both ways)."""
    for edges in (incoming, outgoing):
        changed = True
        while changed:
            free = {n for n in left if not any(m in left for m in edges[n])}
            left -= free
            changed = bool(free)
    return left


def _order(graph: Any, where: str) -> list[str]:
    """Node names from the Input to the Output along the edges."""
    import nir

    nodes = graph.nodes
    for name, node in nodes.items():
        kind = type(node).__name__
        if isinstance(node, nir.NIRGraph) or kind not in (*SYNAPSES, *NEURONS, "Flatten",
                                                           "Input", "Output"):
            reason = _WHY.get(kind, "unknown node type")
            raise NirError(f"{where}: node '{name}' ({kind}) is not supported: {reason} "
                           f"({_SUPPORTED})")
    outgoing: dict[str, list[str]] = {n: [] for n in nodes}
    incoming: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in nodes:
                raise NirError(f"{where}: edge ({src} -> {dst}) names no node '{end}'")
        outgoing[src].append(dst)
        incoming[dst].append(src)
    cyclic = _on_cycles(set(nodes), outgoing, incoming)
    for src, dst in graph.edges:
        if src in cyclic and dst in cyclic:
            raise NirError(f"{where}: recurrent edge '{src}' -> '{dst}' (a cycle) is not "
                           f"supported ({_SUPPORTED})")
    inputs = [n for n, node in nodes.items() if isinstance(node, nir.Input)]
    outputs = [n for n, node in nodes.items() if isinstance(node, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NirError(f"{where}: {len(inputs)} Input and {len(outputs)} Output nodes; "
                       f"expected one of each ({_SUPPORTED})")
    order = [inputs[0]]
    seen = {inputs[0]}
    while order[-1] != outputs[0]:
        here = order[-1]
        nxt = outgoing[here]
        if len(nxt) != 1:
            what = "no outgoing edge" if not nxt else f"edges to {sorted(nxt)} (a branch)"
            raise NirError(f"{where}: node '{here}' has {what}; expected one ({_SUPPORTED})")
        step = nxt[0]
        if len(incoming[step]) != 1:
            raise NirError(f"{where}: node '{step}' has inputs {sorted(incoming[step])} (a "
                           f"merge); expected one ({_SUPPORTED})")
        order.append(step)
        seen.add(step)
    if outgoing[outputs[0]]:
        raise NirError(f"{where}: Output '{outputs[0]}' has an edge to "
                       f"'{outgoing[outputs[0]][0]}'; expected none ({_SUPPORTED})")
    off = sorted(set(nodes) - seen)
    if off:
        raise NirError(f"{where}: node '{off[0]}' is not on the chain from '{inputs[0]}' "
                       f"to '{outputs[0]}' ({_SUPPORTED})")
    return order


def chain_from_graph(graph: Any, path: str = "<graph>") -> Chain:
    """A ``nir.NIRGraph`` as a :class:`Chain` (see :func:`read_chain`)."""
    order = _order(graph, path)
    nodes = graph.nodes
    shape = _shape(nodes[order[0]].input_type["input"])
    if len(shape) not in (1, 3) or min(shape, default=0) < 1:
        raise NirError(f"{path}: Input '{order[0]}' has shape {shape}; expected (n,) or "
                       f"(C, H, W)")
    input_shape = shape
    stages: list[Stage] = []
    flatten = False
    pending: tuple | None = None  # (name, node, kind, conv params, in shape, out shape)
    for name in order[1:-1]:
        node = nodes[name]
        kind = type(node).__name__
        where = f"{path}: node '{name}' ({kind})"
        if kind == "Flatten":
            if pending is not None:
                raise NirError(f"{where}: follows synapse '{pending[0]}'; expected a neuron "
                               f"({_SUPPORTED})")
            start, end = int(node.start_dim), int(node.end_dim)
            if start not in (0, -len(shape)) or end not in (-1, len(shape) - 1):
                raise NirError(f"{where}: start_dim {start}, end_dim {end} flattens part of "
                               f"{shape}; only a full flatten (0, -1) is supported")
            if len(shape) > 1:
                flatten = True
            shape = (int(np.prod(shape)),)
        elif kind in SYNAPSES:
            if pending is not None:
                raise NirError(f"{where}: follows synapse '{pending[0]}'; expected a neuron "
                               f"between two synapses ({_SUPPORTED})")
            w = np.asarray(node.weight, dtype=np.float64)
            bias = getattr(node, "bias", None)
            if not np.all(np.isfinite(w)) or (
                    bias is not None and not np.all(np.isfinite(np.asarray(bias, np.float64)))):
                raise NirError(f"{where}: holds NaN or infinite numbers")
            if kind == "Conv2d":
                if len(shape) != 3:
                    raise NirError(f"{where}: needs a (C, H, W) input, gets {shape} "
                                   f"(Conv2d after a Flatten is not supported)")
                if w.ndim != 4:
                    raise NirError(f"{where}: weight of shape {w.shape}; expected (C_out, "
                                   f"C_in/groups, kH, kW)")
                groups = int(np.asarray(node.groups).reshape(-1)[0])
                stride = _pair(node.stride, where, "stride")
                dilation = _pair(node.dilation, where, "dilation")
                pad = node.padding
                if isinstance(pad, bytes):
                    pad = pad.decode()
                if isinstance(pad, str):
                    if pad == "valid":
                        pad = (0, 0)
                    elif pad == "same" and stride == (1, 1) and all(
                            (d * (k - 1)) % 2 == 0 for d, k in zip(dilation, w.shape[2:])):
                        pad = tuple(d * (k - 1) // 2 for d, k in zip(dilation, w.shape[2:]))
                    else:
                        raise NirError(f"{where}: padding '{pad}' with stride {stride} and "
                                       f"kernel {w.shape[2:]} has no symmetric integer "
                                       f"padding netx can run")
                padding = _pair(pad, where, "padding")
                if groups < 1 or shape[0] % groups or w.shape[0] % groups or \
                        w.shape[1] * groups != shape[0]:
                    raise NirError(f"{where}: weight {w.shape} with groups={groups} does not "
                                   f"fit the input shape {shape}")
                out = (int(w.shape[0]),) + tuple(
                    conv_out_size(shape[1 + a], int(w.shape[2 + a]), stride[a], padding[a],
                                  dilation[a]) for a in range(2))
                if min(out) < 1:
                    raise NirError(f"{where}: output shape {out} is empty")
                pending = (name, node, "conv", (stride, padding, dilation, groups), shape, out)
            else:
                if len(shape) != 1:
                    raise NirError(f"{where}: needs a flat (n,) input, gets {shape} (put a "
                                   f"Flatten before it)")
                if w.ndim != 2 or w.shape[1] != shape[0]:
                    raise NirError(f"{where}: weight of shape {w.shape} does not take "
                                   f"{shape[0]} inputs")
                out = (int(w.shape[0]),)
                if out[0] < 1:
                    raise NirError(f"{where}: weight of shape {w.shape} has no output; "
                                   f"expected at least one neuron")
                pending = (name, node, "dense", None, shape, out)
            if bias is not None and np.asarray(bias).size != out[0]:
                raise NirError(f"{where}: bias of shape {np.asarray(bias).shape}; expected "
                               f"({out[0]},)")
            shape = out
        else:  # a neuron
            if pending is None:
                raise NirError(f"{where}: has no Linear/Affine/Conv2d before it; each neuron "
                               f"layer needs its own synapse ({_SUPPORTED})")
            sname, snode, skind, conv, in_shape, out = pending
            stride, padding, dilation, groups = conv if conv else (None, None, None, 1)
            stages.append(Stage(sname, snode, name, node, flatten, in_shape, out, skind,
                                stride, padding, dilation, groups))
            pending, flatten = None, False
    if pending is not None:
        raise NirError(f"{path}: synapse '{pending[0]}' drives no neuron before the Output; "
                       f"the last node before '{order[-1]}' must be a neuron ({_SUPPORTED})")
    if not stages:
        raise NirError(f"{path}: no neuron layer between Input and Output ({_SUPPORTED})")
    meta = graph.metadata if isinstance(graph.metadata, dict) else {}
    return Chain(path, input_shape, tuple(stages), dict(meta))

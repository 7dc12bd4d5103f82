"""A live snntorch network -> a NIR file razor-neuro imports with the same dynamics.

``snntorch.export_to_nir`` writes what NIR can say, and NIR cannot say everything snntorch
does: a neuron that subtracts its threshold on a spike (snntorch's default) or resets one
step late (the default ``reset_delay``) is written as a plain reset to 0, so the file alone
cannot tell a network Loihi runs from one it would run with other dynamics.
:func:`from_snntorch` therefore reads the model itself:

* each ``snn.Leaky`` / ``snn.Synaptic``'s own settings; refused, in one line naming the
  module and the setting to change: ``reset_mechanism`` other than ``'zero'`` (Loihi sets
  ``v = 0`` after a spike), ``reset_delay=True`` (Loihi resets in the step of the spike),
  graded spikes (Loihi's are binary), and a Linear/Conv2d bias into a ``Synaptic`` neuron
  (its current persists; Loihi adds a bias to the voltage);
* modules ``export_to_nir`` has no node for (it drops them with a printed warning) and
  other snntorch neurons are refused too;
* scalar ``alpha``/``beta``/``threshold`` become one value per neuron (shapes from one
  forward pass of ``sample``) and the batch dimension is added and ignored, the two things
  nir's type check refuses otherwise;
* then ``export_to_nir`` writes the graph (``metadata['dt']``: its step, 1e-4 s) to the
  file, atomically.

The user's network is not modified (a copy is changed and traced).
"""
from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from razor_neuro.atomic import OutputExists, write_file
from razor_neuro.export.nir.importer import DEFAULT_DT
from razor_neuro.export.nir.read import NirError

__all__ = ["from_snntorch"]

#: leaf modules export_to_nir turns into NIR nodes (others it drops)
_EXPORTED = ("Linear", "Conv2d", "Flatten", "AvgPool2d", "Leaky", "Synaptic")
#: per-neuron parameters of each supported snntorch neuron
_PARAMS = {"Leaky": ("beta", "threshold"), "Synaptic": ("alpha", "beta", "threshold")}


def _check_neuron(name: str, module: Any) -> None:
    kind = type(module).__name__
    where = f"module '{name}' (snn.{kind})"
    if module.reset_mechanism != "zero":
        what = {"subtract": "subtracts the threshold from the voltage after a spike",
                "none": "never resets the voltage"}.get(module.reset_mechanism,
                                                         "does not reset to 0")
        raise NirError(f"{where}: reset_mechanism='{module.reset_mechanism}' {what}; Loihi "
                       f"sets it to 0: set reset_mechanism='zero'")
    if module.reset_delay:
        raise NirError(f"{where}: reset_delay=True resets the voltage one step after the "
                       f"spike; Loihi resets in the same step: set reset_delay=False")
    factor = getattr(module, "graded_spikes_factor", None)
    if factor is not None and not bool(np.all(factor.detach().cpu().numpy() == 1)):
        raise NirError(f"{where}: graded spikes (graded_spikes_factor {factor.tolist()}); "
                       f"Loihi's spikes are binary: set graded_spikes_factor=1.0")


def _frame(sample: Any) -> Any:
    """One input frame ``[*input_shape]`` ((n,) or (C, H, W)), also given as ``[1, ...]``,
    as a batch of one."""
    import torch

    x = torch.as_tensor(sample, dtype=torch.float32)
    if x.ndim in (2, 4) and x.shape[0] == 1:
        x = x[0]
    if x.ndim not in (1, 3):
        raise NirError(f"sample: shape {tuple(x.shape)}; expected one input frame (n,) or "
                       f"(C, H, W), optionally with a leading batch dimension of 1")
    return x[None]


def _vectorise(net: Any, x: Any, neurons: dict[str, Any]) -> None:
    """Give every neuron of ``net`` (a copy) one ``alpha``/``beta``/``threshold`` per
    neuron, the shape of its input in one forward pass of ``x``."""
    import torch
    from snntorch import utils

    shapes: dict[str, tuple[int, ...]] = {}

    def record(name: str) -> Any:
        def hook(module: Any, args: tuple, output: Any) -> None:  # None: output unchanged
            shapes.setdefault(name, tuple(args[0].shape[1:]))
        return hook

    hooks = [m.register_forward_hook(record(name)) for name, m in neurons.items()]
    utils.reset(net)
    try:
        with torch.no_grad():
            net(x)
    finally:
        for hook in hooks:
            hook.remove()
    for name, module in neurons.items():
        for key in _PARAMS[type(module).__name__]:
            old = getattr(module, key)
            try:
                new = torch.broadcast_to(old.detach(), shapes[name]).clone()
            except RuntimeError:
                raise NirError(f"module '{name}' (snn.{type(module).__name__}): {key} of shape "
                               f"{tuple(old.shape)} does not fit its {shapes[name]} "
                               f"neurons") from None
            setattr(module, key, torch.nn.Parameter(new, old.requires_grad)
                    if isinstance(old, torch.nn.Parameter) else new)
    utils.reset(net)


def _check_biases(graph: Any, modules: dict[str, Any]) -> None:
    """Refuse a synapse with a bias whose edge leads into a CubaLIF (``snn.Synaptic``)."""
    import nir

    for src, dst in graph.edges:
        node = graph.nodes[src]
        if isinstance(graph.nodes[dst], nir.CubaLIF) and isinstance(
                node, (nir.Affine, nir.Conv2d)) and np.any(np.asarray(node.bias)):
            kind = type(modules.get(src)).__name__
            raise NirError(f"module '{src}' ({kind}): its bias feeds the current of '{dst}' "
                           f"(snn.Synaptic), which persists; Loihi adds a bias to the "
                           f"voltage: set bias=False on '{src}' (or use snn.Leaky)")


def from_snntorch(net: Any, sample: Any, path: str | os.PathLike[str],
                  overwrite: bool = False) -> Path:
    """Write the snntorch network ``net`` as the NIR file ``path`` for ``razor-neuro
    import``, or refuse what Loihi cannot run (see the module docstring).

    Args:
        net: a ``torch.nn.Module`` of Linear, Conv2d, Flatten, AvgPool2d, ``snn.Leaky`` and
            ``snn.Synaptic`` modules (``init_hidden=True``).
        sample: one input frame, ``(n,)`` or ``(C, H, W)`` (a leading batch dimension of 1
            is accepted); its values do not matter.
        overwrite: replace an existing ``path``.

    Returns:
        ``path``.

    Raises:
        NirError: one line naming the module and the setting to change.
        OutputExists: ``path`` exists (without ``overwrite``).
    """
    import nir
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    out = Path(path)
    if out.exists() and not overwrite:
        raise OutputExists(f"{out}: already exists (pass overwrite=True to replace it)")
    modules = dict(net.named_modules())
    for name, module in modules.items():
        kind = type(module).__name__
        if isinstance(module, snn.SpikingNeuron) and kind not in _PARAMS:
            raise NirError(f"module '{name}' (snn.{kind}): not supported; expected snn.Leaky "
                           f"or snn.Synaptic")
        if kind in _PARAMS:
            _check_neuron(name, module)
        elif not list(module.children()) and kind not in _EXPORTED:
            raise NirError(f"module '{name}' ({kind}): export_to_nir has no NIR node for it "
                           f"and would drop it; expected {', '.join(_EXPORTED)}")
    # hidden states left by a training step are not graph leaves, which deepcopy refuses
    states = [t for m in net.modules() for t in m.__dict__.get("_buffers", {}).values()
              if t is not None and not t.is_leaf]
    twin = copy.deepcopy(net, {id(t): t.detach().clone() for t in states})
    twin.eval()
    x = _frame(sample)
    neurons = {n: m for n, m in twin.named_modules() if type(m).__name__ in _PARAMS}
    _vectorise(twin, x, neurons)
    graph = export_to_nir(twin, x, ignore_dims=[0])
    _check_biases(graph, modules)
    graph.metadata = dict(graph.metadata or {}) | {"dt": DEFAULT_DT}
    with tempfile.TemporaryDirectory(prefix="razor-nir-") as tmp:
        nir.write(Path(tmp) / "model.nir", graph)
        write_file(out, (Path(tmp) / "model.nir").read_bytes(), replace=overwrite)
    return out

"""Place a netx network on SANA-FE's Loihi architecture: neuron groups, synapses, cores.

One group per netx block plus an ``input`` group for the network's input spikes; neurons
are numbered by a C-order flatten of the block's netx shape ``(x, y, f)`` (``(n,)`` for
dense).  Synapses are exactly the structural synapses netx builds (every weight entry,
zeros included, as :mod:`razor_neuro.counting` counts them):

* ``input`` block: one synapse from input neuron ``k`` to neuron ``k``;
* ``conv``: weight ``(C_out, kx, ky, C_in/groups)``, output ``(ox, oy, co)`` reads input
  ``(ox*sx - px + kx*dx, oy*sy - py + ky*dy, g*C_in/groups + c)`` when in bounds, ``g`` the
  group of ``co``;
* ``dense``: every ``(out, in)`` entry; after a flatten, input ``j`` is netx's flatten
  order ``(f, y, x)``, mapped back to the previous block's ``(x, y, f)`` numbering.

Placement (deterministic): groups in network order, each on its own
``ceil(neurons / 1024)`` consecutive cores (filled to 1,024, the last takes the rest),
cores counted tile by tile.  A network needing more cores than the architecture has is
refused (:class:`HardwareModelRefused`): SANA-FE 2.2.9 ships one Loihi chip (128 cores)
and no multi-chip link model.

Synapse units: ``conv`` and ``input`` blocks use ``loihi_conv_synapse``, ``dense``
``loihi_dense_synapse``; the input group uses the zero-cost ``loihi_inputs[k]`` somas (one
per neuron: SANA-FE's input model holds one spike train per unit), the blocks
``loihi_lif``.  Axonal delays (DelayDense) are not placed: SANA-FE charges a synaptic event
when the spike arrives, and only the dendrite (zero cost in loihi.yaml) holds the delay.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from razor_neuro.export.report.schema import ReportError
from razor_neuro.versions import package_version

__all__ = ["ARCH_UNITS", "HardwareModelError", "HardwareModelRefused", "LayerPlacement",
           "Placement", "SANAFE_VERSION", "edges", "import_sanafe", "load_architecture",
           "place"]

#: the SANA-FE release this mapping is written and tested against
SANAFE_VERSION = "2.2.9"
#: hardware units of SANA-FE's Loihi description the mapping names
ARCH_UNITS = {"soma": "loihi_lif", "input": "loihi_inputs", "conv": "loihi_conv_synapse",
              "dense": "loihi_dense_synapse"}


class HardwareModelError(ReportError):
    """A hardware-model input that cannot be used (architecture file, option)."""


class HardwareModelRefused(ReportError):
    """The hardware model cannot run: SANA-FE absent or another version, or a network
    larger than the architecture."""


def import_sanafe() -> Any:
    """The ``sanafe`` module, refused unless version :data:`SANAFE_VERSION` is installed."""
    version = package_version("sanafe", missing="")
    if version != SANAFE_VERSION:
        found = f"version {version}" if version else "not installed"
        raise HardwareModelRefused(
            f"--hw-model sanafe: needs sanafe=={SANAFE_VERSION} ({found}); run "
            "`bash scripts/setup.sh`")
    import sanafe
    return sanafe


def load_architecture(sanafe: Any, path: Optional[str | Path] = None) -> tuple[Any, str]:
    """SANA-FE architecture from ``path`` (default: the Loihi description shipped in the
    package, ``sanafe/examples/loihi.yaml``) and the file it came from."""
    src = Path(path) if path is not None else Path(str(files("sanafe.examples") / "loihi.yaml"))
    if not src.is_file():
        raise HardwareModelError(f"--hw-arch: {src}: no such architecture file")
    try:
        arch = sanafe.load_arch(str(src))
    except Exception as exc:  # SANA-FE raises RuntimeError/ValueError/yaml errors alike
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HardwareModelError(
            f"--hw-arch: {src}: not a SANA-FE architecture description ({first})") from None
    return arch, str(src)


@dataclass(frozen=True)
class LayerPlacement:
    """One group on the chip: ``name``, ``neurons``, cores ``first_core ..
    first_core + cores - 1`` (global core numbers), its ``synapses`` in and their unit."""
    name: str
    neurons: int
    first_core: int
    cores: int
    synapses: int
    synapse_unit: Optional[str]


@dataclass(frozen=True)
class Placement:
    """Where a network sits: its groups (``input`` first), cores and tiles used, and the
    architecture's capacity.  :meth:`core_of` gives the core of a group's neuron."""
    groups: tuple[LayerPlacement, ...]
    cores_used: int
    tiles_used: int
    cores_available: int
    neurons_per_core: int

    def core_of(self, group: int, k: int) -> int:
        """Global core number of neuron ``k`` of group ``group``: full cores of
        ``neurons_per_core`` in order, or an even split over the group's cores (the last
        takes the remainder) when the group was spread."""
        g = self.groups[group]
        per = self.neurons_per_core if g.cores == math.ceil(g.neurons / self.neurons_per_core) \
            else g.neurons // g.cores
        return g.first_core + min(k // per, g.cores - 1)


def _flat_index(shape: Sequence[int]) -> np.ndarray:
    """netx flatten order ``(f, y, x)`` -> C-order index over ``(x, y, f)``."""
    x, y, f = (int(v) for v in shape)
    return np.arange(x * y * f).reshape(x, y, f).transpose(2, 1, 0).reshape(-1)


def _conv_edges(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(layer.weight)
    c_out, kx, ky, c_in_g = w.shape
    ix_n, iy_n, c_in = (int(v) for v in layer.input_shape)
    ox_n, oy_n, _ = (int(v) for v in layer.output_shape)
    (sx, sy), (px, py), (dx, dy) = layer.stride, layer.padding, layer.dilation
    per_group = c_out // int(layer.groups)
    ox, oy, co, ax, ay, ci = np.meshgrid(np.arange(ox_n), np.arange(oy_n), np.arange(c_out),
                                         np.arange(kx), np.arange(ky), np.arange(c_in_g),
                                         indexing="ij", sparse=True)
    ix, iy = ox * sx - px + ax * dx, oy * sy - py + ay * dy
    cin = (co // per_group) * c_in_g + ci
    ok = np.broadcast_to((ix >= 0) & (ix < ix_n) & (iy >= 0) & (iy < iy_n),
                         (ox_n, oy_n, c_out, kx, ky, c_in_g))
    pre = np.broadcast_to((ix * iy_n + iy) * c_in + cin, ok.shape)[ok]
    post = np.broadcast_to((ox * oy_n + oy) * c_out + co, ok.shape)[ok]
    return pre.astype(np.int64), post.astype(np.int64)


def edges(layer: Any, previous_shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Structural synapses of netx block ``layer`` as ``(pre, post)`` neuron indices;
    ``previous_shape`` is the netx shape of the group feeding it (the input or the previous
    block's output)."""
    if layer.kind == "input":
        n = int(np.prod(layer.output_shape))
        return np.arange(n), np.arange(n)
    if layer.kind == "conv":
        return _conv_edges(layer)
    if layer.kind == "dense":
        n_out, n_in = np.asarray(layer.weight).shape
        pre = np.tile(np.arange(n_in), n_out)
        if layer.flatten_before and len(previous_shape) == 3:
            pre = _flat_index(previous_shape)[pre]
        return pre, np.repeat(np.arange(n_out), n_in)
    raise HardwareModelError(f"--hw-model sanafe: cannot place a block of kind {layer.kind!r}")


def place(network: Any, names: Sequence[str], arch: Any,
          spread: Optional[Sequence[int]] = None) -> Placement:
    """Deterministic layer-by-layer placement of ``network`` (blocks named ``names``) on
    ``arch`` (see the module docstring); ``spread``: cores per group (input first) instead
    of the fewest, each group split evenly as SANA-FE's DVS tutorial maps its network.

    Raises:
        HardwareModelRefused: more cores needed than ``arch`` has.
    """
    cores = arch.cores()
    per_core = 1024
    sizes = [("input", int(np.prod(network.input_shape)), 0, None)]
    for layer, name in zip(network.layers, names):
        w = None if layer.weight is None else np.asarray(layer.weight)
        if layer.kind == "dense":
            syn = int(w.size)
        else:
            syn = int(len(edges(layer, ())[0])) if layer.kind == "conv" else layer.num_neurons
        sizes.append((name, layer.num_neurons, syn,
                      ARCH_UNITS["dense" if layer.kind == "dense" else "conv"]))
    groups, first = [], 0
    for i, (name, n, syn, unit) in enumerate(sizes):
        k = math.ceil(n / per_core) if spread is None else int(spread[i])
        groups.append(LayerPlacement(name, n, first, k, syn, unit))
        first += k
    if first > len(cores):
        raise HardwareModelRefused(
            f"--hw-model sanafe: {network.path} needs {first} Loihi cores at 1,024 neurons "
            f"per core, layer by layer; the architecture has {len(cores)} (one chip) and "
            "SANA-FE 2.2.9 models no multi-chip links")
    return Placement(tuple(groups), first, _tiles_used(arch, first), len(cores), per_core)


def _tiles_used(arch: Any, cores_used: int) -> int:
    """Tiles holding the first ``cores_used`` cores (cores are counted tile by tile)."""
    seen, tiles = 0, 0
    for tile in arch.tiles:
        if seen >= cores_used:
            break
        tiles += 1
        seen += len(tile.cores)
    return tiles

"""Write a netx HDF5 network description (``*.net``), the file netx and razor-neuro read.

The layout is the one slayer's ``block.export_hdf5`` writes and
``lava.lib.dl.netx.hdf5.Network`` / :func:`razor_neuro.export.netfile.read_network` read: a
``layer`` group with one sub-group ``layer/<i>`` per entry, each with a ``type`` string
(``input``, ``conv``, ``flatten``, ``dense``), its datasets (``shape`` in slayer order
``(C, H, W)`` / ``(n,)``; ``weight`` (out, in/groups, H, W) for conv, (out, in) for dense;
``bias``; ``stride``/``padding``/``dilation`` in (H, W) order and ``groups`` for conv) and a
``neuron`` sub-group (``type`` CUBA, ``vThMant``, ``iDecay``, ``vDecay``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py

__all__ = ["write_netx"]


def write_netx(path: str | Path, layers: list[dict[str, Any]]) -> Path:
    """Write ``layers`` (one dict per ``layer/<i>`` group: ``type`` plus datasets, and a
    ``neuron`` dict for the neuron sub-group) to the netx HDF5 file ``path``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    with h5py.File(path, "w") as handle:
        group = handle.create_group("layer")
        for i, spec in enumerate(layers):
            g = group.create_group(f"{i}")
            g.create_dataset("type", (1,), "S10", [spec["type"].encode("ascii")])
            for key, value in spec.items():
                if key == "type":
                    continue
                if key == "neuron":
                    for nkey, nvalue in value.items():
                        if nkey == "type":
                            g.create_dataset("neuron/type", (1,), "S10",
                                             [nvalue.encode("ascii")])
                        else:
                            g.create_dataset(f"neuron/{nkey}", data=nvalue)
                else:
                    g.create_dataset(key, data=value)
    return path

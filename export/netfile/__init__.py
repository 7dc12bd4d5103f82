"""Read a netx HDF5 network description (``*.net``) and input spike files.

The HDF5 layout is the one lava-dl's slayer ``block.export_hdf5`` writes and
``lava.lib.dl.netx.hdf5.Network`` reads: a ``layer`` group with one sub-group per block
(``layer/0``, ``layer/1`` ...), each with a ``type`` string and the block's datasets.
:func:`read_network` turns such a file into plain, frozen dataclasses (:mod:`.ir`) that hold
exactly what netx (lava-dl 0.6) hands to Lava's processes, so that a simulator
(:mod:`razor_neuro.export.reference`) can reproduce Lava bit-exactly without importing Lava.

* :mod:`.ir`: :class:`Network`, :class:`NetLayer`, :class:`NeuronParams`, the errors;
* :mod:`.read`: :func:`read_network` walks the groups and dispatches by ``type`` to
* :mod:`.blocks`: one reader per block kind (input, flatten, conv, dense), and the
  neuron and bias readers they share;
* :mod:`.weight_bits`: netx's ``optimize_weight_bits`` for dense weights;
* :mod:`.spikes`: :func:`read_spikes`, input spike files, and :func:`check_run_fits`,
  the memory a run of so many steps needs.
"""
from razor_neuro.export.netfile.ir import InputShapeUnknown, NetFileError, NetLayer, Network, NeuronParams
from razor_neuro.export.netfile.read import read_network, read_network_for
from razor_neuro.export.netfile.spikes import read_spikes
from razor_neuro.export.netfile.weight_bits import optimize_weight_bits

__all__ = [
    "NetFileError", "InputShapeUnknown", "NeuronParams", "NetLayer", "Network",
    "read_network", "read_network_for", "read_spikes", "optimize_weight_bits",
]

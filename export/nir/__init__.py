"""NIR in and out: the Neuromorphic Intermediate Representation (package ``nir``).

* :mod:`.read` - a NIR graph -> an ordered chain of (synapse, neuron) stages, refusing
  anything that is not a feed-forward chain netx can run.
* :mod:`.quantise` - the one place where ``dt`` becomes Loihi decays and float weights,
  biases and thresholds become Loihi integers.
* :mod:`.simulate` - the NIR graph itself in float, NIR's discrete-time semantics.
* :mod:`.write` - the netx HDF5 writer.
* :mod:`.importer` - ``razor-neuro import``: NIR file -> ``DIR/network.net`` +
  ``DIR/import.json`` (and the ``--check`` against the float simulation).
* :mod:`.exporter` - ``razor-neuro export --target nir``: a Razor checkpoint -> NIR file.
* :mod:`.snntorch_model` - :func:`from_snntorch`: a live snntorch network -> NIR file, its
  neurons' settings read from the model and checked (the file cannot carry them).
"""
from razor_neuro.export.nir.snntorch_model import from_snntorch

__all__ = ["from_snntorch"]

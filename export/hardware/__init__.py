"""Hardware models behind ``razor-neuro report --hw-model``: a simulated chip charged with
the spikes Lava measured.

* :mod:`.mapping`: a netx network's groups, synapses and cores on SANA-FE's Loihi
  architecture, and the checks on SANA-FE and its architecture file;
* :mod:`.sanafe`: SANA-FE driven by the measured spikes (replay), per-step energy and time.
"""

"""What a report is made of: the ``report.json`` format tag, the files a report directory
holds, the count sources and the energy operation kinds.

Leaf module: measurement (:mod:`~razor_neuro.export.report.build`) and rendering
(:mod:`~razor_neuro.export.report.tables`, :mod:`~razor_neuro.export.report.figures`) both import it and
it imports neither, so the two halves do not import each other.
"""
from __future__ import annotations

__all__ = ["FILES", "FORMAT", "OPERATION_CONSTANTS", "OPERATION_LABELS", "OPERATIONS",
           "SOURCES", "TAG"]

#: ``report.json``'s ``format`` field
FORMAT = "razor-neuro-report/1"
#: where the counts come from: Lava runs, or the reference once verify licenses it
SOURCES = ("lava", "reference")
#: the Lava model the counts are measured on
TAG = "fixed_pt"
#: the files of a report directory besides the figures
FILES = ("report.md", "report.csv", "report.json", "report.tex")
#: energy operation kinds, each priced by one constant of a hardware profile
OPERATIONS = ("synops", "neuron_inactive", "neuron_active", "spike_routing")
OPERATION_CONSTANTS = {"synops": "synop", "neuron_inactive": "neuron_update_inactive",
                       "neuron_active": "neuron_update_active",
                       "spike_routing": "spike_within_tile"}
OPERATION_LABELS = {"synops": "synaptic ops", "neuron_inactive": "neuron updates (no spike)",
                    "neuron_active": "neuron updates (spiking)",
                    "spike_routing": "spikes routed within a tile"}

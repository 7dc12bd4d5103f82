"""The report's vocabulary: the ``report.json`` format tag, the files of a report directory,
the count sources, the energy operation kinds' constants and labels, the definitions and
model caveats every report prints, and the report's error classes.

Leaf module (no razor-neuro imports): measurement, assembly and every renderer import it.
"""
from __future__ import annotations

__all__ = ["DEFINITIONS", "FILES", "FORMAT", "MODEL_CAVEATS", "OPERATION_CONSTANTS",
           "OPERATION_LABELS", "ReportError", "ReportRefused", "SOURCES", "TAG"]

#: ``report.json``'s ``format`` field
FORMAT = "razor-neuro-report/1"
#: where the counts come from: Lava runs, or the reference once verify licenses it
SOURCES = ("lava", "reference")
#: the Lava model the counts are measured on
TAG = "fixed_pt"
#: the files of a report directory besides the figures
FILES = ("report.md", "report.csv", "report.json", "report.tex")
#: per energy operation kind (:data:`razor_neuro.export.report.data.OPERATIONS`): the
#: hardware-profile constant that prices it, and its label in tables
OPERATION_CONSTANTS = {"synops": "synop", "neuron_inactive": "neuron_update_inactive",
                       "neuron_active": "neuron_update_active",
                       "spike_routing": "spike_within_tile"}
OPERATION_LABELS = {"synops": "synaptic ops", "neuron_inactive": "neuron updates (no spike)",
                    "neuron_active": "neuron updates (spiking)",
                    "spike_routing": "spikes routed within a tile"}

#: ``report.json``'s ``definitions``: what each count means
DEFINITIONS = {
    "per_sample": "every count and energy is the mean per sample over the reported samples",
    "input_spikes": "spikes delivered into the layer (after its schedule gate)",
    "output_spikes": "spikes the layer emitted, on every time step (pruned frames included)",
    "synops": "input spikes x structural fan-out (stride/padding exact; zero weights "
              "counted): NeuroBench Effective_ACs for binary inputs",
    "dense_macs": "dense ANN MACs of the same layer over all T frames (NeuroBench Dense)",
    "neuron_updates": "neurons x time steps; a pruned frame still updates (decays) the "
                      "neurons, as in the Lava graph and on the chip",
    "pruned_frames": "frames per sample on which the schedule delivered no input to the layer",
    "synops_saved": "synops that the spikes reaching the gate on pruned frames would have cost",
    "energy_pj": "synops x synop + (neuron_updates - active_neuron_updates) x "
                 "neuron_update_inactive + active_neuron_updates x neuron_update_active + "
                 "output_spikes x spike_within_tile (profile constants, pJ)",
    "ann_energy_pj": "dense_macs x mac of the ANN baseline profile",
}

#: caveats of the energy model itself (each profile's own caveat is added before them)
MODEL_CAVEATS = [
    "Energy = measured counts x per-operation constants of the named profile; static/leakage "
    "power, mesh hops between tiles, host I/O and spike encoding are not modelled.",
    "Synaptic ops count every structural synapse, zero weights included.",
    "The ANN baseline counts dense MACs of the same layers on all T frames at the ANN "
    "profile's MAC energy; it is an equivalent-workload reference, not a trained ANN.",
]


class ReportError(ValueError):
    """A report that cannot be made from these inputs, or a ``report.json`` that cannot be
    read (one-line message)."""


class ReportRefused(ReportError):
    """Reference counts that ``verify`` does not license (Lava and the reference differ)."""

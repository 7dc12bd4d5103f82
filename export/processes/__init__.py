"""Lava processes razor-neuro adds, each with fixed_pt and floating_pt models.

They live in their own folder because Lava's compiler looks for process models by
importing every module in the folder of a process's module.
"""
from razor_neuro.export.processes.gate import FrameGate
from razor_neuro.export.processes.recorder import SpikeRecorder
from razor_neuro.export.processes.state import StateRecorder

__all__ = ["FrameGate", "SpikeRecorder", "StateRecorder"]

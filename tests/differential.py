"""One differential check: a :mod:`netgen` network through plain netx on Lava ``fixed_pt``
and through razor-neuro's reference; spikes, currents and voltages compared per layer,
neuron and step.  Used by ``tests/test_differential.py`` and ``scripts/difftest.py``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lava_netx import lava_windows_run
from netgen import random_case
from razor_neuro.export.netfile import NetFileError, read_network
from razor_neuro.export.reference import Reference
from razor_neuro.export.backend import state_mismatches

#: the one documented reason a generated network is refused (netx's weight optimisation
#: turns weights beyond the 8-bit range of their sign into a shift numpy does not define)
REFUSAL = re.compile(r"layer \d+: dense weights of range \[-?\d+, -?\d+\] exceed the 8-bit range")


@dataclass(frozen=True)
class Outcome:
    """Result of one case: ``refused`` holds the one-line refusal, else per layer the
    spike/current/voltage mismatches and Lava's spike count."""
    description: str
    refused: str | None = None
    spikes: tuple[int, ...] = ()
    currents: tuple[int, ...] = ()
    voltages: tuple[int, ...] = ()
    lava_spikes: tuple[int, ...] = ()

    @property
    def mismatches(self) -> int:
        return sum(self.spikes) + sum(self.currents) + sum(self.voltages)


def check(seed: int, root: Path) -> Outcome:
    """Generate network ``seed`` under ``root``, run both sides, count the differences."""
    case = random_case(seed, root)
    try:
        network = read_network(case.path, case.input_shape)
    except NetFileError as exc:
        return Outcome(case.description, refused=str(exc))
    lava = lava_windows_run(network, case.x, case.reset, states=True)
    ref = Reference(network, device="cpu").simulate(
        torch.from_numpy(case.x), stream=case.reset, reset=case.reset, states=True)
    spikes = tuple(int(((l[0] != 0) != r.numpy()).sum()) for l, r in zip(lava, ref.outputs))
    return Outcome(case.description, spikes=spikes,
                   currents=tuple(state_mismatches([l[1] for l in lava],
                                                   [c.numpy() for c in ref.currents])),
                   voltages=tuple(state_mismatches([l[2] for l in lava],
                                                   [v.numpy() for v in ref.voltages])),
                   lava_spikes=tuple(int(l[0].sum()) for l in lava))

"""``StateRecorder``: reads a neuron group's current ``u`` and voltage ``v`` after every step
and hands the record back through a file.

Lava's ``Monitor`` probes one Var per RefPort and is read back with ``Var.get()`` one
element per message (see :mod:`.recorder`); this recorder reads both state Vars through
RefPorts in each step's management phase, as ``Monitor`` does, and saves them with
``np.save`` on the last step.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from razor_neuro._compat import patch_lava

patch_lava()

from lava.magma.core.decorator import implements, requires, tag  # noqa: E402
from lava.magma.core.model.py.model import PyLoihiProcessModel  # noqa: E402
from lava.magma.core.model.py.ports import PyRefPort  # noqa: E402
from lava.magma.core.model.py.type import LavaPyType  # noqa: E402
from lava.magma.core.process.ports.ports import RefPort  # noqa: E402
from lava.magma.core.process.process import AbstractProcess  # noqa: E402
from lava.magma.core.resources import CPU  # noqa: E402
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol  # noqa: E402


class StateRecorder(AbstractProcess):
    """Record a neuron group's ``u`` and ``v`` for ``steps`` steps, saved to ``path``.

    Connect with ``recorder.u.connect_var(neuron.u)`` and ``recorder.v.connect_var(neuron.v)``.

    Args:
        shape: shape of the neuron group.
        steps: length of the run; the record is written on step ``steps``.
        path: ``.npz`` file that receives ``u`` and ``v`` arrays ``[*shape, steps]``
            (float64) where index ``s - 1`` holds the state after step ``s``.
    """

    def __init__(self, *, shape: tuple[int, ...], steps: int, path: str | Path) -> None:
        super().__init__(shape=shape, steps=steps, path=str(path))
        self.u = RefPort(shape=shape)
        self.v = RefPort(shape=shape)


class _AbstractPyStateRecorder(PyLoihiProcessModel):
    u = None
    v = None

    def __init__(self, proc_params: dict) -> None:
        super().__init__(proc_params)
        self._steps = int(proc_params["steps"])
        self._path = proc_params["path"]
        shape = (*proc_params["shape"], self._steps)
        self._u = np.zeros(shape, dtype=np.float64)
        self._v = np.zeros(shape, dtype=np.float64)

    def post_guard(self) -> bool:
        return True

    def run_post_mgmt(self) -> None:
        self._u[..., self.time_step - 1] = self.u.read()
        self._v[..., self.time_step - 1] = self.v.read()
        if self.time_step == self._steps:
            np.savez(self._path, u=self._u, v=self._v)

    def run_spk(self) -> None:
        pass


@implements(proc=StateRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyStateRecorderFixed(_AbstractPyStateRecorder):
    """Reads Lava's fixed-point LIF states (24-bit integers held in int32)."""
    u: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, np.int32, precision=24)
    v: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, np.int32, precision=24)


@implements(proc=StateRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyStateRecorderFloat(_AbstractPyStateRecorder):
    """Reads Lava's floating-point LIF states."""
    u: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, float)
    v: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, float)

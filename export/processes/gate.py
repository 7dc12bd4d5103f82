"""``FrameGate``: the Lava process that enforces a static frame schedule between layers.

Lava has no process that passes spikes on some time steps and blocks them on others, so
razor-neuro writes this one (in the style of netx's blocks: one small process, explicit
shapes, one fixed_pt and one floating_pt model).  A gate sits on the connection into a
layer; on a pruned frame it forwards zeros, so the layer receives no spikes (zero synaptic
operations) while its neurons keep decaying.
"""
from __future__ import annotations

import numpy as np

from razor_neuro._compat import patch_lava

patch_lava()

from lava.magma.core.decorator import implements, requires, tag  # noqa: E402
from lava.magma.core.model.py.model import PyLoihiProcessModel  # noqa: E402
from lava.magma.core.model.py.ports import PyInPort, PyOutPort  # noqa: E402
from lava.magma.core.model.py.type import LavaPyType  # noqa: E402
from lava.magma.core.process.ports.ports import InPort, OutPort  # noqa: E402
from lava.magma.core.process.process import AbstractProcess  # noqa: E402
from lava.magma.core.process.variable import Var  # noqa: E402
from lava.magma.core.resources import CPU  # noqa: E402
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol  # noqa: E402


class FrameGate(AbstractProcess):
    """Pass spikes on kept frames, block them on pruned frames.

    Args:
        shape: shape of the spikes that pass through (the receiving layer's input shape).
        mask: ``[T]`` keep mask of the receiving layer, 1 = kept frame.
        first_step: the Lava time step (1-based) at which frame 0 of the first sample passes
            this gate; frame ``t`` of sample ``k`` passes at step ``first_step + k*T + t``.
    """

    def __init__(self, *, shape: tuple[int, ...], mask: np.ndarray, first_step: int) -> None:
        mask = np.asarray(mask).astype(np.int32).reshape(-1)
        super().__init__(shape=shape, mask=mask, first_step=first_step)
        self.s_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.mask = Var(shape=mask.shape, init=mask)
        self.first_step = Var(shape=(1,), init=first_step)


class _AbstractPyFrameGate(PyLoihiProcessModel):
    s_in = None
    s_out = None
    mask = None
    first_step = None

    def run_spk(self) -> None:
        spikes = self.s_in.recv()
        frame = (self.time_step - int(self.first_step[0])) % self.mask.shape[0]
        self.s_out.send(spikes if self.mask[frame] else np.zeros_like(spikes))


@implements(proc=FrameGate, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyFrameGateFixed(_AbstractPyFrameGate):
    """Bit-accurate gate: unary spikes as ``int32`` 0/1."""
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    mask: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    first_step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)


@implements(proc=FrameGate, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyFrameGateFloat(_AbstractPyFrameGate):
    """Floating-point gate."""
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    mask: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    first_step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=32)

"""``SpikeRecorder``: a spike probe that hands its whole record back through a file.

Lava's ``io.sink.RingBuffer`` records just as well, but reading its buffer with
``Var.get()`` moves one element per channel message (~17 us each here: 9.7 s for the
566k values of a 4-sample run of the demo net), which would dominate every run.  This
recorder keeps the same buffer and, on the last step of the run, writes it with
``np.save`` to a path chosen by the caller, who reads it back in milliseconds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from razor_neuro._compat import patch_lava

patch_lava()

from lava.magma.core.decorator import implements, requires, tag  # noqa: E402
from lava.magma.core.model.py.model import PyLoihiProcessModel  # noqa: E402
from lava.magma.core.model.py.ports import PyInPort  # noqa: E402
from lava.magma.core.model.py.type import LavaPyType  # noqa: E402
from lava.magma.core.process.ports.ports import InPort  # noqa: E402
from lava.magma.core.process.process import AbstractProcess  # noqa: E402
from lava.magma.core.resources import CPU  # noqa: E402
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol  # noqa: E402


class SpikeRecorder(AbstractProcess):
    """Record spikes ``shape`` for ``steps`` steps and save them to ``path`` at the end.

    Args:
        shape: shape of the recorded port.
        steps: length of the run; the record is written on step ``steps``.
        path: ``.npy`` file that receives a ``uint8`` array ``[*shape, steps]`` where index
            ``s - 1`` holds the spikes received at step ``s``.
    """

    def __init__(self, *, shape: tuple[int, ...], steps: int, path: str | Path) -> None:
        super().__init__(shape=shape, steps=steps, path=str(path))
        self.a_in = InPort(shape=shape)


class _AbstractPySpikeRecorder(PyLoihiProcessModel):
    a_in = None

    def __init__(self, proc_params: dict) -> None:
        super().__init__(proc_params)
        self._steps = int(proc_params["steps"])
        self._path = proc_params["path"]
        self._record = np.zeros((*proc_params["shape"], self._steps), dtype=np.uint8)

    def run_spk(self) -> None:
        self._record[..., self.time_step - 1] = self.a_in.recv() != 0
        if self.time_step == self._steps:
            np.save(self._path, self._record)


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeRecorderFixed(_AbstractPySpikeRecorder):
    """Recorder of unary fixed-point spikes."""
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpikeRecorderFloat(_AbstractPySpikeRecorder):
    """Recorder of floating-point spikes."""
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)

import dataclasses
import subprocess
import sys

import pytest

from razor_neuro import _compat


def test_unpatched_python_rejects_instance_defaults():
    # The failure the compat module exists for: if this stops raising, the patch is moot.
    @dataclasses.dataclass
    class Inner:
        x: int = 0

    with pytest.raises(ValueError, match="mutable default"):
        @dataclasses.dataclass
        class Outer:
            inner: Inner = Inner()


def test_patch_gives_each_instance_its_own_copy():
    @dataclasses.dataclass
    class Inner:
        x: int = 0

    with _compat._dataclass_default_factories(__name__):
        @dataclasses.dataclass
        class Outer:
            inner: Inner = Inner(3)

    a, b = Outer(), Outer()
    assert a.inner == Inner(3)
    a.inner.x = 9
    assert b.inner.x == 3
    # the patch is scoped to the block
    assert dataclasses._get_field is not None
    with pytest.raises(ValueError):
        @dataclasses.dataclass
        class Again:
            inner: Inner = Inner()


def test_patch_ignores_other_modules():
    @dataclasses.dataclass
    class Inner:
        x: int = 0

    with _compat._dataclass_default_factories("some.other.module"):
        with pytest.raises(ValueError):
            @dataclasses.dataclass
            class Outer:
                inner: Inner = Inner()


def test_lava_imports_and_byte_encoder_defaults():
    _compat.patch_lava()
    from lava.magma.compiler.var_model import ByteEncoder, ChipEncoder
    a, b = ChipEncoder(), ChipEncoder()
    assert isinstance(a.x, ByteEncoder)
    assert a.x is not b.x


def test_imports_are_quiet():
    code = ("import razor_neuro._compat as c; c.netx(); "
            "from lava.magma.core.run_configs import Loihi2SimCfg")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "Prophesee" not in proc.stderr and "CUDA" not in proc.stderr


def test_lava_runtime_imports_after_start_method_is_fixed():
    """Lava calls set_start_method('fork') at import; once a DataLoader or a training run
    has fixed the start method that raises, unless patch_lava makes it tolerant."""
    fix = ("import multiprocessing as mp\nmp.get_start_method()\n"
           "import razor_neuro._compat as c\n")
    only_dataclasses = ("with c._dataclass_default_factories(c._VAR_MODEL):\n"
                        "    import lava.magma.compiler.var_model\n")
    runtime = "import lava.magma.runtime.message_infrastructure.multiprocessing\n"
    plain = subprocess.run([sys.executable, "-c", fix + only_dataclasses + runtime],
                           capture_output=True, text=True)
    patched = subprocess.run([sys.executable, "-c", fix + "c.patch_lava()\n" + runtime],
                             capture_output=True, text=True)
    assert "context has already been set" in plain.stderr
    assert patched.returncode == 0, patched.stderr

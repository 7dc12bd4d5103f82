"""Issue #12: every command on a corpus of bad inputs.

Each case runs ``razor_neuro.cli.main`` in-process and must give its documented exit code,
one line on stderr naming the file/option/field, no traceback, and leave every file that
existed before exactly as it was (and write nothing new).  Ctrl-C, ``--help`` and
``--version`` run as real subprocesses.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest
import torch

from razor_neuro import cli
from razor_neuro.export.bundle import load_bundle, manifest_digest, sha256_file
from razor_neuro.training.config import TrainConfig

from test_atomic import readonly_dir

torch.set_num_threads(1)
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def made(trained_bundle) -> Path:
    """A one-epoch training run ``run/`` and its bundle ``bundle/``, made once."""
    return trained_bundle(0.5, n_samples=48)[1].parent


class Env:
    """A case's private copies: ``run`` (a training run), ``bundle``, and ``tmp``."""

    def __init__(self, made: Path, tmp: Path) -> None:
        self.tmp = tmp
        self.run = Path(shutil.copytree(made / "run", tmp / "run"))
        self.bundle = Path(shutil.copytree(made / "bundle", tmp / "bundle"))
        self.ckpt = self.run / "checkpoint.pt"

    def manifest(self, edit: Callable[[dict], None], resign: bool = True) -> None:
        m = json.loads((self.bundle / "manifest.json").read_text())
        edit(m)
        if resign:  # an edit made to look genuine: the self-hash recomputed
            m["manifest_sha256"] = manifest_digest(m)
        (self.bundle / "manifest.json").write_text(json.dumps(m, indent=2))

    def schedule(self, edit: Callable[[dict], None]) -> None:
        """Edit schedule.json and re-hash it in a re-signed manifest."""
        path = self.bundle / "schedule.json"
        s = json.loads(path.read_text())
        edit(s)
        path.write_text(json.dumps(s))
        self.manifest(lambda m: m["files"].__setitem__("schedule.json", sha256_file(path)))

    def checkpoint(self, edit: Callable[[dict], None], name: str = "checkpoint.pt") -> Path:
        ckpt = torch.load(self.ckpt, weights_only=False)
        edit(ckpt)
        torch.save(ckpt, self.tmp / name)
        return self.tmp / name

    def config(self, text: str) -> str:
        (self.tmp / "model.toml").write_text(text)
        return str(self.tmp / "model.toml")

    def net_input(self, array: np.ndarray) -> list[str]:
        """``--net`` the bundle's network.net ``--input`` a .npy holding ``array``."""
        np.save(self.tmp / "x.npy", array)
        return ["--net", str(self.bundle / "network.net"), "--input", str(self.tmp / "x.npy")]


TOML = """[model]
input_shape = {shape}
n_classes = {classes}
frames = {frames}
{extra}
[[model.layers]]
kind = "conv"
out = 4
stride = {stride}
padding = 1
[[model.layers]]
kind = "flatten"
[[model.layers]]
kind = "dense"
out = 6
"""


def toml(shape: str = "[2, 32, 32]", classes: str = "6", frames: str = "16",
         stride: str = "2", extra: str = "") -> str:
    return TOML.format(shape=shape, classes=classes, frames=frames, stride=stride, extra=extra)


def _nan(ckpt: dict, value: float, every: bool = False) -> None:
    for k, v in ckpt["model"].items():
        if k.endswith("weight_g"):
            if every:
                v.fill_(value)
            else:
                v.view(-1)[0] = value


def _unsign(env: Env, edit: Callable[[dict], None]) -> None:
    env.manifest(edit, resign=False)


def _flip_manifest_byte(env: Env) -> None:
    data = bytearray((env.bundle / "manifest.json").read_bytes())
    i = data.index(b'"n_classes": 6') + len(b'"n_classes": ')
    data[i] ^= 0x01  # '6' -> '7': still valid JSON
    (env.bundle / "manifest.json").write_bytes(bytes(data))


def _first_layer(s: dict) -> None:
    s["layers"] = s["layers"][1:]


# name -> (setup(env) -> argv, exit code, text the one line must contain)
Case = Callable[[Env], list[str]]
CASES: dict[str, tuple[Case, int, str]] = {
    # ---- data loss
    "train onto an existing run without --resume": (
        lambda e: ["train", "--epochs", "1", "--out", str(e.run)], 4, "already holds a training run"),
    "export onto its own run directory": (
        lambda e: ["export", str(e.ckpt), "--out", str(e.run), "--overwrite"], 4, "holds the input"),
    "export --overwrite onto a training run": (
        lambda e: ["export", str(e.bundle / ".." / "run" / "checkpoint.pt"), "--out",
                   str(shutil.copytree(e.run, e.tmp / "run2")), "--overwrite"],
        4, "is not a razor-neuro-bundle"),
    "export --overwrite onto an unrelated folder": (
        lambda e: (e.tmp.joinpath("mine").mkdir(), e.tmp.joinpath("mine", "notes.txt").write_text("x"),
                   ["export", str(e.ckpt), "--out", str(e.tmp / "mine"), "--overwrite"])[-1],
        4, "is not a razor-neuro-bundle"),
    "export --overwrite onto a report": (
        lambda e: (e.tmp.joinpath("rep").mkdir(),
                   e.tmp.joinpath("rep", "report.json").write_text('{"format": "razor-neuro-report/1"}'),
                   ["export", str(e.ckpt), "--out", str(e.tmp / "rep"), "--overwrite"])[-1],
        4, "is not a razor-neuro-bundle"),
    "report --overwrite onto a run directory": (
        lambda e: ["report", str(e.bundle), "--out", str(e.run), "--overwrite"], 4,
        "is not a razor-neuro-report"),
    "report --overwrite onto a bundle": (
        lambda e: ["report", str(e.bundle), "--out", str(e.bundle), "--overwrite"], 4,
        "holds the input"),
    # ---- broken numbers
    "export of NaN weights": (
        lambda e: ["export", str(e.checkpoint(lambda c: _nan(c, float("nan")))), "--out",
                   str(e.tmp / "b")], 3, "NaN/infinite"),
    "export of inf weights": (
        lambda e: ["export", str(e.checkpoint(lambda c: _nan(c, float("inf")))), "--out",
                   str(e.tmp / "b")], 3, "NaN/infinite"),
    "export of NaN in every weight": (
        lambda e: ["export", str(e.checkpoint(lambda c: _nan(c, float("nan"), every=True))),
                   "--out", str(e.tmp / "b")], 3, "NaN/infinite"),
    "export of a NaN embedding": (
        lambda e: ["export", str(e.checkpoint(lambda c: c["model"]["epms.0.embedding"].fill_(float("nan")))),
                   "--out", str(e.tmp / "b")], 3, "epms.0.embedding"),
    "verify of a manifest with a flipped byte": (
        lambda e: (_flip_manifest_byte(e), ["verify", str(e.bundle), "--out", str(e.tmp / "v")])[-1],
        3, "manifest.json: content does not match its manifest_sha256"),
    "verify of an edited accuracy": (
        lambda e: (_unsign(e, lambda m: m["training"].__setitem__("deploy_accuracy", 1.0)),
                   ["verify", str(e.bundle), "--out", str(e.tmp / "v")])[-1],
        3, "manifest.json: content does not match"),
    "run of an edited target": (
        lambda e: (_unsign(e, lambda m: m.__setitem__("target", "loihi2")),
                   ["run", str(e.bundle), "--out", str(e.tmp / "r")])[-1],
        3, "manifest.json: content does not match"),
    "report of an edited version field": (
        lambda e: (_unsign(e, lambda m: m["versions"].__setitem__("torch", "9.9")),
                   ["report", str(e.bundle), "--out", str(e.tmp / "rep")])[-1],
        3, "manifest.json: content does not match"),
    "report of an edited training accuracy": (
        lambda e: (_unsign(e, lambda m: m["training"].__setitem__("train_path_accuracy", 0.999)),
                   ["report", str(e.bundle), "--out", str(e.tmp / "rep")])[-1],
        3, "manifest.json: content does not match"),
    "manifest frames 16 -> 17 names the manifest": (
        lambda e: (_unsign(e, lambda m: m.__setitem__("frames", 17)),
                   ["verify", str(e.bundle), "--out", str(e.tmp / "v")])[-1],
        3, "manifest.json: content does not match"),
    "schedule without its first layer": (
        lambda e: (e.schedule(_first_layer), ["verify", str(e.bundle), "--out", str(e.tmp / "v")])[-1],
        3, "schedule.json: schedule gates layers ['layer1'"),
    "schedule with no layers": (
        lambda e: (e.schedule(lambda s: s.__setitem__("layers", [])),
                   ["verify", str(e.bundle), "--out", str(e.tmp / "v")])[-1],
        3, "schedule gates layers []"),
    "schedule with a renamed layer": (
        lambda e: (e.schedule(lambda s: s["layers"][1].__setitem__("name", "layer2")),
                   ["run", str(e.bundle), "--out", str(e.tmp / "r")])[-1],
        3, "the network's gated layers are"),
    "schedule with a changed pipeline_delay": (
        lambda e: (e.schedule(lambda s: s["layers"][2].__setitem__("pipeline_delay", 3)),
                   ["verify", str(e.bundle), "--out", str(e.tmp / "v")])[-1],
        3, "pipeline_delay [0, 1, 3, 3]"),
    "schedule masks of yes/no": (
        lambda e: (e.schedule(lambda s: s["layers"][0].__setitem__(
            "keep_mask", ["yes", "no"] * 8)), ["verify", str(e.bundle), "--out", str(e.tmp / "v")])[-1],
        3, "layer0.keep_mask must be a list of 16 values 0 or 1"),
    "schedule masks of 5/-3": (
        lambda e: (e.schedule(lambda s: s["layers"][0].__setitem__(
            "keep_mask", [5, -3] * 8)), ["report", str(e.bundle), "--out", str(e.tmp / "rep")])[-1],
        3, "layer0.keep_mask must be a list of 16 values 0 or 1"),
    "schedule keeping no frame": (
        lambda e: (e.schedule(lambda s: s["layers"][0].__setitem__("keep_mask", [0] * 16)),
                   ["verify", str(e.bundle), "--out", str(e.tmp / "v")])[-1],
        3, "layer0.keep_mask keeps no frame"),
    "resume with --epochs not above the checkpoint's": (
        lambda e: ["train", "--resume", "--epochs", "1", "--out", str(e.run)], 2,
        "has already trained 1 epoch(s); expected more than 1"),
    # ---- tracebacks before
    "config n_classes not matching the data": (
        lambda e: ["train", "--config", e.config(toml(classes="10").replace("out = 6", "out = 10")),
                   "--out", str(e.tmp / "t")], 2, "n_classes is 10; dataset 'synthetic' has 6"),
    "config frames = 0": (
        lambda e: ["train", "--config", e.config(toml(frames="0")), "--out", str(e.tmp / "t")],
        2, "frames must be an integer >= 1"),
    "config without layers": (
        lambda e: ["train", "--config", e.config(toml().split("[[model.layers]]")[0]),
                   "--out", str(e.tmp / "t")], 2, "'layers' must be a non-empty list"),
    "config input_shape not matching the data": (
        lambda e: ["train", "--config", e.config(toml(shape="[2, 16, 16]")), "--out", str(e.tmp / "t")],
        2, "expects samples of shape (2, 16, 16, 16)"),
    "config stride = 0": (
        lambda e: ["train", "--config", e.config(toml(stride="0")), "--out", str(e.tmp / "t")],
        2, "layers[0].stride must be an integer >= 1"),
    "config string for a number": (
        lambda e: ["train", "--config", e.config(toml(extra='threshold = "high"')),
                   "--out", str(e.tmp / "t")], 2, "threshold must be a number"),
    "train --out is an existing file": (
        lambda e: (e.tmp.joinpath("f").write_text("x"), ["train", "--out", str(e.tmp / "f")])[-1],
        5, "is an existing file"),
    "train --out in a read-only directory": (
        lambda e: ["train", "--out", str(readonly_dir(e.tmp) / "t")], 5, "cannot create files in"),
    "resume of a truncated checkpoint": (
        lambda e: (e.ckpt.write_bytes(e.ckpt.read_bytes()[:5000]),
                   ["train", "--resume", "--epochs", "3", "--out", str(e.run)])[-1],
        3, "not a readable torch checkpoint"),
    "resume with another architecture": (
        lambda e: ["train", "--resume", "--epochs", "3", "--config", e.config(toml()),
                   "--out", str(e.run)], 3, "trained with another model configuration"),
    "export of random bytes": (
        lambda e: (e.tmp.joinpath("checkpoint.pt").write_bytes(np.random.default_rng(0).bytes(4096)),
                   ["export", str(e.tmp / "checkpoint.pt"), "--out", str(e.tmp / "b")])[-1],
        3, "not a readable torch checkpoint"),
    "export of a text file": (
        lambda e: (e.tmp.joinpath("checkpoint.pt").write_text("hello\n"),
                   ["export", str(e.tmp / "checkpoint.pt"), "--out", str(e.tmp / "b")])[-1],
        3, "not a readable torch checkpoint"),
    "export of a foreign torch file": (
        lambda e: (torch.save({"weights": torch.ones(2)}, e.tmp / "other.pt"),
                   ["export", str(e.tmp / "other.pt"), "--out", str(e.tmp / "b")])[-1],
        3, "not a razor-neuro checkpoint"),
    "export --out in a read-only directory": (
        lambda e: ["export", str(e.ckpt), "--out", str(readonly_dir(e.tmp) / "b")], 5,
        "cannot create files in"),
    "verify --net with --steps 0": (
        lambda e: ["verify", *e.net_input(np.zeros((32, 32, 2, 4))), "--steps", "0"],
        2, "--steps: expected an integer >= 1"),
    "verify --net with --steps -5": (
        lambda e: ["verify", *e.net_input(np.zeros((32, 32, 2, 4))), "--steps", "-5"],
        2, "--steps: expected an integer >= 1"),
    "verify --net with an empty dense array": (
        lambda e: ["verify", *e.net_input(np.zeros((32, 32, 2, 0))), "--out",
                   str(e.tmp / "v")], 2, "empty spike array"),
    "verify --net with a missing input next to an unreadable net": (
        lambda e: (e.tmp.joinpath("bad.net").write_text("garbage"),
                   ["verify", "--net", str(e.tmp / "bad.net"), "--input", str(e.tmp / "none.npy"),
                    "--out", str(e.tmp / "v")])[-1], 2, "--input"),
    "verify --out is an existing file": (
        lambda e: (e.tmp.joinpath("f").write_text("x"),
                   ["verify", str(e.bundle), "--out", str(e.tmp / "f")])[-1], 5, "is an existing file"),
    "run --out in a read-only directory": (
        lambda e: ["run", str(e.bundle), "--out", str(readonly_dir(e.tmp) / "r")], 5,
        "cannot create files in"),
    "report --out is an existing file": (
        lambda e: (e.tmp.joinpath("f").write_text("x"),
                   ["report", str(e.bundle), "--out", str(e.tmp / "f"), "--overwrite"])[-1],
        4, "is not a razor-neuro-report"),
    "report --out in a read-only directory": (
        lambda e: ["report", str(e.bundle), "--out", str(readonly_dir(e.tmp) / "rep")], 5,
        "cannot create files in"),
    # ---- misleading before
    "events for a network that takes its shape from the input": (
        lambda e: ["verify", *e.net_input(np.array([[1, 2, 0, 3]] * 4)), "--out", str(e.tmp / "v")],
        2, "slayer events carry no shape"),
    "a broken layer 1 is named, not the input": (
        lambda e: (_break_layer_1(e), ["verify", "--net", str(e.tmp / "broken.net"), "--input",
                                       e.net_input(np.zeros((32, 32, 2, 4)))[3],
                                       "--out", str(e.tmp / "v")])[-1],
        2, "layer 1: layer type 'pool'"),
    "--batch-size 0": (
        lambda e: ["train", "--batch-size", "0", "--out", str(e.tmp / "t")], 2,
        "--batch-size: expected an integer >= 1"),
    "--tolerance -1": (
        lambda e: ["verify", str(e.bundle), "--tolerance", "-1"], 2,
        "--tolerance: expected an integer >= 0"),
    "--samples 0": (
        lambda e: ["run", str(e.bundle), "--samples", "0", "--out", str(e.tmp / "r")], 2,
        "--samples: expected an integer >= 1"),
    # ---- already right, kept
    "unknown dataset": (
        lambda e: ["train", "--dataset", "mnist", "--out", str(e.tmp / "t")], 2, "--dataset"),
    "keep ratio out of range": (
        lambda e: ["train", "--keep-ratio", "1.5", "--out", str(e.tmp / "t")], 2, "--keep-ratio"),
    "deleted bundle file": (
        lambda e: ((e.bundle / "schedule.json").unlink(), ["run", str(e.bundle), "--out", str(e.tmp / "r")])[-1],
        3, "schedule.json: missing from the bundle"),
}


def _break_layer_1(env: Env) -> None:
    shutil.copy(env.bundle / "network.net", env.tmp / "broken.net")
    with h5py.File(env.tmp / "broken.net", "a") as f:
        del f["layer/1/type"]
        f["layer/1/type"] = np.bytes_("pool")


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_line_and_changes_nothing(name: str, made: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    setup, code, text = CASES[name]
    env = Env(made, tmp_path)
    argv = setup(env)
    before = _snapshot(tmp_path)
    try:
        rc = cli.main(argv)
    except SystemExit as exc:  # argparse's own refusals
        rc = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert rc == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], err
    assert _snapshot(tmp_path) == before  # nothing changed, nothing half-written


@pytest.mark.parametrize("array, text", [
    (np.full((50, 3), 0.5), "need integer (x, [y,] c) columns"),  # not slayer events
    (np.zeros((0, 3)), "empty spike array"),
    (np.zeros((200, 0)), "empty spike array")])
def test_spike_files_that_are_not_spikes(array: np.ndarray, text: str, tmp_path: Path) -> None:
    from razor_neuro.export.netfile import NetFileError, read_spikes
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(NetFileError, match=re.escape(text)):
        read_spikes(tmp_path / "x.npy", (200,))


def test_report_refuses_non_finite_numbers() -> None:
    from razor_neuro.export.report.assemble import check_finite
    from razor_neuro.export.report.schema import ReportError
    check_finite({"layers": [{"energy_pj": 1.5, "spikes": 3}], "accuracy": None}, "report")
    with pytest.raises(ReportError, match=r"report.layers\[1\].energy_pj: nan is not a finite"):
        check_finite({"layers": [{"energy_pj": 1.0}, {"energy_pj": np.float64("nan")}]}, "report")


def test_verbose_after_the_command_keeps_the_traceback(made: Path, tmp_path: Path) -> None:
    env = Env(made, tmp_path)
    _unsign(env, lambda m: m.__setitem__("frames", 17))
    from razor_neuro.export.bundle import BundleError
    with pytest.raises(BundleError, match="manifest_sha256"):
        cli.main(["verify", "--verbose", str(env.bundle), "--out", str(tmp_path / "v")])


def test_bundle_id_is_derived_from_the_manifest(made: Path) -> None:
    b = load_bundle(made / "bundle")
    m = json.loads((made / "bundle" / "manifest.json").read_text())
    assert b.sha256 == m["manifest_sha256"] == manifest_digest(m)
    assert b.id == b.sha256[:16] and len(b.id) == 16


def test_relative_data_root_is_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert TrainConfig(dataset="shd", data_root="data/shd").data_root == str(tmp_path / "data" / "shd")
    assert TrainConfig().data_root == ""


def test_help_documents_defaults_and_exit_codes() -> None:
    text = cli.build_parser().format_help()
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "130"):
        assert f"\n  {code}" in text
    train_help = subprocess.run([sys.executable, "-m", "razor_neuro.cli", "train", "--help"],
                                capture_output=True, text=True, env=ENV)
    assert train_help.returncode == 0
    flat = " ".join(train_help.stdout.split())
    for option, default in (("--epochs", "the dataset's recipe, else 30"), ("--batch-size", "32"),
                            ("--seed", "0")):
        i = flat.index(f"{option} {option.strip('-').upper().replace('-', '_')} ")
        assert f"(default: {default})" in flat[i:i + 200], option
    version = subprocess.run([sys.executable, "-m", "razor_neuro.cli", "--version"],
                             capture_output=True, text=True, env=ENV)
    assert version.returncode == 0 and version.stdout.startswith("razor-neuro ")


@pytest.mark.slow
def test_ctrl_c_during_training_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    """A real SIGINT in a subprocess: one line, exit 130, the last checkpoint loads and
    resumes."""
    from razor_neuro.training.checkpoint import load_checkpoint
    out = tmp_path / "run"
    config = tmp_path / "tiny.toml"
    config.write_text(toml(extra="epm_hidden = 4"))
    proc = subprocess.Popen([sys.executable, "-m", "razor_neuro.cli", "train", "--quiet",
                             "--epochs", "5000", "--batch-size", "64", "--config", str(config),
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV,
                            # a suite started in the background inherits SIGINT ignored, and
                            # Python then installs no KeyboardInterrupt handler: restore it
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 600  # a bound against hanging, not a timing assertion
    while not (out / "checkpoint.pt").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    # 5000 epochs: the run cannot finish between the first checkpoint and the signal, even
    # when this process is descheduled for a while on a loaded machine
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 130, (stdout[-2000:], stderr)
    assert "Traceback" not in stdout + stderr
    assert stderr.strip().splitlines() == [
        f"razor-neuro train: interrupted; {out / 'checkpoint.pt'} holds the last complete "
        "epoch (continue with --resume)"]
    model, ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt.epoch >= 0 and len(ckpt.history) == ckpt.epoch + 1
    assert [p.name for p in out.iterdir()] == ["checkpoint.pt"]  # no temporaries left


def _children(pid: int) -> list[int]:
    """Pids of ``pid``'s children (``/proc``), empty once it has ended."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []
    kids: list[int] = []
    for task in tasks:
        try:
            kids += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return kids


def _shared_memory(pids: list[int]) -> set[str]:
    """Names of the ``/dev/shm`` segments the processes ``pids`` have mapped."""
    names: set[str] = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        names.update(line.split("/dev/shm/")[1].split()[0] for line in maps.splitlines()
                     if "/dev/shm/" in line)
    return names


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("command, moment", [
    ("verify", 1),          # Lava forks its first process (the shared-memory server)
    ("verify", 6),          # process start-up, half-way
    ("verify", "running"),  # every process up: the run itself
    ("import", 3),          # import --check: the temporary import directory exists
    ("report", 6),
])
def test_ctrl_c_during_a_lava_run_exits_130(command: str, moment: int | str, made: Path,
                                            tmp_path: Path) -> None:
    """Issue #26, item 5: SIGINT to the whole process group (as a terminal's Ctrl-C and
    ``timeout -s INT`` send it) while Lava starts or runs its processes: exit 130 within
    20 s, one line, no traceback, no file or shared-memory segment left, no process
    left."""
    env = Env(made, tmp_path)
    if command == "import":
        from razor_neuro.export.nir.exporter import export_nir
        export_nir(env.ckpt, tmp_path / "model.nir")
        np.save(tmp_path / "x.npy", np.random.default_rng(0).integers(0, 2, (8, 2, 32, 32, 16)))
        argv = ["import", str(tmp_path / "model.nir"), "--check", str(tmp_path / "x.npy"),
                "--out", str(tmp_path / "out" / "imp")]
    elif moment == "running":  # a run long enough to be signalled while it runs
        np.save(tmp_path / "x.npy", np.random.default_rng(0).integers(0, 2, (32, 32, 2, 16)))
        argv = [command, "--net", str(env.bundle / "network.net"), "--input",
                str(tmp_path / "x.npy"), "--steps", "20000", "--out", str(tmp_path / "out" / "o")]
    else:
        argv = [command, str(env.bundle), "--samples", "all", "--out", str(tmp_path / "out" / "o")]
    (tmp_path / "out").mkdir()
    before = _snapshot(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "razor_neuro.cli", *argv, "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            cwd=tmp_path, start_new_session=True,  # a process group of its own
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen: set[int] = set()
    deadline = time.monotonic() + 600  # a bound against hanging, not a timing assertion
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        kids = _children(proc.pid)
        seen.update(kids)
        if moment == "running":
            if len(kids) >= 10:  # started: wait until no new process appears for a while
                time.sleep(1.0)
                if len(_children(proc.pid)) == len(kids):
                    break
        elif len(kids) >= moment:
            break
        time.sleep(0.005)
    seen.update(_children(proc.pid))
    shm = _shared_memory([proc.pid, *seen])  # this run's segments (/dev/shm is shared)
    assert proc.poll() is None, "the run ended before the signal"
    os.killpg(proc.pid, signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"no exit 20 s after SIGINT: {stderr[-3000:]}")
    assert proc.returncode == 130, (stdout[-2000:], stderr[-3000:])
    assert "Traceback" not in stdout + stderr
    assert stderr.strip().splitlines() == [
        f"razor-neuro {command}: interrupted; no output was written"], stderr[-3000:]
    assert _snapshot(tmp_path) == before
    assert list((tmp_path / "out").iterdir()) == []  # no temporary directory either
    assert not shm & set(os.listdir("/dev/shm"))  # every segment unlinked
    # Python's resource tracker ends on its own once its parent has gone: a bounded wait
    deadline = time.monotonic() + 30
    while [pid for pid in seen if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [Path(f"/proc/{pid}/cmdline").read_text() for pid in seen if _alive(pid)]


def test_concurrent_nir_exports_to_one_new_file(made: Path, tmp_path: Path) -> None:
    """Issue #26 item 2: two ``export --target nir`` to the same new file at once, without
    ``--overwrite``: one writes it, the other exits 4 in one line (before, both said they
    had written it and the file held one of the two graphs)."""
    import nir

    out = tmp_path / "y.nir"
    cmd = [sys.executable, "-m", "razor_neuro.cli", "export", str(made / "run" / "checkpoint.pt"),
           "--target", "nir", "--out", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=ENV) for _ in range(2)]
    results = sorted((p.wait(timeout=600), p.communicate()[1]) for p in procs)
    assert [rc for rc, _ in results] == [0, 4], results
    assert results[0][1] == ""
    assert results[1][1].splitlines() == [
        f"razor-neuro export: error: --out {out}: already exists (pass --overwrite to replace it)"]
    assert nir.read(out).metadata["source"] == "razor-neuro"  # a complete graph
    assert [p.name for p in tmp_path.iterdir()] == ["y.nir"]  # no temporary left

"""Deployable bundles: write, read and validate ``network.net`` + ``schedule.json`` + manifest.

A bundle directory holds

- ``network.net``: the netx HDF5 network, written by slayer's ``export_hdf5`` block by block
  (quantised weights, Loihi neuron parameters);
- ``schedule.json``: the static frame schedule (:class:`~razor_neuro.schedule.FrameSchedule`),
  one entry per gated layer, named ``layer<i>`` after its group in ``network.net``, with
  its ``pipeline_delay``: the steps a frame needs to reach it, which :func:`load_bundle`
  checks against the network's time base (it is not how the layer is found);
- ``manifest.json``: format, target, input shape (netx and slayer order), frames, classes,
  the gated layers (name and pipeline delay, from the model), the dataset spec that
  recreates the test samples, training metrics, package versions, the SHA-256 of every
  other file, and ``manifest_sha256``: the SHA-256 of the manifest's own canonical content
  (:func:`manifest_digest`), from which the bundle id is derived.

A bundle is written into a temporary sibling directory, read back with :func:`load_bundle`
and only then renamed into place, so a failed or invalid export leaves nothing behind.
:func:`load_bundle` refuses a bundle whose manifest, hashes, shapes or schedule do not
match, naming the file and field.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from razor_neuro.atomic import write_dir
from razor_neuro.errors import ArtefactError
from razor_neuro.layout import reverse_order
from razor_neuro.export.netfile import Network, NetFileError, read_network
from razor_neuro.timebase import layer_pipeline_delay
from razor_neuro.schedule import FrameSchedule, ScheduleError
from razor_neuro.versions import package_versions

FORMAT = "razor-neuro-bundle/1"
TARGETS = ("loihi-sim",)
FILES = ("network.net", "schedule.json")


class BundleError(ArtefactError):
    """A bundle that is missing, tampered with, truncated or inconsistent."""


@dataclass(frozen=True)
class Bundle:
    """A validated bundle.

    Attributes:
        path: bundle directory.
        manifest: parsed ``manifest.json``.
        schedule: the frame schedule.
        input_shape: network input shape in netx order, ``(x, y, f)`` or ``(n,)``.
        frames: ``T``, time bins per sample.
    """
    path: Path
    manifest: dict[str, Any]
    schedule: FrameSchedule
    network: Network

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.manifest["input_shape"])

    @property
    def frames(self) -> int:
        return int(self.manifest["frames"])

    @property
    def steps(self) -> int:
        """Time steps a sample runs on the deployed network: ``T``, or the kept frames in
        ``skip`` mode (:attr:`razor_neuro.schedule.FrameSchedule.steps`)."""
        return self.schedule.steps

    @property
    def gates(self) -> dict[int, np.ndarray]:
        """``{index in network.layers: keep mask [steps]}``: the gate processes of the Lava
        graph and the reference's gates
        (:meth:`razor_neuro.schedule.FrameSchedule.step_gates`)."""
        return self.schedule.step_gates(self.network.names)

    def step_input(self, x: np.ndarray) -> np.ndarray:
        """Test samples ``[N, *input_shape, T]`` as the deployed network receives them,
        ``[N, *input_shape, steps]`` (:meth:`razor_neuro.schedule.FrameSchedule.step_input`)."""
        return self.schedule.step_input(x)

    @property
    def sha256(self) -> str:
        """``manifest_sha256``: the hash of the manifest's canonical content, which hashes
        every other file (checked by :func:`load_bundle`)."""
        return str(self.manifest["manifest_sha256"])

    @property
    def id(self) -> str:
        """The bundle id: the first 16 hex digits of :attr:`sha256`."""
        return self.sha256[:16]


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of a manifest's canonical content: its JSON with sorted keys and no
    whitespace, without the ``manifest_sha256`` field itself (so the field can hold it)."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_bundle(out: str | Path, blocks: Any, schedule: FrameSchedule,
                 input_shape_slayer: tuple[int, ...], n_classes: int,
                 dataset: dict[str, Any], extra: dict[str, Any] | None = None,
                 target: str = "loihi-sim", overwrite: bool = False) -> Path:
    """Write a bundle atomically.

    Args:
        out: bundle directory to create.
        blocks: slayer blocks in order, each with ``export_hdf5`` (after one forward pass,
            which sets Flatten's shape).
        schedule: the frame schedule, gating layers named ``layer<i>`` after their
            index in ``blocks`` (the group they are written to).
        input_shape_slayer: input shape ``(C, H, W)`` or ``(n,)`` as slayer sees it.
        n_classes: output neurons.
        dataset: JSON-able spec that recreates the dataset (see
            :func:`razor_neuro.data.dataset_from_spec`).
        extra: more manifest fields (e.g. training metrics, source checkpoint hash).
        target: deployment target; only ``'loihi-sim'``.
        overwrite: replace an existing bundle at ``out``.
    Returns:
        ``out`` as a :class:`~pathlib.Path`.
    """
    out = Path(out)
    if target not in TARGETS:
        raise BundleError(f"--target: expected one of {TARGETS}, got '{target}'")
    shape = tuple(int(v) for v in input_shape_slayer)

    def fill(tmp: Path) -> None:
        with h5py.File(tmp / "network.net", "w") as f:
            layer = f.create_group("layer")
            for i, block in enumerate(blocks):
                block.export_hdf5(layer.create_group(str(i)))
        hashed = replace(schedule, weights_sha256=sha256_file(tmp / "network.net"))
        hashed.save(tmp / "schedule.json")
        manifest = {
            "format": FORMAT,
            "target": target,
            "input_shape": list(reverse_order(shape)),  # netx: (x, y, f) = (W, H, C)
            "input_shape_slayer": list(shape),
            "frames": hashed.frames,
            "n_classes": int(n_classes),
            "gated_layers": [{"name": n, "pipeline_delay": int(d)}
                             for n, d in zip(schedule.layers, schedule.pipeline_delays)],
            "dataset": dataset,
            **(extra or {}),
            "versions": package_versions(),
            "files": {name: sha256_file(tmp / name) for name in FILES},
        }
        manifest["manifest_sha256"] = manifest_digest(manifest)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        load_bundle(tmp)  # what is written must load: shapes, weights, schedule

    return write_dir(out, fill, overwrite, "manifest.json", FORMAT)


def load_bundle(path: str | Path) -> Bundle:
    """Read and validate a bundle directory; raises :class:`BundleError` naming the file."""
    path = Path(path)
    mpath = path / "manifest.json"
    if not path.is_dir():
        raise BundleError(f"{path}: not a bundle directory (razor-neuro export writes one)")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"{mpath}: cannot read the manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{mpath}: 'format' must be '{FORMAT}'")
    for key in ("input_shape", "frames", "n_classes", "gated_layers", "dataset", "files",
                "manifest_sha256"):
        if key not in manifest:
            raise BundleError(f"{mpath}: missing field '{key}' (re-export the bundle with "
                              "this razor-neuro)")
    try:
        digest = manifest_digest(manifest)
    except ValueError:  # NaN or infinity in a number
        digest = None
    if manifest["manifest_sha256"] != digest:
        raise BundleError(f"{mpath}: content does not match its manifest_sha256 (the manifest "
                          "was edited or corrupted); expected the manifest as exported")
    if not isinstance(manifest["files"], dict):
        raise BundleError(f"{mpath}: 'files' must map file names to SHA-256 digests")
    for name in FILES:
        expected = manifest["files"].get(name)
        if not (path / name).is_file():
            raise BundleError(f"{path / name}: missing from the bundle")
        if expected != sha256_file(path / name):
            raise BundleError(f"{path / name}: SHA-256 does not match manifest.json "
                              "(file changed or truncated)")
    gated = manifest["gated_layers"]
    try:
        names = [str(g["name"]) for g in gated]
        delays = [g["pipeline_delay"] for g in gated]
        frames = manifest["frames"]
        if not all(type(v) is int for v in [frames, *delays]) or frames < 1:
            raise TypeError
    except (TypeError, KeyError):
        raise BundleError(f"{mpath}: 'frames' must be a positive integer and 'gated_layers' a "
                          "list of {name, pipeline_delay (integer)}") from None
    try:
        schedule = FrameSchedule.load(path / "schedule.json")
        schedule.check_fits(names, delays, frames, str(path / "schedule.json"))
    except ScheduleError as exc:
        raise BundleError(str(exc)) from None
    if schedule.weights_sha256 != manifest["files"]["network.net"]:
        raise BundleError(f"{path / 'schedule.json'}: derived from other weights than "
                          "network.net (weights_sha256 differs)")
    try:
        shape = tuple(int(v) for v in manifest["input_shape"])
        network = read_network(path / "network.net", shape)
    except (NetFileError, TypeError, ValueError) as exc:
        raise BundleError(str(exc) if isinstance(exc, NetFileError) else
                          f"{mpath}: 'input_shape' must be a list of integers") from None
    if tuple(network.input_shape) != shape:
        raise BundleError(f"{mpath}: input_shape {list(shape)} but network.net takes "
                          f"{list(network.input_shape)}")
    if network.layers[-1].num_neurons != int(manifest["n_classes"]):
        raise BundleError(f"{mpath}: n_classes {manifest['n_classes']} but network.net has "
                          f"{network.layers[-1].num_neurons} output neurons")
    _check_gated_layers(schedule, network, mpath)
    return Bundle(path, manifest, schedule, network)


def _check_gated_layers(schedule: FrameSchedule, network: Network, mpath: Path) -> None:
    """The gated layers are layers of ``network``, found by name, in network order, each
    at the pipeline delay the network's time base gives it."""
    try:
        at = schedule.layer_indices(network.names)
    except ScheduleError as exc:
        raise BundleError(f"{mpath}: {exc}") from None
    if list(at) != sorted(set(at)):
        raise BundleError(f"{mpath}: gated_layers {list(schedule.layers)} must be distinct "
                          "layers of network.net in the network's order")
    expected = [layer_pipeline_delay(network, i) for i in at]
    if list(schedule.pipeline_delays) != expected:
        raise BundleError(f"{mpath}: gated_layers' pipeline_delay "
                          f"{list(schedule.pipeline_delays)} does not match network.net, in "
                          f"which {list(schedule.layers)} sit at {expected}")

"""Shared test fixtures: trained demo bundles (made once per session), bundle re-hashing and
the external ground-truth folder.

* ``external`` / ``oxford`` / ``nmnist_small``: the ``shared/external`` folder, found under
  one variable, ``RAZOR_NEURO_EXTERNAL`` (``benchmarks/common.py`` reads the same one);
  ``oxford`` and ``nmnist_small`` skip the test when their files are absent.
* ``trained_bundle(keep_ratio, n_samples)``: a one-epoch synthetic training run and its
  ``loihi-sim`` bundle, made once per session for each setting and shared by every file
  that asks for the same one. Tests must not modify it (copy it first).
* ``resign(bundle, manifest)`` / ``rehash(bundle, name)``: an edit of a bundle made to look
  genuine (the manifest's file hash and self-hash recomputed).

Slow tests (they train, or run Lava on many samples or steps) carry ``@pytest.mark.slow``:
every test that uses ``trained_bundle`` or ``oxford`` (2000 Lava steps) is marked here, the
others where they are defined. ``pytest -m "not slow"`` runs the fast set alone.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Union

import pytest

#: the environment variable naming the ``shared/external`` folder (tests and benchmarks)
EXTERNAL_VAR = "RAZOR_NEURO_EXTERNAL"


def external_dir() -> Path:
    """The ``shared/external`` folder: ``$RAZOR_NEURO_EXTERNAL``, else the first
    ``shared/external`` found beside the checkout or one of its parents."""
    if os.environ.get(EXTERNAL_VAR):
        return Path(os.environ[EXTERNAL_VAR])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "external"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/external")


@pytest.fixture(scope="session")
def external() -> Path:
    return external_dir()


@pytest.fixture(scope="session")
def oxford(external: Path) -> Path:
    """lava-dl's Oxford tutorial network (``network.net``, ``input.npy``,
    ``ground_truth.npy``); skips when absent."""
    folder = external / "lava-dl-oxford"
    if not (folder / "network.net").is_file():
        pytest.skip(f"external Oxford network missing ({folder}; set {EXTERNAL_VAR})")
    return folder


@pytest.fixture(scope="session")
def nmnist_small(external: Path) -> Path:
    """The 1,100-recording N-MNIST subset (slayerPytorch's layout); skips when absent."""
    folder = external / "nmnist-small"
    if not (folder / "NMNISTsmall").is_dir():
        pytest.skip(f"{folder} is absent (set {EXTERNAL_VAR})")
    return folder


#: fixtures whose users are end-to-end tests (marked ``slow`` at collection)
SLOW_FIXTURES = {"trained_bundle", "oxford"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


KeepRatio = Union[float, tuple]


@pytest.fixture(scope="session")
def trained_bundle(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[Path, Path]]:
    """``trained_bundle(keep_ratio, n_samples=96, prune_mode="gate", readout_steps=0)`` ->
    ``(checkpoint.pt, bundle dir)``: a one-epoch synthetic run (batch 16, seed 0) exported to
    a bundle, made once per session for each set of arguments."""
    made: dict[tuple, tuple[Path, Path]] = {}

    def make(keep_ratio: KeepRatio = 0.5, n_samples: int = 96,
             prune_mode: str = "gate", readout_steps: int = 0) -> tuple[Path, Path]:
        key = (keep_ratio, n_samples, prune_mode, readout_steps)
        if key not in made:
            from razor_neuro.export.exporter import export_checkpoint
            from razor_neuro.training.config import TrainConfig
            from razor_neuro.training.loop import train
            root = tmp_path_factory.mktemp("trained")
            train(TrainConfig(epochs=1, n_samples=n_samples, batch_size=16,
                              keep_ratio=keep_ratio, prune_mode=prune_mode,
                              readout_steps=readout_steps), root / "run",
                  progress=False)
            bundle = export_checkpoint(root / "run" / "checkpoint.pt", root / "bundle")
            made[key] = (root / "run" / "checkpoint.pt", Path(bundle))
        return made[key]

    return make


def resign_manifest(bundle: Path, manifest: dict, indent: int | None = None) -> None:
    """Write ``manifest`` into ``bundle`` with its self-hash recomputed."""
    from razor_neuro.export.bundle import manifest_digest
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=indent))


def rehash_file(bundle: Path, name: str, indent: int | None = None) -> None:
    """Record the current SHA-256 of ``bundle/name`` in a re-signed manifest."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    resign_manifest(bundle, manifest, indent)


@pytest.fixture(scope="session")
def resign() -> Callable[..., None]:
    return resign_manifest


@pytest.fixture(scope="session")
def rehash() -> Callable[..., None]:
    return rehash_file

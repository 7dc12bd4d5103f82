"""``razor-neuro run``: a bundle on the Loihi simulator over test samples -> ``run.json``.

Everything here works from the bundle alone: test samples come from the dataset spec in
the manifest, the graph from ``network.net`` + ``schedule.json``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from razor_neuro.atomic import write_file
from razor_neuro.data import dataset_from_spec, fingerprint
from razor_neuro.export.bundle import Bundle
from razor_neuro.layout import swap_spike_order
from razor_neuro.versions import package_versions


@dataclass(frozen=True)
class Samples:
    """Test samples in netx order.

    Attributes:
        x: spikes ``[N, *input_shape, T]`` (netx order: ``(x, y, f)`` = W, H, C), uint8.
        labels: ``[N]`` class labels.
    """
    x: np.ndarray
    labels: np.ndarray


def to_netx(x: np.ndarray) -> np.ndarray:
    """Slayer layout ``[N, C, H, W, T]`` / ``[N, n, T]`` -> netx ``[N, W, H, C, T]`` / same."""
    return swap_spike_order(x)


def load_test_samples(bundle: Bundle, n: int | None, start: int = 0) -> Samples:
    """The first ``n`` test samples (from ``start``) of the bundle's dataset; ``n=None``:
    every test sample from ``start`` on (the whole test split from 0).

    Raises:
        ValueError: when the recreated dataset is not the one the bundle was exported
            with, the test split has fewer than ``start + n`` samples, or they do not have
            the bundle's input shape.
    """
    data = dataset_from_spec(bundle.manifest["dataset"], train=False)
    expected_sha = bundle.manifest.get("test_data_sha256")
    if expected_sha and fingerprint(data) != expected_sha:
        raise ValueError(f"{bundle.path / 'manifest.json'}: the dataset recreated from "
                         "'dataset' differs from the one the bundle was exported with "
                         "(test_data_sha256); its generator or files changed")
    count = len(data) - start if n is None else n
    if count < 1 or start < 0 or start + count > len(data):
        raise ValueError(f"--samples: the test split has {len(data)} samples, asked for "
                         f"{'all' if n is None else n} from {start}")
    xs, ys = zip(*(data[i] for i in range(start, start + count)))
    x = to_netx(np.stack([np.asarray(v) for v in xs]).astype(np.uint8))
    expected = (*bundle.input_shape, bundle.frames)
    if tuple(x.shape[1:]) != expected:
        raise ValueError(f"{bundle.path / 'manifest.json'}: dataset gives samples of shape "
                         f"{tuple(x.shape[1:])}, the network expects {expected}")
    return Samples(x, np.asarray([int(y) for y in ys]))


def predict(output_spikes: np.ndarray) -> np.ndarray:
    """Class per sample from output spikes ``[N, n_classes, T]``: most spikes wins, ties
    to the lowest index (as slayer's ``Rate.predict``)."""
    return np.asarray(output_spikes).sum(-1).argmax(-1)


def layer_summary(names: Sequence[str], inputs: Sequence[np.ndarray],
                  outputs: Sequence[np.ndarray], gates: dict[int, np.ndarray]
                  ) -> list[dict[str, Any]]:
    """Per-layer spike totals of one run, with the input spikes that fell on pruned frames.

    Args:
        names: layer names.
        inputs: per layer, spikes delivered into it ``[N, *in_shape, T]``.
        outputs: per layer, its output spikes ``[N, *out_shape, T]``.
        gates: ``{layer index: keep mask [T]}``.
    """
    rows = []
    for i, (name, inp, out) in enumerate(zip(names, inputs, outputs)):
        per_frame = np.asarray(inp).reshape(inp.shape[0], -1, inp.shape[-1]).sum((0, 1))
        row: dict[str, Any] = {
            "name": name,
            "neurons": int(np.prod(out.shape[1:-1])),
            "input_spikes": int(per_frame.sum()),
            "output_spikes": int(np.asarray(out).sum()),
            "input_spikes_per_frame": per_frame.astype(int).tolist(),
            "gated": i in gates,
        }
        if i in gates:
            row["kept_frames"] = np.flatnonzero(gates[i]).tolist()
            row["input_spikes_on_pruned_frames"] = int(per_frame[~gates[i]].sum())
        rows.append(row)
    return rows


def write_json(path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as JSON atomically (:func:`razor_neuro.atomic.write_file`)."""
    return write_file(path, json.dumps(data, indent=2).encode())


def run_bundle(bundle: Bundle, n_samples: int | None, tag: str = "fixed_pt",
               start: int = 0) -> dict[str, Any]:
    """Run ``n_samples`` test samples (None: all from ``start``) through the bundle on Lava
    in one streamed run.

    Returns:
        The ``run.json`` content: accuracy, predictions, labels, per-layer spike counts
        (see :func:`layer_summary`), steps and wall times.
    """
    from razor_neuro.export.backend import Deployment, Lava
    samples = load_test_samples(bundle, n_samples, start)
    d = Deployment.of_bundle(bundle, samples.x)
    run = Lava(tag).run(d)
    pred = predict(run.outputs[-1])
    return {
        "bundle": str(bundle.path),
        "bundle_id": bundle.id, "bundle_sha256": bundle.sha256,
        "source": f"lava {tag}",
        "samples": len(samples.labels),
        "first_sample": start,
        "steps": run.simulated_steps,
        "accuracy": float((pred == samples.labels).mean()),
        "predictions": pred.tolist(),
        "labels": samples.labels.tolist(),
        "layers": layer_summary(run.names, run.inputs, run.outputs, d.gates),
        "seconds": run.phases,
        "versions": package_versions(),
    }

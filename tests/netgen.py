"""Seeded random netx HDF5 networks written directly with h5py, independent of slayer.

The differential test (``tests/test_differential.py``, ``scripts/difftest.py``) runs each
network through plain ``lava.lib.dl.netx.hdf5.Network`` on ``Loihi2SimCfg('fixed_pt')`` and
through razor-neuro's torch reference and requires 0 mismatches.  The generator samples the
space users bring, not the space slayer's export produces:

* an optional Input layer (with a CUBA/LOIHI neuron and an affine ``weight``/``bias``, or a
  bare ``shape`` entry), or none (the first block is a Conv fed ``input_shape``, or a Dense);
* Conv blocks with kernel, stride, padding and dilation chosen per axis, groups, and a bias
  per output channel, per neuron (netx order ``(x, y, f)``) or none;
* Flatten, then Dense blocks with per-neuron biases, axonal delays (scalar, per output
  neuron = axonal, per input = input delays, or a full matrix) and no neuron group at all
  (netx's non-leaky integrator default);
* CUBA and LOIHI neurons with decays anywhere in 0..4096 (extremes included), thresholds,
  ``wgtExp`` and ``refDelay`` (netx reads both and ignores them), and weights that exercise
  netx's weight-bit optimisation (odd/even multiples, excitatory, inhibitory with zeros,
  mixed, values beyond 8 bits that netx clips);
* sparse and dense input spikes, and some networks strong enough for the 24-bit current
  wrap and the voltage clip.

Each case is a :class:`Case`: the file, input spikes ``[N, *input_shape, T]`` in netx order,
and whether the samples stream with resets every ``T`` steps or run as one continuous
sample (netx without ``reset_interval``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from razor_neuro.layout import conv_out_shape
from razor_neuro.export.nir.write import write_netx


@dataclass(frozen=True)
class Case:
    """One differential-test case.

    Attributes:
        seed: the generator seed.
        path: the netx HDF5 file.
        input_shape: network input shape in netx order (``(x, y, f)`` or ``(n,)``), passed
            to netx/razor-neuro for files whose first block is a Conv.
        x: input spikes ``[N, *input_shape, T]`` (uint8, netx order).
        reset: True: the N samples stream with ``reset_interval=T``; False: one sample, no
            reset (``N == 1``).
        description: one line saying what the network holds.
    """
    seed: int
    path: Path
    input_shape: tuple[int, ...]
    x: np.ndarray
    reset: bool
    description: str


def _neuron(rng: np.random.RandomState, drive: float) -> dict[str, Any]:
    """A CUBA/LOIHI neuron group; ``drive`` is the typical synaptic input per step (in
    weight units), so thresholds land where neurons fire sometimes but not always."""
    extremes = [0, 1, 4095, 4096]
    i_decay = int(rng.choice(extremes)) if rng.rand() < 0.3 else int(rng.randint(0, 4097))
    v_decay = int(rng.choice(extremes)) if rng.rand() < 0.3 else int(rng.randint(0, 4097))
    scale = max(drive, 1.0) * rng.choice([0.3, 1.0, 3.0, 10.0])
    threshold = int(np.clip(scale * rng.uniform(0.5, 2.0), 1, (1 << 17) - 1))
    neuron: dict[str, Any] = {"type": str(rng.choice(["CUBA", "LOIHI"])), "vThMant": threshold,
                              "iDecay": i_decay, "vDecay": v_decay}
    if rng.rand() < 0.7:
        neuron["refDelay"] = int(rng.randint(0, 4))
    if rng.rand() < 0.5:
        neuron["wgtExp"] = int(rng.randint(-2, 3))
    if rng.rand() < 0.5:
        neuron["gradedSpike"] = False
    return neuron


def _weights(rng: np.random.RandomState, shape: tuple[int, ...]) -> np.ndarray:
    """Integer weights in one of netx's sign modes, often multiples of a power of two
    (netx's optimize_weight_bits shifts them), sometimes beyond 8 bits (netx clips)."""
    mode = rng.choice(["mixed", "mixed", "excitatory", "inhibitory", "wide"])
    step = int(rng.choice([1, 1, 2, 4, 8]))
    if mode == "wide":
        w = rng.randint(-400, 400, size=shape)
    else:
        w = rng.randint(-(255 // step), 255 // step + 1, size=shape) * step
        if mode == "excitatory":
            w = np.abs(w)
        elif mode == "inhibitory":
            w = -np.abs(w)
    w[rng.rand(*shape) < rng.uniform(0.0, 0.5)] = 0
    if not np.any(w):
        w.flat[0] = step
    return w.astype(float)


def _bias(rng: np.random.RandomState, shape: tuple[int, ...], drive: float,
          per_channel: Optional[int] = None) -> Optional[np.ndarray]:
    kind = rng.choice(["none", "some", "some", "wide"])
    if kind == "none":
        return None
    target = shape if per_channel is None else (per_channel,)
    scale = max(drive, 1.0)
    if kind == "wide":  # beyond Lava's 13-bit bias_mant, even beyond int16
        return rng.randint(-50000, 50000, size=target)
    return np.round(rng.uniform(-1.0, 1.5, size=target) * scale).astype(int)


def random_case(seed: int, root: Path) -> Case:
    """Write the network of ``seed`` under ``root`` and draw its input.

    Args:
        seed: generator seed (the same seed always gives the same case).
        root: directory for the ``.net`` file.

    Returns:
        the :class:`Case`.
    """
    rng = np.random.RandomState(seed)
    layers: list[dict[str, Any]] = []
    notes: list[str] = []
    spatial = rng.rand() < 0.6
    if spatial:
        shape = (int(rng.randint(3, 11)), int(rng.randint(3, 11)), int(rng.randint(1, 4)))  # x,y,f
    else:
        shape = (int(rng.randint(4, 41)),)
    file_shape = np.array(shape[::-1])  # netx files store (C, H, W) / (n,)
    p_in = float(rng.choice([0.02, 0.1, 0.3, 0.7]))
    drive = p_in
    start = rng.choice(["neuron", "bare", "none"]) if spatial else \
        rng.choice(["neuron", "bare", "none"])
    if start == "neuron":
        weight = int(rng.choice([64, 1, 37, 200, 700, -50]))
        layers.append({"type": "input", "shape": file_shape,
                       "neuron": _neuron(rng, abs(weight) * p_in),
                       "weight": np.array([weight]),
                       "bias": np.array([int(rng.randint(-100, 100))])})
        notes.append(f"input(w={weight})")
        drive = 1.0
    elif start == "bare":
        layers.append({"type": "input", "shape": file_shape})
        notes.append("input(bare)")

    current = shape
    if spatial:
        for _ in range(int(rng.randint(1 if start == "none" else 0, 3))):
            c_in = current[2]
            groups = int(rng.choice([g for g in (1, 2, 3) if c_in % g == 0]))
            c_out = groups * int(rng.randint(1, 4))
            kernel = (int(rng.randint(1, 4)), int(rng.randint(1, 4)))      # (x, y)
            stride = (int(rng.randint(1, 3)), int(rng.randint(1, 3)))
            padding = (int(rng.randint(0, 3)), int(rng.randint(0, 3)))
            dilation = (int(rng.randint(1, 3)), int(rng.randint(1, 3)))
            out = conv_out_shape(current, c_out, kernel, stride, padding, dilation)
            if min(out) < 1:
                break
            w = _weights(rng, (c_out, c_in // groups, kernel[1], kernel[0]))  # (o, i, H, W)
            fan = np.abs(w).sum(axis=(1, 2, 3)).mean() * drive
            spec: dict[str, Any] = {
                "type": "conv", "shape": np.array(out[::-1]), "weight": w,
                "stride": np.array(stride[::-1]), "padding": np.array(padding[::-1]),
                "dilation": np.array(dilation[::-1]), "groups": groups,
                "neuron": _neuron(rng, fan)}
            if rng.rand() < 0.15:  # scalar conv parameters (netx expands them)
                spec["stride"] = stride[0]
                spec["padding"] = padding[0]
                spec["dilation"] = dilation[0]
                out = conv_out_shape(current, c_out, kernel, (stride[0],) * 2,
                                     (padding[0],) * 2, (dilation[0],) * 2)
                if min(out) < 1:
                    break
                spec["shape"] = np.array(out[::-1])
            per = rng.choice(["channel", "neuron"])
            bias = _bias(rng, out, fan, per_channel=c_out if per == "channel" else None)
            if bias is not None:
                spec["bias"] = bias
            layers.append(spec)
            notes.append(f"conv(k={kernel},s={stride},p={padding},d={dilation},g={groups},"
                         f"bias={'-' if bias is None else per})")
            current = out
            drive = 0.3
        if any(spec["type"] == "conv" for spec in layers):
            layers.append({"type": "flatten", "shape": np.array(current[::-1])})
            notes.append("flatten")
        else:  # no conv: netx's first dense block takes the input flat
            shape = (int(np.prod(shape)),)
            for spec in layers:
                spec["shape"] = np.array(shape)
        current = (int(np.prod(current)),)

    n_dense = int(rng.randint(1 if len(layers) <= 1 else 0, 3))
    if not any(spec["type"] in ("conv", "dense") or "neuron" in spec for spec in layers):
        n_dense = max(n_dense, 1)
    for _ in range(n_dense):
        n_out = int(rng.randint(2, 25))
        w = _weights(rng, (n_out, current[0]))
        fan = np.abs(w).sum(axis=1).mean() * drive
        spec = {"type": "dense", "shape": np.array([n_out]), "weight": w}
        if rng.rand() < 0.9:
            spec["neuron"] = _neuron(rng, fan)
        bias = _bias(rng, (n_out,), fan)
        if bias is not None:
            spec["bias"] = bias
        delay_kind = rng.choice(["none", "none", "scalar", "axonal", "input", "matrix"])
        if delay_kind == "scalar":
            spec["delay"] = float(rng.randint(0, 4))
        elif delay_kind == "axonal":
            spec["delay"] = rng.randint(0, 5, size=n_out).astype(float)
        elif delay_kind == "input":
            spec["delay"] = rng.randint(0, 5, size=current[0]).astype(float)
        elif delay_kind == "matrix":
            spec["delay"] = rng.randint(0, 5, size=(n_out, current[0])).astype(float)
        layers.append(spec)
        notes.append(f"dense({n_out},bias={'-' if bias is None else 'y'},delay={delay_kind},"
                     f"neuron={'y' if 'neuron' in spec else 'default'})")
        current = (n_out,)
        drive = 0.3
    if layers[-1]["type"] == "flatten":
        layers.pop()
        notes.pop()

    reset = bool(rng.rand() < 0.75)
    steps = int(rng.randint(6, 25)) if reset else int(rng.randint(20, 80))
    samples = int(rng.randint(1, 4)) if reset else 1
    x = (rng.rand(samples, *shape, steps) < p_in).astype(np.uint8)
    path = write_netx(Path(root) / f"net{seed}.net", layers)
    return Case(seed=seed, path=path, input_shape=shape, x=x, reset=reset,
                description=f"seed {seed}: " + " -> ".join(notes)
                + f"; {samples}x{steps} steps, p={p_in}, {'reset' if reset else 'continuous'}")

"""Benchmark 5: how the reference and the Lava run scale with batch size, T and width.

* batch sweep: the trained keep-0.5 benchmark network, its schedule gates on, N = 1 … 64
  synthetic test samples streamed through one Lava run, and the reference on the same
  batch; then the reference alone on larger batches (Lava would take minutes there).
  Per-sample time should fall with N for Lava (its fixed cost is shared) and stay
  near-flat for the reference once its own fixed cost is spread, until the cores
  saturate.
* T sweep: the trained keep-0.5 benchmark network (no schedule gates, which are defined
  for T = 16 only) on synthetic test samples generated with T = 8 … 64 frames.
* width sweep: the synthetic preset with every hidden layer ``w`` times as wide
  (conv 8w, conv 16w, dense 64w; w = 1 … 8), freshly initialised (untrained; both
  simulators do the same work per step whatever the activity), T = 16.

Each point: ``repeats`` Lava runs of N samples streamed with resets and, after each, the
reference on the same samples (its speed-up and mismatch count are from that pair).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Stat, emit, num, ratio, table  # noqa: E402


def samples(frames: int, n: int):
    """``n`` synthetic test samples with ``frames`` frames, netx order ``[N, W, H, C, T]``."""
    import numpy as np
    from razor_neuro.data.synthetic import SyntheticEvents, SyntheticSpec
    from razor_neuro.export.deploy import to_netx
    data = SyntheticEvents(SyntheticSpec(frames=frames, informative_frames=min(8, frames // 2),
                                         noise_frames=min(4, frames // 4)), train=False)
    return to_netx(np.stack([data[i][0].numpy() for i in range(n)]).astype(np.uint8))


def reference_seconds(network, x, gates, args):
    """One timed reference run on ``x``: (seconds, outputs as numpy)."""
    import torch
    from razor_neuro.export.reference import Reference

    def reference():
        out = Reference(network, device=args.device).simulate(
            torch.from_numpy(x), {i: torch.from_numpy(g) for i, g in gates.items()},
            stream=True)
        return [o.cpu().numpy() for o in out.outputs]

    return common.timed(reference, args.device)


def point(network, frames, x, args, gates=None, lava=True):
    """Time Lava and the reference ``repeats`` times on ``x``; mismatches of each pair
    (the reference alone when ``lava`` is False)."""
    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.backend import check_spikes
    gates = gates or {}
    graph = LavaGraph(network, frames, gates=gates)
    n = x.shape[0]
    lava_s, per_step, ref, mism, timing = [], [], [], 0, None
    for _ in range(args.repeats):
        if lava:
            timing, run = common.run_lava(graph, x)
            lava_s.append(timing.total / n)
            per_step.append(1e3 * timing.steps / timing.n_steps)
        seconds, out = reference_seconds(network, x, gates, args)
        ref.append(seconds / n)
        if lava:
            mism += sum(c.mismatches for c in check_spikes(graph.names, run.outputs, out))
    return {"lava": Stat.of(lava_s) if lava else None,
            "per_step": Stat.of(per_step) if lava else None, "ref": Stat.of(ref),
            "mismatches": mism if lava else None,
            "steps": timing.n_steps if timing else None}


def wide_network(width: int, tmp: Path):
    """The synthetic preset with hidden layers ``width`` times as wide, as a netx file."""
    import h5py
    import torch
    from razor_neuro.export.netfile import read_network
    from razor_neuro.model import RazorSNN
    from razor_neuro.model_config import LayerConfig, ModelConfig
    from razor_neuro.presets import PRESETS
    base = PRESETS["synthetic"]
    layers = tuple(LayerConfig(l.kind, l.out * width if l.kind != "flatten" and i < len(base.layers) - 1
                               else l.out, l.kernel, l.stride, l.padding, l.gated)
                   for i, l in enumerate(base.layers))
    cfg = ModelConfig(base.input_shape, base.n_classes, base.frames, layers)
    torch.manual_seed(0)
    model = RazorSNN(cfg, seed=0)
    with torch.no_grad():  # sets Flatten's shape for export
        x = torch.zeros(1, *cfg.input_shape, cfg.frames)
        for block in model.blocks:
            x = block(x)
    path = tmp / f"width{width}.net"
    with h5py.File(path, "w") as f:
        group = f.create_group("layer")
        for i, block in enumerate(model.blocks):
            block.export_hdf5(group.create_group(str(i)))
    net = read_network(path, tuple(cfg.input_shape[::-1]))
    neurons = sum(layer.num_neurons for layer in net.layers)
    synapses = sum(int(layer.weight.size) for layer in net.layers if layer.weight is not None)
    return net, neurons, synapses


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=None,
                   help="samples per run (default 4; 1 with --smoke)")
    args = common.parse(p, argv)
    n = args.samples or (1 if args.smoke else 4)
    frames = (4, 8) if args.smoke else (8, 16, 32, 64)
    widths = (1, 2) if args.smoke else (1, 2, 4, 8)
    common.header("5. Scaling with batch size, T (frames) and layer width", args)

    import tempfile

    import numpy as np
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.lava_graph import LavaGraph

    path, _ = common.cached_bundle(0.5, args.cache_dir, args.smoke, args.fresh, log=common.progress)
    bundle = load_bundle(path)
    network = bundle.network
    if not args.smoke:  # warm-up
        common.run_lava(LavaGraph(network, 16), samples(16, 1))
        reference_seconds(network, samples(16, 1), {}, args)

    from razor_neuro.threads import available_cores
    gates = {int(i): np.asarray(g, dtype=bool) for i, g in bundle.gates.items()}
    batches = (1, 4) if args.smoke else (1, 4, 16, 64)
    more = (16,) if args.smoke else (240, 960)
    split = samples(16, 16 if args.smoke else 240)  # the whole synthetic test split
    pool = np.concatenate([split] * -(-max(batches + more) // len(split)))  # repeated
    rows, first = [], None
    for size in batches + more:
        with_lava = size in batches
        r = point(network, 16, pool[:size], args, gates, lava=with_lava)
        first = first or r
        rows.append([size, r["lava"].fmt() if with_lava else "–",
                     num(r["lava"].median / first["lava"].median) if with_lava else "–",
                     r["ref"].fmt(), num(r["ref"].median / first["ref"].median),
                     ratio(r["lava"], r["ref"]).fmt(suffix="×") if with_lava else "–",
                     r["mismatches"] if with_lava else "–"])
    emit(table(["samples per run (N)", "Lava s per sample", "Lava vs N=1",
                "reference s per sample", "reference vs N=1", "speed-up", "mismatches"], rows,
               f"Scaling with batch size: trained synthetic network, schedule gates on, T = 16 "
               f"(median [min–max] over {args.repeats} runs; the reference uses "
               f"{available_cores()} thread(s))",
               [f"Lava is run up to N = {batches[-1]} only; beyond that the reference runs "
                f"alone (N beyond {len(split)} repeats the {len(split)}-sample test split). Lava's per-sample time falls with N as its fixed cost per run is "
                "shared; the reference's falls until its own fixed cost (numba dispatch, "
                "tensor set-up) is spread, then stays flat: its work per sample is constant."]))

    rows, first = [], None
    for T in frames:
        r = point(network, T, samples(T, n), args)
        first = first or r
        rows.append([T, r["steps"], r["lava"].fmt(), r["per_step"].fmt(),
                     num(r["lava"].median / first["lava"].median), r["ref"].fmt(),
                     num(r["ref"].median / first["ref"].median),
                     ratio(r["lava"], r["ref"]).fmt(suffix="×"), r["mismatches"]])
    emit(table(["T (frames)", "Lava steps per run", "Lava s per sample", "Lava ms per step",
                f"Lava vs T={frames[0]}", "reference s per sample", f"reference vs T={frames[0]}",
                "speed-up", "mismatches"], rows,
               f"Scaling with T: trained synthetic network (conv 2→8→16, dense 1024→64→6), "
               f"{n} samples per run (median [min–max] over {args.repeats} runs)"))

    rows, first = [], None
    with tempfile.TemporaryDirectory(prefix="razor-bench-") as tmp:
        for w in widths:
            net, neurons, synapses = wide_network(w, Path(tmp))
            r = point(net, 16, samples(16, n), args)
            first = first or r
            rows.append([w, f"{8 * w}/{16 * w}/{64 * w}/6", f"{neurons:,}", f"{synapses:,}",
                         r["lava"].fmt(), r["per_step"].fmt(),
                         num(r["lava"].median / first["lava"].median), r["ref"].fmt(),
                         num(r["ref"].median / first["ref"].median),
                         ratio(r["lava"], r["ref"]).fmt(suffix="×"), r["mismatches"]])
    emit(table(["width ×", "channels / units", "neurons", "weights", "Lava s per sample",
                "Lava ms per step", "Lava vs ×1", "reference s per sample", "reference vs ×1",
                "speed-up", "mismatches"], rows,
               f"Scaling with layer width: synthetic preset, hidden layers × w, untrained, T = 16, "
               f"{n} samples per run (median [min–max] over {args.repeats} runs)",
               ["s per sample includes each run's fixed cost (build, compile, process start-up, "
                "stop: ≈ constant per run), so Lava's per-sample time grows slower than its "
                "steps; ms per step is the stepping phase alone."]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

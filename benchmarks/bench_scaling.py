"""Benchmark 5: how the reference and the Lava run scale with T (frames) and layer width.

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


def point(network, frames, x, args):
    """Time Lava and the reference ``repeats`` times on ``x``; mismatches of each pair."""
    import torch
    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.reference import Reference
    from razor_neuro.export.verify import compare
    graph = LavaGraph(network, frames)
    n = x.shape[0]
    lava, per_step, ref, mism = [], [], [], 0

    def reference():
        out = Reference(network, device=args.device).simulate(torch.from_numpy(x), stream=True)
        return [o.cpu().numpy() for o in out.outputs]

    for _ in range(args.repeats):
        timing, run = common.run_lava(graph, x)
        seconds, out = common.timed(reference, args.device)
        lava.append(timing.total / n)
        per_step.append(1e3 * timing.steps / timing.n_steps)
        ref.append(seconds / n)
        mism += sum(c.mismatches for c in compare(graph.names, run.outputs, out))
    return {"lava": Stat.of(lava), "per_step": Stat.of(per_step), "ref": Stat.of(ref),
            "mismatches": mism, "steps": timing.n_steps}


def wide_network(width: int, tmp: Path):
    """The synthetic preset with hidden layers ``width`` times as wide, as a netx file."""
    import h5py
    import torch
    from razor_neuro.export.netfile import read_network
    from razor_neuro.model import PRESETS, LayerConfig, ModelConfig, RazorSNN
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
    common.header("5. Scaling with T (frames) and layer width", args)

    import tempfile
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.lava_graph import LavaGraph

    path, _ = common.cached_bundle(0.5, args.cache_dir, args.smoke, args.fresh, log=common.progress)
    network = load_bundle(path).network
    if not args.smoke:  # warm-up
        common.run_lava(LavaGraph(network, 16), samples(16, 1))
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

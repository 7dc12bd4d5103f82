"""Benchmark: SANA-FE's Loihi model (``report --hw-model sanafe``) against Lava on the same
samples, as a ratio taken per repeat in one process.

Lava: one streamed ``fixed_pt`` run of the samples with the bundle's schedule gates, end to
end (:func:`common.run_lava`).  SANA-FE: placement, chip load and the spike replay of the
same samples' Lava spikes (:func:`razor_neuro.export.hardware.sanafe.run_model`), end to
end.  The goal (issue #24): SANA-FE takes no longer than Lava (ratio <= 1).

``--bundle`` times a given bundle (e.g. the N-MNIST keep-0.5 bundle, ``--samples 100``);
by default the cached synthetic keep-0.5 benchmark bundle.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Stat, emit, ratio, table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__.splitlines()[0], repeats=3)
    p.add_argument("--bundle", type=Path, help="bundle to time (default: cached synthetic)")
    p.add_argument("--samples", type=int, default=None,
                   help="test samples (default 100; 4 with --smoke)")
    p.add_argument("--preset", default=None,
                   help="also time one random sample (5 %% of input bits on) through this "
                        "preset's untrained network, e.g. dvs_gesture (78k neurons)")
    args = common.parse(p, argv)
    common.header("SANA-FE hardware model vs Lava, same samples", args)
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.deploy import load_test_samples
    from razor_neuro.export.hardware.sanafe import run_model
    from razor_neuro.export.lava_graph import LavaGraph
    path = args.bundle or common.cached_bundle(0.5, args.cache_dir, args.smoke, args.fresh,
                                               common.progress)[0]
    b = load_bundle(path)
    n = args.samples or (4 if args.smoke else 100)
    x = b.step_input(load_test_samples(b, n).x)
    graph = LavaGraph(b.network, b.steps, gates=b.gates)
    lava, sanafe, mism = [], [], []
    for _ in range(args.repeats):
        timing, run = common.run_lava(graph, x)
        seconds, hw = common.timed(lambda: run_model(b.network, graph.names,
                                                     [(x, run.outputs, b.gates)]))
        lava.append(timing.total)
        sanafe.append(seconds)
        mism.append(hw.runs[0].mismatches)
    label = Path(path).parent.name if Path(path).name == "bundle" else Path(path).name
    ls, ss = Stat.of(lava), Stat.of(sanafe)
    r = ratio(ss, ls)
    emit(table(["bundle", "samples", "Lava s", "SANA-FE s", "SANA-FE / Lava", "cores",
                "mismatches"],
               [[label, n, ls.fmt(), ss.fmt(), r.fmt(), hw.placement.cores_used,
                 max(mism)]]))
    emit()
    if args.preset:
        preset(args.preset)
    return 0


def preset(name: str) -> None:
    """One random sample through preset ``name``'s untrained network: Lava's run and
    SANA-FE's placement and replay of its spikes, timed once each."""
    import tempfile

    import numpy as np

    from razor_neuro.export.hardware.sanafe import run_model
    from razor_neuro.export.lava_graph import LavaGraph
    with tempfile.TemporaryDirectory(prefix="razor-sanafe-") as tmp:
        network, cfg = common.preset_network(name, Path(tmp))
        x = (np.random.RandomState(0).rand(1, *network.input_shape, cfg.frames) < 0.05
             ).astype(np.uint8)
        graph = LavaGraph(network, cfg.frames)
        timing, run = common.run_lava(graph, x)
        seconds, hw = common.timed(lambda: run_model(network, graph.names,
                                                     [(x, run.outputs, {})]))
    emit(table(["preset", "neurons", "cores", "Lava s", "SANA-FE s", "SANA-FE / Lava",
                "mismatches"],
               [[name, f"{sum(l.num_neurons for l in network.layers):,}",
                 hw.placement.cores_used, f"{timing.total:.1f}", f"{seconds:.1f}",
                 f"{seconds / timing.total:.2f}", hw.runs[0].mismatches]],
               f"{name}: one random sample, untrained weights (seed 0)"))
    emit()


if __name__ == "__main__":
    sys.exit(main())

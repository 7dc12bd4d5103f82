"""Benchmark 6: what each model preset costs to deploy, before a user runs a whole test set.

For every preset (``razor_neuro.model.PRESETS``) the network is built (slayer's
initialisation, seed 0: untrained weights), exported with ``export_hdf5`` as a bundle's
``network.net`` is, read back, and run on N random input samples (each input bit on with
probability 0.05) through the Lava graph (``fixed_pt``, the samples streamed with resets)
and through the reference (after one untimed sample: its compiled kernels load on first
use); the table gives neurons, synapses, seconds per sample of each (Lava's include its
fixed cost per run, shared by the N samples) and the spike mismatches between the two.  Standalone (not part of ``run_all.py``).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import emit, num, table  # noqa: E402


def synapses(network) -> int:
    """Synapses of a netx network: dense ``n_out * n_in``; conv, per output neuron, the
    kernel's ``H * W * C_in / groups`` (padding included, as Lava's Conv stores them)."""
    total = 0
    for layer in network.layers:
        if layer.kind == "dense":
            total += int(layer.weight.size)
        elif layer.kind == "conv":
            total += layer.num_neurons * int(layer.weight[0].size)
    return total


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0], repeats=1)
    p.add_argument("--samples", type=int, default=2, help="random samples per preset")
    p.add_argument("--presets", default=None,
                   help="comma-separated presets (default all; synthetic with --smoke)")
    args = common.parse(p, argv)
    common.header("6. Presets: neurons, synapses, Lava and reference seconds per sample", args)

    import h5py
    import numpy as np
    import torch

    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.netfile import read_network
    from razor_neuro.export.reference import Reference
    from razor_neuro.export.verify import compare
    from razor_neuro.model import PRESETS, RazorSNN

    names = args.presets.split(",") if args.presets else (
        ["synthetic"] if args.smoke else list(PRESETS))
    rows = []
    with tempfile.TemporaryDirectory(prefix="razor-presets-") as tmp:
        for name in names:
            cfg = PRESETS[name]
            model = RazorSNN(cfg, seed=0)
            with torch.no_grad():  # one forward sets the Flatten shapes for export_hdf5
                model(torch.zeros(1, *cfg.input_shape, cfg.frames), model.masks(1.0))
            path = Path(tmp) / f"{name}.net"
            with h5py.File(path, "w") as f:
                group = f.create_group("layer")
                for i, block in enumerate(model.blocks):
                    block.export_hdf5(group.create_group(str(i)))
            network = read_network(path, tuple(cfg.input_shape[::-1]))
            rng = np.random.RandomState(0)
            x = (rng.rand(args.samples, *network.input_shape, cfg.frames) < 0.05).astype(np.uint8)
            common.progress(f"{name}: Lava")
            graph = LavaGraph(network, cfg.frames)
            t0 = time.perf_counter()
            lava = graph.run(x)
            lava_s = time.perf_counter() - t0
            Reference(network, device=args.device).run(x[:1], stream=True)  # warm: kernels load
            t0 = time.perf_counter()
            ref = Reference(network, device=args.device).run(x, stream=True)
            ref_s = time.perf_counter() - t0
            mismatches = sum(c.mismatches for c in compare(
                graph.names, lava.outputs, [r.cpu().numpy() for r in ref]))
            rows.append([name, f"{'x'.join(map(str, cfg.input_shape))} x {cfg.frames}",
                         len(network.layers), f"{sum(l.num_neurons for l in network.layers):,}",
                         f"{synapses(network):,}", num(lava_s / args.samples),
                         num(ref_s / args.samples), mismatches])
    emit(table(["preset", "input x T", "layers", "neurons", "synapses", "Lava s/sample",
                "reference s/sample", "mismatches"], rows,
               f"{args.samples} random samples per preset, untrained weights (seed 0)",
               ["Lava seconds include the run's fixed cost (build, compile, process start-up, "
                "stop), shared by the samples of one run; streaming more samples lowers it."]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

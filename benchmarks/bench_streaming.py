"""Benchmark 2: many samples through one Lava run with resets vs. one Lava run per sample.

On the keep-0.5 benchmark bundle (gated).  Each repeat streams N test samples through one
Lava run (per-layer resets every T steps, as ``razor-neuro run`` does) and then runs the
first K of them one run each; the repeat's ratio is the per-sample cost of one-run-per-
sample over the per-sample cost of the stream.  The fixed cost of a run is split into
its phases (timed in-process around Lava's compile / runtime start-up / stepping /
stop) and a cProfile of a small run lists the top functions of the main process.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Stat, emit, num, table  # noqa: E402


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=None,
                   help="samples streamed through one run (default 16; 3 with --smoke)")
    p.add_argument("--singles", type=int, default=None,
                   help="one-sample runs per repeat (default 3; 1 with --smoke)")
    args = common.parse(p, argv)
    n = args.samples or (3 if args.smoke else 16)
    k = min(n, args.singles or (1 if args.smoke else 3))
    common.header("2. Streaming: one Lava run with resets vs. one run per sample", args)

    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.deploy import load_test_samples
    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.backend import check_spikes

    path, _ = common.cached_bundle(0.5, args.cache_dir, args.smoke, args.fresh, log=common.progress)
    bundle = load_bundle(path)
    x = load_test_samples(bundle, n).x
    graph = LavaGraph(bundle.network, bundle.frames, gates=bundle.gates)
    if not args.smoke:
        common.run_lava(graph, x[:1])  # warm-up: process-model imports, first compile
    streams, singles, per_sample_ratio, mismatches = [], [], [], 0
    for _ in range(args.repeats):
        ts, run = common.run_lava(graph, x)
        streams.append(ts)
        ones = []
        for i in range(k):
            t1, one = common.run_lava(graph, x[i:i + 1])
            ones.append(t1)
            # a stream with resets must compute exactly what separate runs compute
            mismatches += sum(c.mismatches for c in check_spikes(
                graph.names, [o[i:i + 1] for o in run.outputs], one.outputs))
        singles.extend(ones)
        per_sample_ratio.append(statistics.mean(t.total for t in ones) / (ts.total / n))

    T = bundle.frames
    rows = []
    for name, runs, samples in ((f"one run, {n} samples streamed with resets", streams, n),
                                ("one run per sample", singles, 1)):
        rows.append([name, len(runs), runs[0].n_steps,
                     Stat.of(t.total / samples for t in runs).fmt(),
                     Stat.of(t.fixed for t in runs).fmt(),
                     Stat.of(t.steps / samples for t in runs).fmt(),
                     Stat.of(1e3 * t.steps / t.n_steps for t in runs).fmt()])
    emit(table(["mode", "runs timed", "steps per run", "s per sample", "fixed s per run",
                "stepping s per sample", "ms per step"], rows,
               f"Per-sample cost, T = {T} frames per sample (median [min–max] over runs)",
               [f"fixed = everything but stepping (build, compile, process start-up, stop, read). "
                f"Streamed outputs equal the one-run-per-sample outputs: "
                f"{'yes, 0 mismatches' if mismatches == 0 else f'NO, {mismatches} mismatches'} "
                f"({k} samples × {args.repeats} repeats compared)."]))
    speed = Stat.of(per_sample_ratio)
    emit(f"- One run per sample costs **{speed.fmt(suffix='×')}** as much per sample as "
         f"streaming {n} samples through one run (ratio per repeat: mean one-sample run / "
         f"stream time per sample).")
    # fixed + marginal model from the same repeats: stream(n) = F + n*m, single = F + m
    marg = Stat.of((s.total - statistics.mean(o.total for o in singles[i * k:(i + 1) * k])) / (n - 1)
                   for i, s in enumerate(streams)) if n > 1 else None
    if marg is not None:
        fixed = Stat.of(statistics.mean(o.total for o in singles[i * k:(i + 1) * k]) - m
                        for i, m in enumerate(marg.values))
        emit(f"- Fit per repeat (run = fixed + samples × marginal): fixed ≈ {fixed.fmt()} s per "
             f"run, marginal ≈ {marg.fmt()} s per sample ({num(1e3 * marg.median / T)} ms per "
             f"step); the fixed cost equals ≈ {num(fixed.median / marg.median)} samples of "
             f"streaming.")
        pred = [[m, num(fixed.median / m + marg.median), num((fixed.median / m + marg.median)
                                                          / (fixed.median + marg.median))]
                for m in (1, 4, 16, 64, 256, 1024)]
        emit()
        emit(table(["samples per run", "predicted s per sample", "of one run per sample"], pred,
                   "Amortisation (from the fit above: fixed / samples + marginal)"))
    emit(table(["mode", *common.PHASE_HEADERS],
               [common.phase_row(f"stream of {n}", streams),
                common.phase_row("single sample", singles)],
               "Where a run's time goes (seconds per run, median, and share of the run)",
               [common.PHASE_NOTE]))
    emit(common.profile_top(
        lambda: graph.run(x[:1]), n=12, sort="cumulative",
        title="cProfile of a one-sample run, main process, top 12 by cumulative time",
        skip=("{built-in method builtins.exec}", "<string>", "benchmarks/")))
    emit("Lava runs every process model in its own OS process; the main process above "
         "spends the stepping phase waiting on the runtime's channels "
         "(`_get_resp_for_run`).")
    emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark 3: what the static frame schedule saves, for input keep ratios 1.0, 0.75, 0.5, 0.25
and for 0.5 at every gated layer.

One model per keep ratio is trained on the synthetic dataset (the demo's settings with
fewer epochs, see ``common.BENCH_EPOCHS``) and exported; the bundles are cached under
``--cache-dir`` (``--fresh`` retrains).  Each bundle then runs on Lava ``fixed_pt``:
``repeats`` runs of N test samples each (different samples per run), every run checked
against the reference.  From the Lava runs' recorded spikes: deploy accuracy, synaptic
operations and Loihi 1 energy per sample (``razor_neuro.counting`` × the ``loihi1``
profile); Lava wall time per sample is the median over the runs.  The models' runs are
interleaved (run i of every model back to back), and ratios against keep 1.0 pair run i
of each model (the same samples).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Stat, emit, num, ratio, table  # noqa: E402

# one number prunes the input only; the tuple prunes every gated layer (razor_neuro.model_config.layer_keep_ratios)
KEEPS = (1.0, 0.75, 0.5, 0.25, (0.5, 0.5, 0.5, 0.5))


def prepare(keep, args):
    """Train (or reuse) and load the bundle of one keep ratio."""
    import torch
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.reference import Reference
    path, metrics = common.cached_bundle(keep, args.cache_dir, args.smoke, args.fresh, log=common.progress)
    bundle = load_bundle(path)
    return {"keep": keep, "bundle": bundle, "metrics": metrics,
            "graph": LavaGraph(bundle.network, bundle.frames, gates=bundle.gates),
            "gates": {i: torch.from_numpy(m) for i, m in bundle.gates.items()},
            "ref": Reference(bundle.network, device=args.device),
            "wall": [], "steps_only": [], "synops": [], "energy": [],
            "correct": 0, "seen": 0, "mismatches": 0}


def measure_run(m, r, n, profile):
    """Lava run ``r`` (test samples ``r*n`` …) of one model, checked and counted."""
    import torch
    from razor_neuro.counting import sum_counts
    from razor_neuro.energy import energy_report
    from razor_neuro.export.deploy import load_test_samples, predict
    from razor_neuro.export.backend import check_spikes
    bundle, graph = m["bundle"], m["graph"]
    s = load_test_samples(bundle, n, start=r * n)
    timing, run = common.run_lava(graph, s.x)
    out = m["ref"].simulate(torch.from_numpy(s.x), m["gates"], stream=True).outputs
    m["mismatches"] += sum(c.mismatches for c in check_spikes(graph.names, run.outputs,
                                                         [o.cpu().numpy() for o in out]))
    m["correct"] += int((predict(run.outputs[-1]) == s.labels).sum())
    m["seen"] += n
    total = sum_counts(common.run_counts(bundle.network, run.inputs, run.outputs))
    m["synops"].append(total.synops / n)
    m["energy"].append(energy_report([total], profile).total_per_sample_pj)
    m["wall"].append(timing.total / n)
    m["steps_only"].append(timing.steps / n)


def finish(m, args):
    """Deploy accuracy of the whole test split on the (verified) reference; summaries."""
    import torch
    from razor_neuro.export.deploy import load_test_samples, predict
    bundle = m["bundle"]
    test = load_test_samples(bundle, _test_size(bundle))
    out = m["ref"].simulate(torch.from_numpy(test.x), m["gates"], stream=True).outputs[-1]
    return {"keep": m["keep"], "kept": [int(k.sum()) for k in bundle.schedule.masks],
            "frames": bundle.frames, "metrics": m["metrics"],
            "lava_acc": m["correct"] / m["seen"], "seen": m["seen"],
            "ref_acc": float((predict(out.cpu().numpy()) == test.labels).mean()),
            "n_test": len(test.labels), "mismatches": m["mismatches"],
            **{k: Stat.of(m[k]) for k in ("synops", "energy", "wall", "steps_only")}}


def _test_size(bundle) -> int:
    from razor_neuro.data import dataset_from_spec
    return len(dataset_from_spec(bundle.manifest["dataset"], train=False))


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=None,
                   help="test samples per Lava run (default 32; 3 with --smoke)")
    args = common.parse(p, argv)
    n = args.samples or (3 if args.smoke else 32)
    keeps = (1.0, 0.5, (0.5, 0.5, 0.5, 0.5)) if args.smoke else KEEPS
    common.header("3. Schedule savings: keep ratio vs. accuracy, synaptic ops, energy, Lava time",
                  args)
    import razor_neuro.export.lava_graph  # noqa: F401  (Lava first: see common.cached_bundle)
    from razor_neuro.energy import load_profile
    models = [prepare(k, args) for k in keeps]
    if not args.smoke:  # warm-up: first-run costs must not land on the first model
        from razor_neuro.export.deploy import load_test_samples
        common.run_lava(models[0]["graph"], load_test_samples(models[0]["bundle"], 1).x)
    profile = load_profile("loihi1")
    for r in range(args.repeats):  # interleaved: run r of every model back to back
        for m in models:
            measure_run(m, r, n, profile)
    results = [finish(m, args) for m in models]
    base = results[0]
    rows = []
    for r in results:
        syn_ratio = ratio(r["synops"], base["synops"])
        en_ratio = ratio(r["energy"], base["energy"])
        wall_ratio = ratio(r["wall"], base["wall"])
        rows.append([
            common.keep_label(r["keep"]), "/".join(map(str, r["kept"])) + f" of {r['frames']}",
            num(r["metrics"]["deploy_accuracy"]), num(r["lava_acc"]), num(r["ref_acc"]),
            r["synops"].fmt(), syn_ratio.fmt(suffix="×"),
            r["energy"].fmt(scale=1e-6), en_ratio.fmt(suffix="×"),
            r["wall"].fmt(), wall_ratio.fmt(suffix="×"), r["mismatches"]])
    trained = "; ".join(
        f"keep {common.keep_label(r['keep'])}: {'cached' if r['metrics'].get('cached') else 'trained'} "
        f"({r['metrics']['epochs']} epochs, {num(r['metrics']['seconds'])} s)" for r in results)
    emit(table(
        ["keep ratio", "kept frames per gated layer", "accuracy: float model",
         f"accuracy: Lava ({base['seen']} samples)", f"accuracy: reference (all {base['n_test']})",
         "synaptic ops per sample", "vs keep 1.0", "Loihi 1 energy µJ per sample", "vs keep 1.0",
         "Lava s per sample", "vs keep 1.0", "mismatches Lava vs reference"], rows,
        "Schedule savings on the synthetic dataset (median [min–max] over Lava runs)",
        [f"Each keep ratio: {args.repeats} Lava runs of {n} different test samples. Synaptic ops "
         f"and energy are measured from the Lava runs' spikes (per-run means; they vary across "
         f"runs because the samples do, not by chance); energy = counts × `loihi1` constants "
         f"(synop 23.6 pJ, neuron update 52/81 pJ inactive/active, 1.7 pJ per routed spike; "
         f"Davies et al. 2018), counted as deployed and as `razor-neuro report` does: a pruned "
         f"frame delivers no spikes (no synaptic operation) but its neurons still update. Lava s per sample = run wall time / samples, "
         f"fixed costs included (every time step still runs; pruning removes spikes, not "
         f"steps). Float-model accuracy is training's deploy-path accuracy on all test "
         f"samples; the reference accuracy is the same deployed network on all test samples "
         f"(bit-exact with Lava, 0 mismatches required). Training: {trained}."]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark 1: the batched torch reference against Lava ``Loihi2SimCfg(fixed_pt)``.

Both simulate the same samples in the same process, repeat by repeat; each repeat's
speed-up is Lava's wall time over the reference's, and the mismatch count compares the
two runs' output spikes of every layer, position by position (``verify.compare``).

* synthetic: the keep-0.5 benchmark bundle (schedule gates on), the whole test split (240
  samples) streamed through one Lava run with per-layer resets; the reference simulates
  them as one batch (``stream=True``).  Goal: at least 300x.
* oxford: lava-dl's Oxford network (Dense 200→256→200) on its 2000-step input, one
  continuous sample (no resets), as published.  Goal: at least 100x.

Timings are end to end: Lava from graph construction to the spikes read back, the
reference from building its tensors from the network file to the spikes on the CPU.
"Lava stepping only" leaves out Lava's fixed cost (build, compile, process start-up,
stop), i.e. what an arbitrarily long stream would cost per sample at best.

Then what one ``razor-neuro verify BUNDLE --samples all`` (the 240 synthetic test samples;
4 with ``--smoke``) writes in ``verify.json``, run once in a fresh process as a user runs
it: each side's set-up and simulation seconds, and ``seconds.speedup``, Lava's simulation
over the reference's (goal: at least 300x).  The reference's set-up holds what a fresh
process pays once: building its constants and loading its compiled kernels.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Stat, emit, num, ratio, table  # noqa: E402

#: speed-up goals (issue #15): the whole synthetic test split, and the Oxford network
GOALS = {"synthetic": 300.0, "oxford": 100.0}


def reference_run(network, x, gates, device):
    """Build a reference and simulate ``x``; outputs as numpy (what verify does)."""
    import torch
    from razor_neuro.export.reference import Reference
    ref = Reference(network, mode="fixed_pt", device=device)
    res = ref.simulate(torch.from_numpy(x), {i: torch.from_numpy(m) for i, m in gates.items()},
                       stream=True)
    return [o.cpu().numpy() for o in res.outputs]


def verify_once(bundle: Path, n: int | None) -> dict:
    """``razor-neuro verify BUNDLE --samples N|all`` in a fresh process (one OpenMP
    thread): its ``verify.json``."""
    from razor_neuro.errors import EXIT_MISMATCH
    with tempfile.TemporaryDirectory(prefix="razor-verify-") as out:
        res = subprocess.run([sys.executable, "-m", "razor_neuro.cli", "verify", str(bundle),
                              "--samples", str(n) if n else "all", "--out", out],
                             capture_output=True, text=True,
                             env=dict(os.environ, OMP_NUM_THREADS="1"))
        if res.returncode not in (0, EXIT_MISMATCH):
            raise RuntimeError(f"verify exited {res.returncode}: {res.stderr.strip()[-500:]}")
        return json.loads((Path(out) / "verify.json").read_text())


def verify_table(record: dict) -> str:
    """``verify.json``'s seconds: set-up and simulation of each side, and the ratios."""
    sec = record["seconds"]
    rows = [[side, num(sec["setup"][key]), num(sec["simulation"][key]), num(sec[key])]
            for side, key in (("Lava fixed_pt", "lava"), ("reference", "reference"))]
    speed, goal = sec["speedup"], GOALS["synthetic"]
    verdict = f"meets the ≥{goal:.0f}× goal" if speed and speed >= goal else \
        f"**misses the ≥{goal:.0f}× goal by {goal / speed:.1f}×**" if speed else "not measured"
    return table(["side", "set-up s", "simulation s", "total s"], rows,
                 f"One `razor-neuro verify BUNDLE` in a fresh process: {record['samples']} "
                 f"samples, {record['mismatches']} mismatches (`verify.json` seconds)",
                 [f"Simulation speed-up (`seconds.speedup`, Lava simulation / reference "
                  f"simulation): {num(speed)}×, {verdict}; set-up included: "
                  f"{num(sec['lava'] / sec['reference'])}×. One run, not repeated."])


def bench_case(name, network, frames, gates, x, args):
    """Time Lava and the reference on the same input ``repeats`` times."""
    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.backend import check_spikes
    n = x.shape[0]
    graph = LavaGraph(network, frames, gates=gates)
    if not args.smoke:  # warm-up: first-call costs (imports of process models, torch kernels)
        common.run_lava(graph, x[:1])
        reference_run(network, x[:1], gates, args.device)
    lava, lava_steps, ref, mism, spikes, timings = [], [], [], [], [], []
    for _ in range(args.repeats):
        timing, run = common.run_lava(graph, x)
        timings.append(timing)
        seconds, ref_out = common.timed(lambda: reference_run(network, x, gates, args.device),
                                        args.device)
        checks = check_spikes(graph.names, run.outputs, ref_out)
        lava.append(timing.total)
        lava_steps.append(timing.steps)
        ref.append(seconds)
        mism.append(sum(c.mismatches for c in checks))
        spikes.append(sum(c.lava_spikes for c in checks))
    return {"name": name, "n": n, "steps": x.shape[-1], "lava": Stat.of(lava),
            "lava_steps": Stat.of(lava_steps), "ref": Stat.of(ref), "mismatches": mism,
            "spikes": spikes, "graph": graph, "x": x, "timings": timings}


def row(c):
    lava, ref = c["lava"], c["ref"]
    speed = ratio(lava, ref)
    speed_steps = ratio(c["lava_steps"], ref)
    mism = max(c["mismatches"])
    return [c["name"], f"{c['n']} × {c['steps']}",
            lava.fmt(), lava.inverse().scaled(c["n"]).fmt(),
            ref.fmt(), ref.inverse().scaled(c["n"]).fmt(),
            speed.fmt(digits=3, suffix="×"), speed_steps.fmt(digits=3, suffix="×"),
            f"{mism} / {c['spikes'][0]:,}"]


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=None,
                   help="synthetic samples per run (default: the whole test split; 4 with "
                        "--smoke)")
    args = common.parse(p, argv)
    n = args.samples or (4 if args.smoke else None)
    common.header("1. Reference vs. Lava simulator (samples per second, same run)", args)

    import numpy as np
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.deploy import load_test_samples
    from razor_neuro.export.netfile import read_network, read_spikes

    path, _ = common.cached_bundle(0.5, args.cache_dir, args.smoke, args.fresh, log=common.progress)
    bundle = load_bundle(path)
    x = load_test_samples(bundle, n).x
    cases = [bench_case("synthetic demo bundle (keep 0.5, gated)", bundle.network,
                        bundle.frames, bundle.gates, x, args)]
    cases[0]["goal"] = GOALS["synthetic"]
    oxford = None
    if (common.OXFORD_DIR / "network.net").is_file():
        net = read_network(common.OXFORD_DIR / "network.net")
        steps = 200 if args.smoke else 2000
        xo = read_spikes(common.OXFORD_DIR / "input.npy", net.input_shape, steps)[..., :steps]
        oxford = bench_case("lava-dl Oxford (Dense 200→256→200)", net, None, {},
                            np.ascontiguousarray(xo[None]), args)
        oxford["goal"] = GOALS["oxford"]
        cases.append(oxford)
    else:
        emit(f"(Oxford network not found at {common.OXFORD_DIR}: set RAZOR_NEURO_EXTERNAL)")

    emit(table(["network", "samples × steps", "Lava s/run", "Lava samples/s", "reference s/run",
                "reference samples/s", "speed-up (reference vs Lava)",
                "speed-up vs Lava stepping only", "mismatches / spikes compared"],
               [row(c) for c in cases],
               "Reference vs. Lava fixed_pt: median [min–max] over repeats",
               [f"Speed-up = Lava wall time / reference wall time, per repeat (same samples, same "
                f"process). Mismatches: differing (sample, neuron, step) output positions over all "
                f"layers, Lava vs reference of the same repeat (worst repeat shown); spikes compared "
                f"= Lava's output spikes, all layers."]))
    for c in cases:
        speed, goal = ratio(c["lava"], c["ref"]).median, c["goal"]
        verdict = (f"meets the ≥{goal:.0f}× goal" if speed >= goal else
                   f"**misses the ≥{goal:.0f}× goal by {goal / speed:.1f}×** "
                   f"(the reference would have to be {goal / speed:.1f}× faster)")
        agree = ("agrees spike for spike" if max(c["mismatches"]) == 0 else
                 f"**{max(c['mismatches'])} mismatching spikes**")
        emit(f"- {c['name']}: median speed-up {num(speed)}×, {verdict}; {agree}.")
    emit()
    emit(verify_table(verify_once(path, n)))

    # where the time goes: the reference (all in this process) and Lava's phases
    for c in cases:
        network, gates = c["graph"].network, c["graph"].gates
        emit(common.profile_top(
            lambda: reference_run(network, c["x"], gates, args.device), n=8, sort="tottime",
            title=f"Where the reference's time goes — {c['name']}, {c['n']} × {c['steps']} "
                  f"(cProfile, top 8 by own time)"))
    rows = [common.phase_row(c["name"], c["timings"]) for c in cases]
    emit(table(["network", *common.PHASE_HEADERS], rows,
               "Where Lava's time goes (the timed runs above; seconds per run, median, and share "
               "of the total)",
               [common.PHASE_NOTE]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

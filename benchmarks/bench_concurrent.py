"""Benchmark 7: two trainings at once on a shared machine against the same two one after another.

Each training is ``razor-neuro train`` on the synthetic default (its data, model and
optimiser; ``--epochs`` fewer than the default so that the benchmark stays short: the
work per step is the same) in its own process, as a researcher starts them.  Per repeat
the pair runs back to back and then both at once; the ratio is taken per repeat.

Variants (``--variants``):

* ``default``: razor-neuro's own thread choice (``razor_neuro.threads``: the cores the
  process may use, capped by ``OMP_NUM_THREADS``; OpenMP threads that sleep instead of
  spinning while they wait, ``OMP_WAIT_POLICY=PASSIVE`` unless set);
* ``spinning``: the same thread count with OpenMP's spin-waiting (``OMP_WAIT_POLICY=ACTIVE``),
  which is what a plain torch process does for a while before it sleeps;
* ``one-thread``: ``--threads 1`` for each training.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Stat, emit, num, table  # noqa: E402

VARIANTS = {
    "default": ({}, []),
    "spinning": ({"OMP_WAIT_POLICY": "ACTIVE"}, []),
    "one-thread": ({}, ["--threads", "1"]),
}


def command(out: Path, epochs: int, samples: int, seed: int, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "razor_neuro.cli", "train", "--dataset", "synthetic",
            "--keep-ratio", "0.5", "--epochs", str(epochs), "--synthetic-samples", str(samples),
            "--seed", str(seed), "--out", str(out), *extra]


def run_pair(tmp: Path, tag: str, env_extra: dict, extra: list[str], epochs: int,
             samples: int, together: bool) -> tuple[float, float]:
    """Two trainings (seeds 0 and 1), both at once or one after the other:
    (wall seconds, CPU seconds of both)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(env_extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmds = [command(tmp / f"{tag}-{together}-{seed}", epochs, samples, seed, extra)
            for seed in (0, 1)]
    if together:
        procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True) for c in cmds]
        errors = [p.communicate()[1] for p in procs]
        codes = [p.returncode for p in procs]
    else:
        done = [subprocess.run(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True) for c in cmds]
        errors, codes = [d.stderr for d in done], [d.returncode for d in done]
    wall = time.perf_counter() - t0
    if any(codes):
        raise SystemExit(f"a training failed: {errors}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0], repeats=2)
    p.add_argument("--epochs", type=int, default=None, help="epochs per training (default 2)")
    p.add_argument("--variants", default=None,
                   help=f"comma-separated, of {', '.join(VARIANTS)} (default all; "
                        f"default alone with --smoke)")
    args = common.parse(p, argv)
    epochs = args.epochs or 1 if args.smoke else args.epochs or 2
    samples = common.SMOKE_SAMPLES if args.smoke else common.BENCH_SAMPLES
    variants = [v for v in (args.variants or ("default" if args.smoke else ",".join(VARIANTS)))
                .split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        p.error(f"--variants: unknown {', '.join(unknown)}; expected {', '.join(VARIANTS)}")
    common.header("7. Two trainings at once vs. one after another (shared machine)", args)
    from razor_neuro.threads import available_cores
    rows, verdicts = [], []
    with tempfile.TemporaryDirectory(prefix="razor-concurrent-") as tmp:
        for name in variants:
            env_extra, extra = VARIANTS[name]
            seq, par, seq_cpu, par_cpu, ratios = [], [], [], [], []
            for r in range(args.repeats):
                common.progress(f"{name}: repeat {r + 1}: back to back, then together")
                s, sc = run_pair(Path(tmp), f"{name}{r}", env_extra, extra, epochs, samples,
                                 together=False)
                c, cc = run_pair(Path(tmp), f"{name}{r}", env_extra, extra, epochs, samples,
                                 together=True)
                seq.append(s), par.append(c), seq_cpu.append(sc), par_cpu.append(cc)
                ratios.append(c / s)
            ratio = Stat.of(ratios)
            rows.append([name, Stat.of(seq).fmt(), Stat.of(par).fmt(), ratio.fmt(suffix="×"),
                         Stat.of(seq_cpu).fmt(), Stat.of(par_cpu).fmt()])
            verdicts.append(f"- {name}: together / back to back = {num(ratio.median)}× "
                            f"(worst repeat {num(ratio.hi)}×): "
                            + ("**the pair finishes no later together**" if ratio.hi <= 1.0
                               else "the pair finishes later together"))
    emit(table(["variant", "back to back, s", "together, s", "together / back to back",
                "CPU s, back to back", "CPU s, together"], rows,
               f"Two synthetic trainings ({epochs} epoch(s) of {samples} samples each, seeds 0 "
               f"and 1), {args.repeats} repeat(s); this process may use {available_cores()} "
               f"core(s)",
               ["Ratio per repeat: the pair together against the same pair back to back, "
                "measured one after the other. CPU s: user + system time of both trainings."]))
    for line in verdicts:
        emit(line)
    emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())

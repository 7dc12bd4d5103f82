"""Benchmark 7: two trainings at once on a shared machine against the same two one after another.

Each training is ``razor-neuro train`` on the synthetic default (its data, model and
optimiser; ``--epochs`` fewer than the default so that the benchmark stays short: the
work per step is the same) in its own process, as a researcher starts them.  Per repeat
the pair runs back to back and then both at once; the ratio is taken per repeat.

Variants (``--variants``):

* ``default``: razor-neuro's own thread choice (``razor_neuro.threads``: a training takes
  the cores the process may use, split evenly between the razor-neuro trainings running
  when it starts; OpenMP threads sleep instead of spinning while they wait);
* ``all-cores``: ``--threads`` = every core for each training, as a job that does not know
  about the other takes them (still with sleeping OpenMP threads);
* ``all-cores-spinning``: the same with OpenMP's spin-waiting (``OMP_WAIT_POLICY=ACTIVE``),
  what torch's threads do for a while before they sleep.
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

def variants() -> dict[str, tuple[dict[str, str], list[str]]]:
    """name -> (environment added, extra ``train`` arguments)."""
    from razor_neuro.threads import available_cores
    every = ["--threads", str(available_cores())]
    return {"default": ({}, []), "all-cores": ({}, every),
            "all-cores-spinning": ({"OMP_WAIT_POLICY": "ACTIVE"}, every)}


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
    p = common.parser(__doc__.splitlines()[0], repeats=1)
    p.add_argument("--epochs", type=int, default=1, help="epochs per training (default 1)")
    p.add_argument("--variants", default=None,
                   help="comma-separated, of default, all-cores, all-cores-spinning (default: "
                        "default,all-cores; default alone with --smoke)")
    args = common.parse(p, argv)
    epochs = args.epochs
    samples = common.SMOKE_SAMPLES if args.smoke else common.BENCH_SAMPLES
    table_of = variants()
    chosen = [v for v in (args.variants or ("default" if args.smoke else "default,all-cores"))
              .split(",") if v]
    unknown = sorted(set(chosen) - set(table_of))
    if unknown:
        p.error(f"--variants: unknown {', '.join(unknown)}; expected {', '.join(table_of)}")
    common.header("7. Two trainings at once vs. one after another (shared machine)", args)
    from razor_neuro.threads import available_cores
    rows, verdicts = [], []
    with tempfile.TemporaryDirectory(prefix="razor-concurrent-") as tmp:
        for name in chosen:
            env_extra, extra = table_of[name]
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

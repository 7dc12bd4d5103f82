"""Benchmark 8: the training recipes over seeds, trained as a user trains them: the synthetic
default and N-MNIST, and N-MNIST deployed on Lava.

Every run is ``razor-neuro train --dataset D --seed S --keep-ratio R --threads 1 --quiet
--out <cache>/recipes/<run>`` (the dataset's preset and recipe, ``razor_neuro.training.
config.RECIPES``), two runs at a time, one thread each; a run whose ``metrics.json`` is in
the cache is reused (``--fresh`` retrains).  Its ``seconds`` is the training's wall time
beside one other training on a 2-core machine (one thread each).

Tables: per dataset and keep ratio, deploy accuracy (on the whole test split) mean
[min–max] over the seeds, the kept input frames of each seed, and training minutes; on the
synthetic set also the pruned-frame precision (the share of pruned input frames that carry
no motion).  The synthetic keep-0.5 runs with ``--probe-every 1`` (frame importance
probed on every batch instead of the default one in 8) show what the cheaper probe
changes in the schedule.

N-MNIST's recipe probes every batch; its keep-0.5 runs are also trained with the default
one-in-8 probe (``--probe-every 8``), alone and with ``--event-cost`` 15 and 30 (the
default is 1): the trade of accuracy for synaptic operations.

``--deploy`` also exports seed 0's N-MNIST runs, runs ``verify`` on every test recording
(0 mismatches required) and ``report --compare`` of each pruned bundle against keep 1.0 on
Lava ``fixed_pt`` over the whole test split: synaptic operations, output spikes and Loihi 1
energy per sample, with the report's events-per-frame figure; then every seed's pruned
runs against the same seed's keep 1.0 with ``report --compare --source reference`` (the
verified reference over the whole test split, licensed by Lava on 2 recordings).  Standalone (not part of
``run_all.py``); about 2 hours on 2 cores with ``--deploy`` and an empty cache.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import emit, table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC_SEEDS = (0, 1, 2, 3, 4, 5, 7, 8)
NMNIST_SEEDS = (0, 1, 2)
PROBE_EVERY_BATCH = ("--probe-every", "1")
PROBE_ONE_IN_8 = ("--probe-every", "8")  # the default, against N-MNIST's recipe (every batch)
EVENT_COSTS = ("15", "30")  # N-MNIST keep 0.5 with a higher --event-cost than the default 1


@dataclass(frozen=True)
class Job:
    """One training run: dataset, seed, ``--keep-ratio`` text and extra CLI arguments."""

    dataset: str
    seed: int
    keep: str
    extra: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        tail = "".join(a.strip("-").replace("-", "") for a in self.extra)
        return f"{self.dataset}-s{self.seed}-k{self.keep}{'-' + tail if tail else ''}"

    @property
    def label(self) -> str:
        """``--keep-ratio`` text and extra arguments, as a table row names the run."""
        return " ".join((self.keep, *self.extra))


def razor_neuro() -> list[str]:
    """The CLI as the README runs it (the virtual environment's entry point)."""
    exe = Path(sys.executable).with_name("razor-neuro")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "razor_neuro.cli"]


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``razor-neuro ARGS`` with one OpenMP thread, from the repository root, output
    captured; ``check`` raises on a non-zero exit."""
    return subprocess.run([*razor_neuro(), *args], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS="1"), check=check)


def train(job: Job, cache: Path, fresh: bool, nmnist_root: Path,
          base: tuple[str, ...] = ()) -> dict:
    """Train ``job`` with the extra CLI arguments ``base`` (or reuse its cached run);
    returns its metrics."""
    out = cache / job.name
    metrics = out / "metrics.json"
    if fresh and out.exists():
        import shutil
        shutil.rmtree(out)
    if not metrics.exists():
        if out.exists():  # a run cut short: start it again
            import shutil
            shutil.rmtree(out)
        data = ["--data-root", str(nmnist_root)] if job.dataset == "nmnist" else []
        args = ["train", "--dataset", job.dataset, *data, "--seed", str(job.seed),
                "--keep-ratio", job.keep, "--threads", "1", "--quiet", *job.extra, *base,
                "--out", str(out)]
        common.progress(f"train {job.name}")
        done = run_cli(*args, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"razor-neuro {' '.join(args)} failed: "
                               f"{done.stderr.strip()[-400:]}")
    return json.loads(metrics.read_text())


def spread(values: list[float | None], digits: int = 3) -> str:
    """``mean [min–max]``; ``—`` where a run has no value (a precision with nothing pruned)."""
    if any(v is None for v in values):
        return "—"
    return (f"{statistics.fmean(values):.{digits}f} [{min(values):.{digits}f}–"
            f"{max(values):.{digits}f}]")


def frames_text(kept: list[int], frames: int) -> str:
    """Kept frames as ranges (``0, 2–8``), or ``all``."""
    if len(kept) == frames:
        return "all"
    parts, start = [], kept[0]
    for a, b in zip(kept, kept[1:] + [None]):
        if b != a + 1:
            parts.append(str(start) if start == a else f"{start}–{a}")
            start = b
    return ", ".join(parts)


def recipe_table(runs: dict[Job, dict], dataset: str, keeps: list[str], seeds: tuple[int, ...],
                 extra: tuple[str, ...] = ()) -> list[list[str]]:
    """One row per keep ratio: accuracy, precision/recall (synthetic), kept frames per seed,
    minutes."""
    rows = []
    for keep in keeps:
        pairs = [(s, runs[Job(dataset, s, keep, extra)]) for s in seeds
                 if Job(dataset, s, keep, extra) in runs]
        if not pairs:
            continue
        ms = [m for _, m in pairs]
        acc = [m["deploy_accuracy"] for m in ms]
        kept = "; ".join(f"s{s}: {frames_text(m['kept_frames'][0], m['frames'])}"
                         for s, m in pairs)
        row = [Job(dataset, pairs[0][0], keep, extra).label,
               ",".join(str(s) for s, _ in pairs), spread(acc)]
        if dataset == "synthetic":
            row.append(spread([m["pruned_frame_precision"] for m in ms]))
        row += [kept, spread([m["seconds"] / 60 for m in ms], 2)]
        rows.append(row)
    return rows


def export(job: Job, cache: Path) -> Path:
    """``<cache>/<run>.bundle`` of ``job``'s checkpoint (exported once)."""
    bundle = cache / f"{job.name}.bundle"
    if not bundle.exists():
        run_cli("export", str(cache / job.name / "checkpoint.pt"), "--target", "loihi-sim",
                "--out", str(bundle))
    return bundle


def deploy(runs: dict[Job, dict], cache: Path, nmnist_root: Path) -> None:
    """Export seed 0's N-MNIST runs, verify each on every test recording, and report the
    pruned ones against keep 1.0 (module docstring)."""
    keeps = [j for j in runs if j.dataset == "nmnist" and j.seed == 0 and not j.extra]
    bundles = {job.keep: export(job, cache) for job in keeps}
    rows = []
    for keep, bundle in bundles.items():
        common.progress(f"verify {bundle.name} on every test recording")
        done = run_cli("verify", str(bundle), "--samples", "all", "--out",
                       str(cache / f"verify-{keep}"), check=False)
        rows.append([keep, done.returncode, done.stdout.strip().splitlines()[-1]
                     if done.stdout.strip() else done.stderr.strip()[-200:]])
    emit(table(["keep ratio", "exit", "verify (every test recording)"], rows,
               "N-MNIST seed 0: verify on Lava fixed_pt"))
    full = bundles.get("1.0")
    summary = []
    for keep, bundle in bundles.items():
        if keep == "1.0" or full is None:
            continue
        out = cache / f"report-{keep}"
        common.progress(f"report {bundle.name} --compare keep 1.0")
        run_cli("report", str(bundle), "--compare", str(full), "--samples", "all", "--out",
                str(out), "--overwrite")
        data = json.loads((out / "report.json").read_text())
        c = data["comparison"]
        summary.append([keep, f"{c['accuracy_a']:.2f} / {c['accuracy_b']:.2f}",
                        f"{data['totals']['synops']:,.0f}",
                        f"{data['compare']['totals']['synops']:,.0f}",
                        f"{c['synops_ratio_a_over_b']:.3f}",
                        f"{c['output_spikes_ratio_a_over_b']:.3f}",
                        f"{data['total_energy_pj_per_sample'] / 1e3:,.0f}",
                        f"{data['compare']['total_energy_pj_per_sample'] / 1e3:,.0f}",
                        f"{c['energy_ratio_a_over_b']:.3f}", str(out / "figures" / "events.png")])
    emit(table(["keep ratio", "Lava accuracy (pruned / keep 1.0)", "synops/sample",
                "keep 1.0 synops/sample", "synops ratio", "output spikes ratio",
                "energy nJ/sample", "keep 1.0 energy nJ/sample", "energy ratio",
                "events-per-frame figure"], summary,
               "N-MNIST seed 0 on Lava fixed_pt, every test recording: pruned bundles vs keep 1.0 "
               "(razor-neuro report --compare, Loihi 1 profile)"))


def synops_by_seed(runs: dict[Job, dict], cache: Path) -> None:
    """Every seed's pruned N-MNIST runs against the same seed's keep 1.0: ``report
    --compare --source reference`` over the whole test split (the verified torch reference,
    licensed by Lava on its first 2 recordings), synaptic operations per sample."""
    rows = []
    for job in sorted((j for j in runs if j.dataset == "nmnist" and j.keep != "1.0"),
                      key=lambda j: (j.keep, j.extra, j.seed)):
        full = Job("nmnist", job.seed, "1.0")
        if full not in runs:
            continue
        out = cache / f"refreport-{job.name}"
        common.progress(f"report {job.name} --compare keep 1.0 (reference)")
        run_cli("report", str(export(job, cache)), "--compare", str(export(full, cache)),
                "--samples", "all", "--source", "reference", "--verify-samples", "2", "--out",
                str(out), "--overwrite")
        data = json.loads((out / "report.json").read_text())
        c = data["comparison"]
        rows.append([job.label, job.seed,
                     f"{c['accuracy_a']:.2f} / {c['accuracy_b']:.2f}",
                     f"{data['totals']['synops']:,.0f}",
                     f"{data['compare']['totals']['synops']:,.0f}",
                     f"{100 * (1 - c['synops_ratio_a_over_b']):.1f} %"])
    emit(table(["keep ratio", "seed", "accuracy (pruned / keep 1.0)", "synops/sample",
                "keep 1.0 synops/sample", "fewer synops than keep 1.0"], rows,
               "N-MNIST, every seed, every test recording: pruned runs vs the same seed's keep "
               "1.0 (razor-neuro report --compare --source reference, licensed by Lava on 2 "
               "recordings)"))


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0], repeats=1)
    p.add_argument("--nmnist-root", type=Path, default=ROOT.parent / "shared" / "external" /
                   "nmnist-small", help="folder holding NMNISTsmall/ (default: "
                   "../shared/external/nmnist-small)")
    p.add_argument("--datasets", default="synthetic,nmnist", help="comma-separated")
    p.add_argument("--deploy", action="store_true",
                   help="also export, verify and report seed 0's N-MNIST bundles")
    p.add_argument("--jobs", type=int, default=2, help="trainings at once (default 2)")
    p.add_argument("--seeds", default=None,
                   help="comma-separated: train only these seeds (tables show what is cached)")
    args = common.parse(p, argv)
    common.header("8. Training recipes over seeds (synthetic default, N-MNIST)", args)
    datasets = args.datasets.split(",")
    jobs: list[Job] = []
    if "synthetic" in datasets:
        seeds = (0,) if args.smoke else SYNTHETIC_SEEDS
        jobs += [Job("synthetic", s, k) for k in ("1.0", "0.5") for s in seeds]
        jobs += [Job("synthetic", s, "0.5", PROBE_EVERY_BATCH) for s in seeds if s <= 5]
    if "nmnist" in datasets:
        seeds = (0,) if args.smoke else NMNIST_SEEDS
        jobs += [Job("nmnist", s, k) for k in ("1.0", "0.5") for s in seeds]
        jobs += [Job("nmnist", 0, "0.25"), Job("nmnist", 0, "0.5,0.5,0.5")]
        jobs += [Job("nmnist", s, "0.5", PROBE_ONE_IN_8) for s in seeds]
        jobs += [Job("nmnist", s, "0.5", (*PROBE_ONE_IN_8, "--event-cost", c))
                 for c in EVENT_COSTS for s in seeds]
    todo = jobs
    if args.seeds is not None:
        only = {int(v) for v in args.seeds.split(",")}
        todo = [j for j in jobs if j.seed in only]
    base = ("--epochs", "1") if args.smoke else ()  # smoke: one epoch per run
    cache = args.cache_dir / ("recipes-smoke" if args.smoke else "recipes")
    cache.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(lambda j: train(j, cache, args.fresh, args.nmnist_root, base), todo))
    # every run in the cache, also those another --seeds share trained
    runs = {j: json.loads((cache / j.name / "metrics.json").read_text()) for j in jobs
            if (cache / j.name / "metrics.json").exists()}
    for dataset, seeds in (("synthetic", SYNTHETIC_SEEDS), ("nmnist", NMNIST_SEEDS)):
        if dataset not in datasets:
            continue
        keeps = list(dict.fromkeys(j.keep for j in jobs if j.dataset == dataset))
        headers = ["keep ratio", "seeds", "deploy accuracy mean [min–max]"]
        if dataset == "synthetic":
            headers.append("pruned-frame precision")
        headers += ["kept input frames", "training minutes mean [min–max]"]
        rows = recipe_table(runs, dataset, keeps, seeds)
        # then the variants with extra arguments, in the order the jobs list them
        for keep, extra in dict.fromkeys((j.keep, j.extra) for j in jobs
                                         if j.dataset == dataset and j.extra):
            rows += recipe_table(runs, dataset, [keep], seeds, extra)
        emit(table(headers, rows, f"{dataset}: deploy accuracy over seeds, as trained by "
                                  "`razor-neuro train` (its recipe)",
                   ["Training minutes: each run's wall time, one thread, with --jobs runs at "
                    "once and whatever else the machine was running (as the load average "
                    f"says): {common.machine()}."]))
    if args.deploy and "nmnist" in datasets and not args.smoke:
        deploy(runs, cache, args.nmnist_root)
        synops_by_seed(runs, cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())

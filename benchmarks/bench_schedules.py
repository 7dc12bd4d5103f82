"""Benchmark 9: what a schedule saves on hardware — prune modes (gate, skip) and schedules
(Razor's learned one against the obvious ones) at equal keep ratio, trained, exported,
verified and reported as a user does it.

Every run is ``razor-neuro train --dataset D --seed S --keep-ratio R --prune-mode M
[--schedule NAME] --threads 1 --quiet`` (the dataset's preset and recipe), ``--jobs`` at a
time, cached as in benchmark 8 (``bench_recipes.py``: same cache layout, ``--fresh``
retrains).  Each run is then

* exported (``razor-neuro export --target loihi-sim``),
* verified on every test sample (``razor-neuro verify --samples all --state``: spikes and
  states, Lava ``fixed_pt`` against the reference; the table shows the mismatches, 0
  required),
* and reported against the same seed's keep-1.0 run (``razor-neuro report --compare
  --samples all --source reference --verify-samples 8``: the reference's counts, which the
  verify step has just shown equal to Lava's on every sample; Loihi 1 profile).

The keep-1.0 reference run of every seed is trained in ``gate`` mode (nothing is pruned,
so only N-MNIST's frame dropout differs between the modes there).  Table per dataset: one
row per keep ratio, mode and schedule, with deploy accuracy (Lava, every test sample) mean
[min–max] over the seeds, pruned-frame precision (synthetic), time steps, synaptic
operations, neuron updates and energy per sample (means over the seeds), the ratios of
each to the same seed's keep-1.0 run (mean [min–max]) and the verify mismatches summed
over the seeds.  A ``rebin`` row (``--schedules rebin``) runs k = keep x T time steps on the
same recordings binned into k frames, nothing pruned (no precision, ``—``); its report
measures the keep-1.0 run on its own T-frame binning of the same test recordings.
With ``--sanafe-samples N`` each row and its keep-1.0 run also go through SANA-FE's Loihi
model over the first N test samples (``razor-neuro report --hw-model sanafe --compare``,
cached in ``<cache>/<run>.sanafe.json``): the calibrated model's energy and latency ratios
to keep 1.0 and its spike mismatches beside the counts x constants figures.
A second table per dataset sets Razor's learned schedule against each baseline of the same
keep ratio and mode seed by seed: wins / ties / losses in deploy accuracy, the difference
and the seeds Razor loses (the question issue #23 asks, answered by the command).
Standalone (not part of ``run_all.py``).
"""
from __future__ import annotations

import json
import shutil
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from bench_recipes import Job, export, run_cli, spread, train  # noqa: E402
from common import emit, table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = {"synthetic": (0, 1, 2, 3, 4, 5), "nmnist": (0, 1, 2)}


def job(dataset: str, seed: int, keep: str, mode: str = "gate", schedule: str = "razor",
        readout: str = "0", more: tuple[str, ...] = ()) -> Job:
    """The run of one table cell (``more``: further train arguments); keep 1.0 with no
    further argument is the gate-mode, learned-schedule run every row is compared with."""
    if keep == "1.0" and not more:
        return Job(dataset, seed, keep)
    extra = ("--prune-mode", mode) + (("--schedule", schedule) if schedule != "razor" else ()) \
        + (("--readout-steps", readout) if readout != "0" else ()) + more
    return Job(dataset, seed, keep, extra)


def deploy(run: Job, full: Job, cache: Path) -> dict:
    """Export, verify (every test sample, states too) and report ``run`` against ``full``;
    returns the row's numbers (cached in ``<cache>/<run>.deploy.json``)."""
    done = cache / f"{run.name}.deploy.json"
    if done.exists():
        return json.loads(done.read_text())
    bundle, base = export(run, cache), export(full, cache)
    common.progress(f"verify {bundle.name} on every test sample")
    out = cache / f"{run.name}.verify"
    shutil.rmtree(out, ignore_errors=True)
    v = run_cli("verify", str(bundle), "--samples", "all", "--state", "--out", str(out),
                check=False)
    if v.returncode not in (0, 1):
        raise RuntimeError(f"verify {bundle}: {v.stderr.strip()[-300:]}")
    verify = json.loads((out / "verify.json").read_text())
    common.progress(f"report {bundle.name} --compare {base.name}")
    rep = cache / f"{run.name}.report"
    run_cli("report", str(bundle), "--compare", str(base), "--samples", "all", "--source",
            "reference", "--verify-samples", "8", "--out", str(rep), "--overwrite")
    data = json.loads((rep / "report.json").read_text())
    t, c = data["totals"], data["comparison"]
    row = {"accuracy": verify["lava_accuracy"], "steps": t["time_steps"],
           "synops": t["synops"], "neuron_updates": t["neuron_updates"],
           "energy_nj": data["total_energy_pj_per_sample"] / 1e3,
           "steps_ratio": c["time_steps_ratio_a_over_b"], "synops_ratio": c["synops_ratio_a_over_b"],
           "neuron_updates_ratio": c["neuron_updates_ratio_a_over_b"],
           "energy_ratio": c["energy_ratio_a_over_b"],
           "mismatches": verify["mismatches"] + verify.get("state_mismatches", 0)}
    done.write_text(json.dumps(row))
    return row


def extra_cells(text: str) -> list[tuple]:
    """The cells of ``--extra-cells``: comma-separated ``KEEP:MODE:SCHEDULE[:READOUT[:COST_RULE
    [:EPOCHS[:FRAMES[:SYNOPS_COST]]]]]``, each ``(keep, mode, schedule, readout, further train
    arguments)``; a missing or empty field is the default (``readout`` "0", no argument).
    ``FRAMES`` is ``train --frames`` (the keep ratio is then a share of those),
    ``SYNOPS_COST`` is ``train --synops-cost`` (a keep-1.0 cell with it is a row of its own,
    compared like the others with the plain keep-1.0 run)."""
    cells = []
    for c in filter(None, text.split(",")):
        parts = c.split(":")
        keep, mode, schedule = parts[:3]
        readout, rule, epochs, frames, synops = (parts[3:8] + [""] * 5)[:5]
        cells.append((keep, mode, schedule, readout or "0",
                      (("--cost-rule", rule) if rule else ())
                      + (("--frames", frames) if frames else ())
                      + (("--epochs", epochs) if epochs else ())
                      + (("--synops-cost", synops) if synops else ())))
    return cells


def hardware(run: Job, full: Job, cache: Path, samples: int, measure: bool) -> dict | None:
    """SANA-FE's energy and latency of ``run`` against ``full`` over the first ``samples``
    test samples (``razor-neuro report --hw-model sanafe --compare``), cached in
    ``<cache>/<run>.sanafe.json``; ``None`` where it is not cached and ``measure`` is
    false (``--table-only``)."""
    done = cache / f"{run.name}.sanafe.json"
    if done.exists():
        row = json.loads(done.read_text())
        if not measure or row["samples"] == samples:
            return row
    if not measure:
        return None
    bundle, base = export(run, cache), export(full, cache)
    common.progress(f"report {bundle.name} --compare {base.name} --hw-model sanafe")
    out = cache / f"{run.name}.sanafe"
    run_cli("report", str(bundle), "--compare", str(base), "--samples", str(samples),
            "--source", "reference", "--verify-samples", str(min(8, samples)),
            "--hw-model", "sanafe", "--out", str(out), "--overwrite")
    hw = json.loads((out / "report.json").read_text())["hardware_model"]
    mine, theirs = hw["with_schedule"], hw["compare"]
    row = {"samples": samples,
           "energy_ratio": mine["energy_pj_per_sample"] / theirs["energy_pj_per_sample"],
           "latency_ratio": mine["latency_s_per_sample"] / theirs["latency_s_per_sample"],
           "spike_mismatches": hw["spike_mismatches"]}
    done.write_text(json.dumps(row))
    return row


def mean(values: list[float]) -> str:
    return common.num(statistics.fmean(values))


def mode_text(cell: tuple) -> str:
    """A cell's mode as a table row names it: ``skip + 3 readout --cost-rule relative``."""
    _, mode, _, readout, more = cell
    return mode + (f" + {readout} readout" if readout != "0" else "") + "".join(
        f" {v}" for v in more)


def duels(dataset: str, cells: list[tuple], seeds: tuple[int, ...],
          deployed: dict) -> list[list[str]]:
    """Razor's learned schedule against each baseline cell of the same keep ratio, mode,
    readout steps and train arguments, seed by seed over the seeds both have deployed: one
    row per baseline with Razor's wins / ties / losses in deploy accuracy, the difference
    Razor − baseline (mean [min–max]) and the seeds Razor loses. A baseline without its
    Razor cell is left out."""
    rows = []
    for cell in cells:
        keep, mode, schedule, readout, more = cell
        if schedule == "razor":
            continue
        razor = (keep, mode, "razor", readout, more)
        both = [s for s in seeds
                if job(dataset, s, *cell) in deployed and job(dataset, s, *razor) in deployed]
        if not both:
            continue
        diff = {s: round(deployed[job(dataset, s, *razor)]["accuracy"]
                         - deployed[job(dataset, s, *cell)]["accuracy"], 9) for s in both}
        lost = [s for s in both if diff[s] < 0]
        wins = sum(d > 0 for d in diff.values())
        rows.append([keep, mode_text(cell), schedule, ",".join(map(str, both)),
                     f"{wins} / {len(both) - wins - len(lost)} / {len(lost)}",
                     spread(list(diff.values())), ",".join(map(str, lost)) or "none"])
    return rows


def rows_for(dataset: str, cells: list[tuple], seeds: tuple[int, ...],
             runs: dict, deployed: dict, hw: dict) -> list[list[str]]:
    """One row per (keep, mode, schedule, readout steps): the given seeds that are trained
    and deployed; SANA-FE's ratios (``hw``) over those of them that have them."""
    rows = []
    every = seeds
    for cell in cells:
        seeds = [s for s in every if job(dataset, s, *cell) in deployed]
        if not seeds:
            continue
        ms = [runs[job(dataset, s, *cell)] for s in seeds]
        ds = [deployed[job(dataset, s, *cell)] for s in seeds]
        keep, _, schedule = cell[:3]
        row = [keep, mode_text(cell), schedule, ",".join(map(str, seeds)),
               spread([d["accuracy"] for d in ds])]
        if dataset == "synthetic":
            row.append(spread([m.get("pruned_frame_precision") for m in ms]))
        row += [mean([d[k] for d in ds]) for k in ("steps", "synops", "neuron_updates",
                                                     "energy_nj")]
        row += [spread([d[k] for d in ds]) for k in ("steps_ratio", "synops_ratio",
                                                      "neuron_updates_ratio", "energy_ratio")]
        row.append(str(sum(d["mismatches"] for d in ds)))
        found = {s: hw.get(job(dataset, s, *cell)) for s in seeds}
        measured = [s for s in seeds if found[s]]
        hs = [found[s] for s in measured]
        which = "" if measured == seeds else f" (seeds {','.join(map(str, measured))})"
        row += ([spread([h[k] for h in hs]) + which for k in ("energy_ratio", "latency_ratio")]
                + [str(sum(h["spike_mismatches"] for h in hs))] if hs else ["—"] * 3)
        rows.append(row)
    return rows


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0], repeats=1)
    p.add_argument("--nmnist-root", type=Path, default=ROOT.parent / "shared" / "external" /
                   "nmnist-small", help="folder holding NMNISTsmall/")
    p.add_argument("--datasets", default="synthetic,nmnist", help="comma-separated")
    p.add_argument("--keeps", default="0.5,0.25", help="comma-separated keep ratios of the "
                   "grid ('': no grid, only --extra-cells)")
    p.add_argument("--modes", default="gate,skip", help="comma-separated prune modes")
    p.add_argument("--schedules", default="razor", help="comma-separated schedule names")
    p.add_argument("--readouts", default="0", help="comma-separated readout steps of the "
                   "skip-mode rows (train --readout-steps)")
    p.add_argument("--extra-cells", default="", help="more KEEP:MODE:SCHEDULE[:READOUT["
                   ":COST_RULE[:EPOCHS[:FRAMES[:SYNOPS_COST]]]]] rows, comma-separated, an "
                   "empty field for the default (e.g. 0.5:skip:first:3:relative, "
                   "0.5:skip:razor:0::60, 0.8333:skip:razor:0:::12, 1.0:gate:razor:0::::0.01)")
    p.add_argument("--table-only", action="store_true", help="train and deploy nothing: the "
                   "table of the runs already in the cache")
    p.add_argument("--train-args", default="", help="further train arguments of every grid "
                   "row, space-separated (e.g. '--cost-rule relative'; not of the plain "
                   "keep-1.0 run every row is compared with)")
    p.add_argument("--seeds", default=None, help="comma-separated (default: per dataset)")
    p.add_argument("--jobs", type=int, default=2, help="trainings at once (default 2)")
    p.add_argument("--sanafe-samples", type=int, default=0, metavar="N",
                   help="also run SANA-FE's Loihi model on each row and its keep-1.0 run over "
                        "the first N test samples (report --hw-model sanafe; needs the hw "
                        "extra; default 0: not run, cached figures still shown)")
    args = common.parse(p, argv)
    common.header("9. Prune modes and schedules: what a schedule saves", args)
    base = ("--epochs", "1") if args.smoke else ()
    cache = args.cache_dir / ("recipes-smoke" if args.smoke else "recipes")
    cache.mkdir(parents=True, exist_ok=True)
    cells = [(k, m, s, r) for k in filter(None, args.keeps.split(","))
             for m in args.modes.split(",")
             for s in args.schedules.split(",")
             for r in (args.readouts.split(",") if m == "skip" else ["0"])]
    more = tuple(args.train_args.split())
    cells = [cell + (more,) for cell in cells]
    cells += extra_cells(args.extra_cells)
    datasets = args.datasets.split(",")
    seeds = {d: ((0,) if args.smoke else tuple(int(v) for v in args.seeds.split(","))
                 if args.seeds else SEEDS[d]) for d in datasets}
    # every seed's keep-1.0 run first: each row is reported against it
    todo = [job(d, s, "1.0") for d in datasets for s in seeds[d]]
    # the oracle needs a data set that knows its informative frames (synthetic only)
    todo += [job(d, s, *cell) for cell in cells for d in datasets for s in seeds[d]
             if not (cell[2] == "oracle" and d != "synthetic")]
    runs, deployed, hw = {}, {}, {}

    def one(j: Job) -> None:
        full = job(j.dataset, j.seed, "1.0")  # the run every row is compared with
        done = f"{j.name}/metrics.json" if j == full else f"{j.name}.deploy.json"
        if args.table_only and not (cache / done).exists():
            return
        runs[j] = train(j, cache, args.fresh, args.nmnist_root, base)
        if j != full:
            deployed[j] = deploy(j, full, cache)
            hw[j] = hardware(j, full, cache, args.sanafe_samples,
                             args.sanafe_samples > 0 and not args.table_only)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(one, todo))
    for d in datasets:
        headers = ["keep", "mode", "schedule", "seeds", "accuracy mean [min–max]"]
        if d == "synthetic":
            headers.append("pruned-frame precision")
        headers += ["steps/sample", "synops/sample", "neuron updates/sample", "energy nJ/sample",
                    "steps vs keep 1.0", "synops vs keep 1.0", "neuron updates vs keep 1.0",
                    "energy vs keep 1.0", "verify mismatches (spikes + states)",
                    "SANA-FE energy vs keep 1.0", "SANA-FE latency vs keep 1.0",
                    "SANA-FE spike mismatches"]
        counts = sorted({h["samples"] for j, h in hw.items() if h and j.dataset == d})
        emit(table(headers, rows_for(d, cells, seeds[d], runs, deployed, hw),
                   f"{d}: prune modes and schedules against the same seed's keep-1.0 run "
                   "(every test sample; Loihi 1 profile)",
                   ["Accuracy: Lava fixed_pt on every test sample (razor-neuro verify). Counts "
                    "and energy: razor-neuro report --compare --source reference, whose "
                    "reference equals Lava spike for spike on every sample (the verify "
                    "column). SANA-FE (Loihi architecture, report --hw-model sanafe "
                    "--compare, replaying the reference's spikes): the first "
                    f"{' or '.join(map(str, counts)) or 'N'} test samples, the seeds named where "
                    f"not every seed of the row was run, — where none was. {common.machine()}."]))
        emit(table(["keep", "mode", "baseline", "seeds", "Razor wins / ties / losses",
                    "Razor − baseline accuracy mean [min–max]", "seeds Razor loses"],
                   duels(d, cells, seeds[d], deployed),
                   f"{d}: Razor against each baseline at equal keep ratio and mode, seed by "
                   "seed (deploy accuracy, Lava, every test sample)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark scripts run (``--smoke``: tiny sizes) and print their tables.

No timing is asserted: only that each script exits 0 and prints its table headers and
ratio lines.  To keep the suite short the scripts run side by side in two waves;
``bench_schedule.py`` (first wave) trains the tiny cached bundles the second wave reuses.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
pytestmark = pytest.mark.slow   # five benchmark scripts: they train and run Lava
#: run side by side in two waves: the first trains the cached bundles the second reuses
WAVES = [["bench_schedule.py", "bench_training.py", "bench_concurrent.py"],
         ["bench_reference_vs_lava.py", "bench_streaming.py", "bench_scaling.py"]]


def _cmd(script: str, cache: Path) -> list[str]:
    return [sys.executable, str(BENCH / script), "--smoke", "--device", "cpu",
            "--cache-dir", str(cache)]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess]:
    cache = tmp_path_factory.mktemp("bench-cache")
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    results = {}
    for wave in WAVES:
        procs = {s: subprocess.Popen(_cmd(s, cache), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for s in wave}
        for script, proc in procs.items():
            out, err = proc.communicate(timeout=600)
            results[script] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return results


def _ok(outputs: dict, script: str) -> str:
    res = outputs[script]
    assert res.returncode == 0, f"{script} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    assert "SMOKE RUN" in res.stdout
    return res.stdout


def test_reference_vs_lava(outputs: dict) -> None:
    out = _ok(outputs, "bench_reference_vs_lava.py")
    assert "#### Reference vs. Lava fixed_pt" in out
    assert "| network | samples × steps | Lava s/run | Lava samples/s |" in out
    assert "speed-up (reference vs Lava)" in out and "mismatches / spikes compared" in out
    assert "- synthetic demo bundle (keep 0.5, gated): median speed-up" in out
    assert "agrees spike for spike" in out  # correctness, not speed
    assert "Where the reference's time goes" in out and "Where Lava's time goes" in out
    # one CLI verify in a fresh process: verify.json's set-up and simulation seconds
    assert "One `razor-neuro verify BUNDLE` in a fresh process: 4 samples, 0 mismatches" in out
    assert "| side | set-up s | simulation s | total s |" in out
    assert "Simulation speed-up (`seconds.speedup`, Lava simulation / reference simulation)" in out


def test_streaming(outputs: dict) -> None:
    out = _ok(outputs, "bench_streaming.py")
    assert "#### Per-sample cost" in out
    assert "| one run per sample |" in out
    assert "- One run per sample costs" in out
    assert "0 mismatches" in out  # a stream with resets computes what separate runs compute
    assert "Where a run's time goes" in out and "cProfile of a one-sample run" in out


def test_schedule(outputs: dict) -> None:
    out = _ok(outputs, "bench_schedule.py")
    assert "#### Schedule savings on the synthetic dataset" in out
    assert "| keep ratio | kept frames per gated layer |" in out
    assert "synaptic ops per sample" in out and "Loihi 1 energy µJ per sample" in out
    assert "| 1.00 |" in out and "| 0.50 |" in out


def test_training(outputs: dict) -> None:
    out = _ok(outputs, "bench_training.py")
    assert "#### Training step" in out
    assert "| variant | ms per step | samples/s | vs razor EPM off |" in out
    for name in ("razor, EPM on, full training step", "razor, EPM off (slayer blocks)",
                 "slayer blocks, slayer's CPU loop", "snntorch twin, per-step loop"):
        assert f"| {name} |" in out
    assert "- EPM on vs off:" in out and "- slayer vs snntorch:" in out
    assert "- The compiled leaky integrator:" in out
    assert "#### Forward agreement of the twin with slayer" in out


def test_scaling(outputs: dict) -> None:
    out = _ok(outputs, "bench_scaling.py")
    assert "#### Scaling with T" in out and "#### Scaling with layer width" in out
    assert out.count("speed-up") >= 2


def _bench_module(name: str) -> ModuleType:
    """The benchmark script ``benchmarks/<name>.py`` imported as a module."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


def test_run_all_writes_readme_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_all = _bench_module("run_all")
    readme = tmp_path / "README.md"
    readme.write_text(f"# B\n\nintro\n\n{run_all.BEGIN}\nold\n{run_all.END}\n\nafter\n")
    monkeypatch.setattr(run_all, "README", readme)
    run_all.write_readme("new table\n")
    assert readme.read_text() == (f"# B\n\nintro\n\n{run_all.BEGIN}\nnew table\n{run_all.END}"
                                  f"\n\nafter\n")


def test_presets_smoke(tmp_path: Path) -> None:
    """bench_presets.py (standalone): the synthetic preset exported, run on Lava and on the
    reference, with its counts and 0 mismatches in the table."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    res = subprocess.run(_cmd("bench_presets.py", tmp_path), cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    row = next(line for line in res.stdout.splitlines() if line.startswith("| synthetic |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:5] == ["4", "3,142", "176,512"] and cells[-1] == "0"


def test_recipes_smoke(tmp_path: Path) -> None:
    """bench_recipes.py (standalone): synthetic seed 0 trained through the CLI at keep 1.0
    and 0.5 (and 0.5 probing every batch), one epoch each, in its table."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    res = subprocess.run(_cmd("bench_recipes.py", tmp_path) + ["--datasets", "synthetic"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "#### synthetic: deploy accuracy over seeds" in res.stdout
    for keep in ("1.0", "0.5", "0.5 --probe-every 1"):
        assert f"| {keep} | 0 | " in res.stdout, keep
    metrics = tmp_path / "recipes-smoke" / "synthetic-s0-k0.5" / "metrics.json"
    assert metrics.is_file() and '"epochs": 1' in metrics.read_text()


def test_concurrent(outputs: dict) -> None:
    out = _ok(outputs, "bench_concurrent.py")
    assert "#### Two synthetic trainings" in out
    assert "| variant | back to back, s | together, s | together / back to back |" in out
    assert "- default: together / back to back = " in out  # --smoke: the default alone


def test_sanafe_smoke(tmp_path: Path) -> None:
    """bench_sanafe.py (standalone): SANA-FE and Lava on the same smoke samples, 0 spike
    mismatches and a ratio in the table."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    res = subprocess.run([*_cmd("bench_sanafe.py", tmp_path), "--preset", "synthetic"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    row = next(line for line in res.stdout.splitlines() if line.startswith("| smoke-"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "4" and float(cells[4].split()[0]) > 0 and cells[-1] == "0"
    row = next(line for line in res.stdout.splitlines() if line.startswith("| synthetic |"))
    cells = [c.strip() for c in row.strip("|").split("|")]  # the preset: 3,142 neurons
    assert cells[1] == "3,142" and int(cells[2]) >= 4 and cells[-1] == "0"


def test_schedules_extra_cells() -> None:
    """bench_schedules.py's ``--extra-cells``: a missing or empty field is its default, so a
    row with readout steps and no cost rule names the runs the main grid trains."""
    schedules = _bench_module("bench_schedules")
    extra_cells, job = schedules.extra_cells, schedules.job
    assert extra_cells("0.5:gate:first,0.5:skip:razor:3,0.5:skip:first:3:relative,"
                       "0.5:skip:razor:0::60") == [
        ("0.5", "gate", "first", "0", ()), ("0.5", "skip", "razor", "3", ()),
        ("0.5", "skip", "first", "3", ("--cost-rule", "relative")),
        ("0.5", "skip", "razor", "0", ("--epochs", "60"))]
    assert (job("nmnist", 0, *extra_cells("0.5:skip:razor:3::60")[0]).name
            == job("nmnist", 0, "0.5", "skip", "razor", "3", ("--epochs", "60")).name
            == "nmnist-s0-k0.5-prunemodeskipreadoutsteps3epochs60")
    assert extra_cells("0.8333:skip:razor:0:::12,0.8333:skip:first::relative:60:12") == [
        ("0.8333", "skip", "razor", "0", ("--frames", "12")),
        ("0.8333", "skip", "first", "0", ("--cost-rule", "relative", "--frames", "12",
                                          "--epochs", "60"))]
    # SYNOPS_COST, the 8th field; a keep-1.0 cell with it is its own run, not the baseline
    cell = extra_cells("1.0:gate:razor:0::::2")[0]
    assert cell == ("1.0", "gate", "razor", "0", ("--synops-cost", "2"))
    assert job("nmnist", 0, *cell).name == "nmnist-s0-k1.0-prunemodegatesynopscost2"
    assert job("nmnist", 0, "1.0").name == "nmnist-s0-k1.0"


def test_schedules_duels() -> None:
    """bench_schedules.py's per-seed table: each baseline against the Razor cell of its own
    keep ratio, mode, readout steps and train arguments, over the seeds both have, with
    wins / ties / losses and the seeds Razor loses; a baseline without its Razor cell is
    left out."""
    schedules = _bench_module("bench_schedules")
    job, duels = schedules.job, schedules.duels
    rel = ("--cost-rule", "relative")
    cells = [("0.5", "skip", "razor", "3", rel), ("0.5", "skip", "first", "3", rel),
             ("0.5", "skip", "razor", "3", ()), ("0.5", "gate", "oracle", "0", ())]
    acc = {("razor", rel, 0): 0.99, ("razor", rel, 1): 0.90, ("razor", rel, 2): 0.95,
           ("first", rel, 0): 0.95, ("first", rel, 1): 0.92, ("first", rel, 2): 0.95,
           ("razor", (), 0): 0.10, ("razor", (), 1): 0.10, ("oracle", (), 0): 1.0}
    deployed = {job("synthetic", s, "0.5", "skip" if sch != "oracle" else "gate", sch,
                    "3" if sch != "oracle" else "0", more): {"accuracy": a}
                for (sch, more, s), a in acc.items()}
    # seed 3 has a baseline run but no Razor run: not compared
    deployed[job("synthetic", 3, "0.5", "skip", "first", "3", rel)] = {"accuracy": 0.0}
    assert duels("synthetic", cells, (0, 1, 2, 3), deployed) == [
        ["0.5", "skip + 3 readout --cost-rule relative", "first", "0,1,2", "1 / 1 / 1",
         "0.007 [-0.020–0.040]", "1"]]

"""Benchmark 6: what each model preset costs to deploy, before a user runs a whole test set.

For every preset (``razor_neuro.presets.PRESETS``) the network is built (slayer's
initialisation, seed 0: untrained weights), exported with ``export_hdf5`` as a bundle's
``network.net`` is, read back, and run on N random input samples (each input bit on with
probability 0.05) through the Lava graph (``fixed_pt``, the samples streamed with resets)
and through the reference (after one untimed sample: its compiled kernels load on first
use); the table gives neurons, synapses, seconds per sample of each (Lava's include its
fixed cost per run, shared by the N samples) and the spike mismatches between the two.  Standalone (not part of ``run_all.py``).

``--trained`` (issue #11): each preset is instead trained briefly, as a user does, on files
in its dataset's on-disk format, exported and verified through the CLI, one subprocess per
step: ``razor-neuro train --dataset NAME --data-root ROOT --epochs 1 --batch-size 2
--keep-ratio 1.0 --threads 1 --quiet``, ``razor-neuro export CHECKPOINT --target loihi-sim``
and ``razor-neuro verify BUNDLE --samples N`` (N = ``--samples``, or the test split's size
if smaller).  The dataset files are written into a temporary directory by the test suite's
writers (``tests/test_loaders.py``: ``write_dvsgesture``, ``write_ncaltech``,
``write_cifar10dvs``, ``write_shd``; ``tests/test_nmnist.py``: ``write_subset``), with
recordings of 3000 random events added in the same formats (or, for SHD, written over the
second test sample) so that each test split holds two samples, one of them dense (the
table's notes say what each preset got); ``synthetic`` needs no files and trains on
``--synthetic-samples 16``.  The mismatches are ``verify.json``'s; since
``verify.json`` holds only each side's total wall time (its reference time includes the
kernels' first load), the bundle's network is also timed in this process as in the untrained
mode (``load_bundle``, ``load_test_samples``, ``LavaGraph`` with the bundle's gates, the
reference after one untimed sample).  A step that fails (a memory limit, an error) is
reported in its preset's row with its exit status, its last error line and its peak
resident memory, never skipped.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
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
    p.add_argument("--samples", type=int, default=2, help="samples per preset (random; with --trained, the test split's first)")
    p.add_argument("--presets", default=None,
                   help="comma-separated presets (default all; synthetic with --smoke)")
    p.add_argument("--trained", action="store_true",
                   help="train each preset 1 epoch on files in its dataset's on-disk format "
                        "and export and verify it through the CLI (instead of untrained weights)")
    p.add_argument("--step-timeout", type=float, default=3600.0,
                   help="--trained: seconds each CLI step may run before it is reported as "
                        "timed out (default 3600)")
    args = common.parse(p, argv)
    common.header("6. Presets: neurons, synapses, Lava and reference seconds per sample", args)
    if args.trained:
        return trained(args)

    import numpy as np

    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.backend import Deployment, ReferenceSim, check_spikes
    from razor_neuro.presets import PRESETS

    names = args.presets.split(",") if args.presets else (
        ["synthetic"] if args.smoke else list(PRESETS))
    rows = []
    with tempfile.TemporaryDirectory(prefix="razor-presets-") as tmp:
        for name in names:
            network, cfg = common.preset_network(name, Path(tmp))
            rng = np.random.RandomState(0)
            x = (rng.rand(args.samples, *network.input_shape, cfg.frames) < 0.05).astype(np.uint8)
            common.progress(f"{name}: Lava")
            graph = LavaGraph(network, cfg.frames)
            t0 = time.perf_counter()
            lava = graph.run(x)
            lava_s = time.perf_counter() - t0
            sim = ReferenceSim("fixed_pt", args.device)
            sim.run(Deployment(network, x[:1], cfg.frames, {}))  # warm: kernels load
            ref = sim.run(Deployment(network, x, cfg.frames, {}))
            ref_s = ref.seconds
            mismatches = sum(c.mismatches for c in check_spikes(
                graph.names, lava.outputs, ref.outputs))
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


# ------------------------------------------------------------------------- --trained

#: the test suite's writers of each dataset's on-disk format live here
TESTS = Path(__file__).resolve().parents[1] / "tests"
#: events of the denser recording added where a writer's test split holds one
DENSE_EVENTS = 3000


def _writers():
    """The dataset writers of the test suite (importing the test modules pulls pytest, which
    the virtualenv holds)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import test_loaders
    import test_nmnist
    return test_loaders, test_nmnist


def write_dataset(name: str, root: Path) -> str:
    """Write a tiny dataset ``name`` in its on-disk format under ``root`` with the test
    suite's writers; returns what was written (for the table's notes)."""
    import numpy as np
    tl, tn = _writers()
    rng = np.random.RandomState(0)

    def atis(width: int, height: int, span_us: int) -> bytes:
        t = np.sort(rng.randint(0, span_us, DENSE_EVENTS))
        return tl.atis_bytes([(int(rng.randint(width)), int(rng.randint(height)),
                               int(rng.randint(2)), int(v)) for v in t])

    if name == "dvs_gesture":
        tl.write_dvsgesture(root)  # train: 2 recordings, test: 1
        folder = root / "DVSGesture" / "ibmGestureTest" / "user25_natural"
        folder.mkdir(parents=True)
        t = np.sort(rng.randint(0, 6000, DENSE_EVENTS))  # x, y, p, t[ms], as the writer's
        np.save(folder / "4.npy", np.stack([rng.randint(0, 128, DENSE_EVENTS),
                                            rng.randint(0, 128, DENSE_EVENTS),
                                            rng.randint(0, 2, DENSE_EVENTS), t], 1).astype(np.int64))
        return "write_dvsgesture (2 train, 1 test) + 1 dense test recording"
    if name == "ncaltech101":
        tl.write_ncaltech(root, n_accordion=10)  # every 10th per class is test: 1 accordion
        folder = root / "NCALTECH101" / "Caltech101" / "airplanes"
        for k in range(2, 11):  # airplanes 2..10: the 10th is the second test recording
            (folder / f"image_{k:04d}.bin").write_bytes(atis(240, 180, 300_000))
        return "write_ncaltech(n_accordion=10) + 9 dense airplanes (18 train, 2 test)"
    if name == "cifar10_dvs":
        tl.write_cifar10dvs(root)  # 10 cat (the 10th is test), 1 dog
        for i in range(1, 10):  # dogs 1..9: the 10th dog is the second test recording
            t = np.sort(rng.randint(0, 1_000_000, DENSE_EVENTS))
            events = [(int(v), int(rng.randint(128)), int(rng.randint(128)), bool(rng.randint(2)))
                      for v in t]
            (root / "CIFAR10DVS" / "dog" / f"cifar10_dog_{i}.aedat4").write_bytes(
                tl.aedat4_bytes(events))
        return "write_cifar10dvs + 9 dense dogs (18 train, 2 test)"
    if name == "shd":
        import h5py
        tl.write_shd(root)
        test = tl.write_shd(root, "shd_test.h5")
        with h5py.File(test, "r+") as f:  # the second test sample: dense spikes instead
            f["spikes/times"][1] = np.sort(rng.rand(DENSE_EVENTS)).astype(np.float32)
            f["spikes/units"][1] = rng.randint(0, 700, DENSE_EVENTS).astype(np.uint16)
        return ("write_shd as shd_train.h5 and shd_test.h5 (2 train, 2 test), the second "
                "test sample's spikes replaced by dense ones")
    if name == "nmnist":
        tn.write_subset(root)  # NMNISTsmall: train1K.txt 2 samples, test100.txt 1
        folder = root / "NMNISTsmall"
        (folder / "60002.bs2").write_bytes(atis(34, 34, 300_000))
        with open(folder / "test100.txt", "a") as f:
            f.write("60002\t4\n")
        return "write_subset (N-MNIST subset layout: 2 train, 1 test) + 1 dense test recording"
    raise ValueError(f"no dataset writer for preset {name!r}")


def _cli() -> list[str]:
    """The ``razor-neuro`` command of this interpreter's environment."""
    script = Path(sys.executable).parent / "razor-neuro"
    if script.exists():
        return [str(script)]
    found = shutil.which("razor-neuro")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from razor_neuro.cli import main; sys.exit(main())"]


#: runs a command and writes its exit status and ``wait4`` peak RSS (KiB) to a file.  The
#: steps start from this small interpreter, not from the benchmark: a forked child's peak
#: RSS starts at its parent's, so the benchmark's own memory would show in every step's.
LAUNCHER = ("import json, os, subprocess, sys\n"
            "p = subprocess.Popen(sys.argv[2:])\n"
            "_, status, usage = os.wait4(p.pid, 0)\n"
            "rc = os.waitstatus_to_exitcode(status)\n"
            "open(sys.argv[1], 'w').write(json.dumps({'rc': rc, 'rss_kib': usage.ru_maxrss}))\n"
            "sys.exit(rc if rc >= 0 else 128 - rc)\n")


def run_step(step: str, argv: list[str], log_dir: Path, timeout: float) -> dict:
    """Run one CLI step as a subprocess: its exit status, seconds, peak resident memory
    (``wait4``'s ru_maxrss: the largest of the process and the children it waited for) and
    last error line."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path, usage_path = (log_dir / f"{step}.{ext}" for ext in ("out", "err", "json"))
    common.progress("  $ " + " ".join(argv))
    t0 = time.perf_counter()
    timed_out = False
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(usage_path), *argv],
                                stdout=out, stderr=err, env=os.environ.copy(),
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, 9)  # the launcher's session: the step and its children
            proc.wait()
    seconds = time.perf_counter() - t0
    usage = json.loads(usage_path.read_text()) if usage_path.exists() else {}
    rc = usage.get("rc", proc.returncode)
    lines = [l.strip() for l in err_path.read_text(errors="replace").splitlines() if l.strip()]
    error = lines[-1] if lines else ""
    if timed_out:
        error = f"timed out after {timeout:.0f} s"
    elif rc < 0:
        error = f"killed by signal {-rc} (out of memory?)" + (f"; {error}" if error else "")
    return {"rc": rc, "seconds": seconds,
            "rss_gib": usage["rss_kib"] / 2**20 if "rss_kib" in usage else float("nan"),
            "error": error, "ok": rc == 0 and not timed_out}


def time_bundle(bundle_dir: Path, n: int, device: str) -> dict:
    """The bundle's network on its first ``n`` test samples, timed as the untrained mode
    times it: Lava (with the bundle's gates, samples streamed), then the reference after one
    untimed sample; plus this run's spikes and mismatches."""
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.deploy import load_test_samples
    from razor_neuro.export.lava_graph import LavaGraph
    from razor_neuro.export.backend import Deployment, ReferenceSim, check_spikes

    bundle = load_bundle(bundle_dir)
    x = load_test_samples(bundle, n).x
    graph = LavaGraph(bundle.network, bundle.frames, gates=bundle.gates)
    t0 = time.perf_counter()
    lava = graph.run(x)
    lava_s = time.perf_counter() - t0
    sim = ReferenceSim("fixed_pt", device)
    sim.run(Deployment.of_bundle(bundle, x[:1]))  # warm: kernels load
    ref = sim.run(Deployment.of_bundle(bundle, x))
    ref_s = ref.seconds
    checks = check_spikes(graph.names, lava.outputs, ref.outputs)
    return {"network": bundle.network, "lava_s": lava_s, "ref_s": ref_s,
            "mismatches_here": sum(c.mismatches for c in checks),
            "input_events": int(x.sum()), "spikes": sum(c.lava_spikes for c in checks)}


def trained(args) -> int:
    """``--trained``: train, export and verify each preset through the CLI on written files."""
    import resource
    from razor_neuro.data.loaders import load_dataset
    from razor_neuro.presets import PRESETS

    names = args.presets.split(",") if args.presets else (
        ["synthetic"] if args.smoke else list(PRESETS))
    cli = _cli()
    rows, notes = [], []
    total0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="razor-presets-trained-") as tmp:
        tmp = Path(tmp)
        for name in names:
            cfg = PRESETS[name]
            common.progress(f"{name}: data, train, export, verify")
            shape = f"{'x'.join(map(str, cfg.input_shape))} x {cfg.frames}"
            row = {"preset": name, "shape": shape}
            logs = tmp / f"logs-{name}"
            train_argv = [*cli, "train", "--dataset", name, "--epochs", "1", "--batch-size", "2",
                          "--keep-ratio", "1.0", "--threads", "1", "--quiet",
                          "--out", str(tmp / f"run-{name}")]
            try:
                if name == "synthetic":
                    train_argv += ["--synthetic-samples", "16"]
                    written = "built in, --synthetic-samples 16"
                    n_test = int(round(16 * 0.25))
                else:
                    root = tmp / f"data-{name}"
                    written = write_dataset(name, root)
                    train_argv += ["--data-root", str(root)]
                    n_test = len(load_dataset(name, root, frames=cfg.frames, train=False))
            except Exception as exc:  # noqa: BLE001 -- reported in the row
                rows.append(_failed(row, f"writing the dataset failed: {type(exc).__name__}: {exc}"))
                continue
            n = min(args.samples, n_test)
            row["samples"] = f"{n}" + ("" if n == args.samples else f" (test split has {n_test})")
            notes.append(f"- {name}: {written}.")
            steps = [("train", train_argv),
                     ("export", [*cli, "export", str(tmp / f"run-{name}" / "checkpoint.pt"),
                                 "--target", "loihi-sim", "--out", str(tmp / f"bundle-{name}")]),
                     ("verify", [*cli, "verify", str(tmp / f"bundle-{name}"), "--samples", str(n),
                                 "--threads", "1", "--out", str(tmp / f"verify-{name}")])]
            results = {}
            for step, argv in steps:
                results[step] = run_step(step, argv, logs, args.step_timeout)
                if not results[step]["ok"]:
                    break
            row["results"] = results
            failed = next((s for s, r in results.items() if not r["ok"]), None)
            verify_json = tmp / f"verify-{name}" / "verify.json"
            if verify_json.exists():  # exit 1: written, with mismatches
                v = json.loads(verify_json.read_text())
                row["mismatches"] = v["mismatches"]
                row["verify_s"] = (v["seconds"]["lava"] / v["samples"],
                                   v["seconds"]["reference"] / v["samples"])
            if failed:
                r = results[failed]
                rss = "" if r["rss_gib"] != r["rss_gib"] else f", peak RSS {r['rss_gib']:.2f} GiB"
                row["status"] = f"{failed} failed (exit {r['rc']}{rss}): {r['error']}"
                rows.append(row)
                continue
            common.progress(f"{name}: timing the bundle in-process")
            try:
                row.update(time_bundle(tmp / f"bundle-{name}", n, args.device))
            except MemoryError as exc:
                row["status"] = (f"in-process timing: out of memory (peak RSS of this process "
                                 f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f}"
                                 f" GiB): {exc}")
            except Exception as exc:  # noqa: BLE001 -- reported in the row
                row["status"] = f"in-process timing failed: {type(exc).__name__}: {exc}"
            else:
                row["status"] = "ok" if row["mismatches"] == 0 == row["mismatches_here"] else \
                    "mismatches"
            rows.append(row)
    total_s = time.perf_counter() - total0

    table_rows = []
    for row in rows:
        res = row.get("results", {})
        net = row.get("network")
        n = int(str(row.get("samples", "0")).split()[0] or 0)
        table_rows.append([
            row["preset"], row["shape"], row.get("samples", "—"),
            num(res["train"]["seconds"]) if "train" in res else "—",
            f"{sum(l.num_neurons for l in net.layers):,}" if net else "—",
            f"{synapses(net):,}" if net else "—",
            f"{row['input_events']:,} / {row['spikes']:,}" if "spikes" in row else "—",
            num(row["lava_s"] / n) if "lava_s" in row else "—",
            num(row["ref_s"] / n) if "ref_s" in row else "—",
            " / ".join(num(v) for v in row["verify_s"]) if "verify_s" in row else "—",
            (f"{row['mismatches']}" + (f" (here {row['mismatches_here']})"
                                       if row.get("mismatches_here") not in (None, row["mismatches"])
                                       else "")) if "mismatches" in row else "—",
            " / ".join(_gib(res[s]["rss_gib"]) for s in ("train", "export", "verify") if s in res)
            or "—",
            " / ".join(str(res[s]["rc"]) for s in ("train", "export", "verify") if s in res) or "—",
            row["status"]])
    emit(table(["preset", "input x T", "samples", "train s", "neurons", "synapses",
                "input events / Lava spikes", "Lava s/sample", "reference s/sample",
                "verify.json s/sample (Lava / ref)", "mismatches",
                "peak RSS GiB (train / export / verify)", "exit (train / export / verify)",
                "status"], table_rows,
               f"{args.samples} test samples per preset, trained 1 epoch on files in the "
               "dataset's on-disk format",
               ["Each preset: `razor-neuro train --dataset NAME --data-root ROOT --epochs 1 "
                "--batch-size 2 --keep-ratio 1.0 --threads 1 --quiet`, `razor-neuro export "
                "--target loihi-sim`, `razor-neuro verify --samples N` (subprocesses, as a user "
                "runs them); mismatches are `verify.json`'s. Lava and reference seconds per "
                "sample are timed in this process on the bundle's network and gates as in the "
                "untrained table (the reference after one untimed sample); `verify.json` "
                "s/sample are the verify command's own totals divided by its samples (its "
                "reference time includes the kernels' first load).",
                "Lava seconds include the run's fixed cost (build, compile, process start-up, "
                "stop), shared by the samples of one run; streaming more samples lowers it.",
                "Input events / Lava spikes: input spikes of the timed samples and the spikes "
                "of all layers in the Lava run (0 mismatches with few spikes checks little).",
                "Peak RSS: `wait4`'s ru_maxrss of each CLI step (the largest of the process and "
                "its waited-for children), started from a small launcher process so that the "
                "benchmark's own memory does not count. A failed step is reported in the status with its exit "
                "status and last error line.",
                "Data written per preset (temporary directory):", *notes,
                f"Total: {num(total_s)} s."]))
    return 0  # a failed preset is a result: its row says which step failed and why


def _gib(value: float) -> str:
    return "not measured" if value != value else f"{value:.2f}"


def _failed(row: dict, status: str) -> dict:
    row["status"] = status
    return row


if __name__ == "__main__":
    sys.exit(main())

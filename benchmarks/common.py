"""Shared helpers of the benchmark scripts: arguments, timing, medians with spread,
markdown tables, the machine description, cached trained bundles, Lava phase timing,
cProfile summaries and operation/energy counts of a recorded run.

Every benchmark prints plain markdown (``run_all.py`` pastes it into ``README.md``).
A figure is the median over repeated runs with its spread ``median [min–max]``; a ratio
of two things is taken per repeat, in the same process, and summarised the same way.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import os
import platform
import pstats
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as `python benchmarks/x.py` from anywhere
    sys.path.insert(0, str(REPO))

os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")

#: trained bundles are cached here (``--cache-dir`` overrides; ``--fresh`` retrains)
CACHE_DIR = REPO / "benchmarks" / ".cache"
#: the ``shared/external`` folder: ``$RAZOR_NEURO_EXTERNAL`` (the variable the tests read,
#: ``tests/conftest.py``), else ``shared/external`` beside the checkout
EXTERNAL_DIR = Path(os.environ.get("RAZOR_NEURO_EXTERNAL") or REPO.parent / "shared" / "external")
#: the external lava-dl Oxford network
OXFORD_DIR = EXTERNAL_DIR / "lava-dl-oxford"

#: training settings of the cached benchmark bundles: the demo's (synthetic preset, 960
#: samples, batch 32, seed 0) with fewer epochs so that four models train inside the
#: 15-minute budget of ``run_all.py``
BENCH_EPOCHS = 8
BENCH_SAMPLES = 960
#: ``--smoke``: a tiny model that trains in seconds (numbers meaningless, code path real)
SMOKE_EPOCHS = 1
SMOKE_SAMPLES = 96


# ------------------------------------------------------------------------- arguments

def parser(description: str, repeats: int = 3) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes: checks that the script runs, numbers are meaningless")
    p.add_argument("--repeats", type=int, default=None,
                   help=f"repeats per figure (default {repeats}; 1 with --smoke)")
    p.add_argument("--device", default=None,
                   help="torch device of the reference / training (default: cuda when "
                        "available, else cpu); Lava always runs on the CPU")
    p.add_argument("--cache-dir", type=Path, default=CACHE_DIR,
                   help=f"where trained bundles are cached (default {CACHE_DIR})")
    p.add_argument("--fresh", action="store_true",
                   help="retrain cached bundles instead of reusing them")
    p.set_defaults(default_repeats=repeats)
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = p.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.smoke else args.default_repeats
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    import torch
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda: CUDA is not available on this machine")
    return args


# ------------------------------------------------------------------------- statistics

@dataclass(frozen=True)
class Stat:
    """Repeated measurements of one figure."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> "Stat":
        vals = tuple(float(v) for v in values)
        if not vals:
            raise ValueError("Stat needs at least one value")
        return cls(vals)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    @property
    def n(self) -> int:
        return len(self.values)

    def scaled(self, factor: float) -> "Stat":
        return Stat(tuple(v * factor for v in self.values))

    def inverse(self) -> "Stat":
        return Stat(tuple(1.0 / v if v else float("inf") for v in self.values))

    def fmt(self, digits: int = 3, scale: float = 1.0, suffix: str = "") -> str:
        """``median [min–max]`` with ``digits`` significant digits (just the value
        when there is one repeat or no spread)."""
        med, lo, hi = (num(v * scale, digits) for v in (self.median, self.lo, self.hi))
        if self.n == 1 or lo == hi:
            return f"{med}{suffix}"
        return f"{med}{suffix} [{lo}–{hi}]"


def ratio(a: Stat, b: Stat) -> Stat:
    """Per-repeat ratio ``a_i / b_i`` of paired measurements (same repeat, same process)."""
    if a.n != b.n:
        raise ValueError(f"ratio: {a.n} vs {b.n} repeats are not paired")
    return Stat(tuple(x / y if y else float("inf") for x, y in zip(a.values, b.values)))


def num(value: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, without exponent for usual sizes."""
    if value is None:
        return "—"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0:
        return "0"
    mag = abs(value)
    if mag >= 10 ** digits:
        return f"{value:,.0f}"
    if mag < 1e-3:
        return f"{value:.{digits - 1}e}"
    text = f"{value:.{digits}g}"
    if "e" in text:
        text = f"{value:.{max(0, digits - 1 - int(f'{mag:e}'.split('e')[1]))}f}"
    return text


# ------------------------------------------------------------------------- output

def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
          notes: Sequence[str] = ()) -> str:
    """A markdown table, every column left-aligned (with an optional ``####`` title and
    notes below it)."""
    from razor_neuro.export.report.markdown import md_table
    lines = [f"#### {title}", ""] if title else []
    lines.append(md_table(headers, rows, "l" * len(headers)))
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines) + "\n"


def emit(text: str = "") -> None:
    """Print and flush (run_all streams the output while it runs)."""
    print(text, flush=True)


def progress(text: str) -> None:
    """A progress line on stderr: shown while a benchmark runs, kept out of its results."""
    print(text, file=sys.stderr, flush=True)


def header(title: str, args: argparse.Namespace) -> None:
    """The section title and the run settings."""
    emit(f"### {title}")
    emit()
    emit(f"`{' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}` — repeats: {args.repeats}, "
         f"reference/training device: {args.device}, Lava: CPU (`Loihi2SimCfg`)"
         + (" — **SMOKE RUN: tiny sizes, numbers meaningless**" if args.smoke else ""))
    emit()


def machine() -> str:
    """One line describing the machine the numbers were taken on."""
    import torch
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f", {kb / 2 ** 20:.0f} GiB RAM"
    load = ""
    with contextlib.suppress(OSError):
        load = f", load average {os.getloadavg()[0]:.2f} at start"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
    return (f"{cpu}, {cores} cores{mem}, {gpu}{load}; Python {platform.python_version()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} thread"
            f"{'s' if torch.get_num_threads() != 1 else ''}), "
            f"lava-nc {_version('lava-nc')}, lava-dl {_version('lava-dl')}, "
            f"snntorch {_version('snntorch')}")


def _version(name: str) -> str:
    from razor_neuro.versions import package_version
    return package_version(name)


# ------------------------------------------------------------------------- timing

def sync(device: str) -> None:
    if str(device).startswith("cuda"):
        import torch
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str = "cpu") -> tuple[float, Any]:
    """``(seconds, result)`` of one call (CUDA-synchronised when ``device`` is CUDA)."""
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - t0, out


@contextlib.contextmanager
def lava_phases() -> Iterator[dict[str, float]]:
    """Time the phases of every Lava run started inside the block.

    Wraps (for the duration of the block only) ``AbstractProcess.compile`` ("compile":
    process-model selection and channel planning), ``Runtime.initialize`` ("start-up":
    spawning one OS process per Lava process and building the message channels),
    ``Runtime.start`` ("steps": the blocking run of all time steps, i.e. the per-step
    compute and messaging) and ``Runtime.stop`` ("stop": shutting the processes down).
    Yields a dict that accumulates seconds per phase.
    """
    from razor_neuro._compat import patch_lava
    patch_lava()
    from lava.magma.core.process.process import AbstractProcess
    from lava.magma.runtime.runtime import Runtime

    spent = {"compile": 0.0, "start-up": 0.0, "steps": 0.0, "stop": 0.0}
    targets = [(AbstractProcess, "compile", "compile"), (Runtime, "initialize", "start-up"),
               (Runtime, "start", "steps"), (Runtime, "stop", "stop")]
    originals = []
    for owner, name, phase in targets:
        original = owner.__dict__[name]
        originals.append((owner, name, original))

        def wrapper(*a: Any, __f: Callable = original, __p: str = phase, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return __f(*a, **k)
            finally:
                spent[__p] += time.perf_counter() - t0

        setattr(owner, name, wrapper)
    try:
        yield spent
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


@dataclass(frozen=True)
class LavaTiming:
    """Wall time of one ``LavaGraph.run`` call, split into phases (seconds)."""

    total: float
    build: float
    compile: float
    startup: float
    steps: float
    stop: float
    read: float
    n_steps: int

    @property
    def fixed(self) -> float:
        """Everything but stepping: the cost a run pays whatever its length."""
        return self.total - self.steps


PHASE_HEADERS = ["total s", "build", "compile", "process start-up", "steps", "stop", "read",
                 "ms per step"]
PHASE_NOTE = ("Phases: build = netx blocks + gates + recorders as Lava processes; compile = "
              "process-model selection and channel planning; start-up = one OS process per Lava "
              "process plus its channels; steps = all time steps (compute and per-step messaging "
              "between the processes); stop = shutdown; read = recorded spikes back from files.")


def phase_row(name: str, timings: Sequence[LavaTiming]) -> list[str]:
    """A table row: median seconds of each phase over ``timings`` and its share."""
    total = statistics.median(t.total for t in timings)
    parts = [statistics.median(getattr(t, k) for t in timings)
             for k in ("build", "compile", "startup", "steps", "stop", "read")]
    per_step = statistics.median(t.steps / t.n_steps for t in timings)
    return [name, Stat.of(t.total for t in timings).fmt(),
            *(f"{v:.2f} ({100 * v / total:.0f}%)" for v in parts), f"{1e3 * per_step:.2f}"]


def run_lava(graph: Any, x: Any, tag: str = "fixed_pt") -> tuple[LavaTiming, Any]:
    """Run ``graph`` (a :class:`~razor_neuro.export.lava_graph.LavaGraph`) on ``x`` and
    time it: ``(LavaTiming, LavaRun)``."""
    with lava_phases() as phases:
        t0 = time.perf_counter()
        run = graph.run(x, tag)
        total = time.perf_counter() - t0
    s = run.seconds
    # LavaRun.seconds["run"] = compile + start-up + steps + stop (Process.run + stop)
    timing = LavaTiming(total=total, build=s["build"], compile=phases["compile"],
                        startup=phases["start-up"], steps=phases["steps"], stop=phases["stop"],
                        read=s["read"], n_steps=run.steps)
    return timing, run


# ------------------------------------------------------------------------- profiling

def profile_top(fn: Callable[[], Any], n: int = 10, sort: str = "cumulative",
                title: str = "", skip: Sequence[str] = ()) -> str:
    """cProfile ``fn`` once; a markdown table of the top ``n`` functions by ``sort``
    ('cumulative' or 'tottime'), with file paths shortened."""
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof, stream=io.StringIO())
    rows = []
    entries = sorted(stats.stats.items(),  # type: ignore[attr-defined]
                     key=lambda kv: kv[1][3] if sort == "cumulative" else kv[1][2], reverse=True)
    for (path, line, func), (cc, ncalls, tottime, cumtime, _) in entries:
        name = _short(path, line, func)
        if any(s in name for s in skip):
            continue
        rows.append([f"`{name}`", ncalls, f"{tottime:.3f}", f"{cumtime:.3f}",
                     f"{100 * cumtime / wall:.0f}%"])
        if len(rows) == n:
            break
    return table(["function", "calls", "own s", "cumulative s", "of wall"], rows,
                 title or f"cProfile, top {n} by {sort} time ({wall:.2f} s wall under the profiler)")


def _short(path: str, line: int, func: str) -> str:
    if path == "~":
        return func
    for marker in ("site-packages/", str(REPO) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = re.sub(r"^.*/lib/python3\.\d+/", "", path)
    return f"{path}:{line}({func})"


# ------------------------------------------------------------------------- bundles

#: the code that decides what a cached bundle holds (trained weights, schedule, files)
KEY_SOURCES = ("razor_neuro/model.py", "razor_neuro/epm.py", "razor_neuro/training/loop.py",
               "razor_neuro/training/config.py", "razor_neuro/training/checkpoint.py",
               "razor_neuro/training/policies.py", "razor_neuro/training/probe.py",
               "razor_neuro/training/datasets.py", "razor_neuro/training/evaluate.py",
               "razor_neuro/training/distributed.py", "razor_neuro/schedule.py",
               "razor_neuro/data/synthetic.py",
               "export/exporter.py", "export/bundle.py")


def _source_hash() -> str:
    """Hash of the code in :data:`KEY_SOURCES`: a cached bundle goes stale when it changes."""
    h = hashlib.sha256()
    for name in KEY_SOURCES:
        path = REPO / name
        h.update(name.encode())
        h.update(path.read_bytes() if path.is_file() else b"missing")
    return h.hexdigest()


def keep_label(keep: float | tuple[float, ...]) -> str:
    """``0.50`` for an input keep ratio, ``0.50,0.50,...`` for one ratio per gated layer."""
    return ",".join(f"{k:.2f}" for k in keep) if isinstance(keep, tuple) else f"{keep:.2f}"


def train_config(keep: float | tuple[float, ...], smoke: bool) -> Any:
    from razor_neuro.training.config import TrainConfig
    if smoke:
        return TrainConfig(epochs=SMOKE_EPOCHS, n_samples=SMOKE_SAMPLES, batch_size=16,
                           keep_ratio=keep)
    return TrainConfig(epochs=BENCH_EPOCHS, n_samples=BENCH_SAMPLES, keep_ratio=keep)


def cached_bundle(keep: float | tuple[float, ...], cache_dir: Path, smoke: bool = False, fresh: bool = False,
                  log: Callable[[str], None] | None = None) -> tuple[Path, dict[str, Any]]:
    """Train the synthetic preset at ``keep`` and export it, or reuse the cached result.

    The cache key covers the training settings, the preset and the source files in
    :data:`KEY_SOURCES`; a cached bundle that no longer loads is retrained.  Returns ``(bundle directory, training metrics)``; the metrics carry
    ``cached`` (True when reused) and ``seconds`` (training time when it was trained).
    """
    # Lava calls multiprocessing.set_start_method('fork') when first imported, which fails
    # once training has touched the default multiprocessing context: import it first.
    import razor_neuro.export.lava_graph  # noqa: F401
    from razor_neuro.presets import PRESETS
    cfg = train_config(keep, smoke)
    key = hashlib.sha256(json.dumps({"cfg": asdict(cfg), "model": PRESETS["synthetic"].to_dict(),
                                     "src": _source_hash()}, sort_keys=True).encode()).hexdigest()
    root = Path(cache_dir) / f"{'smoke-' if smoke else ''}keep{keep_label(keep)}-{key[:12]}"
    bundle, metrics_path = root / "bundle", root / "run" / "metrics.json"
    if not fresh and (bundle / "manifest.json").is_file() and metrics_path.is_file():
        from razor_neuro.export.bundle import BundleError, load_bundle
        try:
            load_bundle(bundle)
            return bundle, json.loads(metrics_path.read_text()) | {"cached": True}
        except BundleError:
            pass  # damaged cache entry: retrain
    if log:
        log(f"training keep ratio {keep_label(keep)} ({cfg.epochs} epochs, {cfg.n_samples} samples) -> {root}")
    from razor_neuro.export.exporter import export_checkpoint
    from razor_neuro.training.loop import train
    with quiet_stdout():
        _, metrics = train(cfg, root / "run", progress=False)
        export_checkpoint(root / "run" / "checkpoint.pt", bundle, overwrite=True)
    return bundle, metrics | {"cached": False}


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Keep third-party prints (tqdm is off already) out of the benchmark tables."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


# ------------------------------------------------------------------------- counting

def run_counts(network: Any, inputs: Sequence[Any], outputs: Sequence[Any]) -> list[Any]:
    """Per-layer :class:`~razor_neuro.counting.LayerCounts` of one recorded run.

    ``inputs``/``outputs`` are per-layer spikes in netx order ``[N, *shape, T]`` (as
    :class:`~razor_neuro.export.lava_graph.LavaRun` holds them, inputs after the gates).
    As deployed and as ``razor-neuro report`` counts: a pruned frame delivers no spikes (no
    synaptic operation) but every neuron still updates on it (it decays).
    """
    import torch
    from razor_neuro.counting import count_layer
    from razor_neuro.export.report.measure import layer_spec, to_slayer
    counts = []
    for i, (layer, name) in enumerate(zip(network.layers, network.names)):
        spec = layer_spec(layer, name)
        counts.append(count_layer(spec, torch.from_numpy(to_slayer(inputs[i])),
                                  torch.from_numpy(to_slayer(outputs[i]))))
    return counts


def preset_network(name: str, folder: Path) -> tuple[Any, Any]:
    """The preset ``name`` built with its initial weights (seed 0: untrained), exported with
    ``export_hdf5`` as a bundle's ``network.net`` is into ``folder/<name>.net`` and read back;
    returns ``(network, model config)``."""
    import h5py
    import torch

    from razor_neuro.export.netfile import read_network
    from razor_neuro.model import RazorSNN
    from razor_neuro.presets import PRESETS
    cfg = PRESETS[name]
    model = RazorSNN(cfg, seed=0)
    with torch.no_grad():  # one forward sets the Flatten shapes for export_hdf5
        model(torch.zeros(1, *cfg.input_shape, cfg.frames), model.masks(1.0))
    path = Path(folder) / f"{name}.net"
    with h5py.File(path, "w") as f:
        group = f.create_group("layer")
        for i, block in enumerate(model.blocks):
            block.export_hdf5(group.create_group(str(i)))
    return read_network(path, tuple(cfg.input_shape[::-1])), cfg

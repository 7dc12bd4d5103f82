"""Command-line interface: parse arguments, call the API, map known errors to one line.

Every sub-command is a thin wrapper (:mod:`razor_neuro.commands`); the same work is
available from Python.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import Callable, NoReturn

from razor_neuro import commands
from razor_neuro.errors import EXIT_BAD_INPUT, EXIT_CODES, EXIT_INTERRUPTED, exit_code
from razor_neuro.training.baselines import SCHEDULES
from razor_neuro.training.config import COST_RULES, TrainConfig
from razor_neuro.versions import package_version

def _keep_ratio(text: str) -> tuple[float, ...]:
    """``0.5,1,0.75`` → ``(0.5, 1.0, 0.75)``; :class:`TrainConfig` reads one value as a number."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from None


def _budget(text: str) -> float:
    """``synops=F`` → ``F`` (its range is checked with the other training arguments)."""
    kind, _, value = text.partition("=")
    if kind == "synops":
        try:
            return float(value)
        except ValueError:
            pass
    unsupported = " (energy budgets are not supported)" if kind == "energy" else ""
    raise argparse.ArgumentTypeError(f"expected synops=F with F in (0, 1], got {text!r}"
                                     f"{unsupported}")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (an option without one says so in its help) and keeps
    the exit-code table's layout."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit code 2, and
    that reads a negative number in scientific notation (``--dt -1e-4``) as a value, so
    that the option's range check answers instead of "expected one argument"."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _integer(low: int) -> Callable[[str], int]:
    """argparse type: an integer >= ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value
    return parse


_positive, _non_negative = _integer(1), _integer(0)


def _non_negative_real(text: str) -> float:
    """argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _samples(text: str) -> int | None:
    """argparse type of ``--samples``: an integer >= 1, or ``all`` (None: every test sample
    from ``--start`` on)."""
    if text == "all":
        return None
    try:
        return _positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 1 or 'all', got {text!r}") from None


def set_threads(requested: int | None) -> None:
    """Before torch loads: ``--threads N`` becomes ``OMP_NUM_THREADS`` (read by torch, the
    reference's kernels and the Lava processes this one starts; without it each sizes
    itself from the cores this process may use, :mod:`razor_neuro.threads`), and OpenMP
    threads sleep instead of spinning while they wait (``OMP_WAIT_POLICY=PASSIVE`` unless
    set): spinning threads of two jobs on the same cores slow both many times over
    (``benchmarks/bench_concurrent.py``).  An ``OMP_NUM_THREADS`` that is not a positive
    integer (``0``, ``abc``) is removed, with a note under ``--verbose``: OpenMP ignores it
    too, after printing "Invalid value"."""
    if requested is not None:
        os.environ["OMP_NUM_THREADS"] = str(requested)
    given = os.environ.get("OMP_NUM_THREADS")
    if given is not None and not (re.fullmatch(r"\s*\d+(\s*,\s*\d+)*\s*", given)
                                  and all(int(v) > 0 for v in given.split(","))):
        # OpenMP would print "Invalid value" and use its default: ignore it here, quietly
        del os.environ["OMP_NUM_THREADS"]
        logging.getLogger(__name__).info(
            "OMP_NUM_THREADS=%r is not a positive integer (or a list of them): ignored",
            given)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def build_parser() -> argparse.ArgumentParser:
    """The ``razor-neuro`` argument parser; ``--verbose`` is accepted before or after the
    sub-command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="more detail, and the full traceback instead of one line")
    common.add_argument("--threads", type=_positive, default=None,
                        help="CPU threads of torch, the reference's kernels and Lava's "
                             "processes (default: the cores this process may use, capped "
                             "by OMP_NUM_THREADS; a training shares them evenly with the "
                             "razor-neuro trainings running when it starts)")
    p = _Parser(prog="razor-neuro", formatter_class=_Formatter, epilog=EXIT_CODES, description=(
        "Train Razor SNNs (temporal frame pruning) in lava-dl, deploy them to Lava's Loihi "
        "simulator and report verified spike counts and energy."))
    p.add_argument("--verbose", action="store_true",
                   help="more detail, and the full traceback instead of one line")
    p.add_argument("--version", action="version", version="razor-neuro " + package_version(
        "razor-neuro", missing="unknown (not installed as a package)"))
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common],
                              formatter_class=_Formatter, epilog=EXIT_CODES)

    t = command("train", "train a Razor SNN")
    t.add_argument("--dataset", default="synthetic",
                   help="synthetic (built in) or dvs_gesture, ncaltech101, cifar10_dvs, shd, nmnist")
    t.add_argument("--data-root", help="directory holding a real dataset (stored absolute)")
    t.add_argument("--synthetic-samples", type=_positive, default=None, metavar="N",
                   help=f"synthetic dataset size, train + test (default {TrainConfig.n_samples}); "
                        f"its recipe trains each epoch on new samples, as many as the training "
                        f"split holds")
    t.add_argument("--epochs", type=_positive, default=None,
                   help=f"epochs to train in all (with --resume: more than already trained) "
                        f"(default: the dataset's recipe, else {TrainConfig.epochs})")
    t.add_argument("--keep-ratio", type=_keep_ratio, default=TrainConfig.keep_ratio, metavar="R[,R...]",
                   help="share of input frames kept (first gated layer; deeper layers keep all), "
                        "or one comma-separated share per gated layer to prune deeper layers too")
    t.add_argument("--prune-mode", choices=["gate", "skip"], default=TrainConfig.prune_mode,
                   help="what a pruned input frame costs: gate silences it (the network still "
                        "runs its time step), skip removes it from the time axis (a sample runs "
                        "only its kept frames; prunes the first gated layer only)")
    t.add_argument("--readout-steps", type=_non_negative, default=None, metavar="R",
                   help="with --prune-mode skip: empty steps each sample runs after its kept "
                        "frames, for the output to answer its last evidence (default: "
                        f"{TrainConfig.readout_steps})")
    t.add_argument("--schedule", choices=SCHEDULES, default=TrainConfig.schedule,
                   help="which frames the first gated layer keeps: razor learns them; the "
                        "baselines fix them before training: first (the first k), uniform "
                        "(every T/k-th), random (drawn from --seed), density (the k with the most "
                        "input events on the training split), oracle (the informative frames; "
                        "synthetic only); rebin keeps every frame of the same recordings "
                        "binned into k longer frames (synthetic: k must divide T)")
    t.add_argument("--frames", type=_positive, default=None, metavar="N",
                   help="bin each sample into N frames instead of the model config's T; the "
                        "keep ratio is then a share of N (merge, then prune: e.g. --frames 12 "
                        "--keep-ratio 0.8333 runs 10 steps per sample in skip mode, the steps "
                        "of keep 0.5 over 20 frames); the synthetic set merges its T frames in "
                        "equal runs, so N must divide T (default: the model config's T)")
    t.add_argument("--budget", type=_budget, default=None, metavar="synops=F",
                   help="also bound the first gated layer's kept frames to F in (0, 1] of the "
                        "input events (on the training split), so of its synaptic operations: "
                        "it keeps the highest-ranked frames, at most the keep ratio's, whose "
                        "events stay within F (default: no budget)")
    t.add_argument("--batch-size", type=_positive, default=TrainConfig.batch_size,
                   help="training samples per optimiser step")
    t.add_argument("--probe-every", type=_positive, default=None, metavar="K",
                   help=f"probe frame importance on one training batch in K (default: the "
                        f"dataset's recipe, else {TrainConfig.probe_every}; 1 probes every "
                        f"batch at about twice the cost per step)")
    t.add_argument("--event-cost", type=_non_negative_real, default=None, metavar="C",
                   help=f"what keeping a frame costs against its measured importance, per unit "
                        f"of the frame's event density: higher prunes denser frames, fewer "
                        f"synaptic operations for some accuracy (default: the dataset's recipe, "
                        f"else {TrainConfig.event_cost})")
    t.add_argument("--cost-rule", choices=COST_RULES, default=None,
                   help="how --event-cost prices a frame: density subtracts C x its event "
                        "density from its measured importance; relative divides each by its "
                        "mean over the frames (C = 1 prices a frame of average density at the "
                        "average importance) and ranks frames without events last (default: "
                        f"the dataset's recipe, else {TrainConfig.cost_rule})")
    t.add_argument("--synops-cost", type=_non_negative_real, default=None, metavar="C",
                   help="also train against the synaptic operations the hidden layers' spikes "
                        "cause, C x their share of those synapses' dense work over T frames "
                        "(0 to 1; above 1 only with readout steps) per sample: fewer spikes and "
                        "synaptic operations, so less energy, for some accuracy (default: 0, "
                        "off)")
    t.add_argument("--config", help="TOML model config (default: the dataset's preset)")
    t.add_argument("--seed", type=_non_negative, default=TrainConfig.seed,
                   help="seed of the weights, the data order and the synthetic dataset")
    t.add_argument("--out", required=True,
                   help="run directory (refused if it already holds a run, unless --resume)")
    t.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt with the same arguments")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=commands.cmd_train)

    e = command("export", "turn a checkpoint into a deployable bundle")
    e.add_argument("checkpoint", help="OUT/checkpoint.pt of razor-neuro train")
    e.add_argument("--target", default="loihi-sim", choices=["loihi-sim", "nir"],
                   help="loihi-sim: a bundle for Lava's Loihi simulator on CPU (Loihi2SimCfg); "
                        "nir: a NIR graph file (MODEL.nir) for other neuromorphic targets")
    e.add_argument("--out", required=True, help="bundle directory (or .nir file) to create")
    e.add_argument("--overwrite", action="store_true",
                   help="replace an existing bundle (only a bundle) or NIR file (only one)")
    e.set_defaults(func=commands.cmd_export)

    im = command("import", "turn a NIR graph (snnTorch, Norse, Sinabs ...) into a netx network "
                           "for Lava and the reference")
    im.add_argument("model", help="MODEL.nir: a feed-forward chain of Linear/Affine/Conv2d, "
                                  "Flatten and CubaLIF/LIF/IF nodes")
    im.add_argument("--out", required=True, help="directory to create (network.net, import.json)")
    im.add_argument("--dt", type=float, help="seconds per step (default: the graph's metadata "
                                             "'dt', else snntorch's 1e-4)")
    im.add_argument("--check", metavar="INPUT.npy",
                    help="input spikes [N, *input_shape, T] (NIR order, 0/1): compare the float "
                         "NIR simulation with Lava on them")
    im.add_argument("--overwrite", action="store_true",
                    help="replace an existing import directory (only one)")
    im.set_defaults(func=commands.cmd_import)

    tags = ["fixed_pt", "floating_pt"]
    r = command("run", "run a bundle on the Loihi simulator over test samples")
    r.add_argument("bundle", help="bundle directory")
    r.add_argument("--samples", type=_samples, default=32,
                   help="test samples streamed in one run, or all (the test split from --start)")
    r.add_argument("--start", type=_non_negative, default=0, help="index of the first test sample")
    r.add_argument("--tag", default="fixed_pt", choices=tags, help="Lava process models")
    r.add_argument("--out", required=True,
                   help="directory for run.json, the record of the latest run: each run "
                        "replaces it whole (atomically; of concurrent runs the last to "
                        "finish wins)")
    r.set_defaults(func=commands.cmd_run)

    v = command("verify", "compare Lava and the torch reference spike for spike")
    v.add_argument("bundle", nargs="?", help="bundle directory")
    v.add_argument("--samples", type=_samples, default=32,
                   help="test samples (bundle mode), or all (the whole test split)")
    v.add_argument("--net", help="a netx HDF5 network razor-neuro did not train")
    v.add_argument("--input", help="input spikes .npy for --net: dense [*input_shape, T] "
                                   "in netx order, or slayer's event format")
    v.add_argument("--steps", type=_positive, help="steps to run with --net (default: input length)")
    v.add_argument("--tag", default="fixed_pt", choices=tags, help="Lava process models")
    v.add_argument("--tolerance", type=_non_negative, default=0, help="mismatches still accepted")
    v.add_argument("--state", action="store_true",
                   help="also compare every layer's current u and voltage v per neuron and "
                        "step (exit 0 only when spikes and states agree)")
    v.add_argument("--out", default=".",
                   help="directory for verify.json, the record of the latest verification: "
                        "each run replaces it whole (atomically; of concurrent runs the last "
                        "to finish wins)")
    v.set_defaults(func=commands.cmd_verify)

    rp = command("report", "measured spike counts, synaptic ops and energy "
                           "(md, csv, json, tex, figures)")
    rp.add_argument("bundle", nargs="?", help="bundle directory")
    rp.add_argument("--net", help="a netx HDF5 network razor-neuro did not train")
    rp.add_argument("--input", help="input spikes .npy for --net: dense [*input_shape, T] "
                                    "in netx order, or slayer's event format")
    rp.add_argument("--steps", type=_positive, help="steps to run with --net (default: input length)")
    rp.add_argument("--profile", default="loihi1",
                    help="hardware profile: a shipped name (loihi1, loihi2-estimate) or a "
                         "path to your own TOML")
    rp.add_argument("--ann-profile", default="cmos45nm",
                    help="ANN baseline profile for the dense-MAC equivalent (name or TOML path)")
    rp.add_argument("--samples", type=_samples, default=32,
                    help="test samples (bundle mode), or all (the test split from --start)")
    rp.add_argument("--start", type=_non_negative, default=0, help="index of the first test sample")
    rp.add_argument("--source", default="lava", choices=["lava", "reference"],
                    help="where the counts come from: Lava fixed_pt runs, or the torch "
                         "reference licensed by a verify run on the same samples")
    rp.add_argument("--verify-samples", type=_positive,
                    help="with --source reference: Lava licenses the reference on the first K "
                         "samples (default: all of them; 32 with --samples all)")
    rp.add_argument("--compare", metavar="OTHER_BUNDLE",
                    help="a second bundle, run on the same samples and shown side by side")
    rp.add_argument("--hw-model", choices=["sanafe"],
                    help="also simulate the measured spikes on SANA-FE's Loihi model "
                         "(energy by kind, latency, EDP, cores); exit 4 when sanafe is not "
                         "the tested version or the network needs more than one chip")
    rp.add_argument("--hw-arch", metavar="YAML",
                    help="SANA-FE architecture file for --hw-model (default: SANA-FE's "
                         "loihi.yaml); exit 2 when it does not parse")
    rp.add_argument("--out", help="report directory (default reports/<bundle or net name>)")
    rp.add_argument("--overwrite", action="store_true",
                    help="replace an existing report (only a report)")
    rp.set_defaults(func=commands.cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``razor-neuro`` console script.

    Known errors (every razor-neuro input error is a ``ValueError`` subclass; ``OSError``
    from the operating system; ``MemoryError``, a size that cannot fit: bad input; Ctrl-C)
    print one line and return their documented exit
    code (:data:`EXIT_CODES`); ``--verbose`` re-raises them with the full traceback.
    Anything else is a bug and keeps its traceback.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    set_threads(getattr(args, "threads", None))
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ValueError, OSError) as exc:
        if args.verbose:
            raise
        text = (f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename
                else str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        print(f"razor-neuro {args.command}: error: {text}", file=sys.stderr)
        return exit_code(exc)
    except MemoryError:  # a size the checks up front could not foresee
        if args.verbose:
            raise
        print(f"razor-neuro {args.command}: error: out of memory; expected a smaller run "
              "(fewer --steps, --samples or --batch-size)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        if args.verbose:
            raise
        ckpt = Path(args.out) / "checkpoint.pt" if args.command == "train" else None
        kept = (f"; {ckpt} holds the last complete epoch (continue with --resume)"
                if ckpt is not None and ckpt.is_file() else "; no output was written")
        print(f"razor-neuro {args.command}: interrupted{kept}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

"""Command-line interface: parse arguments, call the API, map known errors to one line.

Every sub-command is a thin wrapper; the same work is available from Python.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Callable, NoReturn

from razor_neuro.atomic import check_writable
from razor_neuro.training.config import TrainConfig
from razor_neuro.versions import package_version

EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
EXIT_BAD_ARTEFACT = 3
EXIT_REFUSED = 4
EXIT_IO = 5
EXIT_INTERRUPTED = 130

EXIT_CODES = f"""exit codes:
  0    success
  {EXIT_MISMATCH}    verify/report: Lava and the reference disagree beyond --tolerance
  {EXIT_BAD_INPUT}    bad input: an argument, config file, dataset or spike file (one line
       names the option, file or field and what was expected)
  {EXIT_BAD_ARTEFACT}    an unreadable, foreign or tampered checkpoint or bundle, or one holding
       NaN/infinite numbers
  {EXIT_REFUSED}    refused to replace something: an existing training run (use --resume),
       or a directory that is not a razor-neuro artefact of the same kind (--overwrite
       replaces only a bundle with a bundle, a report with a report)
  {EXIT_IO}    the operating system refused a read or write (read-only directory, a file
       where a directory belongs, disk full)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); files already written stay complete
--verbose (before or after the command) shows the full traceback instead of one line."""


def exit_code(exc: BaseException) -> int:
    """The documented exit code (:data:`EXIT_CODES`) of a known error class."""
    from razor_neuro.atomic import OutputExists, OutputUnwritable
    from razor_neuro.errors import ArtefactError
    if isinstance(exc, OutputExists):
        return EXIT_REFUSED
    if isinstance(exc, (OutputUnwritable, OSError)):
        return EXIT_IO
    if isinstance(exc, ArtefactError):
        return EXIT_BAD_ARTEFACT
    return EXIT_BAD_INPUT


def _train(args: argparse.Namespace) -> int:
    from razor_neuro.model import ModelConfig
    from razor_neuro.training.loop import train

    sizes = {}
    if args.synthetic_samples is not None:
        if args.dataset != "synthetic":
            raise ValueError(f"--synthetic-samples: sizes the synthetic dataset only, not "
                             f"'{args.dataset}'")
        sizes["n_samples"] = args.synthetic_samples
    cfg = TrainConfig(dataset=args.dataset, data_root=args.data_root or "", epochs=args.epochs,
                      keep_ratio=args.keep_ratio, batch_size=args.batch_size, seed=args.seed,
                      **sizes)
    mcfg = ModelConfig.from_toml(args.config) if args.config else None
    _, metrics = train(cfg, args.out, mcfg, resume=args.resume, progress=not args.quiet,
                       threads=args.threads)
    keys = ["deploy_accuracy", "train_path_accuracy", "keep_ratio", "kept_frames",
            "informative_frame_recall", "pruned_frame_precision", "seconds"]
    print(json.dumps({k: metrics[k] for k in keys if k in metrics}, indent=1 if args.verbose else None))
    print(f"wrote {Path(args.out) / 'checkpoint.pt'} and {Path(args.out) / 'metrics.json'}")
    return 0


def _keep_ratio(text: str) -> tuple[float, ...]:
    """``0.5,1,0.75`` → ``(0.5, 1.0, 0.75)``; :class:`TrainConfig` reads one value as a number."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from None


def _export(args: argparse.Namespace) -> int:
    if args.target == "nir":
        from razor_neuro.export.nir.exporter import export_nir
        print(f"wrote NIR graph {export_nir(args.checkpoint, args.out, args.overwrite)} (the "
              "frame schedule and its meaning in the graph's metadata)")
        return 0
    from razor_neuro.export.exporter import export_checkpoint

    out = export_checkpoint(args.checkpoint, args.out, args.target, overwrite=args.overwrite)
    print(f"wrote bundle {out} (network.net, schedule.json, manifest.json)")
    return 0


def _import(args: argparse.Namespace) -> int:
    from razor_neuro.export.nir.importer import import_nir

    res = import_nir(args.model, args.out, args.dt, args.check, args.overwrite)
    print(f"dt {res['dt']:g} s ({res['dt_from']})")
    _table(f"{args.model} -> {Path(args.out) / 'network.net'}: quantisation per layer",
           ["layer", "NIR nodes", "neurons", "vThMant", "iDecay", "vDecay", "exact",
            "weight RMS err", "max err (thr)"],
           [[r["name"], f"{r['nir_synapse']} -> {r['nir_neuron']} ({r['neuron_type']})",
             r["neurons"], r["vThMant"], r["iDecay"], r["vDecay"], r["quantisation"]["exact"],
             f"{r['quantisation']['weight_rel_rms_error']:.2e}",
             f"{r['quantisation']['weight_max_abs_error_thresholds']:.2e}"]
            for r in res["layers"]])
    chk = res.get("check")
    if chk:
        _table(f"--check {args.check}: NIR float simulation vs Lava fixed_pt, "
               f"{chk['samples']} sample(s) x {chk['steps']} steps",
               ["layer", "NIR spikes", "Lava spikes", "NIR/Lava mismatches", "spike agreement",
                "Lava/reference mismatches"],
               [[r["name"], r["nir_spikes"], r["lava_spikes"], r["nir_lava_mismatches"],
                 f"{r['spike_agreement']:.4f}", r["lava_reference_mismatches"]]
                for r in chk["layers"]])
        print(f"output-class agreement NIR vs Lava: {chk['class_agreement']:.4f}")
    print(f"wrote {args.out} (network.net, import.json)")
    if chk and chk["lava_reference_mismatches"]:
        print(f"razor-neuro import: Lava and the reference disagree at "
              f"{chk['lava_reference_mismatches']} positions", file=sys.stderr)
        return EXIT_MISMATCH
    return 0


def _table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    Console().print(table)


def _run(args: argparse.Namespace) -> int:
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.deploy import run_bundle, write_json

    check_writable(args.out, "--out", into=True)  # before the simulation, not after it
    result = run_bundle(load_bundle(args.bundle), args.samples, args.tag, args.start)
    _table(f"{result['source']}: {result['samples']} samples, accuracy {result['accuracy']:.4f}",
           ["layer", "neurons", "input spikes", "on pruned frames", "output spikes"],
           [[r["name"], r["neurons"], r["input_spikes"], r.get("input_spikes_on_pruned_frames", "-"),
             r["output_spikes"]] for r in result["layers"]])
    print(f"wrote {write_json(Path(args.out) / 'run.json', result)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from razor_neuro.export.deploy import write_json
    from razor_neuro.export.verify import verify_bundle, verify_net

    check_writable(args.out, "--out", into=True)  # before the simulation, not after it
    if args.net:
        if args.bundle or not args.input:
            raise ValueError("verify: give either a BUNDLE or --net FILE with --input SPIKES.npy")
        for option, path in (("--net", args.net), ("--input", args.input)):
            if not Path(path).is_file():
                raise ValueError(f"{option} {path}: no such file")
        result = verify_net(args.net, args.input, args.steps, args.tag, args.tolerance,
                            states=args.state)
        what = f"{args.net} on {args.input}"
    else:
        if not args.bundle:
            raise ValueError("verify: give a BUNDLE directory, or --net FILE --input SPIKES.npy")
        from razor_neuro.export.bundle import load_bundle
        result = verify_bundle(load_bundle(args.bundle), args.samples, args.tag, args.tolerance,
                               states=args.state)
        what = args.bundle
    columns = ["layer", "Lava input spikes", "on pruned frames", "Lava output spikes",
               "reference", "mismatches"]
    rows = [[r["name"], r.get("lava_input_spikes", "-"),
             r.get("lava_input_spikes_on_pruned_frames", "-"), r["lava_spikes"],
             r["reference_spikes"], r["mismatches"]] for r in result["layers"]]
    total = ["total", "", "", "", "", result["mismatches"]]
    if args.state:
        columns += ["u mismatches", "v mismatches"]
        for row, r in zip(rows, result["layers"]):
            row += [r["current_mismatches"], r["voltage_mismatches"]]
        total += ["", result["state_mismatches"]]
    _table(f"Lava {args.tag} vs torch reference: {what}, {result['samples']} sample(s) x "
           f"{result['steps']} steps", columns, rows + [total])
    if "lava_accuracy" in result:
        print(f"deploy accuracy: Lava {result['lava_accuracy']:.4f}, "
              f"reference {result['reference_accuracy']:.4f}")
    print(f"wrote {write_json(Path(args.out) / 'verify.json', result)}")
    if not result["agree"]:
        states = f" and {result['state_mismatches']} state mismatches" if args.state else ""
        print(f"razor-neuro verify: {result['mismatches']} spike mismatches{states} (spike "
              f"tolerance {args.tolerance}, state tolerance 0)", file=sys.stderr)
        return EXIT_MISMATCH
    return 0


def check_report_args(args: argparse.Namespace) -> None:
    """Refuse report options that do not go together (one line, exit 2): a BUNDLE or
    ``--net`` with ``--input``; ``--input``/``--steps`` only with ``--net``; ``--compare``
    only with a bundle; ``--verify-samples`` only with ``--source reference``."""
    if (args.bundle is None) == (args.net is None):
        raise ValueError("give either a BUNDLE directory or --net FILE.net --input SPIKES.npy")
    if args.net is not None and args.input is None:
        raise ValueError("--net needs --input SPIKES.npy")
    if args.net is None and (args.input is not None or args.steps is not None):
        raise ValueError("--input/--steps go with --net")
    if args.compare is not None and args.net is not None:
        raise ValueError("--compare works with bundles, not with --net")
    if args.verify_samples is not None and args.source != "reference":
        raise ValueError("--verify-samples goes with --source reference")


def _report(args: argparse.Namespace) -> int:
    from razor_neuro.export.report.make import default_out, report_bundle, report_net
    from razor_neuro.export.report.schema import ReportRefused

    check_report_args(args)
    out = args.out or default_out(args.bundle, args.net)
    try:
        if args.net is not None:
            res = report_net(out, args.net, args.input, args.steps, args.profile,
                             args.ann_profile, args.source, args.overwrite)
        else:
            res = report_bundle(out, args.bundle, args.profile, args.ann_profile, args.samples,
                                args.start, args.source, args.verify_samples, args.compare,
                                args.overwrite)
    except ReportRefused as exc:  # verify found mismatches: same exit code as verify
        print(f"razor-neuro report: {exc}", file=sys.stderr)
        return EXIT_MISMATCH
    rep, net = res.report, res.report.primary
    cols, runs = [], []
    for n in [net] + ([rep.compare] if rep.compare is not None else []):
        cols.append(n.label)
        runs.append((n.accuracy, n.run))
        if not n.without_schedule.same_run:
            cols.append(f"{n.label} w/o schedule")
            runs.append((n.without_schedule.accuracy, n.without_schedule.run))
    rows = [["accuracy"] + ["-" if a is None else f"{a:.4f}" for a, _ in runs],
            ["output spikes"] + [f"{r.totals.output_spikes:,.1f}" for _, r in runs],
            ["synaptic ops"] + [f"{r.totals.synops:,.1f}" for _, r in runs],
            [f"energy nJ ({rep.profile.name})"]
            + [f"{r.total_energy_pj_per_sample / 1e3:,.2f}" for _, r in runs],
            [f"ANN nJ ({rep.ann_profile.name})"]
            + [f"{r.ann_energy_pj_per_sample / 1e3:,.2f}" for _, r in runs]]
    _table(f"per sample, {net.source.kind} {net.source.tag}", ["", *cols], rows)
    if net.bundle_id:
        print(f"bundle id: {net.bundle_id}")
    print(f"counts: {net.source.description}")
    print(f"per sample over {net.samples} sample(s); licence: {net.source.licence}")
    for p in (rep.profile, rep.ann_profile):
        if p.caveat:
            print(f"CAVEAT ({p.name}): {p.caveat}")
    print(f"wrote {res.path} ({', '.join(res.files[:4])}, figures/ as PNG + PDF)")
    return 0


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every option's default (an option without one says so in its help) and keeps
    the exit-code table's layout."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit code 2."""

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
    (``benchmarks/bench_concurrent.py``)."""
    if requested is not None:
        os.environ["OMP_NUM_THREADS"] = str(requested)
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
                   help=f"synthetic dataset size, train + test (default {TrainConfig.n_samples})")
    t.add_argument("--epochs", type=_positive, default=TrainConfig.epochs,
                   help="epochs to train in all (with --resume: more than already trained)")
    t.add_argument("--keep-ratio", type=_keep_ratio, default=TrainConfig.keep_ratio, metavar="R[,R...]",
                   help="share of input frames kept (first gated layer; deeper layers keep all), "
                        "or one comma-separated share per gated layer to prune deeper layers too")
    t.add_argument("--batch-size", type=_positive, default=TrainConfig.batch_size,
                   help="training samples per optimiser step")
    t.add_argument("--config", help="TOML model config (default: the dataset's preset)")
    t.add_argument("--seed", type=_non_negative, default=TrainConfig.seed,
                   help="seed of the weights, the data order and the synthetic dataset")
    t.add_argument("--out", required=True,
                   help="run directory (refused if it already holds a run, unless --resume)")
    t.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt with the same arguments")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)

    e = command("export", "turn a checkpoint into a deployable bundle")
    e.add_argument("checkpoint", help="OUT/checkpoint.pt of razor-neuro train")
    e.add_argument("--target", default="loihi-sim", choices=["loihi-sim", "nir"],
                   help="loihi-sim: a bundle for Lava's Loihi simulator on CPU (Loihi2SimCfg); "
                        "nir: a NIR graph file (MODEL.nir) for other neuromorphic targets")
    e.add_argument("--out", required=True, help="bundle directory (or .nir file) to create")
    e.add_argument("--overwrite", action="store_true",
                   help="replace an existing bundle (only a bundle) or NIR file (only one)")
    e.set_defaults(func=_export)

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
    im.set_defaults(func=_import)

    tags = ["fixed_pt", "floating_pt"]
    r = command("run", "run a bundle on the Loihi simulator over test samples")
    r.add_argument("bundle", help="bundle directory")
    r.add_argument("--samples", type=_samples, default=32,
                   help="test samples streamed in one run, or all (the test split from --start)")
    r.add_argument("--start", type=_non_negative, default=0, help="index of the first test sample")
    r.add_argument("--tag", default="fixed_pt", choices=tags, help="Lava process models")
    r.add_argument("--out", required=True, help="directory for run.json")
    r.set_defaults(func=_run)

    v = command("verify", "compare Lava and the torch reference spike for spike")
    v.add_argument("bundle", nargs="?", help="bundle directory")
    v.add_argument("--samples", type=_positive, default=32, help="test samples (bundle mode)")
    v.add_argument("--net", help="a netx HDF5 network razor-neuro did not train")
    v.add_argument("--input", help="input spikes .npy for --net: dense [*input_shape, T] "
                                   "in netx order, or slayer's event format")
    v.add_argument("--steps", type=_positive, help="steps to run with --net (default: input length)")
    v.add_argument("--tag", default="fixed_pt", choices=tags, help="Lava process models")
    v.add_argument("--tolerance", type=_non_negative, default=0, help="mismatches still accepted")
    v.add_argument("--state", action="store_true",
                   help="also compare every layer's current u and voltage v per neuron and "
                        "step (exit 0 only when spikes and states agree)")
    v.add_argument("--out", default=".", help="directory for verify.json")
    v.set_defaults(func=_verify)

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
    rp.add_argument("--out", help="report directory (default reports/<bundle or net name>)")
    rp.add_argument("--overwrite", action="store_true",
                    help="replace an existing report (only a report)")
    rp.set_defaults(func=_report)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``razor-neuro`` console script.

    Known errors (every razor-neuro input error is a ``ValueError`` subclass; ``OSError``
    from the operating system; Ctrl-C) print one line and return their documented exit
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

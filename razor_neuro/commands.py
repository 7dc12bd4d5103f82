"""What each ``razor-neuro`` sub-command does with its parsed arguments: call the API, print
a short summary, return the exit code.  Each imports its heavy modules (torch, Lava) only
when it runs, so that ``--help`` and argument errors stay instant.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from razor_neuro.atomic import check_writable
from razor_neuro.errors import EXIT_MISMATCH, EXIT_REFUSED
from razor_neuro.training.config import TrainConfig


def cmd_train(args: argparse.Namespace) -> int:
    from razor_neuro.model_config import ModelConfig
    from razor_neuro.training.loop import train

    given = {}
    if args.synthetic_samples is not None:
        if args.dataset != "synthetic":
            raise ValueError(f"--synthetic-samples: sizes the synthetic dataset only, not "
                             f"'{args.dataset}'")
        given["n_samples"] = args.synthetic_samples
    for name in ("epochs", "probe_every", "event_cost", "cost_rule", "schedule", "budget",
                 "readout_steps", "frames", "synops_cost"):
        if getattr(args, name) is not None:
            given[name] = getattr(args, name)
    cfg = TrainConfig.for_dataset(args.dataset, data_root=args.data_root or "",
                                  keep_ratio=args.keep_ratio, batch_size=args.batch_size,
                                  prune_mode=args.prune_mode,
                                  seed=args.seed, **given)
    mcfg = ModelConfig.from_toml(args.config) if args.config else None
    _, metrics = train(cfg, args.out, mcfg, resume=args.resume, progress=not args.quiet,
                       threads=args.threads)
    keys = ["schedule", "deploy_accuracy", "train_path_accuracy", "keep_ratio", "kept_frames",
            "informative_frame_recall", "pruned_frame_precision", "seconds"]
    print(json.dumps({k: metrics[k] for k in keys if k in metrics}, indent=1 if args.verbose else None))
    print(f"wrote {Path(args.out) / 'checkpoint.pt'} and {Path(args.out) / 'metrics.json'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if args.target == "nir":
        from razor_neuro.export.nir.exporter import export_nir
        print(f"wrote NIR graph {export_nir(args.checkpoint, args.out, args.overwrite)} (the "
              "frame schedule and its meaning in the graph's metadata)")
        return 0
    from razor_neuro.export.exporter import export_checkpoint

    out = export_checkpoint(args.checkpoint, args.out, args.target, overwrite=args.overwrite)
    print(f"wrote bundle {out} (network.net, schedule.json, manifest.json)")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from razor_neuro.export.nir.importer import import_nir

    res = import_nir(args.model, args.out, args.dt, args.check, args.overwrite)
    print(f"dt {res['dt']:g} s ({res['dt_from']})")
    print_table(f"{args.model} -> {Path(args.out) / 'network.net'}: quantisation per layer",
           ["layer", "NIR nodes", "neurons", "vThMant", "iDecay", "vDecay", "exact",
            "weight RMS err", "max err (thr)"],
           [[r["name"], f"{r['nir_synapse']} -> {r['nir_neuron']} ({r['neuron_type']})",
             r["neurons"], r["vThMant"], r["iDecay"], r["vDecay"], r["quantisation"]["exact"],
             f"{r['quantisation']['weight_rel_rms_error']:.2e}",
             f"{r['quantisation']['weight_max_abs_error_thresholds']:.2e}"]
            for r in res["layers"]])
    chk = res.get("check")
    if chk:
        print_table(f"--check {args.check}: NIR float simulation vs Lava fixed_pt, "
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


def print_table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    Console().print(table)


def cmd_run(args: argparse.Namespace) -> int:
    from razor_neuro.export.bundle import load_bundle
    from razor_neuro.export.deploy import run_bundle, write_json

    check_writable(args.out, "--out", into=True)  # before the simulation, not after it
    result = run_bundle(load_bundle(args.bundle), args.samples, args.tag, args.start)
    print_table(f"{result['source']}: {result['samples']} samples, accuracy {result['accuracy']:.4f}",
           ["layer", "neurons", "input spikes", "on pruned frames", "output spikes"],
           [[r["name"], r["neurons"], r["input_spikes"], r.get("input_spikes_on_pruned_frames", "-"),
             r["output_spikes"]] for r in result["layers"]])
    print(f"wrote {write_json(Path(args.out) / 'run.json', result)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
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
    print_table(f"Lava {args.tag} vs torch reference: {what}, {result['samples']} sample(s) x "
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
    if args.hw_arch is not None and args.hw_model is None:
        raise ValueError("--hw-arch goes with --hw-model sanafe")
    if args.verify_samples is not None and args.source != "reference":
        raise ValueError("--verify-samples goes with --source reference")


def cmd_report(args: argparse.Namespace) -> int:
    from razor_neuro.export.report.make import default_out, report_bundle, report_net
    from razor_neuro.export.hardware.mapping import HardwareModelRefused
    from razor_neuro.export.report.schema import ReportRefused

    check_report_args(args)
    out = args.out or default_out(args.bundle, args.net)
    try:
        if args.net is not None:
            res = report_net(out, args.net, args.input, args.steps, args.profile,
                             args.ann_profile, args.source, args.overwrite,
                             hw_model=args.hw_model, hw_arch=args.hw_arch,
                             verbose=args.verbose)
        else:
            res = report_bundle(out, args.bundle, args.profile, args.ann_profile, args.samples,
                                args.start, args.source, args.verify_samples, args.compare,
                                args.overwrite, hw_model=args.hw_model, hw_arch=args.hw_arch,
                                verbose=args.verbose)
    except HardwareModelRefused as exc:  # SANA-FE missing/other version, network too large
        print(f"razor-neuro report: {exc}", file=sys.stderr)
        return EXIT_REFUSED
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
    print_table(f"per sample, {net.source.kind} {net.source.tag}", ["", *cols], rows)
    if net.bundle_id:
        print(f"bundle id: {net.bundle_id}")
    h = rep.hardware_model
    if h is not None:
        print(f"SANA-FE {h.package_version}: {h.energy_pj_per_sample / 1e3:,.2f} nJ and "
              f"{h.latency_s_per_sample * 1e6:,.2f} us per sample on {h.cores} cores "
              f"({h.with_schedule.ratio_to_constants:.3f} x {h.constants_profile}); "
              f"{h.spike_mismatches} spike mismatches vs Lava")
    print(f"counts: {net.source.description}")
    print(f"per sample over {net.samples} sample(s); licence: {net.source.licence}")
    for p in (rep.profile, rep.ann_profile):
        if p.caveat:
            print(f"CAVEAT ({p.name}): {p.caveat}")
    print(f"wrote {res.path} ({', '.join(res.files[:4])}, figures/ as PNG + PDF)")
    return 0

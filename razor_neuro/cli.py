"""Command-line interface: parse arguments, call the API, map known errors to one line.

Every sub-command is a thin wrapper; the same work is available from Python.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable

from razor_neuro.train_config import TrainConfig

EXIT_BAD_INPUT = 2


def _train(args: argparse.Namespace) -> int:
    from razor_neuro.model import ModelConfig
    from razor_neuro.train import train

    cfg = TrainConfig(dataset=args.dataset, data_root=args.data_root or "", epochs=args.epochs,
                      keep_ratio=args.keep_ratio, batch_size=args.batch_size, seed=args.seed)
    mcfg = ModelConfig.from_toml(args.config) if args.config else None
    _, metrics = train(cfg, args.out, mcfg, resume=args.resume, progress=not args.quiet)
    keys = ["deploy_accuracy", "train_path_accuracy", "keep_ratio", "kept_frames",
            "informative_frame_recall", "pruned_frame_precision", "seconds"]
    print(json.dumps({k: metrics[k] for k in keys if k in metrics}, indent=1 if args.verbose else None))
    print(f"wrote {Path(args.out) / 'checkpoint.pt'} and {Path(args.out) / 'metrics.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:

    p = argparse.ArgumentParser(prog="razor-neuro", description=(
        "Train Razor SNNs (temporal frame pruning) in lava-dl, deploy them to Lava's Loihi "
        "simulator and report verified spike counts and energy."))
    p.add_argument("--verbose", action="store_true", help="more detail and full tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a Razor SNN")
    t.add_argument("--dataset", default="synthetic",
                   help="synthetic (built in) or dvs_gesture, ncaltech101, cifar10_dvs, shd")
    t.add_argument("--data-root", help="directory holding a real dataset")
    t.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    t.add_argument("--keep-ratio", type=float, default=0.5, help="target share of frames kept")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--config", help="TOML model config (default: the dataset's preset)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True, help="run directory")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``razor-neuro`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ValueError as exc:  # every razor-neuro input error is a ValueError subclass
        if args.verbose:
            raise
        print(f"razor-neuro {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())

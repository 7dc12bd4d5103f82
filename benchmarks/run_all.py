"""Run every benchmark and put their tables into ``benchmarks/README.md``.

    .venv/bin/python benchmarks/run_all.py            # all five, rewrites the README's results
    .venv/bin/python benchmarks/run_all.py --fresh    # retrain the cached bundles first
    .venv/bin/python benchmarks/run_all.py --smoke    # tiny sizes, README left alone

Each benchmark runs in its own process (``bench_schedule.py`` first: it trains and caches
the bundles the others reuse); their output is streamed to the console and, unless
``--smoke`` or ``--no-readme``, written between the results markers of the README with
the date, the machine, the command and the wall time of each script.
"""
from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

#: (section order in the README, script); run in the order listed
SCRIPTS = [
    (3, "bench_schedule.py"),
    (1, "bench_reference_vs_lava.py"),
    (2, "bench_streaming.py"),
    (4, "bench_training.py"),
    (5, "bench_scaling.py"),
    (7, "bench_concurrent.py"),
]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
README = HERE / "README.md"


def run(script: str, extra: list[str]) -> tuple[int, str, float]:
    """Run one benchmark, echoing its output; ``(exit code, stdout, seconds)``."""
    cmd = [sys.executable, str(HERE / script), *extra]
    print(f"$ {' '.join(cmd)}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=common.REPO)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    code = proc.wait()
    return code, "".join(lines), time.perf_counter() - t0


def write_readme(body: str) -> None:
    text = README.read_text() if README.is_file() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n## Latest results\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{body.rstrip()}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes (README left alone)")
    p.add_argument("--fresh", action="store_true", help="retrain the cached bundles")
    p.add_argument("--device", default=None, help="reference/training device (default: cuda if any)")
    p.add_argument("--repeats", type=int, default=None, help="override every script's repeats")
    p.add_argument("--cache-dir", default=None, help="bundle cache (default benchmarks/.cache)")
    p.add_argument("--only", nargs="*", default=None, metavar="N",
                   help="run only these benchmark numbers (1-5, 7); README left alone")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite README.md")
    p.add_argument("--note", default="", help="a line to put above the results (e.g. conditions)")
    args = p.parse_args(argv)

    shared = [*(["--smoke"] if args.smoke else []),
              *(["--device", args.device] if args.device else []),
              *(["--repeats", str(args.repeats)] if args.repeats else []),
              *(["--cache-dir", args.cache_dir] if args.cache_dir else [])]
    started = datetime.datetime.now().astimezone()
    machine = common.machine()
    outputs: dict[int, tuple[str, str, float]] = {}
    failed = []
    t0 = time.perf_counter()
    for number, script in SCRIPTS:
        if args.only is not None and str(number) not in args.only:
            continue
        extra = shared + (["--fresh"] if args.fresh and script == "bench_schedule.py" else [])
        code, out, seconds = run(script, extra)
        outputs[number] = (script, out, seconds)
        if code != 0:
            failed.append(f"{script} (exit {code})")
    total = time.perf_counter() - t0
    timings = ", ".join(f"`{s}` {sec:.0f} s" for _, (s, _, sec) in sorted(outputs.items()))
    print(f"\nrun_all: {total:.0f} s in all ({timings})", file=sys.stderr, flush=True)
    if failed:
        print(f"run_all: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    if args.smoke or args.no_readme or args.only is not None:
        return 0
    shown = list(argv if argv is not None else sys.argv[1:])
    if "--note" in shown:  # the note is printed on its own below
        i = shown.index("--note")
        del shown[i:i + 2]
    shown = [a for a in shown if not a.startswith("--note=")]
    env = [f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
           if k in os.environ]
    command = " ".join([*env, "python benchmarks/run_all.py", *shown])
    load = ""
    if hasattr(os, "getloadavg"):
        load = f" Load average at the end: {os.getloadavg()[0]:.2f}."
    body = "\n".join([
        f"Taken {started:%Y-%m-%d %H:%M %Z} by `{command}` in **{total / 60:.1f} min** "
        f"({timings}).{load}",
        "",
        f"Machine: {machine}.",
        "",
        *([args.note, ""] if args.note else []),
        *(outputs[k][1].rstrip() + "\n" for k in sorted(outputs)),
    ])
    write_readme(body)
    print(f"run_all: wrote {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Long differential run: ``python scripts/difftest.py --count N [--start S]``.

Checks N random netx networks (``tests/netgen.py``; refused ones do not count) through plain
netx on Lava ``fixed_pt`` against razor-neuro's reference, spikes and states, and prints one
line per network and a summary; exit 1 on any mismatch.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from differential import REFUSAL, check  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="runnable networks to check")
    parser.add_argument("--start", type=int, default=100000, help="first seed (the suite "
                        "uses seeds below 8000)")
    args = parser.parse_args()
    ran = refused = bad = 0
    seed = args.start
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="razor-difftest-") as root:
        while ran < args.count:
            outcome = check(seed, Path(root))
            seed += 1
            if outcome.refused is not None:
                refused += 1
                known = "refused" if REFUSAL.search(outcome.refused) else "REFUSED (unexpected)"
                bad += known != "refused"
                print(f"{known}: {outcome.refused}", flush=True)
                continue
            ran += 1
            bad += outcome.mismatches != 0
            status = "ok" if outcome.mismatches == 0 else "MISMATCH"
            print(f"{status} spikes {list(outcome.spikes)} u {list(outcome.currents)} v "
                  f"{list(outcome.voltages)} lava spikes {list(outcome.lava_spikes)}: "
                  f"{outcome.description}", flush=True)
    print(f"{ran} networks (seeds {args.start}..{seed - 1}), {refused} refused, {bad} with "
          f"mismatches or unexpected refusals, {time.perf_counter() - t0:.0f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

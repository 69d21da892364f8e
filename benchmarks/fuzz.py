"""The full fuzzing budget in one command: every decoder fed >= 100 000 generated inputs.

    python benchmarks/fuzz.py            # HYPOTHESIS_PROFILE=fuzz (20 000 per test; ~15-30 min)
    python benchmarks/fuzz.py --ci       # the reduced budget CI runs (150 per test; < 1 min)
    python benchmarks/fuzz.py -- -k vault   # extra arguments go to pytest

It runs ``tests/fuzz`` under pytest with the chosen hypothesis profile, collects how many inputs
each test was fed (the suite's counter writes them to ``FUZZ_COUNTS_FILE``), prints the table and
fails when a test failed or, for the full budget, when the total is below 100 000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MINIMUM_TOTAL = 100_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ci", action="store_true", help="the reduced budget CI runs")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    profile = "ci" if args.ci else "fuzz"
    with tempfile.TemporaryDirectory() as tmp:
        counts_file = Path(tmp) / "counts.json"
        env = {
            **os.environ,
            "HYPOTHESIS_PROFILE": profile,
            "FUZZ_COUNTS_FILE": str(counts_file),
            "QT_QPA_PLATFORM": "offscreen",
        }
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "tests/fuzz",
                "-q",
                "-p",
                "no:cacheprovider",
                *args.pytest_args,
            ],
            cwd=ROOT,
            env=env,
            check=False,
        )
        elapsed = time.monotonic() - started
        counts: dict[str, int] = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    total = sum(counts.values())
    print(
        f"\nprofile {profile!r}: {total} generated inputs over {len(counts)} tests "
        f"in {elapsed:.0f} s"
    )
    if result.returncode != 0:
        print("FAILED: a fuzz test found an input that escaped as an untyped error (see above).")
        return result.returncode
    if profile == "fuzz" and not args.pytest_args and total < MINIMUM_TOTAL:
        print(f"FAILED: only {total} inputs; the budget is at least {MINIMUM_TOTAL}.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

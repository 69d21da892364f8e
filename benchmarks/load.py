"""The full load run: 50 HEMs, 1 000 broker requests and 20 programs at once for 5 minutes.

    python benchmarks/load.py                  # 300 s, 1 000 requests, 20 programs, 50 HEMs
    python benchmarks/load.py --seconds 60     # shorter

The same scenario and the same checks as ``tests/load/test_load.py`` (which CI runs for about
15 s): no error, every request approved exactly once, no leak (RSS after warm-up, threads), the
poller never stopped. Prints the figures (time to be shown, agent answers, longest gap between
poller rounds) for a person to compare with the targets; exits 1 on a failed check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.load.harness import LoadConfig, run  # noqa: E402
from tests.load.test_load import check  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--hems", type=int, default=50)
    args = parser.parse_args(argv)
    config = LoadConfig(
        hems=args.hems, events=args.events, clients=args.clients, seconds=args.seconds
    )
    report = run(config)
    try:
        check(report)
    except AssertionError as exc:
        print(f"FAILED: {exc}")
        return 1
    samples = report.samples
    if samples:
        print(
            f"RSS {samples[0].rss_kib / 1024:.0f} → {samples[-1].rss_kib / 1024:.0f} MiB; "
            f"poller rounds {samples[0].rounds} → {samples[-1].rounds}; "
            f"threads peak {max(s.threads for s in samples)}"
        )
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

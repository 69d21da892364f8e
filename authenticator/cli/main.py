"""The ``authenticator`` command line: argument parsing and dispatch.

The command names, options and exit codes here are a stable contract (users, scripts and our own
end-to-end tests call them); see ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from authenticator import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authenticator",
        description=(
            "Encedo Desktop Authenticator: approve or deny access to your Encedo HEM with one "
            "click. With no command it starts the desktop app in the tray."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--home",
        metavar="DIR",
        help="data and configuration directory (default: the platform's; env AUTHENTICATOR_HOME)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the built-in HEM + broker emulator and the app wired to it (separate home)",
    )
    parser.add_argument(
        "--diagnostics",
        action="store_true",
        help="print versions, paths and capabilities for a bug report (nothing secret)",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        print(f"authenticator {__version__}: the desktop app is not built yet.", file=sys.stderr)
        return 1
    return 0

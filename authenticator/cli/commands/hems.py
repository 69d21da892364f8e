"""``hems`` and ``unpair``."""

from __future__ import annotations

import argparse
import sys

from authenticator.cli import exitcodes
from authenticator.cli.context import open_core
from authenticator.cli.output import emit, local_time
from authenticator.cli.prompt import ask_passphrase, has_terminal, say


def list_hems(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        hems = core.hems()
        lines = []
        for h in hems:
            lines.append(f"{h.name}  ({h.source}) {h.hostname}")
            lines.append(f"  user {h.user or '-'} {h.email}; this computer is “{h.label}”")
            lines.append(f"  paired {local_time(h.paired_at)}, last used {local_time(h.last_used)}")
        emit(args, [h.to_json() for h in hems], lines or ["No HEM is paired yet."])
        return exitcodes.SUCCESS
    finally:
        core.close()


def unpair(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        rec = core.pairing(args.name)
        passphrase = None
        if not args.local_only:
            if args.hem_passphrase_stdin:
                passphrase = sys.stdin.readline().rstrip("\r\n") or None
            elif rec.source == "direct" and has_terminal():
                passphrase = ask_passphrase(
                    f"HEM passphrase of {rec.name} (to remove this computer's key): "
                )
        result = core.unpair(rec.name, local_only=args.local_only, hem_passphrase=passphrase)
        data = {
            "name": result.name,
            "broker": result.broker,
            "hem": result.hem,
            "removed": result.removed,
            "problems": list(result.problems),
        }
        if result.removed:
            emit(args, data, [f"Unpaired {result.name}."])
            return exitcodes.SUCCESS
        say(list(result.problems))
        emit(args, data, "")
        say(
            [
                f"{result.name} is still paired. Try again later, or forget it on this computer "
                f"only with: authenticator unpair {result.name!r} --local-only"
            ]
        )
        return exitcodes.OTHER
    finally:
        core.close()

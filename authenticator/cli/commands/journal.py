"""``journal [--verify] [--limit N]``."""

from __future__ import annotations

import argparse

from authenticator.cli import exitcodes
from authenticator.cli.context import open_core
from authenticator.cli.output import emit, local_time


def run(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        if args.verify:
            report = core.verify_journal()
            data = {
                "ok": report.ok,
                "entries": report.entries,
                "pruned": report.pruned,
                "first_broken": report.first_broken,
                "reason": report.reason,
            }
            if report.ok:
                text = f"The journal is intact: {report.entries} entries"
                text += f" ({report.pruned} older ones pruned)." if report.pruned else "."
            else:
                text = (
                    f"The journal was altered: entry {report.first_broken} is broken "
                    f"({report.reason})."
                )
            emit(args, data, [text])
            return exitcodes.SUCCESS if report.ok else exitcodes.OTHER
        entries = core.journal_entries(limit=max(1, args.limit))
        lines = [f"{local_time(e.ts)}  {e.kind:<24} {e.hem or '-':<16} {e.text}" for e in entries]
        emit(
            args,
            [
                {
                    "seq": e.seq,
                    "ts": e.ts,
                    "kind": e.kind,
                    "hem": e.hem,
                    "outcome": e.outcome,
                    "text": e.text,
                    "fields": dict(e.fields),
                }
                for e in entries
            ],
            lines or ["The journal is empty."],
        )
        return exitcodes.SUCCESS
    finally:
        core.close()

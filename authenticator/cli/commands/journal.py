"""``journal [--verify [FILE]] [--export FILE] [--limit N]``.

``--export FILE`` writes every entry as JSON lines after a keyed header (store/journal.py), for an
audit; ``--verify FILE`` checks such an export later — with the vault open, since the key that
chains the entries never leaves it — and names the first bad entry of a tampered one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from authenticator.cli import exitcodes
from authenticator.cli.context import open_core
from authenticator.cli.output import emit, local_time
from authenticator.store.journal import VerifyReport


def _verified(args: argparse.Namespace, report: VerifyReport, what: str) -> int:
    data = {
        "ok": report.ok,
        "entries": report.entries,
        "pruned": report.pruned,
        "first_broken": report.first_broken,
        "reason": report.reason,
    }
    if report.ok:
        text = f"{what} is intact: {report.entries} entries"
        text += f" ({report.pruned} older ones pruned)." if report.pruned else "."
    elif report.first_broken is not None:
        text = f"{what} was altered: entry {report.first_broken} is broken ({report.reason})."
    else:
        text = f"{what} cannot be trusted: {report.reason}."
    emit(args, data, [text])
    return exitcodes.SUCCESS if report.ok else exitcodes.OTHER


def run(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        if args.export:
            dest = Path(args.export).expanduser()
            count = core.journal().export(dest, now=core.clock.now())
            report = core.verify_journal()
            lines = [f"Wrote {count} journal entries to {dest}."]
            if not report.ok:
                lines.append(
                    f"Note: the journal itself fails its check ({report.reason}); the export "
                    "shows the same damage."
                )
            emit(
                args,
                {"file": str(dest), "entries": count, "journal_ok": report.ok},
                lines,
            )
            return exitcodes.SUCCESS
        if args.verify is not None:
            if args.verify:
                source = Path(args.verify).expanduser()
                return _verified(args, core.journal().verify_export(source), f"The export {source}")
            return _verified(args, core.verify_journal(), "The journal")
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

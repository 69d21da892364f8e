"""Printing results: one JSON document with ``--json``, readable lines otherwise.

Both go through the one terminal writer (:mod:`authenticator.cli.terminal`): no field can move
the cursor, and ``--json`` is exact JSON with every control character escaped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from authenticator.cli import terminal

__all__ = ["clock_time", "emit", "in_words", "local_time"]


def emit(args: Any, data: object, text: str | Sequence[str]) -> None:
    """Print ``data`` as JSON (``--json``) or ``text`` (one line per item of a list), on stdout."""
    if getattr(args, "json", False):
        sys.stdout.write(terminal.json_text(data) + "\n")
        sys.stdout.flush()
    elif text:
        terminal.out(text)


def local_time(ts: int | None) -> str:
    if ts is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def clock_time(ts: int) -> str:
    return time.strftime("%H:%M", time.localtime(ts))


def in_words(seconds: int) -> str:
    """``14 min 03 s``, ``2 h 05 min``, ``45 s``."""
    seconds = max(0, seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"

"""Printing results: one JSON document with ``--json``, readable lines otherwise."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

__all__ = ["clock_time", "emit", "in_words", "local_time"]


def emit(args: Any, data: object, text: str) -> None:
    """Print ``data`` as JSON (``--json``) or ``text``, on stdout."""
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif text:
        print(text)
    sys.stdout.flush()


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

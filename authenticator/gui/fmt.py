"""Small text helpers shared by the windows: countdowns, dates, durations.

Kept Qt-light (only ``QCoreApplication.translate``) so the words are translatable and the
functions are trivial to test.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication

__all__ = ["clock_text", "countdown", "date_time", "relative", "until_text"]


def _tr(text: str) -> str:
    return QCoreApplication.translate("fmt", text)


def clock_text(seconds: int) -> str:
    """``14:52`` (or ``1:02:03`` past an hour)."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def countdown(seconds: int) -> str:
    """``Expires in 14:52``; ``Expired`` at zero."""
    if seconds <= 0:
        return _tr("Expired")
    return _tr("Expires in {time}").format(time=clock_text(seconds))


def date_time(ts: int | None) -> str:
    """A local date and time, ``2026-11-23 07:12``; an em dash when unknown."""
    if not ts:
        return "—"
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def relative(ts: int | None, now: int) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, else the date."""
    if not ts:
        return _tr("never")
    ago = now - ts
    if ago < 60:
        return _tr("just now")
    if ago < 3600:
        return _tr("{n} min ago").format(n=ago // 60)
    if ago < 86400:
        return _tr("{n} h ago").format(n=ago // 3600)
    return date_time(ts)


def until_text(ts: int | None, now: int) -> str:
    """``until 07:42`` for a time still ahead (``—`` otherwise)."""
    if not ts or ts <= now:
        return "—"
    when = dt.datetime.fromtimestamp(ts)
    if ts - now < 86400:
        return _tr("until {time}").format(time=when.strftime("%H:%M"))
    return _tr("until {time}").format(time=when.strftime("%Y-%m-%d %H:%M"))

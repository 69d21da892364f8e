"""What a notification says about a request, for every backend: the truth first, claims after.

A bubble is read in a glance, and a server may cut it after a few lines. So the first line is
always the verified action, built from the scope alone ("Someone wants to delete a key from
my-hem."); then what Approve grants and until when; and only after that the outsiders' words,
one line each, cleaned (no newline can push the action down, no control or bidi character can
reorder it) and labelled with whose claim they are ("Location — reported by the broker: …").

Servers that announce ``body-markup`` read the body as a small XML-like markup, so
:func:`escape_markup` escapes ``&``, ``<``, ``>`` and both quotes. Qt's tray balloon goes either
to Qt's own plain-text balloon or, on desktops with a StatusNotifier host, to the notification
server — the app cannot tell which — so :func:`neutral` replaces those four characters with
look-alikes that read the same under both.
"""

from __future__ import annotations

from authenticator.core.model import AccessRequest
from authenticator.protocol.outside import LIMITS, Origin, clean

__all__ = ["action_line", "claim_lines", "escape_markup", "hem_name", "neutral"]

_MARKUP = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
_LOOKALIKE = {"&": "＆", "<": "‹", ">": "›", '"': "”", "'": "’"}


def hem_name(request: AccessRequest) -> str:
    """The HEM's name as this app calls it, on one line."""
    return clean(request.hem, Origin.HEM, limit=LIMITS.label).text


def action_line(request: AccessRequest) -> str:
    """``Someone wants to list the keys on my-hem.`` — from the verified scope and the source."""
    return request.info.text(hem=hem_name(request), who=request.asker)


def claim_lines(request: AccessRequest) -> list[str]:
    """The app's own warnings first, then what outsiders say (``request.claims()``), one
    labelled line each."""
    lines = [f"Warning: {warning}" for warning in request.warnings]
    lines += [f"{row}: {value.text}" for row, value in request.claims()]
    return lines


def escape_markup(text: str) -> str:
    """Text for a ``body-markup`` server: ``&``, ``<``, ``>``, ``"`` and ``'`` escaped."""
    return "".join(_MARKUP.get(c, c) for c in text)


def neutral(text: str) -> str:
    """Text that reads the same as plain text and as markup (look-alikes for ``&<>"'``)."""
    return "".join(_LOOKALIKE.get(c, c) for c in text)

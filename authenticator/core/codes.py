"""Code matching: the owner proves the request on screen is the one *they* started.

A requester shows a two-digit code where it asks — ``authenticator token`` on its terminal's
stderr ("Approve code 47 in Encedo Authenticator"), a Manager page next to its button — and the
request carries it (the agent request's ``code``; a requester's ``note`` with ``code:47`` in it).
The prompt offers three codes: that one and two decoys, drawn with :mod:`secrets` and shuffled.
The owner picks the one the requester shows; a wrong pick denies the request and is journalled
as suspicious (someone else's request was on screen, e.g. a caller from an SSH session asking at
the moment the owner expected their own prompt).

The code is the requester's *claim*: it proves nothing about who asks, only that the owner is
looking at the request whose code they can see. When it is asked for is the setting
``code_matching``: ``off``; ``remote`` (default) — local programs started from a remote (SSH)
session must send a code, and requests that carry one in their note are matched; ``always`` —
every local program must send a code.
"""

from __future__ import annotations

import hmac
import re
import secrets

from authenticator.core.model import Program
from authenticator.errors import StateError, UserCancelled

__all__ = [
    "CODE_RANGE",
    "CodeRequiredError",
    "WrongCodeError",
    "code_from_note",
    "new_code",
    "offer",
    "parse_code",
    "program_needs_code",
    "same_code",
]

CODE_RANGE = range(10, 100)
"""Codes are two digits, 10 to 99 (no leading zero to misread)."""
_NOTE_CODE = re.compile(r"(?<![A-Za-z0-9])code:([1-9][0-9])(?![0-9])", re.IGNORECASE)


class CodeRequiredError(StateError):
    """This request needs the owner to pick the code the requester shows (or the requester to
    send one)."""

    code = "code_required"
    default_message = (
        "Pick the code the requester shows to approve this request (open it in the window)."
    )


class WrongCodeError(UserCancelled):
    """The owner picked a code the requester does not show: the request was denied."""

    code = "wrong_code"
    default_message = (
        "That is not the code the requester shows, so the request was denied and journalled "
        "as suspicious."
    )


def new_code() -> int:
    """A fresh two-digit code (what a requester shows)."""
    return CODE_RANGE.start + secrets.randbelow(len(CODE_RANGE))


def parse_code(value: object) -> int | None:
    """A code as a request states it (``47`` or ``"47"``); ``None`` when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{2}", value):
        value = int(value)
    if isinstance(value, int) and value in CODE_RANGE:
        return value
    return None


def code_from_note(note: str | None) -> int | None:
    """The code a requester's note states as ``code:47`` (the first one), else ``None``."""
    if not note:
        return None
    match = _NOTE_CODE.search(note)
    return int(match.group(1)) if match else None


def offer(right: int) -> tuple[int, int, int]:
    """The three codes the prompt offers: ``right`` and two other codes, shuffled."""
    decoys: set[int] = set()
    while len(decoys) < 2:
        candidate = new_code()
        if candidate != right:
            decoys.add(candidate)
    choices = [right, *decoys]
    secrets.SystemRandom().shuffle(choices)
    return choices[0], choices[1], choices[2]


def same_code(picked: int, right: int) -> bool:
    return hmac.compare_digest(f"{picked:02d}".encode(), f"{right:02d}".encode())


def program_needs_code(mode: str, program: Program) -> bool:
    """Whether a local program must send a code under the setting ``mode``."""
    if mode == "always":
        return True
    return mode == "remote" and program.remote

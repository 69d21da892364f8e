"""Talking to the person at the terminal: passphrases (never echoed) and yes/no questions.

Prompts go to the controlling terminal (``/dev/tty``) so that ``$(authenticator token …)`` still
captures only the token on stdout. Every question and line goes through the terminal writer
(:func:`authenticator.cli.terminal.visible`): a HEM name or a program's words in a question cannot
move the cursor or rewrite the line above.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from authenticator.cli import terminal
from authenticator.errors import UserCancelled

__all__ = ["ask_passphrase", "ask_yes_no", "has_terminal", "say"]


@contextlib.contextmanager
def _tty() -> Iterator[tuple[TextIO, TextIO]]:
    if os.environ.get("AUTHENTICATOR_NO_TTY") == "1":
        raise OSError("terminal disabled")
    try:
        # Two streams: a terminal is not seekable, so Python refuses one "r+" text stream on it.
        inp = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        if sys.stdin.isatty() and sys.stderr.isatty():
            yield sys.stdin, sys.stderr
            return
        raise
    with inp, open("/dev/tty", "w", encoding="utf-8") as out:
        yield inp, out


def has_terminal() -> bool:
    try:
        with _tty():
            return True
    except OSError:
        return False


def say(text: str | Sequence[str]) -> None:
    """Lines for the person (stderr), never on stdout; one line per item of a list."""
    terminal.err(text)


def ask_yes_no(question: str, *, default: bool = False) -> bool:
    """``question [y/N]`` on the terminal; ``UserCancelled`` on Ctrl-C or end of input."""
    suffix = " [Y/n] " if default else " [y/N] "
    try:
        with _tty() as (inp, out):
            out.write(terminal.visible(question) + suffix)
            out.flush()
            answer = inp.readline()
    except KeyboardInterrupt as exc:
        raise UserCancelled() from exc
    if not answer:
        raise UserCancelled()
    answer = answer.strip().lower()
    return default if not answer else answer in {"y", "yes"}


def ask_passphrase(prompt: str, *, confirm: bool = False) -> str:
    """Read a passphrase without echo (twice when ``confirm``)."""
    try:
        with _tty() as (_inp, out):
            first = getpass.getpass(terminal.visible(prompt), stream=out)
            if confirm:
                again = getpass.getpass("Repeat it: ", stream=out)
                if again != first:
                    raise UserCancelled("The two passphrases differ; nothing was changed.")
    except (KeyboardInterrupt, EOFError) as exc:
        raise UserCancelled() from exc
    return first

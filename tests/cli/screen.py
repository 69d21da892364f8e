"""The CLI in a real pty, rendered by a terminal emulator model (pyte): tests read the screen a
person would see, not the bytes.

stdout and stderr both go to the terminal (as in an interactive shell); the process has the pty
as its controlling terminal, so prompts on ``/dev/tty`` land there too. Answers are typed when a
given text shows on the screen (waiting on the terminal's output with ``select``, never sleeping).
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pyte

COLS, ROWS = 1100, 120  # wider than a capped line: a row is a line


@dataclass
class Shown:
    code: int
    screen: pyte.Screen

    @property
    def rows(self) -> list[str]:
        """The screen's rows without trailing blanks, trailing empty rows dropped."""
        rows = [r.rstrip() for r in self.screen.display]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    @property
    def text(self) -> str:
        """Every row joined (a wrapped line reads on across rows)."""
        return "".join(r.ljust(COLS) for r in self.rows)

    def row_starting(self, prefix: str) -> list[str]:
        return [r for r in self.rows if r.startswith(prefix)]


def assert_honest(shown: Shown) -> None:
    """Nothing an outsider wrote took control of the terminal: the title is untouched, every
    character is drawn in the default colours and style, and no control, format or separator
    character sits in any cell (so nothing reorders or hides what a person reads)."""
    screen = shown.screen
    assert screen.title == ""
    assert screen.icon_name == ""
    for y, line in screen.buffer.items():
        for x, cell in line.items():
            styled = (cell.fg, cell.bg, cell.bold, cell.italics, cell.underscore, cell.reverse)
            assert styled == ("default", "default", False, False, False, False), (y, x, cell)
            assert cell.blink is False
            assert cell.strikethrough is False
            for ch in cell.data:
                assert unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"), (y, x, cell)


def run_in_terminal(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    answers: Sequence[tuple[str, str]] = (),
    executable: str | None = None,
    cwd: str | None = None,
    timeout: float = 90,
) -> Shown:
    """Run ``argv`` on a fresh pty of COLS×ROWS; type each answer once its cue is on screen."""
    screen = pyte.Screen(COLS, ROWS)
    stream = pyte.ByteStream(screen)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))

    def controlling_tty() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        list(argv),
        executable=executable,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm"},
        cwd=cwd,
        preexec_fn=controlling_tty,  # noqa: PLW1509 - the child needs the pty as its terminal
    )
    os.close(slave)
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out; the screen shows:\n{os.linesep.join(screen.display)}"
                )
            ready, _, _ = select.select([master], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                chunk = b""
            if not chunk:
                break
            stream.feed(chunk)
            while pending and pending[0][0] in "".join(screen.display):
                os.write(master, pending.pop(0)[1].encode())
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not pending, f"never asked {pending[0][0]!r}; the screen shows:\n" + "\n".join(
        screen.display
    )
    return Shown(code, screen)


def authenticator_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "authenticator", *args]

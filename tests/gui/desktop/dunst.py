"""Playing the person at a real dunst: pick an action from its context menu, count its bubbles.

dunst draws no buttons; its actions live in a context menu it shows through ``dmenu``. The
session's dunst is configured with :func:`write_dmenu`'s script as its dmenu: the script saves
the menu it was offered (``menu.txt``) and answers with the first line containing the text in
``choice`` (nothing when empty). ``dunstctl context`` opens the menu, so :meth:`Dunst.pick`
is a click. dunst 1.9 lists an action as ``#Approve (summary) [notification id,approve]``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

DMENU = """#!/bin/sh
# dunst's dmenu for the tests: remember the menu, pick the line holding the chosen text.
menu=$(cat)
printf '%s\\n' "$menu" > "{dir}/menu.tmp" && mv "{dir}/menu.tmp" "{dir}/menu.txt"
choice=$(cat "{dir}/choice" 2>/dev/null)
[ -n "$choice" ] && printf '%s\\n' "$menu" | grep -m1 -F -- "$choice"
exit 0
"""


def write_dmenu(directory: Path) -> Path:
    """The dmenu script for dunst's configuration."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "dmenu.sh"
    script.write_text(DMENU.format(dir=directory))
    script.chmod(0o755)
    return script


def poll(check: Callable[[], object], timeout: float, what: str) -> object:
    """Poll an external daemon's state until ``check`` is truthy, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Dunst:
    """``dunstctl`` for the session whose environment is ``env``."""

    def __init__(self, env: dict[str, str], directory: Path) -> None:
        self.env = env
        self.dir = directory

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            ["dunstctl", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout.strip()

    def displayed(self) -> int:
        return int(self.ctl("count", "displayed"))

    def menu(self, choice: str = "") -> list[str]:
        """Open the context menu, pick the line containing ``choice`` (if any); what was offered.

        Returns as soon as dunst has run the script; the action itself then reaches the app.
        """
        menu = self.dir / "menu.txt"
        menu.unlink(missing_ok=True)
        (self.dir / "choice").write_text(choice)
        self.ctl("context")
        poll(menu.exists, 10, "dunst's context menu")
        return menu.read_text().splitlines()

    def pick(self, label: str) -> float:
        """Click ``label`` (e.g. ``Approve``) in the context menu; returns when it was clicked."""
        (self.dir / "choice").write_text(f"#{label} (")
        (self.dir / "menu.txt").unlink(missing_ok=True)
        clicked = time.monotonic()
        self.ctl("context")
        return clicked

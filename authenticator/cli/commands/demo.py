"""``authenticator --demo``: the built-in emulator, started for the desktop app.

The app never imports the emulator (import-linter: only ``cli`` may); this module starts it
in-process on a free loopback port and hands the app the two addresses it needs (the demo page
to open, the broker for the demo home) and a way to stop it. It also says on the terminal where
the demo page is: the browser may not open by itself (no default browser, a headless session),
and a person who closed the tab needs the address again.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

from authenticator.emulator.server import RunningEmulator, serve_in_thread

__all__ = ["RunningDemo", "announce", "start_demo"]


@dataclass
class RunningDemo:
    running: RunningEmulator

    @property
    def demo_url(self) -> str:
        return self.running.urls.demo

    @property
    def broker_url(self) -> str:
        return self.running.urls.broker

    def stop(self) -> None:
        self.running.stop()


def announce(url: str, out: TextIO | None = None) -> None:
    """Tell the person where the demo page is and what to do first."""
    stream = out if out is not None else sys.stdout
    if stream is None:  # pythonw on Windows: no console at all
        return
    lines = (
        f"The demo is running. Its page, the Encedo Manager's stand-in: {url}",
        "It opens in your browser; if it does not, open that address yourself (the tray menu "
        'and the app\'s first screen have "Open the demo page" too).',
        'Then click "Pair an authenticator" on the page, and "Pair a HEM" then "Read from the '
        'screen" in the app. Quit the demo from the tray menu.',
    )
    try:
        stream.write("\n".join(lines) + "\n")
        stream.flush()
    except (OSError, ValueError):  # no terminal (closed stdout): the page still opens
        pass


def start_demo() -> RunningDemo:
    """One emulated HEM (passphrase ``demo``) with its broker and the demo page."""
    demo = RunningDemo(serve_in_thread(hem_count=1))
    announce(demo.demo_url)
    return demo

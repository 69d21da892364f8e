"""``authenticator --demo``: the built-in emulator, started for the desktop app.

The app never imports the emulator (import-linter: only ``cli`` may); this module starts it
in-process on a free loopback port and hands the app the two addresses it needs (the demo page
to open, the broker for the demo home) and a way to stop it.
"""

from __future__ import annotations

from dataclasses import dataclass

from authenticator.emulator.server import RunningEmulator, serve_in_thread

__all__ = ["RunningDemo", "start_demo"]


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


def start_demo() -> RunningDemo:
    """One emulated HEM (passphrase ``demo``) with its broker and the demo page."""
    return RunningDemo(serve_in_thread(hem_count=1))

"""What every window needs: the core, the task runner, the bridge, the clipboard guard.

Windows receive one :class:`AppContext` instead of reaching for globals, so a test builds the
same windows around a core of its own (with a fake clock, a test home) and drives them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from authenticator.core.app import Core
from authenticator.gui.bridge import Bridge
from authenticator.gui.clipboard import ClipboardGuard
from authenticator.gui.tasks import TaskRunner

__all__ = ["AppContext", "DemoServer", "DemoStarter"]


class DemoServer(Protocol):
    """A running demo emulator (started by ``authenticator.cli``; the app never imports it)."""

    @property
    def demo_url(self) -> str:
        """The demo Manager page to open in the browser."""
        ...

    @property
    def broker_url(self) -> str:
        """The emulated broker (the demo home's default broker)."""
        ...

    def stop(self) -> None: ...


DemoStarter = Callable[[], DemoServer]
"""Starts the in-process demo emulator (``cli/commands/demo.py`` provides it)."""


@dataclass
class AppContext:
    core: Core
    tasks: TaskRunner
    bridge: Bridge
    clipboard: ClipboardGuard
    demo: DemoServer | None = None
    demo_passphrase: str | None = None
    """In demo mode, the demo store's passphrase (shown on the lock screen: it is not secret)."""
    flags: dict[str, bool] = field(default_factory=dict)

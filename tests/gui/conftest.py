"""GUI tests: the real windows on the real core, against the real emulator over HTTP (offscreen).

The emulator fixtures are the shared ones of ``tests/support_emulator.py`` (one session-wide
emulator, reset per test). Each test
gets a fresh home, a core whose clock can be moved forward, the bridge and a ``TaskRunner`` —
the same ``AppContext`` the app builds — and, when it asks, the main window around it. Waiting is
always ``qtbot.waitUntil`` / ``waitSignal`` (the other side works over HTTP).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from authenticator.core.agent.server import AgentServer
from authenticator.core.app import Core
from authenticator.core.model import HemView
from authenticator.core.peer import identify_pid
from authenticator.emulator.requester import AccessResult, AccessSession, Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui.bridge import Bridge
from authenticator.gui.clipboard import ClipboardGuard
from authenticator.gui.context import AppContext
from authenticator.gui.tasks import TaskRunner
from authenticator.gui.theme import apply_theme
from authenticator.gui.windows.main import MainWindow
from tests.support_emulator import HEM_PASSPHRASE, PASSPHRASE, make_core, pair_by_qr

IN_SSH = identify_pid(os.getpid()).remote is not None
"""Run from an SSH session, every program here is remote: code matching would apply to all."""


class MovableClock:
    """Real time plus an offset the test can move forward (countdown expiry)."""

    def __init__(self) -> None:
        self.offset = 0

    def now(self) -> int:
        return int(time.time()) + self.offset


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def core(tmp_path: Path, emu: RunningEmulator, clock: MovableClock) -> Iterator[Core]:
    c = make_core(tmp_path / "home", clock=clock)
    c.create_store(passphrase=PASSPHRASE)
    # As in the app: the core's own expiry clock runs (the tests drive broker rounds themselves).
    c.start(agent=False, poller=False)
    yield c
    c.close()


@pytest.fixture
def ctx(qtbot: QtBot, core: Core, qapp: object) -> Iterator[AppContext]:
    apply_theme(qapp, "light")  # type: ignore[arg-type]
    bridge = Bridge()
    core.add_listener(bridge)
    context = AppContext(core=core, tasks=TaskRunner(), bridge=bridge, clipboard=ClipboardGuard())
    yield context
    context.tasks.close()
    core.remove_listener(bridge)
    context.clipboard.clear()


@pytest.fixture
def window(qtbot: QtBot, ctx: AppContext) -> MainWindow:
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.quitting = True
    win.enter_unlocked()
    win.show()
    return win


def paired(core: Core, requester: Requester) -> HemView:
    return pair_by_qr(core, requester)


def bring_in(qtbot: QtBot, core: Core, session: AccessSession) -> str:
    """Let the core see the Manager's request (one broker round) and wait for the GUI."""
    qtbot.waitUntil(lambda: session.event_id in [r.id for r in core.refresh()], timeout=10_000)
    return session.event_id


def outcome(qtbot: QtBot, session: AccessSession) -> AccessResult:
    """Wait (over HTTP) until the Manager's request is no longer pending."""
    qtbot.waitUntil(lambda: session.poll().state != "pending", timeout=10_000)
    return session.result


@contextmanager
def agent_for(
    core: Core,
    emu: RunningEmulator,
    tag: str,
    *,
    code_matching: str | None = None,
    name: str | None = None,
) -> Iterator[AgentServer]:
    """The app's agent on a socket of its own (``/tmp/eda-<tag>-<pid>``), the core paired
    directly with the emulator's first HEM (as ``name``). ``code_matching``: the setting to use;
    by default it is turned off only when the suite runs in an SSH session."""
    if code_matching is not None:
        core.update_settings(code_matching=code_matching)
    elif IN_SSH:
        core.update_settings(code_matching="off")  # every program here would be remote
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE, name=name)
    directory = Path(f"/tmp/eda-{tag}-{os.getpid()}")
    directory.mkdir(mode=0o700, exist_ok=True)
    server = AgentServer(core, directory / "agent.sock")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)

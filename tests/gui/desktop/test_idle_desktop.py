"""Idle means the whole desktop: input anywhere on the X server keeps the app unlocked.

A private Xvfb session; the idle watcher (offscreen Qt in this process) reads the X server's
idle time through the MIT-SCREEN-SAVER extension on the session's display, with a short limit
(1.5 s) and a fast check. ``xdotool`` moves the pointer on that display — input the app's own
windows never see — for three times the limit: the desktop watcher stays quiet while a watcher
counting only the app's input (the old behaviour) locks. Then the input stops and the desktop
watcher locks. Waiting is on signals and ``qtbot.waitUntil``, never a sleep.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from authenticator.gui.idle import IdleWatcher, XScreenSaverIdle, auto_source
from tests.desktop.session import private_desktop_session

pytestmark = pytest.mark.desktop

LIMIT_S = 1.5
CHECK_MS = 100
MOVE_MS = 250


@pytest.fixture
def x11(tmp_path: Path) -> Iterator[dict[str, str]]:
    with private_desktop_session(
        tmp_path / "x11", tray=False, notifications=False, keyring=False
    ) as env:
        yield env


def move_pointer(env: dict[str, str], step: int) -> None:
    x, y = (100, 100) if step % 2 else (300, 200)
    subprocess.run(["xdotool", "mousemove", str(x), str(y)], env=env, check=True, timeout=10)


def test_input_elsewhere_on_the_desktop_keeps_the_app_unlocked(
    qtbot: QtBot, x11: dict[str, str]
) -> None:
    source = XScreenSaverIdle.open(x11["DISPLAY"])
    assert source is not None, "Xvfb has the MIT-SCREEN-SAVER extension"
    desktop = IdleWatcher(lambda: LIMIT_S / 60, check_ms=CHECK_MS, source=source)
    app_only = IdleWatcher(lambda: LIMIT_S / 60, check_ms=CHECK_MS, source=None)
    fired: dict[str, list[float]] = {"desktop": [], "app_only": []}
    desktop.idle.connect(lambda: fired["desktop"].append(time.monotonic()))
    app_only.idle.connect(lambda: fired["app_only"].append(time.monotonic()))
    moves: list[float] = []

    def move() -> None:
        move_pointer(x11, len(moves))
        moves.append(time.monotonic())

    mover = QTimer()
    mover.setInterval(MOVE_MS)
    mover.timeout.connect(move)
    try:
        desktop.start()
        app_only.start()
        mover.start()
        # Someone works in other windows for three times the limit.
        qtbot.waitUntil(lambda: len(moves) * MOVE_MS >= 3 * LIMIT_S * 1000, timeout=20_000)
        mover.stop()
        assert fired["desktop"] == []  # the desktop was in use: no lock
        assert fired["app_only"]  # counting only the app's input, it would have locked
        assert source.idle_seconds() is not None
        # Now nobody touches anything: the desktop watcher locks.
        stopped = moves[-1]
        with qtbot.waitSignal(desktop.idle, timeout=10_000):
            pass
        assert fired["desktop"][0] - stopped >= LIMIT_S * 0.9  # not before the desktop idled
    finally:
        mover.stop()
        desktop.stop()
        app_only.stop()
        source.close()


def test_the_x11_app_reads_the_desktop_idle_time(
    x11: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPLAY", x11["DISPLAY"])
    source = auto_source("xcb")
    try:
        assert isinstance(source, XScreenSaverIdle)
        assert source.name == "x11-screensaver"
        move_pointer(x11, 0)
        idle = source.idle_seconds()
        assert idle is not None
        assert idle < LIMIT_S
    finally:
        if source is not None:
            source.close()

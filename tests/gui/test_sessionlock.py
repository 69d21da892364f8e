"""The session's lock reaches the app: logind (Lock, LockedHint, sleep, resume) and screen savers.

logind is played on a private bus given to the app as its system bus
(``DBUS_SYSTEM_BUS_ADDRESS``); a screen saver is a connection on a private session bus that owns
``org.freedesktop.ScreenSaver`` and says ``ActiveChanged``. Offscreen Qt; waiting is on the
watcher's signals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jeepney import DBusAddress, message_bus, new_signal
from jeepney.io.blocking import open_dbus_connection
from pytestqt.qtbot import QtBot

from authenticator.gui.sessionlock import SessionLockWatcher
from tests.desktop.logind import SESSION_PATH, FakeLogind
from tests.gui.desktop.fakebus import private_bus


@pytest.fixture
def buses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    with private_bus(tmp_path / "system") as system, private_bus(tmp_path / "session") as session:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", system)
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session)
        yield system, session


def watching(qtbot: QtBot, watcher: SessionLockWatcher, source: str) -> str:
    qtbot.waitUntil(lambda: watcher.status[source] != "starting", timeout=10_000)
    return watcher.status[source]


@pytest.mark.parametrize("by_pid", [True, False], ids=["session-of-the-pid", "display-session"])
def test_logind_lock_hint_sleep_and_resume(
    qtbot: QtBot, qapp: object, buses: tuple[str, str], by_pid: bool
) -> None:
    system, _ = buses
    with FakeLogind(system, by_pid=by_pid) as logind:
        watcher = SessionLockWatcher()
        watcher.start()
        try:
            assert watching(qtbot, watcher, "logind") == f"watching {SESSION_PATH}"
            for say, source in (
                (logind.lock, "logind"),
                (lambda: logind.set_locked_hint(True), "logind-hint"),
                (lambda: logind.prepare_for_sleep(True), "sleep"),
                (lambda: logind.prepare_for_sleep(False), "resume"),
            ):
                with qtbot.waitSignal(watcher.locked, timeout=5000) as blocker:
                    say()
                assert blocker.args == [source]
            # Unlocking says nothing: only a lock locks.
            logind.set_locked_hint(False)
            with qtbot.waitSignal(watcher.locked, timeout=5000) as blocker:
                logind.lock()  # the next signal to arrive is this one, not the hint above
            assert blocker.args == ["logind"]
        finally:
            watcher.stop()


def test_only_loginds_own_signals_count(qtbot: QtBot, qapp: object, buses: tuple[str, str]) -> None:
    system, _ = buses
    with FakeLogind(system) as logind:
        watcher = SessionLockWatcher()
        watcher.start()
        try:
            watching(qtbot, watcher, "logind")
            with open_dbus_connection(system) as intruder:
                forged = DBusAddress(SESSION_PATH, interface="org.freedesktop.login1.Session")
                intruder.send(new_signal(forged, "Lock"))
                intruder.send_and_get_reply(message_bus.GetId(), timeout=5)
            with qtbot.waitSignal(watcher.locked, timeout=5000) as blocker:
                logind.prepare_for_sleep(False)
            assert blocker.args == ["resume"]  # the forged Lock never arrived
        finally:
            watcher.stop()


def test_a_screen_saver_locking_locks_the_app(
    qtbot: QtBot, qapp: object, buses: tuple[str, str]
) -> None:
    _, session = buses
    with open_dbus_connection(session) as saver:
        saver.send_and_get_reply(message_bus.RequestName("org.freedesktop.ScreenSaver"), timeout=5)
        watcher = SessionLockWatcher()
        watcher.start()
        try:
            assert watching(qtbot, watcher, "screensaver") == "watching org.freedesktop.ScreenSaver"
            assert watching(qtbot, watcher, "logind") == "logind knows no session of ours"
            emitter = DBusAddress(
                "/org/freedesktop/ScreenSaver", interface="org.freedesktop.ScreenSaver"
            )
            saver.send(new_signal(emitter, "ActiveChanged", "b", (False,)))  # not a lock
            with qtbot.waitSignal(watcher.locked, timeout=5000) as blocker:
                saver.send(new_signal(emitter, "ActiveChanged", "b", (True,)))
            assert blocker.args == ["screensaver"]
        finally:
            watcher.stop()


def test_no_buses_at_all(qtbot: QtBot, qapp: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/system")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/session")
    watcher = SessionLockWatcher()
    watcher.start()
    try:
        assert watching(qtbot, watcher, "logind") == "no system bus"
        assert watching(qtbot, watcher, "screensaver") == "no session bus"
    finally:
        watcher.stop()

"""Locked means nothing is shown or approved; the lock screen unlocks; idle and session lock."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.errors import LockedError
from authenticator.gui.idle import IdleWatcher
from authenticator.gui.windows.main import MainWindow
from tests.gui.conftest import bring_in, paired
from tests.support_emulator import PASSPHRASE


def test_locked_app_refuses_and_shows_the_lock_screen(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    session = requester.request_access("keymgmt:list")
    rid = bring_in(qtbot, core, session)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == rid)
    with qtbot.waitSignal(window.ctx.bridge.lockChanged):
        core.lock()
    window.refresh_screen()
    assert window.screens.currentWidget() is window.lock_view
    assert window.requests.count == 0  # nothing of the request is left on screen
    assert window.requests.list.count() == 0
    assert "Locked" in window.status.text()
    # The request itself cannot be approved while locked.
    try:
        core.approve(rid)
    except LockedError:
        pass
    else:
        raise AssertionError("a locked core approved")
    assert session.poll().state == "pending"
    # Wrong passphrase: said in place; right one: back to the app, the request shown again.
    lock = window.lock_view
    lock.passphrase.setText("nope")
    qtbot.mouseClick(lock.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lock.banner.kind == "error", timeout=10_000)
    assert "passphrase" in lock.banner.text().lower()
    lock.passphrase.setText(PASSPHRASE)
    with qtbot.waitSignal(lock.unlocked, timeout=10_000):
        qtbot.keyClick(lock.passphrase, Qt.Key.Key_Return)
    assert lock.passphrase.text() == ""
    window.enter_unlocked()
    assert window.screens.currentWidget() is window.app_view
    bring_in(qtbot, core, session)
    qtbot.waitUntil(lambda: window.requests.count == 1)


def test_a_locked_approval_view_refuses_in_place(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    session = requester.request_access("keymgmt:list")
    rid = bring_in(qtbot, core, session)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == rid)
    core.vault.lock()  # locked behind the window's back (the bridge is not told)
    qtbot.waitUntil(view.approve_button.isEnabled)  # the input delay
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert "locked" in view.banner.text()
    assert session.poll().state == "pending"


def test_idle_lock_fires_after_the_set_minutes(qtbot: QtBot) -> None:
    now = [1000.0]
    minutes = [5]
    watcher = IdleWatcher(lambda: minutes[0], clock=lambda: now[0], check_ms=10)
    fired: list[bool] = []
    watcher.idle.connect(lambda: fired.append(True))
    watcher.start()
    now[0] += 4 * 60
    watcher.check()
    assert fired == []
    watcher.touch()  # input resets the clock
    now[0] += 4 * 60
    watcher.check()
    assert fired == []
    now[0] += 61
    watcher.check()
    assert fired == [True]
    minutes[0] = 0  # never
    now[0] += 10_000
    watcher.check()
    assert fired == [True]
    watcher.stop()


def test_tray_tooltip_says_nothing_of_requests_while_locked(
    qtbot: QtBot, window: MainWindow
) -> None:
    from authenticator.gui.tray import Tray

    tray = Tray()
    tray.update(state="pending", count=2)
    assert tray.tooltip() == "2 requests waiting"
    tray.update(state="locked", count=0)
    assert "locked" in tray.tooltip()
    assert not tray.actions["lock"].isEnabled()
    tray.hide()

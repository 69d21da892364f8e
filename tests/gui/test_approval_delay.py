"""The approval window never takes input meant for another window: Allow is held back for a
moment after a request is shown and after the window becomes active; there is no default
button. Offscreen Qt, the real window on the real core and emulator; waiting on ``waitUntil``.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.gui.windows import approval
from authenticator.gui.windows.main import MainWindow
from tests.gui.conftest import bring_in, outcome, paired


def test_allow_waits_a_moment_after_a_request_appears(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    window.refresh_screen()
    session = requester.request_access("keymgmt:list")
    rid = bring_in(qtbot, core, session)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == rid)
    shown = time.monotonic()
    assert not view.approve_button.isEnabled()  # held back…
    assert view.deny_button.isEnabled()  # …Deny never is
    assert not view.approve_button.isDefault()
    assert not view.approve_button.autoDefault()
    view.approve_button.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.keyClick(view.approve_button, Qt.Key.Key_Space)  # typed for another window
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    assert view.state == "asking"
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
    assert time.monotonic() - shown >= approval.INPUT_DELAY_MS / 1000 * 0.9
    assert session.poll().state == "pending"  # nothing was answered meanwhile
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    assert outcome(qtbot, session).state == "approved"


def test_allow_waits_again_when_the_window_comes_to_the_front(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    window.refresh_screen()
    session = requester.request_access("keymgmt:list")
    rid = bring_in(qtbot, core, session)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == rid)
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is other, timeout=5000)
    window.bring_up()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    assert not view.approve_button.isEnabled()
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
    session.cancel()

"""Closing the window: to the tray when there is one, minimised (never hidden) when there is
none, so the app is never left running with no way back to it. Offscreen Qt."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from authenticator.gui.windows.main import MainWindow


def test_without_a_tray_closing_minimises(qtbot: QtBot, window: MainWindow) -> None:
    window.quitting = False
    window.tray_available = lambda: False
    with qtbot.waitSignal(window.closedToTray):
        window.close()
    assert window.isVisible()
    assert window.isMinimized()
    window.bring_up()
    assert not window.isMinimized()


def test_with_a_tray_closing_hides(qtbot: QtBot, window: MainWindow) -> None:
    window.quitting = False
    window.tray_available = lambda: True
    with qtbot.waitSignal(window.closedToTray):
        window.close()
    assert not window.isVisible()
    window.bring_up()
    assert window.isVisible()

"""The tray icon: always there, saying at a glance whether something waits, and the app's menu.

States: normal, pending (with the count, tooltip "2 requests waiting"), locked, offline. The
tooltip never carries a request's details (it is visible while locked and to anyone passing by).
The icon is always ``show()``-n, even without a tray host: Qt embeds it by itself when a host
appears later.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from authenticator import APP_NAME
from authenticator.gui.icons import TrayState, tray_icon
from authenticator.gui.qtfix import emit

__all__ = ["Tray"]


class Tray(QObject):
    openRequested = Signal()
    checkNowRequested = Signal()
    pairRequested = Signal()
    lockRequested = Signal()
    settingsRequested = Signal()
    quitRequested = Signal()
    demoPageRequested = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state: TrayState = "normal"
        self.count = 0
        self.icon = QSystemTrayIcon(tray_icon("normal"), self)
        self.menu = QMenu()
        self.actions: dict[str, QAction] = {}
        for key, text, signal in (
            ("open", self.tr("&Open"), self.openRequested),
            ("demo", self.tr("Open the &demo page"), self.demoPageRequested),
            ("check", self.tr("&Check now"), self.checkNowRequested),
            ("pair", self.tr("&Pair a HEM…"), self.pairRequested),
            ("lock", self.tr("&Lock"), self.lockRequested),
            ("settings", self.tr("&Settings…"), self.settingsRequested),
            ("quit", self.tr("&Quit"), self.quitRequested),
        ):
            if key == "quit":
                self.menu.addSeparator()
            action = self.menu.addAction(text)
            action.triggered.connect(signal)
            self.actions[key] = action
        self.actions["demo"].setVisible(False)  # shown in demo mode only (the controller)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.update(state="normal", count=0)
        self.icon.show()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            emit(self.openRequested)

    def update(self, *, state: TrayState, count: int, offline_reason: str = "") -> None:
        """Show ``state``; ``count`` waiting requests (while locked: how many wait, no details)."""
        self.state, self.count = state, count
        self.icon.setIcon(tray_icon(state, count))
        if state == "locked" and count:
            tip = self.tr("{app} — locked; {n} waiting: unlock to see").format(
                app=APP_NAME, n=count
            )
        elif state == "locked":
            tip = self.tr("{app} — locked").format(app=APP_NAME)
        elif state == "offline":
            tip = self.tr("{app} — offline").format(app=APP_NAME)
            if offline_reason:
                tip += f"\n{offline_reason}"
        elif count == 1:
            tip = self.tr("1 request waiting")
        elif count > 1:
            tip = self.tr("{n} requests waiting").format(n=count)
        else:
            tip = APP_NAME
        self.icon.setToolTip(tip)
        locked = state == "locked"
        self.actions["lock"].setEnabled(not locked)
        self.actions["check"].setEnabled(not locked)
        self.actions["pair"].setEnabled(not locked)

    def tooltip(self) -> str:
        return self.icon.toolTip()

    def message(self, title: str, text: str) -> None:
        if self.available():
            self.icon.showMessage(title, text, tray_icon("normal"), 8000)

    def hide(self) -> None:
        self.icon.hide()

"""The real app, started as ``authenticator --home HOME`` starts it, with a test's hand on it.

``python -m tests.gui.desktop.wayland_app HOME`` runs ``authenticator.gui.app.run`` — the
single-instance check, the core, the controller with its window, tray, notifications, idle and
session-lock watchers — in the session it is started in (the Wayland tests run it as the
session's user with ``QT_QPA_PLATFORM=wayland``). The one addition: when the controller has
started, a :class:`Hand` attaches to it and speaks JSON lines — events on stdout (``ready``,
``lock``, ``request``, ``focus``, ``preview``, ``paired``, ``screen-failed``, ``state``; each
with ``t`` = ``time.monotonic()``), commands on stdin (``unlock``, ``state``, ``read-screen``,
``accept``, ``close-window``, ``dismiss-notes``, ``page NAME``, ``check``, ``quit``). The vault's passphrase comes in
``AUTHENTICATOR_PASSPHRASE`` and is typed into the lock screen as a person would.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from authenticator.gui import controller as controller_module
from authenticator.gui.controller import AppController


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **fields}), flush=True)


class Hand(QObject):
    """Reads commands on a thread, runs them on the GUI thread; reports what the app does."""

    received = Signal(str)

    def __init__(self, controller: AppController) -> None:
        super().__init__(controller)
        self.c = controller
        self.received.connect(self.run, Qt.ConnectionType.QueuedConnection)
        bridge = controller.ctx.bridge
        bridge.lockChanged.connect(lambda locked: emit("lock", locked=bool(locked)))
        bridge.requestAdded.connect(lambda request: emit("request", id=request.id))
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication)
        app.focusWindowChanged.connect(self._focus)
        threading.Thread(target=self._read, daemon=True).start()
        QTimer.singleShot(0, lambda: emit("ready", **self.state()))

    def _read(self) -> None:
        for line in sys.stdin:
            self.received.emit(line.strip())
        self.received.emit("quit")

    @staticmethod
    def _focus(window: QWindow | None) -> None:
        emit("focus", title=window.title() if window is not None else "")

    def state(self) -> dict[str, Any]:
        c = self.c
        window = c.window
        live = c.desktop_live()
        return {
            "platform": QGuiApplication.platformName(),
            "locked": c.core.locked,
            "notifier": live.notifier,
            "notifier_reason": live.notifier_reason,
            "tray": live.tray,
            "tray_state": c.tray.state,
            "tray_tooltip": c.tray.tooltip(),
            "idle_source": live.idle_source,
            "lock_watch": dict(live.lock),
            "window_visible": window.isVisible(),
            "window_minimized": window.isMinimized(),
            "window_active": window.isActiveWindow(),
            "window_title": window.windowTitle(),
            "screen": window.screens.currentWidget().__class__.__name__,
            "requests": window.requests.count,
            "note_shown": getattr(c, "no_tray_note", None) is not None,
            "notes_open": [
                box.text()
                for box in QApplication.topLevelWidgets()
                if isinstance(box, QMessageBox) and box.isVisible()
            ],
        }

    @Slot(str)
    def run(self, command: str) -> None:
        c = self.c
        if command == "unlock":
            lock = c.window.lock_view
            lock.passphrase.setText(os.environ["AUTHENTICATOR_PASSPHRASE"])
            lock.button.click()
        elif command == "state":
            emit("state", **self.state())
        elif command == "read-screen":
            c.pair()
            wizard = c.wizard
            if wizard is None:
                emit("screen-failed", message="no wizard")
                return
            wizard.paired.connect(lambda hem: emit("paired", name=hem.name))
            wizard.read_screen()
            self._watch_wizard(time.monotonic())
        elif command == "read-region":
            c.pair()
            wizard = c.wizard
            if wizard is None:
                emit("screen-failed", message="no wizard")
                return
            wizard.paired.connect(lambda hem: emit("paired", name=hem.name))
            wizard.read_region()
            self._drag_when_picking(time.monotonic())
        elif command == "accept":
            if c.wizard is not None:
                c.wizard.accept_pairing()
        elif command == "close-window":
            c.window.close()
        elif command == "dismiss-notes":
            for box in QApplication.topLevelWidgets():
                if isinstance(box, QMessageBox) and box.isVisible():
                    box.accept()
        elif command == "check":
            c.check_now()
        elif command.startswith("page "):
            c.show_window(command.split(" ", 1)[1])
        elif command == "quit":
            c.quit()

    def _drag_when_picking(self, started: float) -> None:
        """The person drags a rectangle over the whole screen in the region picker."""
        wizard = self.c.wizard
        picker = getattr(wizard, "_picker", None) if wizard is not None else None
        if picker is None or not picker.isVisible():
            if time.monotonic() - started > 20:
                emit("screen-failed", message="no region picker")
                return
            QTimer.singleShot(20, lambda: self._drag_when_picking(started))
            return
        area = picker.rect().adjusted(4, 4, -4, -4)
        QTest.mousePress(
            picker, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, area.topLeft()
        )
        QTest.mouseMove(picker, area.center())
        QTest.mouseMove(picker, area.bottomRight())
        QTest.mouseRelease(
            picker, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, area.bottomRight()
        )
        self._watch_wizard(started)

    def _watch_wizard(self, started: float) -> None:
        wizard = self.c.wizard
        if wizard is None:
            return
        if wizard.preview is not None and wizard.pages.currentWidget() is wizard.preview_page:
            qr = wizard.preview.qr
            emit("preview", hostname=qr.hostname, user=qr.user, seconds=time.monotonic() - started)
            return
        message = wizard.source_banner.text() if wizard.source_banner.isVisible() else ""
        if message and wizard.source_banner.kind == "error":
            emit("screen-failed", message=message)
            return
        QTimer.singleShot(20, lambda: self._watch_wizard(started))


def main() -> None:
    original = AppController.start

    def start(self: AppController, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.test_hand = Hand(self)  # type: ignore[attr-defined]

    controller_module.AppController.start = start  # type: ignore[method-assign]
    from authenticator.gui.app import run

    code = run(argparse.Namespace(home=sys.argv[1], links=[], demo=False))
    emit("bye", code=code)
    QApplication.processEvents()
    sys.exit(code)


if __name__ == "__main__":
    main()

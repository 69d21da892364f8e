"""The app's side of the desktop tests: a real core, a tray icon and the notification router.

Run by ``test_notify_desktop.py`` as ``python -m tests.gui.desktop.app_side HOME`` inside the
private desktop session (``QT_QPA_PLATFORM=xcb``), so its Qt never meets the test process's
offscreen one. The vault's passphrase comes in ``AUTHENTICATOR_PASSPHRASE``.

It speaks JSON lines: events on stdout (``ready``, ``refreshed``, ``action``, ``answered``,
``failed``, ``raise_window``, ``locked``…, each with ``t`` = ``time.monotonic()``, one clock for
every process on Linux), commands on stdin (``refresh``, ``lock``, ``lock-behind-the-router``,
``unlock``, ``quit``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from authenticator.core.app import Core
from authenticator.core.netfactory import NetFactory
from authenticator.gui.notify import make_notifier
from authenticator.gui.notify.base import Action, ActionCallback, Notifier
from authenticator.gui.notify.glue import NotificationRouter
from authenticator.resources import icon_path
from authenticator.store.keychain import SystemKeychain
from authenticator.store.paths import AppPaths

EMBED_DEADLINE_S = 5.0


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **fields}), flush=True)


class Commands(QObject):
    """Reads stdin on a thread; runs each command on the GUI thread."""

    received = Signal(str)

    def __init__(self, core: Core, router: NotificationRouter, app: QApplication) -> None:
        super().__init__()
        self.core = core
        self.router = router
        self.app = app
        self.received.connect(self.run, Qt.ConnectionType.QueuedConnection)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            self.received.emit(line.strip())
        self.received.emit("quit")

    @Slot(str)
    def run(self, command: str) -> None:
        core = self.core
        if command == "refresh":  # the network, off the GUI thread

            def refresh() -> None:
                try:
                    emit("refreshed", pending=[r.id for r in core.refresh()])
                except Exception as exc:  # reported to the test
                    emit("error", message=f"{type(exc).__name__}: {exc}")

            threading.Thread(target=refresh, daemon=True).start()
        elif command == "lock":
            core.lock()
            emit("locked")
        elif command == "lock-behind-the-router":
            # A click racing the lock: the core locks, and the bubble is still on screen.
            bridge = self.router._bridge  # the router hears the core through its bridge
            core.remove_listener(bridge)
            core.lock()
            core.add_listener(bridge)
            emit("locked")
        elif command == "unlock":
            core.unlock(os.environ["AUTHENTICATOR_PASSPHRASE"])
            emit("unlocked")
        elif command == "quit":
            self.router.close()
            core.close()
            emit("bye")
            self.app.quit()


def instrument() -> None:
    """Report when an ``ActionInvoked`` reaches the notifier's worker (latency breakdown)."""
    from jeepney import HeaderFields, Message

    from authenticator.gui.notify.freedesktop import FreedesktopNotifier

    original = FreedesktopNotifier._on_signal

    def on_signal(self: FreedesktopNotifier, message: Message) -> None:
        if message.header.fields.get(HeaderFields.member) == "ActionInvoked":
            emit("signal", body=list(message.body))
        original(self, message)

    FreedesktopNotifier._on_signal = on_signal  # type: ignore[method-assign]


def main() -> None:
    instrument()
    home = Path(sys.argv[1])
    app = QApplication(["authenticator-desktop-test"])
    app.setQuitOnLastWindowClosed(False)
    tray = QSystemTrayIcon(QIcon(str(icon_path(size=22))))
    tray.show()

    core = Core(
        AppPaths.for_home(home),
        keychain=SystemKeychain(timeout=0.5),
        net=NetFactory(hem_timeout=3.0, broker_timeout=3.0),
    )
    core.unlock(os.environ["AUTHENTICATOR_PASSPHRASE"])

    def raise_window(request_id: str) -> None:
        emit("raise_window", request=request_id)

    def notifier_factory(on_action: ActionCallback) -> Notifier:
        def timed(request_id: str, action: Action) -> None:
            on_gui_thread = threading.current_thread() is threading.main_thread()
            emit("action", request=request_id, action=action, gui_thread=on_gui_thread)
            on_action(request_id, action)

        return make_notifier(tray, timed, raise_window, prefer=os.environ.get("NOTIFY_PREFER"))

    router = NotificationRouter(core, raise_window, notifier_factory=notifier_factory)
    router.answered.connect(lambda rid, what: emit("answered", request=rid, outcome=what))
    router.failed.connect(lambda rid, message: emit("failed", request=rid, message=message))
    router.start()
    commands = Commands(core, router, app)

    started = time.monotonic()

    def ready_when_embedded() -> None:
        geometry = tray.geometry()
        embedded = geometry.width() > 0 and geometry.height() > 0
        if not embedded and time.monotonic() - started < EMBED_DEADLINE_S:
            QTimer.singleShot(5, ready_when_embedded)
            return
        emit(
            "ready",
            tray_available=QSystemTrayIcon.isSystemTrayAvailable(),
            tray_geometry=[geometry.x(), geometry.y(), geometry.width(), geometry.height()],
            notifier=router.notifier.name,
            supports_actions=router.notifier.supports_actions,
            server=list(
                getattr(getattr(router.notifier, "bubble", router.notifier), "server", None) or []
            ),
            platform=app.platformName(),
        )

    QTimer.singleShot(0, ready_when_embedded)
    app.exec()
    del commands


if __name__ == "__main__":
    main()

"""Lock the app when the desktop session locks (org.freedesktop.ScreenSaver / logind).

Two D-Bus signals say "the session locked": ``ActiveChanged(true)`` of the screen saver
(``org.freedesktop.ScreenSaver``, ``org.gnome.ScreenSaver``, ``org.mate.ScreenSaver`` on the
session bus) and ``Lock`` of our logind session (``org.freedesktop.login1.Session`` on the system
bus). Each bus is watched by jeepney on its own daemon thread — blocking D-Bus I/O never runs on
the GUI thread — and a hit is delivered as the queued :attr:`SessionLockWatcher.locked` signal.
Everything is best effort: no bus, no logind or no screen saver simply means no signal.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque

from PySide6.QtCore import QObject, Signal

from authenticator.gui.qtfix import emit

__all__ = ["SessionLockWatcher"]

log = logging.getLogger(__name__)

SCREENSAVERS = ("org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver", "org.mate.ScreenSaver")
RECV_TIMEOUT = 1.0
CALL_TIMEOUT = 2.0


class SessionLockWatcher(QObject):
    locked = Signal(str)  # which signal said so

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if os.name != "posix":
            return
        for target, name in ((self._watch_session, "screensaver"), (self._watch_logind, "logind")):
            thread = threading.Thread(target=target, name=f"sessionlock-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(RECV_TIMEOUT + 0.5)
        self._threads.clear()

    # ------------------------------------------------------------------ the watchers

    def _watch_session(self) -> None:
        try:
            from jeepney import MatchRule, message_bus
            from jeepney.io.blocking import open_dbus_connection

            conn = open_dbus_connection("SESSION")
        except Exception as exc:  # noqa: BLE001 - best effort: no session bus, no watch
            log.info("no session bus to watch the screen saver: %s", type(exc).__name__)
            return
        try:
            queue: deque[object] = deque()
            handles = []
            for interface in SCREENSAVERS:
                rule = MatchRule(type="signal", interface=interface, member="ActiveChanged")
                conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT)
                handles.append(conn.filter(rule, queue=queue, bufsize=16))
            self._loop(
                conn, queue, lambda msg: bool(msg.body and msg.body[0] is True), "screensaver"
            )
        except Exception as exc:  # noqa: BLE001
            log.info("screen saver watch ended: %s", type(exc).__name__)
        finally:
            conn.close()

    def _watch_logind(self) -> None:
        try:
            from jeepney import DBusAddress, MatchRule, message_bus, new_method_call
            from jeepney.io.blocking import open_dbus_connection

            conn = open_dbus_connection("SYSTEM")
        except Exception as exc:  # noqa: BLE001
            log.info("no system bus to watch logind: %s", type(exc).__name__)
            return
        try:
            manager = DBusAddress(
                "/org/freedesktop/login1",
                bus_name="org.freedesktop.login1",
                interface="org.freedesktop.login1.Manager",
            )
            reply = conn.send_and_get_reply(
                new_method_call(manager, "GetSessionByPID", "u", (os.getpid(),)),
                timeout=CALL_TIMEOUT,
            )
            path = reply.body[0] if reply.body else None
            if not isinstance(path, str):
                return
            rule = MatchRule(
                type="signal", interface="org.freedesktop.login1.Session", member="Lock", path=path
            )
            conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT)
            queue: deque[object] = deque()
            conn.filter(rule, queue=queue, bufsize=16)
            self._loop(conn, queue, lambda msg: True, "logind")
        except Exception as exc:  # noqa: BLE001
            log.info("logind watch ended: %s", type(exc).__name__)
        finally:
            conn.close()

    def _loop(self, conn: object, queue: deque[object], hit: object, source: str) -> None:
        while not self._stop.is_set():
            try:
                msg = conn.recv_until_filtered(queue, timeout=RECV_TIMEOUT)  # type: ignore[attr-defined]
            except TimeoutError:
                continue
            if hit(msg):  # type: ignore[operator]
                emit(self.locked, source)

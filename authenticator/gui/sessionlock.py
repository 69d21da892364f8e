"""Lock the app when the desktop session locks, goes to sleep or wakes up.

Lock signals are missing on several compositors, so every source that exists is watched, and
the idle timer (``gui.idle``) backs them all:

- logind, on the system bus (``org.freedesktop.login1``): our session's ``Lock`` signal, its
  ``LockedHint`` property turning true (``PropertiesChanged``), and the manager's
  ``PrepareForSleep`` — the app locks when the machine goes to sleep *and* again when it wakes
  (a suspend can cut the first lock short);
- the screen saver, on the session bus: ``ActiveChanged(true)`` of ``org.freedesktop.ScreenSaver``
  (KDE, Xfce, …), ``org.gnome.ScreenSaver`` and ``org.mate.ScreenSaver``.

Our session is the one logind gives for our pid; failing that (a process started outside the
session, e.g. by a user service), the one named by ``XDG_SESSION_ID``, else the user's display
session. The system bus is the one ``DBUS_SYSTEM_BUS_ADDRESS`` names (the standard socket by
default), so a test can point the app at a bus of its own.

Each bus is watched by jeepney on its own daemon thread — blocking D-Bus I/O never runs on the
GUI thread — and a hit is delivered as the queued :attr:`SessionLockWatcher.locked` signal with
its source (``logind``, ``logind-hint``, ``sleep``, ``resume``, ``screensaver``); where the
session says it is unlocked again (logind's ``Unlock``, ``LockedHint`` false, the screen saver
going off) :attr:`SessionLockWatcher.unlocked` follows. The bus side of
each match names the service, so only its current owner's signals arrive. :attr:`status` says,
per source, whether it is being watched (for the "This desktop" report). Everything is best
effort: no bus, no logind or no screen saver simply means no signal from it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, Signal

from authenticator.gui.qtfix import emit

__all__ = ["SCREENSAVERS", "SessionLockWatcher"]

log = logging.getLogger(__name__)

SCREENSAVERS = ("org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver", "org.mate.ScreenSaver")
LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
USER = "org.freedesktop.login1.User"
PROPERTIES = "org.freedesktop.DBus.Properties"
UNLOCK = "unlock:"  # a watcher's hit that means "unlocked" (the rest names the source)
RECV_TIMEOUT = 1.0
CALL_TIMEOUT = 2.0


class SessionLockWatcher(QObject):
    locked = Signal(str)  # which signal said so
    unlocked = Signal(str)  # the session says it is unlocked again (where it tells)
    watching = Signal()  # emitted (queued) when a watcher is set up or gives up: status changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._status_lock = threading.Lock()
        self._status: dict[str, str] = {"logind": "starting", "screensaver": "starting"}

    @property
    def status(self) -> dict[str, str]:
        """Per source: ``watching …`` or why it is not (a snapshot)."""
        with self._status_lock:
            return dict(self._status)

    def _set_status(self, source: str, text: str) -> None:
        with self._status_lock:
            self._status[source] = text
        emit(self.watching)

    def start(self) -> None:
        if os.name != "posix":
            self._status = {"logind": "not on this system", "screensaver": "not on this system"}
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

            conn = open_dbus_connection("SESSION", auth_timeout=CALL_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - best effort: no session bus, no watch
            log.info("no session bus to watch the screen saver: %s", type(exc).__name__)
            self._set_status("screensaver", "no session bus")
            return
        try:
            queue: deque[Any] = deque()
            present = []
            for name in SCREENSAVERS:
                local = MatchRule(type="signal", interface=name, member="ActiveChanged")
                remote = MatchRule(
                    type="signal", sender=name, interface=name, member="ActiveChanged"
                )
                conn.send_and_get_reply(message_bus.AddMatch(remote), timeout=CALL_TIMEOUT)
                conn.filter(local, queue=queue, bufsize=16)
                reply = conn.send_and_get_reply(
                    message_bus.NameHasOwner(name), timeout=CALL_TIMEOUT
                )
                if reply.body[0]:
                    present.append(name)
            self._set_status(
                "screensaver",
                "watching " + ", ".join(present) if present else "no screen saver on the bus yet",
            )
            self._loop(
                conn,
                queue,
                lambda msg: "screensaver" if msg.body[:1] == (True,) else UNLOCK + "screensaver",
            )
        except Exception as exc:  # noqa: BLE001
            log.info("screen saver watch ended: %s", type(exc).__name__)
            self._set_status("screensaver", f"stopped ({type(exc).__name__})")
        finally:
            conn.close()

    def _watch_logind(self) -> None:
        try:
            from jeepney import MatchRule, message_bus
            from jeepney.io.blocking import open_dbus_connection

            conn = open_dbus_connection("SYSTEM", auth_timeout=CALL_TIMEOUT)
        except Exception as exc:  # noqa: BLE001
            log.info("no system bus to watch logind: %s", type(exc).__name__)
            self._set_status("logind", "no system bus")
            return
        try:
            path = _our_session(conn)
            if path is None:
                self._set_status("logind", "logind knows no session of ours")
                return
            queue: deque[Any] = deque()
            for interface, member, where in (
                (SESSION, "Lock", path),
                (SESSION, "Unlock", path),
                (PROPERTIES, "PropertiesChanged", path),
                (MANAGER, "PrepareForSleep", LOGIND_PATH),
            ):
                fields = {"type": "signal", "interface": interface, "member": member, "path": where}
                remote = MatchRule(sender=LOGIND, **fields)
                conn.send_and_get_reply(message_bus.AddMatch(remote), timeout=CALL_TIMEOUT)
                conn.filter(MatchRule(**fields), queue=queue, bufsize=16)
            self._set_status("logind", f"watching {path}")
            self._loop(conn, queue, _logind_hit)
        except Exception as exc:  # noqa: BLE001
            log.info("logind watch ended: %s", type(exc).__name__)
            self._set_status("logind", f"not available ({type(exc).__name__})")
        finally:
            conn.close()

    def _loop(self, conn: Any, queue: deque[Any], hit: Any) -> None:
        while not self._stop.is_set():
            try:
                msg = conn.recv_until_filtered(queue, timeout=RECV_TIMEOUT)
            except TimeoutError:
                continue
            source = hit(msg)
            if source.startswith(UNLOCK):
                log.info("the desktop session says: unlocked (%s)", source[len(UNLOCK) :])
                emit(self.unlocked, source[len(UNLOCK) :])
            elif source:
                log.info("the desktop session says: lock (%s)", source)
                emit(self.locked, source)


def _logind_hit(msg: Any) -> str:
    """Which lock a logind signal means, or "" for none."""
    from jeepney import HeaderFields

    member = msg.header.fields.get(HeaderFields.member)
    if member == "Lock":
        return "logind"
    if member == "Unlock":
        return UNLOCK + "logind"
    if member == "PrepareForSleep":
        return "sleep" if msg.body[:1] == (True,) else "resume"
    if member == "PropertiesChanged":
        interface, changed = msg.body[0], dict(msg.body[1])
        hint = changed.get("LockedHint")
        if interface == SESSION and hint is not None and hint[1] is True:
            return "logind-hint"
        if interface == SESSION and hint is not None and hint[1] is False:
            return UNLOCK + "logind-hint"
    return ""


def _our_session(conn: Any) -> str | None:
    """The object path of our logind session (see the module docstring), or None."""
    from jeepney import DBusAddress, Properties, new_method_call
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    manager = DBusAddress(LOGIND_PATH, bus_name=LOGIND, interface=MANAGER)

    def call(method: str, signature: str = "", args: tuple[Any, ...] = ()) -> Any:
        message = new_method_call(manager, method, signature, args)
        return unwrap_msg(conn.send_and_get_reply(message, timeout=CALL_TIMEOUT))[0]

    try:
        return str(call("GetSessionByPID", "u", (os.getpid(),)))
    except DBusErrorResponse:
        pass  # not in a session: started by a service, a terminal multiplexer, …
    session_id = os.environ.get("XDG_SESSION_ID", "")
    if session_id:
        try:
            return str(call("GetSession", "s", (session_id,)))
        except DBusErrorResponse:
            pass
    try:
        user_path = str(call("GetUser", "u", (os.getuid(),)))
        user = DBusAddress(user_path, bus_name=LOGIND, interface=USER)
        reply = conn.send_and_get_reply(Properties(user).get("Display"), timeout=CALL_TIMEOUT)
        _signature, (_id, display_path) = unwrap_msg(reply)[0]
    except DBusErrorResponse:
        return None
    return str(display_path) if display_path and display_path != "/" else None

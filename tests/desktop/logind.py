"""A stand-in for logind on a private system-like bus: the test says when the session locks.

It owns ``org.freedesktop.login1`` on the bus it is given (the app under test finds that bus in
``DBUS_SYSTEM_BUS_ADDRESS``), answers what the app asks to find its session
(``GetSessionByPID``, ``GetSession``, ``GetUser`` and the user's ``Display``), and emits, when
the test calls for them, the signals a real logind sends: the session's ``Lock``, its
``LockedHint`` turning true (``PropertiesChanged``) and the manager's ``PrepareForSleep``
(true going to sleep, false on waking). This is a hand-written fake of an *external* service,
not of our own code; every call it received is kept in ``calls``.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageType,
    message_bus,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.io.threading import DBusRouter, ReceiveStopped, open_dbus_connection

from tests.desktop.session import wait_for_bus_name

__all__ = ["FakeLogind"]

LOGIND = "org.freedesktop.login1"
MANAGER_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
USER = "org.freedesktop.login1.User"
PROPERTIES = "org.freedesktop.DBus.Properties"
SESSION_PATH = "/org/freedesktop/login1/session/_3test"
USER_PATH = "/org/freedesktop/login1/user/_1000"


class FakeLogind:
    """Owns logind's name on ``address`` until :meth:`close`."""

    def __init__(self, address: str, *, by_pid: bool = True) -> None:
        self.address = address
        self.by_pid = by_pid  # False: the caller is in no session (started by a service)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.changed = threading.Condition()
        self.locked_hint = False
        self._conn = open_dbus_connection(bus=address)
        with DBusRouter(self._conn) as router:
            reply = router.send_and_get_reply(message_bus.RequestName(LOGIND), timeout=5)
            assert reply.body[0] == 1, "could not own logind's name"
        self._thread = threading.Thread(target=self._serve, name="fake-logind", daemon=True)
        self._thread.start()
        wait_for_bus_name(address, LOGIND, 5)

    def close(self) -> None:
        self._conn.close()
        self._thread.join(5)

    def __enter__(self) -> FakeLogind:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_for_call(self, member: str, timeout: float = 10.0) -> None:
        """Until someone called ``member`` (e.g. the app looking for its session)."""
        with self.changed:
            assert self.changed.wait_for(
                lambda: any(name == member for name, _ in self.calls), timeout
            ), f"nobody called {member}"

    # ------------------------------------------------------------ what the desktop does

    def lock(self) -> None:
        """The session locks (``loginctl lock-session``)."""
        self._conn.send(new_signal(DBusAddress(SESSION_PATH, interface=SESSION), "Lock"))

    def set_locked_hint(self, value: bool) -> None:
        """The screen locker says the session is (un)locked."""
        self.locked_hint = value
        self._conn.send(
            new_signal(
                DBusAddress(SESSION_PATH, interface=PROPERTIES),
                "PropertiesChanged",
                "sa{sv}as",
                (SESSION, {"LockedHint": ("b", value)}, []),
            )
        )

    def prepare_for_sleep(self, going: bool) -> None:
        """The machine is about to sleep (``True``) or has just woken up (``False``)."""
        self._conn.send(
            new_signal(
                DBusAddress(MANAGER_PATH, interface=MANAGER), "PrepareForSleep", "b", (going,)
            )
        )

    # ------------------------------------------------------------ serving

    def _serve(self) -> None:
        with contextlib.suppress(ReceiveStopped, OSError, ValueError):
            while True:
                message = self._conn.receive()
                if message.header.message_type is MessageType.method_call:
                    self._handle(message)

    def _handle(self, message: Message) -> None:
        fields = message.header.fields
        member = fields.get(HeaderFields.member)
        path = fields.get(HeaderFields.path)
        with self.changed:
            self.calls.append((str(member), tuple(message.body)))
            self.changed.notify_all()
        reply: Message
        if member == "GetSessionByPID" and not self.by_pid:
            reply = new_error(
                message, "org.freedesktop.login1.NoSessionForPID", "s", ("not in a session",)
            )
        elif member in ("GetSessionByPID", "GetSession"):
            reply = new_method_return(message, "o", (SESSION_PATH,))
        elif member == "GetUser":
            reply = new_method_return(message, "o", (USER_PATH,))
        elif member == "Get" and path == USER_PATH and message.body[1] == "Display":
            reply = new_method_return(message, "v", (("(so)", ("3test", SESSION_PATH)),))
        elif member == "Get" and path == SESSION_PATH and message.body[1] == "LockedHint":
            reply = new_method_return(message, "v", (("b", self.locked_hint),))
        else:
            reply = new_error(
                message, "org.freedesktop.DBus.Error.UnknownMethod", "s", (f"no {member}",)
            )
        self._conn.send(reply)

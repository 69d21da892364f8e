"""A private session bus without service activation, and a scriptable notification server on it.

The server is a hand-written fake of an *external* D-Bus service (not of our own code): it lets
the unit tests see exactly what ``Notify`` carried (hints, actions, markup), script the person's
clicks, impersonate a forged sender, and hang on purpose. Real dunst is used by the desktop tests.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
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

NOTIFICATIONS = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
EMITTER = DBusAddress(PATH, interface=NOTIFICATIONS)

# No <servicedir>: nothing can be activated, so "no server" really means none.
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@contextmanager
def private_bus(root: Path) -> Iterator[str]:
    """A dbus-daemon of our own (no activatable services); yields its address."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("needs dbus-daemon (apt-get install dbus)")
    root.mkdir(parents=True, exist_ok=True)
    config = root / "bus.conf"
    config.write_text(BUS_CONFIG.format(dir=root))
    bus = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        assert address, "dbus-daemon did not start"
        yield address
    finally:
        bus.terminate()
        bus.wait(10)
        assert bus.stdout is not None
        bus.stdout.close()


@dataclass
class Call:
    """One method call the fake server received."""

    member: str
    body: tuple[Any, ...]
    sender: str


@dataclass
class FakeNotificationServer:
    """Owns org.freedesktop.Notifications on ``address`` and answers like a real server.

    ``hang`` lists methods it never answers (a hung server). ``calls`` records every call.
    """

    address: str
    capabilities: tuple[str, ...] = ("actions", "body")
    name: str = "fake"  # what GetServerInformation says (e.g. "dunst" to play one)
    hang: frozenset[str] = frozenset()
    twice: frozenset[str] = frozenset()  # methods answered twice (mako 1.7: GetCapabilities)
    calls: list[Call] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._next_id = 0
        self._closed = False
        self._open: dict[int, str] = {}  # notification id → the client that sent it
        self._conn = open_dbus_connection(bus=self.address)
        with DBusRouter(self._conn) as router:
            reply = router.send_and_get_reply(message_bus.RequestName(NOTIFICATIONS), timeout=5)
            assert reply.body[0] == 1, "could not own the notifications name"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        wait_for_bus_name(self.address, NOTIFICATIONS, 5)

    @property
    def unique_name(self) -> str:
        return str(self._conn.unique_name)

    def close(self) -> None:
        """Leave the bus (the name loses its owner, as when a real server quits)."""
        if not self._closed:
            self._closed = True
            self._conn.close()  # interrupts the receive loop
            self._thread.join(5)

    def __enter__(self) -> FakeNotificationServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ what tests look at

    def notifies(self) -> list[Call]:
        with self.changed:
            return [c for c in self.calls if c.member == "Notify"]

    def closed(self) -> list[int]:
        with self.changed:
            return [c.body[0] for c in self.calls if c.member == "CloseNotification"]

    def open_ids(self) -> list[int]:
        with self.changed:
            return sorted(self._open)

    def wait(self, predicate: Any, timeout: float = 5.0) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), "the fake server saw nothing"

    # ------------------------------------------------------------ what the person does

    def invoke(self, notification: int, key: str) -> None:
        """The person picks an action: ``ActionInvoked`` to the client that sent the bubble."""
        self._signal(self._open[notification], "ActionInvoked", "us", (notification, key))

    def activation_token(self, notification: int, token: str) -> None:
        """What a server sends just before ``ActionInvoked`` (spec 1.2): the click's token."""
        client = self._open[notification]
        self._signal(client, "ActivationToken", "us", (notification, token))

    def dismiss(self, notification: int) -> None:
        """The person closes the bubble (reason 2)."""
        client = self._open.pop(notification)
        self._signal(client, "NotificationClosed", "uu", (notification, 2))

    def _signal(self, destination: str, member: str, signature: str, body: tuple[Any, ...]) -> None:
        message = new_signal(EMITTER, member, signature, body)
        message.header.fields[HeaderFields.destination] = destination
        self._conn.send(message)

    # ------------------------------------------------------------ serving

    def _serve(self) -> None:
        with contextlib.suppress(ReceiveStopped, OSError, ValueError):  # ValueError: closed
            while True:
                message = self._conn.receive()
                if message.header.message_type is MessageType.method_call:
                    self._handle(message)

    def _handle(self, message: Message) -> None:
        fields = message.header.fields
        member = fields.get(HeaderFields.member)
        sender = fields.get(HeaderFields.sender, "")
        with self.changed:
            self.calls.append(Call(member, tuple(message.body), sender))
            self.changed.notify_all()
        if member in self.hang:
            return
        if member == "GetServerInformation":
            reply = new_method_return(message, "ssss", (self.name, "tests", "1.0", "1.2"))
        elif member == "GetCapabilities":
            reply = new_method_return(message, "as", (list(self.capabilities),))
            if member in self.twice:  # the list, then an error for the same call
                self._conn.send(reply)
                reply = new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", ("",))
        elif member == "Notify":
            replaces = message.body[1]
            with self.changed:
                if replaces and replaces in self._open:
                    notification = replaces
                else:
                    self._next_id += 1
                    notification = self._next_id
                self._open[notification] = sender
            reply = new_method_return(message, "u", (notification,))
        elif member == "CloseNotification":
            notification = message.body[0]
            reply = new_method_return(message)
            with self.changed:
                client = self._open.pop(notification, None)
            self._conn.send(reply)
            if client is not None:
                self._signal(client, "NotificationClosed", "uu", (notification, 3))
            return
        else:
            return
        self._conn.send(reply)

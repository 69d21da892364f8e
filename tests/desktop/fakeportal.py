"""A scriptable stand-in for xdg-desktop-portal's Screenshot and Background, on a private bus.

A hand-written fake of an *external* service (the real portal runs in the Wayland tests): it
owns ``org.freedesktop.portal.Desktop``, answers ``Screenshot`` and ``RequestBackground`` with
a request path and later the ``Response`` signal on it, as the portal does. ``answers`` scripts
the response per call in order: ``("ok", …)`` writes a PNG and answers 0 with its URI;
``("refuse",)`` answers 2; ``("cancel",)`` answers 1; ``("silent",)`` never answers. The
interface versions are properties (``screenshot_version``, ``background_version``; None leaves
the interface out, as a portal without a backend does).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
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

__all__ = ["FakePortal"]

PORTAL = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
REQUEST = "org.freedesktop.portal.Request"


@dataclass
class FakePortal:
    address: str
    folder: Path
    answers: list[tuple[Any, ...]] = field(default_factory=list)
    screenshot_version: int | None = 2
    background_version: int | None = 1
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._conn = open_dbus_connection(bus=self.address)
        with DBusRouter(self._conn) as router:
            reply = router.send_and_get_reply(message_bus.RequestName(PORTAL), timeout=5)
            assert reply.body[0] == 1
        self._thread = threading.Thread(target=self._serve, name="fake-portal", daemon=True)
        self._thread.start()
        wait_for_bus_name(self.address, PORTAL, 5)

    def close(self) -> None:
        self._conn.close()
        self._thread.join(5)

    def __enter__(self) -> FakePortal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_for(self, member: str, timeout: float = 5.0) -> None:
        """Until a call to ``member`` arrived."""
        with self.changed:
            assert self.changed.wait_for(
                lambda: any(name == member for name, _ in self.calls), timeout
            ), f"nobody called {member}"

    def options(self, index: int) -> dict[str, Any]:
        """The options of the ``index``-th call, unwrapped from their variants."""
        with self.changed:
            return {key: value[1] for key, value in dict(self.calls[index][1][1]).items()}

    def _serve(self) -> None:
        with contextlib.suppress(ReceiveStopped, OSError, ValueError):
            while True:
                message = self._conn.receive()
                if message.header.message_type is MessageType.method_call:
                    self._handle(message)

    def _handle(self, message: Message) -> None:
        fields = message.header.fields
        member = str(fields.get(HeaderFields.member))
        interface = str(fields.get(HeaderFields.interface, ""))
        with self.changed:
            self.calls.append((member, tuple(message.body)))
            self.changed.notify_all()
        if member == "Get" and interface == "org.freedesktop.DBus.Properties":
            wanted, name = message.body
            version = {
                "org.freedesktop.portal.Screenshot": self.screenshot_version,
                "org.freedesktop.portal.Background": self.background_version,
            }.get(wanted)
            if name == "version" and version is not None:
                self._conn.send(new_method_return(message, "v", (("u", version),)))
            else:
                self._conn.send(
                    new_error(message, "org.freedesktop.DBus.Error.UnknownInterface", "s", ("",))
                )
            return
        if member not in ("Screenshot", "RequestBackground"):
            self._conn.send(new_error(message, "org.freedesktop.DBus.Error.UnknownMethod"))
            return
        options = {key: value[1] for key, value in dict(message.body[1]).items()}
        sender = str(fields.get(HeaderFields.sender)).lstrip(":").replace(".", "_")
        handle = f"{PATH}/request/{sender}/{options['handle_token']}"
        self._conn.send(new_method_return(message, "o", (handle,)))
        answer = self.answers.pop(0) if self.answers else ("ok",)
        if answer[0] == "silent":
            return
        code, results = 2, {}
        if answer[0] == "ok" and member == "Screenshot":
            picture = answer[1] if len(answer) > 1 else None
            target = self.folder / f"shot-{len(self.calls)}.png"
            target.write_bytes(picture if isinstance(picture, bytes) else b"")
            code, results = 0, {"uri": ("s", target.as_uri())}
        elif answer[0] == "ok":
            code, results = 0, {"background": ("b", True), "autostart": ("b", options["autostart"])}
        elif answer[0] == "cancel":
            code = 1
        response = new_signal(
            DBusAddress(handle, interface=REQUEST), "Response", "ua{sv}", (code, results)
        )
        self._conn.send(response)

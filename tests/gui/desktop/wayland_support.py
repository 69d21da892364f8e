"""What the Wayland tests share: the app in the session, homes it can use, the tray on the bus.

- :class:`ChildApp` — ``wayland_app.py`` run as the session's user with ``QT_QPA_PLATFORM=wayland``;
  its JSON-line events arrive on a queue, :meth:`ChildApp.expect` waits for one (never a sleep);
- :func:`make_home` — a home the session's user owns: a store with the test passphrase, paired
  to the emulator's HEM when asked;
- :func:`tray_items` / :func:`item_property` — the StatusNotifierItems the watcher knows, and
  what one of them says about itself (as the bar reads them);
- :func:`qr_picture` — a pairing QR code as a PNG, as the Manager shows it.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Any

import qrcode
from jeepney import DBusAddress, Properties
from jeepney.io.blocking import open_dbus_connection

from authenticator.emulator.requester import Requester
from tests.desktop.wayland import WaylandSession
from tests.support_emulator import PASSPHRASE, make_core, pair_by_qr

ROOT = Path(__file__).resolve().parents[3]
APP_TIMEOUT = 30.0
WATCHER = "org.kde.StatusNotifierWatcher"


class ChildApp:
    """A JSON-lines child process in the session (see the module docstring)."""

    def __init__(self, process: subprocess.Popen[str], log: Path) -> None:
        self.process = process
        self.log = log
        self.events: list[dict[str, Any]] = []
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with contextlib.suppress(json.JSONDecodeError):
                self._queue.put(json.loads(line))
        self._queue.put(None)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def expect(
        self, event: str, timeout: float = APP_TIMEOUT, *, after: float = 0.0, **match: object
    ) -> dict[str, Any]:
        """The next event called ``event`` (whose fields include ``match``), reported at or
        after the monotonic time ``after`` (one clock for every process)."""
        for seen in list(self.events):
            if seen["t"] < after:
                self.events.remove(seen)
            elif seen["event"] == event and all(seen.get(k) == v for k, v in match.items()):
                self.events.remove(seen)
                return seen
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the app did not report {event!r}: {self.tail()}") from None
            if item is None:
                raise AssertionError(f"the app exited before {event!r}: {self.tail()}")
            if item["t"] < after:
                continue
            if item["event"] == event and all(item.get(k) == v for k, v in match.items()):
                return item
            self.events.append(item)

    def state(self) -> dict[str, Any]:
        self.send("state")
        return self.expect("state")

    def tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-3000:]
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.send("quit")
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._reader.join(5)


def start_app(session: WaylandSession, home: Path, *, system_bus: str = "", **env: str) -> ChildApp:
    """The real app on ``home``, as the session's user, on the Wayland display."""
    log = session.root / f"app-{home.name}.log"
    stderr = log.open("w")
    child_env = {
        "QT_QPA_PLATFORM": "wayland",
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AUTHENTICATOR_PASSPHRASE": PASSPHRASE,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "DBUS_SYSTEM_BUS_ADDRESS": system_bus or "unix:path=/nonexistent",
        **env,
    }
    process = session.spawn(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "tests.gui.desktop.wayland_app", str(home)],
        child_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    stderr.close()
    return ChildApp(process, log)


def make_home(session: WaylandSession, requester: Requester | None = None) -> Path:
    """A home with a passphrase store (paired with the emulator's HEM when ``requester``)."""
    home = session.root / "homes" / uuid.uuid4().hex[:8]
    home.parent.mkdir(exist_ok=True)
    core = make_core(home)
    try:
        core.create_store(passphrase=PASSPHRASE)
        if requester is not None:
            pair_by_qr(core, requester)
    finally:
        core.close()
    session.own(home.parent)
    return home


def tray_items(bus: str) -> list[str]:
    """The items the StatusNotifierWatcher knows (``busname/path`` or ``busname``)."""
    watcher = DBusAddress("/StatusNotifierWatcher", bus_name=WATCHER, interface=WATCHER)
    with open_dbus_connection(bus) as conn:
        reply = conn.send_and_get_reply(
            Properties(watcher).get("RegisteredStatusNotifierItems"), timeout=5
        )
    _signature, items = reply.body[0]
    return list(items)


def item_property(bus: str, item: str, name: str) -> Any:
    """A property of a StatusNotifierItem, as the tray host reads it."""
    service, _, path = item.partition("/")
    address = DBusAddress(
        "/" + path if path else "/StatusNotifierItem",
        bus_name=service,
        interface="org.kde.StatusNotifierItem",
    )
    with open_dbus_connection(bus) as conn:
        reply = conn.send_and_get_reply(Properties(address).get(name), timeout=5)
    return reply.body[0][1]


def qr_picture(text: str, path: Path, *, box: int = 6) -> Path:
    """``text`` as a QR code PNG with whole-pixel modules and a quiet zone."""
    code = qrcode.QRCode(border=4, box_size=box)
    code.add_data(text)
    code.make(fit=True)
    code.make_image().save(str(path))
    path.chmod(0o644)
    return path

"""Notifications on a real desktop: Xvfb, a private session bus, trayer, dunst.

The app's side (a real core unlocked on a paired home, a tray icon, the notification router with
the backend ``make_notifier`` picks) runs in a child process on the session's display
(``app_side.py``); the emulator and the Manager run here. The person is played through dunst's
context menu (``dunst.py``); what went over the bus is read by a bus monitor.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jeepney import DBusAddress, HeaderFields, Message, MessageType, new_method_call
from jeepney.io.threading import DBusConnection, ReceiveStopped, open_dbus_connection

from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from tests.desktop.session import private_desktop_session
from tests.gui.desktop.dunst import Dunst, poll, write_dmenu
from tests.support_emulator import PASSPHRASE, finished, make_core, pair_by_qr

pytestmark = pytest.mark.desktop

ROOT = Path(__file__).resolve().parents[3]
APP_TIMEOUT = 20.0


class AppSide:
    """The child process running the app's side; its events arrive as dicts."""

    def __init__(self, env: dict[str, str], home: Path, log: Path) -> None:
        self._log = log
        self._stderr = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.gui.desktop.app_side", str(home)],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
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

    def expect(self, event: str, timeout: float = APP_TIMEOUT, **match: object) -> dict[str, Any]:
        """The next event called ``event`` (with ``match``'s fields); fails on an ``error``."""
        for seen in self.events:
            if seen["event"] == event and all(seen.get(k) == v for k, v in match.items()):
                self.events.remove(seen)
                return seen
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the app did not report {event!r}: {self.stderr()}") from None
            if item is None:
                raise AssertionError(f"the app exited before {event!r}: {self.stderr()}")
            if item["event"] == "error":
                raise AssertionError(f"the app failed: {item['message']}")
            if item["event"] == event and all(item.get(k) == v for k, v in match.items()):
                return item
            self.events.append(item)

    def refresh(self) -> list[str]:
        """One broker round in the app (what its poller does every 2 s)."""
        self.send("refresh")
        pending = self.expect("refreshed")["pending"]
        assert isinstance(pending, list)
        return pending

    def stderr(self) -> str:
        self._stderr.flush()
        return self._log.read_text()[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.send("quit")
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._reader.join(5)
        self._stderr.close()


class NotifyMonitor:
    """Every ``Notify`` call on the bus, as a bus monitor sees it (the app's exact arguments)."""

    RULE = "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"

    def __init__(self, address: str) -> None:
        self.calls: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._conn: DBusConnection = open_dbus_connection(bus=address)
        monitoring = DBusAddress(
            "/org/freedesktop/DBus",
            bus_name="org.freedesktop.DBus",
            interface="org.freedesktop.DBus.Monitoring",
        )
        self._conn.send(new_method_call(monitoring, "BecomeMonitor", "asu", ([self.RULE], 0)))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(ReceiveStopped, OSError, ValueError):
            while True:
                message: Message = self._conn.receive()
                if (
                    message.header.message_type is MessageType.method_call
                    and message.header.fields.get(HeaderFields.member) == "Notify"
                ):
                    self.calls.put(tuple(message.body))

    def next(self, timeout: float = APP_TIMEOUT) -> tuple[Any, ...]:
        return self.calls.get(timeout=timeout)

    def close(self) -> None:
        self._conn.close()
        self._thread.join(5)


class Desktop:
    def __init__(self, env: dict[str, str], dunst: Dunst) -> None:
        self.env = env
        self.dunst = dunst


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[Desktop]:
    """A private session with trayer and dunst (its dmenu is our script)."""
    dmenu = write_dmenu(tmp_path / "dunst")
    with private_desktop_session(tmp_path / "session", keyring=False, dmenu=str(dmenu)) as env:
        yield Desktop(env, Dunst(env, tmp_path / "dunst"))


@pytest.fixture
def monitor(desktop: Desktop) -> Iterator[NotifyMonitor]:
    watcher = NotifyMonitor(desktop.env["DBUS_SESSION_BUS_ADDRESS"])
    yield watcher
    watcher.close()


@pytest.fixture
def paired_home(tmp_path: Path, emu: RunningEmulator, requester: Requester) -> Path:
    home = tmp_path / "home"
    core = make_core(home)
    try:
        core.create_store(passphrase=PASSPHRASE)
        pair_by_qr(core, requester)
    finally:
        core.close()
    return home


def start_app(desktop: Desktop, home: Path, log: Path, **env: str) -> AppSide:
    child_env = {
        **desktop.env,
        **env,
        "PYTHONPATH": str(ROOT),
        "AUTHENTICATOR_PASSPHRASE": PASSPHRASE,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return AppSide(child_env, home, log)


@pytest.fixture
def app(desktop: Desktop, paired_home: Path, tmp_path: Path) -> Iterator[AppSide]:
    side = start_app(desktop, paired_home, tmp_path / "app.log")
    try:
        yield side
    finally:
        side.stop()


def shown(app: AppSide, desktop: Desktop, requester: Requester, scope: str = "keymgmt:list") -> Any:
    """The Manager asks; the app's next broker round finds it; dunst shows one bubble."""
    app.expect("ready")
    session = requester.request_access(scope)
    assert session.event_id in app.refresh()
    poll(lambda: desktop.dunst.displayed() == 1, 10, "the bubble")
    return session


def test_the_tray_icon_is_embedded_and_notifications_have_actions(app: AppSide) -> None:
    ready = app.expect("ready")
    assert ready["platform"] == "xcb"
    assert ready["tray_available"] is True
    _x, _y, width, height = ready["tray_geometry"]
    assert width > 0
    assert height > 0
    # dunst offers the actions in its context menu but draws no buttons, and a click closes
    # its bubble: the bubble keeps them, and the window also comes forward for each request.
    assert ready["notifier"] == "freedesktop+window"
    assert ready["supports_actions"] is False
    assert ready["server"][0] == "dunst"


def test_a_request_becomes_a_notification_with_three_actions(
    app: AppSide, desktop: Desktop, requester: Requester, monitor: NotifyMonitor
) -> None:
    session = shown(app, desktop, requester)
    app_name, replaces, icon, summary, body, actions, hints, timeout = monitor.next()
    assert (app_name, replaces) == ("Encedo Authenticator", 0)
    assert Path(icon).is_file()
    assert summary.startswith("List the keys — ")
    assert "wants to list the keys on" in body
    assert "Approve: allow for 15 min." in body
    assert "Expires at " in body
    assert actions == ["approve", "Approve", "deny", "Deny", "open", "Open", "default", "Open"]
    assert hints["urgency"] == ("y", 2)
    assert hints["category"] == ("s", "x-encedo.request")
    assert 0 < timeout <= 3600 * 1000
    offered = desktop.dunst.menu()  # what dunst offers the person for this bubble
    keys = sorted(line.rsplit(",", 1)[1].rstrip("]") for line in offered)
    assert keys == ["approve", "default", "deny", "open"]
    assert all(f"({summary})" in line for line in offered)
    assert session.poll().state == "pending"  # looking answers nothing


def test_approve_in_the_notification_approves_for_15_minutes(
    app: AppSide, desktop: Desktop, requester: Requester
) -> None:
    session = shown(app, desktop, requester)
    desktop.dunst.pick("Approve")
    action = app.expect("action")
    assert (action["request"], action["action"]) == (session.event_id, "approve")
    assert app.expect("signal")["body"][1] == "approve"
    assert action["gui_thread"] is True
    app.expect("answered", request=session.event_id, outcome="approved")
    result = finished(session)
    assert result.state == "approved"
    assert result.claims["exp"] - result.claims["iat"] in (900, 899)
    poll(lambda: desktop.dunst.displayed() == 0, 10, "the bubble to close")


def test_click_to_app_latency(app: AppSide, desktop: Desktop, requester: Requester) -> None:
    """Ten clicks on Open: how long from ``dunstctl context`` to the app's GUI thread (printed;
    tests never assert timings). The bus part is measured from the signal's arrival."""
    app.expect("ready")
    total: list[float] = []
    hop: list[float] = []
    for _ in range(10):
        session = requester.request_access("keymgmt:list")
        assert session.event_id in app.refresh()
        poll(lambda: desktop.dunst.displayed() == 1, 10, "the bubble")
        clicked = desktop.dunst.pick("Open")
        signal = app.expect("signal")
        action = app.expect("action", request=session.event_id, action="open")
        app.expect("raise_window", request=session.event_id)
        total.append((action["t"] - clicked) * 1000)
        hop.append((action["t"] - signal["t"]) * 1000)
        poll(lambda: desktop.dunst.displayed() == 0, 10, "the bubble to close")
        session.cancel()
        assert app.refresh() == []
    total.sort()
    hop.sort()
    print(
        f"\nclick → GUI thread: median {total[5]:.1f} ms, max {total[-1]:.1f} ms; "
        f"signal at the worker → GUI thread: median {hop[5]:.2f} ms, max {hop[-1]:.2f} ms"
    )


def test_deny_in_the_notification_denies(
    app: AppSide, desktop: Desktop, requester: Requester
) -> None:
    session = shown(app, desktop, requester)
    desktop.dunst.pick("Deny")
    assert app.expect("action")["action"] == "deny"
    app.expect("answered", request=session.event_id, outcome="denied")
    assert finished(session).state == "denied"
    poll(lambda: desktop.dunst.displayed() == 0, 10, "the bubble to close")


def test_cancelled_and_expired_requests_take_their_bubbles(
    app: AppSide, desktop: Desktop, requester: Requester, emu: RunningEmulator
) -> None:
    cancelled = shown(app, desktop, requester)
    expired = requester.request_access("system:config")
    assert expired.event_id in app.refresh()
    poll(lambda: desktop.dunst.displayed() == 2, 10, "two bubbles")
    cancelled.cancel()
    assert emu.emulator.broker is not None
    emu.emulator.broker.expire_event(expired.event_id)
    assert app.refresh() == []
    poll(lambda: desktop.dunst.displayed() == 0, 10, "the bubbles to close")


def test_approve_while_locked_answers_nothing_and_shows_the_window(
    app: AppSide, desktop: Desktop, requester: Requester
) -> None:
    session = shown(app, desktop, requester)
    app.send("lock-behind-the-router")  # the click races the lock: the bubble is still up
    app.expect("locked")
    desktop.dunst.pick("Approve")
    assert app.expect("action")["action"] == "approve"
    app.expect("raise_window", request=session.event_id)
    poll(lambda: desktop.dunst.displayed() == 0, 10, "the clicked bubble to close")
    assert session.poll().state == "pending"  # nothing went to the broker
    app.send("unlock")
    app.expect("unlocked")
    assert app.refresh() == [session.event_id]
    poll(lambda: desktop.dunst.displayed() == 1, 10, "the bubble again after unlocking")
    assert not [e for e in app.events if e["event"] == "answered"]


def test_without_a_notification_server_the_tray_balloon_is_used(tmp_path: Path) -> None:
    with private_desktop_session(tmp_path / "session", keyring=False, notifications=False) as env:
        home = tmp_path / "home"
        core = make_core(home)
        core.create_store(passphrase=PASSPHRASE)
        core.close()
        side = start_app(Desktop(env, Dunst(env, tmp_path)), home, tmp_path / "app.log")
        try:
            ready = side.expect("ready")
        finally:
            side.stop()
    assert ready["tray_available"] is True
    assert ready["notifier"] == "tray"


def test_dunst_draws_no_buttons_so_the_window_comes_forward_too(
    app: AppSide, desktop: Desktop, requester: Requester
) -> None:
    session = shown(app, desktop, requester)
    app.expect("raise_window", request=session.event_id)  # beside the bubble, not instead
    assert desktop.dunst.displayed() == 1

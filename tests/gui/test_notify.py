"""The notifier choice and the backends that need no bus: tray balloon, window, the bubble's text.

Offscreen Qt, no session bus (``DBUS_SESSION_BUS_ADDRESS`` unset): ``make_notifier`` must fall
back on its own, quickly, and a hung bus must not hold it up longer than its probe budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QSystemTrayIcon

from authenticator.core.model import AccessRequest, Program
from authenticator.gui import notify
from authenticator.gui.notify import TrayBalloonNotifier, WindowNotifier, make_notifier
from authenticator.gui.notify.freedesktop import notification_body
from authenticator.gui.notify.tray import balloon_text
from authenticator.protocol.access import IpInfo
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.scopes import describe
from tests.hostile import CORPUS


def request(
    rid: str = "ev1",
    scope: str = "keymgmt:list",
    *,
    expires_in: int = 600,
    program: Program | None = None,
    location: IpInfo | None = None,
    reason: str | None = None,
) -> AccessRequest:
    now = int(time.time())
    return AccessRequest(
        id=rid,
        hem="my-hem",
        hem_hostname="my-hem.local",
        source="local" if program else "broker",
        scope=scope,
        info=describe(scope),
        created=now,
        expires_at=now + expires_in,
        location=location or IpInfo(city="Warsaw", country="PL", ip="203.0.113.7"),
        program=program,
        reason=reason,
    )


class Actions:
    """Records ``on_action`` and ``raise_window`` calls."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, str]] = []
        self.raised: list[str] = []

    def on_action(self, request_id: str, action: str) -> None:
        self.actions.append((request_id, action))

    def raise_window(self, request_id: str) -> None:
        self.raised.append(request_id)


@pytest.fixture
def no_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def tray(qapp: object) -> Iterator[QSystemTrayIcon]:
    pixmap = QPixmap(16, 16)
    pixmap.fill()
    icon = QSystemTrayIcon(QIcon(pixmap))
    yield icon
    icon.deleteLater()


def test_no_bus_and_no_tray_falls_back_to_the_window(qapp: object, no_bus: None) -> None:
    seen = Actions()
    notifier = make_notifier(None, seen.on_action, seen.raise_window)
    assert isinstance(notifier, WindowNotifier)
    assert notifier.name == "window"
    assert not notifier.supports_actions
    notifier.show(request("ev1"))
    notifier.withdraw("ev1")
    notifier.close()
    assert seen.raised == ["ev1"]


def test_offscreen_has_no_tray_so_the_window_it_is(tray: QSystemTrayIcon, no_bus: None) -> None:
    seen = Actions()
    assert isinstance(make_notifier(tray, seen.on_action, seen.raise_window), WindowNotifier)


def test_no_bus_with_a_tray_falls_back_to_the_balloon(
    tray: QSystemTrayIcon, no_bus: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify, "_tray_available", lambda: True)
    seen = Actions()
    notifier = make_notifier(tray, seen.on_action, seen.raise_window)
    assert isinstance(notifier, TrayBalloonNotifier)
    assert (notifier.name, notifier.supports_actions) == ("tray", False)
    notifier.close()


def test_prefer_puts_a_backend_first(
    tray: QSystemTrayIcon, no_bus: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify, "_tray_available", lambda: True)
    seen = Actions()
    chosen = make_notifier(tray, seen.on_action, seen.raise_window, prefer="window")
    assert isinstance(chosen, WindowNotifier)
    # Preferring an unavailable backend falls through to the next one.
    chosen = make_notifier(tray, seen.on_action, seen.raise_window, prefer="freedesktop")
    assert isinstance(chosen, TrayBalloonNotifier)
    chosen.close()
    with pytest.raises(ValueError, match="unknown notification backend"):
        make_notifier(tray, seen.on_action, seen.raise_window, prefer="growl")


def test_a_hung_bus_costs_at_most_the_probe_budget(qapp: object, silent_bus: str) -> None:
    seen = Actions()
    started = time.monotonic()
    notifier = make_notifier(
        None, seen.on_action, seen.raise_window, bus=silent_bus, probe_timeout=0.3
    )
    assert time.monotonic() - started < 2.0  # the budget, not the bus, decides
    assert isinstance(notifier, WindowNotifier)


def test_the_balloon_opens_the_latest_request_still_pending(tray: QSystemTrayIcon) -> None:
    seen = Actions()
    balloon = TrayBalloonNotifier(tray, seen.on_action)
    balloon.show(request("ev1"))
    balloon.show(request("ev2"))
    tray.messageClicked.emit()
    balloon.withdraw("ev2")  # Qt cannot take the balloon back; the click opens ev1 now
    tray.messageClicked.emit()
    balloon.withdraw("ev1")
    tray.messageClicked.emit()  # nothing pending: nothing to open
    balloon.withdraw("never-shown")
    balloon.close()
    balloon.close()
    tray.messageClicked.emit()  # disconnected
    assert seen.actions == [("ev2", "open"), ("ev1", "open")]


def test_the_body_says_what_approve_grants_and_until_when() -> None:
    req = request("ev1", "storage:disk1:rw")
    body = notification_body(req, markup=False)
    expires = time.strftime("%H:%M", time.localtime(req.expires_at))
    assert body.splitlines() == [
        "Someone wants to unlock the encrypted drive (disk1) of my-hem, asking for read and "
        "write access.",
        "Approve: allow read-only for 15 min.",  # never write access from a bubble
        f"Expires at {expires}.",
        "Location — reported by the broker: Warsaw, PL · 203.0.113.7",
    ]


def test_the_body_is_escaped_only_for_servers_with_markup() -> None:
    req = request("L1", program=Program(name="<b>evil</b> & 'co' \"x\"", pid=7))
    plain = notification_body(req, markup=False)
    assert "Program — claimed by the program: <b>evil</b> & 'co' \"x\" (pid 7)" in plain
    escaped = notification_body(req, markup=True)
    assert "&lt;b&gt;evil&lt;/b&gt; &amp; &apos;co&apos; &quot;x&quot; (pid 7)" in escaped
    assert not set("<>\"'") & set(escaped)


def test_an_unknown_scope_offers_no_approve_line() -> None:
    body = notification_body(request("ev9", "weird:scope"), markup=False)
    assert "Approve" not in body
    assert body.splitlines()[0] == "Someone wants to do something this app does not know " + (
        "(weird:scope) on my-hem."
    )


def hostile_requests(text: str) -> list[AccessRequest]:
    """The same hostile text in every outsider field a bubble shows."""
    return [
        request("ev1", "keymgmt:del", location=IpInfo(city=text, country=text[:9], ip=text[:20])),
        request("L1", program=Program(name=text, pid=4, path=text), reason=text),
        request("ev2", "logger:get", reason=text),
    ]


ACTIONS = [
    "Someone wants to delete a key from my-hem.",
    "A program on this computer wants to list the keys on my-hem.",
    "Someone wants to read the audit log of my-hem.",
]


@pytest.mark.parametrize("hostile", [c[1] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_the_action_is_the_first_line_whatever_outsiders_write(hostile: str) -> None:
    for req, action in zip(hostile_requests(hostile), ACTIONS, strict=True):
        for markup in (False, True):
            lines = notification_body(req, markup=markup).split("\n")
            assert lines[0] == action
            claims = lines[3:]
            labels = (
                "Location — reported",
                "Program — claimed",
                "Path — claimed",
                "Reason — ",
                "Their note",
            )
            assert claims
            assert all(line.startswith(labels) for line in claims)  # no line of their own
            assert all(len(line) < 400 for line in claims)
            assert not any(c in "\n".join(lines) for c in "\x1b\x9b\u202e\u2066\u200d\r")
        title, message = balloon_text(req)
        assert title == f"{req.title} — my-hem"
        balloon = message.split("\n")
        assert balloon[0] == action
        assert all(line.startswith(labels) for line in balloon[1:])
        assert not set("<>&\"'") & set(message)


def test_a_key_label_the_request_states_is_labelled_in_the_bubble() -> None:
    kid = "ab" * 16
    label = b64encode(b'{"t":"AC16","l":"<b>Verified</b> backup key"}')
    req = request("ev1", f"keymgmt:use:{kid}#{label}")
    lines = notification_body(req, markup=False).splitlines()
    assert lines[0] == f"Someone wants to use the key {kid[:12]}… on my-hem."
    assert "Key name — as the request states it: <b>Verified</b> backup key" in lines
    assert "Key type — as the request states it: Ed25519 signing key, private key" in lines

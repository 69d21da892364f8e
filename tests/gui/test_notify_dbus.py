"""``FreedesktopNotifier`` on a private session bus, against a scriptable notification server.

What real dunst cannot show a test: every argument of ``Notify``, markup escaping for servers
that want it, a forged ``ActionInvoked`` from another program, a server that hangs. The person's
clicks arrive on the GUI thread; the bubble is closed after an action; nothing ever blocks.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jeepney import HeaderFields, message_bus, new_signal
from jeepney.io.blocking import open_dbus_connection
from pytestqt.qtbot import QtBot

from authenticator import APP_ID, APP_NAME
from authenticator.core.model import Program
from authenticator.gui.notify import WindowNotifier, make_notifier
from authenticator.gui.notify.freedesktop import FreedesktopNotifier, notification_body
from authenticator.protocol.access import IpInfo
from tests.gui.desktop.fakebus import EMITTER, FakeNotificationServer, private_bus
from tests.gui.test_notify import Actions, request
from tests.hostile import MARKUP, MIXED, NEWLINES


class GuiActions(Actions):
    """Also records on which thread each action arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def on_action(self, request_id: str, action: str) -> None:
        self.threads.append(threading.current_thread())
        super().on_action(request_id, action)


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[str]:
    with private_bus(tmp_path / "bus") as address:
        yield address


@pytest.fixture
def server(bus: str) -> Iterator[FakeNotificationServer]:
    with FakeNotificationServer(bus) as fake:
        yield fake


@pytest.fixture
def seen() -> GuiActions:
    return GuiActions()


@pytest.fixture
def notifier(
    qapp: object, bus: str, server: FakeNotificationServer, seen: GuiActions
) -> Iterator[FreedesktopNotifier]:
    chosen = make_notifier(None, seen.on_action, seen.raise_window, bus=bus)
    assert isinstance(chosen, FreedesktopNotifier)
    yield chosen
    chosen.close()


def shown_id(qtbot: QtBot, notifier: FreedesktopNotifier, request_id: str) -> int:
    qtbot.waitUntil(lambda: notifier.notification_id(request_id) is not None, timeout=5000)
    notification = notifier.notification_id(request_id)
    assert notification is not None
    return notification


def test_notify_carries_everything_the_bubble_needs(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer
) -> None:
    assert notifier.name == "freedesktop"
    assert notifier.supports_actions
    assert notifier.server == ("fake", "tests", "1.0", "1.2")
    req = request("ev1", expires_in=600)
    notifier.show(req)
    shown_id(qtbot, notifier, "ev1")
    (call,) = server.notifies()
    app_name, replaces, icon, summary, body, actions, hints, timeout = call.body
    assert (app_name, replaces) == (APP_NAME, 0)
    assert icon.endswith(f"{APP_ID}.png") or icon == APP_ID
    assert summary == "List the keys — my-hem"
    assert body.startswith("Someone wants to list the keys on my-hem.\n")  # the action first
    assert "Expires at " in body
    assert actions == ["approve", "Approve", "deny", "Deny", "open", "Open", "default", "Open"]
    assert hints == {
        "urgency": ("y", 2),
        "category": ("s", "x-encedo.request"),
        "desktop-entry": ("s", APP_ID),
        "resident": ("b", True),
    }
    assert 590_000 < timeout <= 600_000  # the bubble lasts as long as the request


def test_an_unknown_scope_gets_no_approve_button(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer
) -> None:
    notifier.show(request("ev1", "weird:scope"))
    shown_id(qtbot, notifier, "ev1")
    assert server.notifies()[0].body[5] == ["deny", "Deny", "open", "Open", "default", "Open"]


def test_a_request_with_a_code_gets_no_approve_button(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer
) -> None:
    """Approving needs the code the requester shows: the bubble offers Deny and Open only."""
    req = dataclasses.replace(request("ev1"), codes=(47, 12, 83))
    notifier.show(req)
    shown_id(qtbot, notifier, "ev1")
    body = server.notifies()[0].body
    assert body[5] == ["deny", "Deny", "open", "Open", "default", "Open"]
    assert "Approve:" not in body[4]
    assert "Open it to pick the code the requester shows, then approve." in body[4]
    plain = notification_body(req, markup=False).split("\n")
    assert plain[0] == "Someone wants to list the keys on my-hem."  # the truth first
    assert plain[1] == "Open it to pick the code the requester shows, then approve."


def test_an_expired_request_is_not_shown(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer
) -> None:
    notifier.show(request("old", expires_in=-5))
    notifier.show(request("ev1"))
    shown_id(qtbot, notifier, "ev1")
    assert [c.body[3] for c in server.notifies()] == ["List the keys — my-hem"]
    assert notifier.notification_id("old") is None


def test_showing_again_replaces_the_bubble(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer
) -> None:
    notifier.show(request("ev1"))
    first = shown_id(qtbot, notifier, "ev1")
    notifier.show(request("ev1"))
    server.wait(lambda: len(server.notifies()) == 2)
    assert server.notifies()[1].body[1] == first
    qtbot.waitUntil(lambda: notifier.shown() == {"ev1": first})


@pytest.mark.parametrize(
    "case",
    [("approve", "approve"), ("deny", "deny"), ("open", "open"), ("default", "open")],
    ids=lambda case: case[0],
)
def test_an_action_arrives_on_the_gui_thread_and_the_bubble_closes(
    qtbot: QtBot,
    notifier: FreedesktopNotifier,
    server: FakeNotificationServer,
    seen: GuiActions,
    case: tuple[str, str],
) -> None:
    key, action = case
    notifier.show(request("ev1"))
    notification = shown_id(qtbot, notifier, "ev1")
    server.invoke(notification, key)
    qtbot.waitUntil(lambda: seen.actions == [("ev1", action)], timeout=5000)
    assert seen.threads == [threading.main_thread()]
    server.wait(lambda: server.closed() == [notification])  # closed by the app itself
    assert notifier.shown() == {}


def test_an_unknown_action_key_is_ignored(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer, seen: GuiActions
) -> None:
    notifier.show(request("ev1"))
    notifier.show(request("ev2"))
    first = shown_id(qtbot, notifier, "ev1")
    second = shown_id(qtbot, notifier, "ev2")
    server.invoke(first, "inline-reply")
    server.invoke(second, "deny")  # signals are handled in order: once this one arrives…
    qtbot.waitUntil(lambda: bool(seen.actions), timeout=5000)
    assert seen.actions == [("ev2", "deny")]  # …the unknown key before it was dropped


def test_a_forged_action_from_another_program_is_ignored(
    qtbot: QtBot,
    notifier: FreedesktopNotifier,
    server: FakeNotificationServer,
    seen: GuiActions,
    bus: str,
) -> None:
    notifier.show(request("ev1"))
    notification = shown_id(qtbot, notifier, "ev1")
    router = notifier._router
    assert router is not None
    with open_dbus_connection(bus=bus) as intruder:
        forged = new_signal(EMITTER, "ActionInvoked", "us", (notification, "approve"))
        forged.header.fields[HeaderFields.destination] = router.unique_name
        intruder.send(forged)
        broadcast = new_signal(EMITTER, "ActionInvoked", "us", (notification, "approve"))
        intruder.send(broadcast)
        # A round trip: the bus has routed both signals before it answers this.
        intruder.send_and_get_reply(message_bus.GetId(), timeout=5)
    server.invoke(notification, "open")  # the real server's signal comes after the forged ones
    qtbot.waitUntil(lambda: bool(seen.actions), timeout=5000)
    assert seen.actions == [("ev1", "open")]


def test_withdraw_and_dismiss(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer
) -> None:
    notifier.show(request("ev1"))
    notifier.show(request("ev2"))
    first = shown_id(qtbot, notifier, "ev1")
    second = shown_id(qtbot, notifier, "ev2")
    notifier.withdraw("ev1")
    server.wait(lambda: server.closed() == [first])
    server.dismiss(second)  # the person closed it: the app forgets it, sends nothing
    qtbot.waitUntil(lambda: notifier.shown() == {}, timeout=5000)
    notifier.withdraw("ev2")
    notifier.withdraw("never-shown")
    notifier.show(request("ev3"))
    shown_id(qtbot, notifier, "ev3")
    assert server.closed() == [first]


def test_close_takes_every_bubble_away(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer
) -> None:
    for rid in ("ev1", "ev2", "ev3"):
        notifier.show(request(rid))
    qtbot.waitUntil(lambda: len(notifier.shown()) == 3, timeout=5000)
    notifier.close()
    assert server.open_ids() == []
    notifier.show(request("ev4"))  # after close: ignored, no error
    notifier.close()
    assert len(server.notifies()) == 3


def test_a_server_that_goes_away_takes_its_bubbles(
    qtbot: QtBot, notifier: FreedesktopNotifier, server: FakeNotificationServer
) -> None:
    notifier.show(request("ev1"))
    shown_id(qtbot, notifier, "ev1")
    server.close()
    qtbot.waitUntil(lambda: notifier.shown() == {}, timeout=5000)


def test_a_server_hanging_on_notify_blocks_nothing(
    qtbot: QtBot, qapp: object, bus: str, seen: GuiActions
) -> None:
    with FakeNotificationServer(bus, hang=frozenset({"Notify"})) as hung:
        notifier = FreedesktopNotifier(seen.on_action, bus=bus, call_timeout=1.0)
        assert notifier.wait_ready(5)
        started = time.monotonic()
        for rid in ("ev1", "ev2"):
            notifier.show(request(rid))
            notifier.withdraw(rid)
        # the GUI thread only queued: waiting on the hung call would take a call_timeout each
        assert time.monotonic() - started < 1.0
        hung.wait(lambda: len(hung.notifies()) == 2)  # the second call went out after a timeout
        notifier.close(wait=5)
        assert notifier.shown() == {}


def test_a_server_hanging_on_the_probe_is_not_used(qapp: object, bus: str) -> None:
    seen = Actions()
    with FakeNotificationServer(bus, hang=frozenset({"GetServerInformation"})):
        started = time.monotonic()
        chosen = make_notifier(None, seen.on_action, seen.raise_window, bus=bus)
        assert time.monotonic() - started < 3.0  # about the 1 s probe budget
    assert isinstance(chosen, WindowNotifier)


def test_no_server_on_the_bus(qapp: object, bus: str) -> None:
    seen = Actions()
    notifier = FreedesktopNotifier(seen.on_action, bus=bus)
    assert not notifier.wait_ready(5)
    assert notifier.failure is not None
    assert "No notification server" in notifier.failure
    notifier.close()
    assert isinstance(
        make_notifier(None, seen.on_action, seen.raise_window, bus=bus), WindowNotifier
    )


def test_markup_servers_get_escaped_bodies(qtbot: QtBot, qapp: object, bus: str) -> None:
    seen = Actions()
    with FakeNotificationServer(bus, capabilities=("actions", "body", "body-markup")) as fake:
        notifier = FreedesktopNotifier(seen.on_action, bus=bus)
        assert notifier.wait_ready(5)
        notifier.show(request("L1", program=Program(name="<i>x</i> & y", pid=3)))
        fake.wait(lambda: len(fake.notifies()) == 1)
        notifier.close()
    body = fake.notifies()[0].body[4]
    assert "&lt;i&gt;x&lt;/i&gt; &amp; y (pid 3)" in body


def test_the_body_received_under_hostile_requests(qtbot: QtBot, qapp: object, bus: str) -> None:
    """What a markup server receives parses as markup whose text is exactly the plain body:
    the action on the first line, each outsider's words on one labelled line after it."""
    seen = Actions()
    sent = [
        request("ev1", "keymgmt:del", location=IpInfo(city=MIXED, country="<b>PL</b>")),
        request("L1", program=Program(name=MIXED, pid=3), reason=MARKUP),
        request("ev2", "logger:get", reason=NEWLINES + MARKUP),
    ]
    with FakeNotificationServer(bus, capabilities=("actions", "body", "body-markup")) as fake:
        notifier = FreedesktopNotifier(seen.on_action, bus=bus)
        assert notifier.wait_ready(5)
        for req in sent:
            notifier.show(req)
        fake.wait(lambda: len(fake.notifies()) == len(sent))
        notifier.close()
    first = [
        "Someone wants to delete a key from my-hem.",
        "A program on this computer wants to list the keys on my-hem.",
        "Someone wants to read the audit log of my-hem.",
    ]
    for req, call, action, count in zip(sent, fake.notifies(), first, (4, 5, 5), strict=True):
        markup = _Markup(call.body[4])
        assert markup.tags == []  # nothing the requester wrote became markup
        assert markup.text == notification_body(req, markup=False)
        lines = markup.text.split("\n")
        assert lines[0] == action
        assert len(lines) == count  # no outsider's newline made a line of its own


class _Markup(HTMLParser):
    """Reads a body as a markup server would: its tags, and its text with entities resolved."""

    def __init__(self, body: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.parts: list[str] = []
        self.feed(body)
        self.close()
        self.text = "".join(self.parts)

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(f"/{tag}")

    def handle_comment(self, data: str) -> None:
        self.tags.append("<!--")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def test_a_server_without_actions_gets_none(qtbot: QtBot, qapp: object, bus: str) -> None:
    seen = Actions()
    with FakeNotificationServer(bus, capabilities=("body",)) as fake:
        notifier = FreedesktopNotifier(seen.on_action, bus=bus)
        assert notifier.wait_ready(5)
        assert not notifier.supports_actions
        notifier.show(request("ev1"))
        fake.wait(lambda: len(fake.notifies()) == 1)
        notifier.close()
    assert fake.notifies()[0].body[5] == []


def test_losing_the_bus_is_survived(qtbot: QtBot, qapp: object, tmp_path: Path) -> None:
    seen = Actions()
    with private_bus(tmp_path / "gone") as address:
        fake = FakeNotificationServer(address)
        notifier = FreedesktopNotifier(seen.on_action, bus=address)
        assert notifier.wait_ready(5)
        notifier.show(request("ev1"))
        shown_id(qtbot, notifier, "ev1")
    # The bus is gone: the notifier says so, forgets its bubbles, and ignores what follows.
    qtbot.waitUntil(lambda: notifier.failure is not None, timeout=5000)
    assert notifier.shown() == {}
    notifier.show(request("ev2"))
    notifier.withdraw("ev2")
    notifier.close()
    fake.close()

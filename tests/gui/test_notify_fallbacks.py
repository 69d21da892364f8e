"""Notifications that really show: a server without buttons gets the window too; a click's
activation token reaches Qt; a server that answers twice is survived.

A private session bus with a scriptable notification server (``fakebus``), offscreen Qt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from jeepney import HeaderFields, message_bus, new_signal
from jeepney.io.blocking import open_dbus_connection
from pytestqt.qtbot import QtBot

from authenticator.gui.notify import BubbleAndWindowNotifier, make_notifier
from authenticator.gui.notify.freedesktop import ACTIVATION_ENV, FreedesktopNotifier
from tests.gui.desktop.fakebus import EMITTER, FakeNotificationServer, private_bus
from tests.gui.test_notify import Actions, request


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[str]:
    with private_bus(tmp_path / "bus") as address:
        yield address


class Seen(Actions):
    """Also notes the activation token in the environment while each action is handled."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[str | None] = []

    def on_action(self, request_id: str, action: str) -> None:
        self.tokens.append(os.environ.get(ACTIVATION_ENV))
        super().on_action(request_id, action)


@pytest.mark.parametrize(
    "case",
    [
        (("body",), "xfce4-notifyd", []),  # no actions at all
        (("actions", "body"), "dunst", ["approve", "Approve", "deny", "Deny"]),  # no buttons
    ],
    ids=["no-actions", "dunst"],
)
def test_a_bubble_that_cannot_be_answered_brings_the_window(
    qtbot: QtBot, qapp: object, bus: str, case: tuple[tuple[str, ...], str, list[str]]
) -> None:
    capabilities, name, offered = case
    seen = Seen()
    with FakeNotificationServer(bus, capabilities=capabilities, name=name) as fake:
        chosen = make_notifier(None, seen.on_action, seen.raise_window, bus=bus)
        assert isinstance(chosen, BubbleAndWindowNotifier)
        assert (chosen.name, chosen.supports_actions) == ("freedesktop+window", False)
        assert name in chosen.reason
        chosen.show(request("ev1"))
        assert seen.raised == ["ev1"]  # the window comes forward at once
        fake.wait(lambda: len(fake.notifies()) == 1)  # and the bubble still tells
        assert fake.notifies()[0].body[5][: len(offered)] == offered
        chosen.withdraw("ev1")
        fake.wait(lambda: len(fake.closed()) == 1)
        chosen.close()


def test_a_server_with_buttons_is_used_alone(qapp: object, bus: str) -> None:
    seen = Seen()
    with FakeNotificationServer(bus, name="gnome-shell"):
        chosen = make_notifier(None, seen.on_action, seen.raise_window, bus=bus)
        assert isinstance(chosen, FreedesktopNotifier)
        assert chosen.draws_buttons
        chosen.show(request("ev1"))
        assert seen.raised == []
        chosen.close()


def test_the_clicks_activation_token_is_there_while_the_app_handles_it(
    qtbot: QtBot, qapp: object, bus: str
) -> None:
    seen = Seen()
    with FakeNotificationServer(bus) as fake:
        notifier = FreedesktopNotifier(seen.on_action, bus=bus)
        assert notifier.wait_ready(5)
        notifier.show(request("ev1"))
        notifier.show(request("ev2"))
        qtbot.waitUntil(lambda: len(notifier.shown()) == 2, timeout=5000)
        first, second = notifier.shown()["ev1"], notifier.shown()["ev2"]
        fake.activation_token(first, "token-of-the-click")
        fake.invoke(first, "open")
        qtbot.waitUntil(lambda: len(seen.actions) == 1, timeout=5000)
        fake.invoke(second, "open")  # a click without a token
        qtbot.waitUntil(lambda: len(seen.actions) == 2, timeout=5000)
        notifier.close()
    assert seen.tokens == ["token-of-the-click", None]
    assert ACTIVATION_ENV not in os.environ  # good for that one click only


def test_a_forged_activation_token_is_ignored(qtbot: QtBot, qapp: object, bus: str) -> None:
    seen = Seen()
    with FakeNotificationServer(bus) as fake:
        notifier = FreedesktopNotifier(seen.on_action, bus=bus)
        assert notifier.wait_ready(5)
        notifier.show(request("ev1"))
        qtbot.waitUntil(lambda: bool(notifier.shown()), timeout=5000)
        notification = notifier.shown()["ev1"]
        router = notifier._router
        assert router is not None
        with open_dbus_connection(bus=bus) as intruder:
            forged = new_signal(EMITTER, "ActivationToken", "us", (notification, "stolen"))
            forged.header.fields[HeaderFields.destination] = router.unique_name
            intruder.send(forged)
            intruder.send_and_get_reply(message_bus.GetId(), timeout=5)
        fake.invoke(notification, "open")
        qtbot.waitUntil(lambda: bool(seen.actions), timeout=5000)
        notifier.close()
    assert seen.tokens == [None]


def test_a_server_answering_twice_is_survived(qtbot: QtBot, qapp: object, bus: str) -> None:
    """mako 1.7 answers GetCapabilities with its list and then an error: the first counts."""
    seen = Seen()
    with FakeNotificationServer(bus, twice=frozenset({"GetCapabilities"})) as fake:
        notifier = FreedesktopNotifier(seen.on_action, bus=bus)
        assert notifier.wait_ready(5)
        assert notifier.supports_actions
        notifier.show(request("ev1"))  # the connection still works after the second answer
        qtbot.waitUntil(lambda: bool(notifier.shown()), timeout=5000)
        fake.invoke(notifier.shown()["ev1"], "deny")
        qtbot.waitUntil(lambda: seen.actions == [("ev1", "deny")], timeout=5000)
        assert notifier.failure is None
        notifier.close()

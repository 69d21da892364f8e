"""``NotificationRouter``: the real core against the real emulator, a hand-written notifier.

The notifier is the seam (the backends have their own tests); here the question is what each
click does to a real request at a real broker: Approve grants 15 minutes read-only, Deny denies,
nothing is answered while locked, and every bubble goes when its request leaves the inbox.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.core.model import AccessRequest
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui.notify.base import ActionCallback
from authenticator.gui.notify.glue import NotificationRouter
from tests.support_emulator import PASSPHRASE, Ask, ask, finished, pair_by_qr


def paired_and_notified(
    qtbot: QtBot, core: Core, requester: Requester, fake: FakeNotifier, scope: str
) -> Ask:
    """Pair, let the Manager ask for ``scope``, and wait until its notification is shown."""
    pair_by_qr(core, requester)
    a = ask(core, requester, scope)
    qtbot.waitUntil(lambda: fake.shown == [a.request_id])
    return a


class FakeNotifier:
    """Remembers what it was asked to show and withdraw; the test plays the person."""

    name = "fake"
    supports_actions = True

    def __init__(self, on_action: ActionCallback) -> None:
        self.on_action = on_action
        self.shown: list[str] = []
        self.withdrawn: list[str] = []
        self.notices: list[tuple[str, str, str]] = []
        self.closed = False
        self.threads: set[threading.Thread] = set()

    def show(self, request: AccessRequest) -> None:
        self.threads.add(threading.current_thread())
        self.shown.append(request.id)

    def withdraw(self, request_id: str) -> None:
        self.threads.add(threading.current_thread())
        self.withdrawn.append(request_id)

    def show_notice(self, key: str, title: str, body: str) -> None:
        self.threads.add(threading.current_thread())
        self.notices.append((key, title, body))

    def close(self) -> None:
        self.closed = True


class Window:
    def __init__(self) -> None:
        self.raised: list[str] = []

    def __call__(self, request_id: str) -> None:
        self.raised.append(request_id)


@pytest.fixture
def window() -> Window:
    return Window()


@pytest.fixture
def make_router(
    qapp: object, core: Core, window: Window
) -> Iterator[Callable[[], tuple[NotificationRouter, FakeNotifier]]]:
    made: list[NotificationRouter] = []

    def make() -> tuple[NotificationRouter, FakeNotifier]:
        router = NotificationRouter(core, window, notifier_factory=FakeNotifier)
        made.append(router)
        assert isinstance(router.notifier, FakeNotifier)
        return router, router.notifier

    yield make
    for router in made:
        router.close()


@pytest.fixture
def router(
    make_router: Callable[[], tuple[NotificationRouter, FakeNotifier]],
) -> tuple[NotificationRouter, FakeNotifier]:
    made = make_router()
    made[0].start()
    return made


def test_a_request_is_shown_and_approve_grants_15_minutes_read_only(
    qtbot: QtBot, core: Core, requester: Requester, router: tuple[NotificationRouter, FakeNotifier]
) -> None:
    r, fake = router
    a = paired_and_notified(
        qtbot, core, requester, fake, "storage:disk0"
    )  # write access possible: still read-only
    with qtbot.waitSignal(r.answered, timeout=10_000) as answered:
        fake.on_action(a.request_id, "approve")
    assert answered.args == [a.request_id, "approved"]
    result = finished(a.session)
    assert result.state == "approved"
    assert result.claims["scope"] == "storage:disk0"
    assert result.claims["exp"] - result.claims["iat"] in (900, 899)
    qtbot.waitUntil(lambda: fake.withdrawn == [a.request_id])
    assert fake.threads == {threading.main_thread()}  # the notifier is only used on the GUI thread


def test_deny(
    qtbot: QtBot, core: Core, requester: Requester, router: tuple[NotificationRouter, FakeNotifier]
) -> None:
    r, fake = router
    a = paired_and_notified(qtbot, core, requester, fake, "keymgmt:list")
    with qtbot.waitSignal(r.answered, timeout=10_000) as answered:
        fake.on_action(a.request_id, "deny")
    assert answered.args == [a.request_id, "denied"]
    assert finished(a.session).state == "denied"
    qtbot.waitUntil(lambda: fake.withdrawn == [a.request_id])


def test_open_raises_the_window(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    router: tuple[NotificationRouter, FakeNotifier],
    window: Window,
) -> None:
    _r, fake = router
    a = paired_and_notified(qtbot, core, requester, fake, "keymgmt:list")
    fake.on_action(a.request_id, "open")
    assert window.raised == [a.request_id]
    assert a.session.poll().state == "pending"


def test_a_request_with_a_code_is_never_approved_from_a_bubble(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    router: tuple[NotificationRouter, FakeNotifier],
    window: Window,
) -> None:
    """Approving needs the code the requester shows, picked in the window: Approve opens it."""
    r, fake = router
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list", note="Manager page, code:47")
    qtbot.waitUntil(lambda: fake.shown == [a.request_id])
    (request,) = core.pending()
    assert 47 in request.codes
    answers: list[object] = []
    r.answered.connect(lambda *args: answers.append(args))
    fake.on_action(a.request_id, "approve")  # e.g. a server's context menu kept an old action
    assert window.raised == [a.request_id]
    assert [x.id for x in core.refresh()] == [a.request_id]  # nothing was answered
    assert a.session.poll().state == "pending"
    assert r._tasks.busy == 0  # nothing runs either
    QCoreApplication.processEvents()
    assert answers == []
    # Deny still works from the bubble (no code needed to refuse)
    with qtbot.waitSignal(r.answered, timeout=10_000) as denied:
        fake.on_action(a.request_id, "deny")
    assert denied.args == [a.request_id, "denied"]
    assert finished(a.session).state == "denied"


def test_approve_while_locked_raises_the_window_and_answers_nothing(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    router: tuple[NotificationRouter, FakeNotifier],
    window: Window,
) -> None:
    _r, fake = router
    a = paired_and_notified(qtbot, core, requester, fake, "keymgmt:list")
    core.lock()
    qtbot.waitUntil(lambda: fake.withdrawn == [a.request_id])  # locking takes bubbles away
    fake.on_action(a.request_id, "approve")  # a bubble clicked just before it went
    fake.on_action(a.request_id, "deny")
    assert window.raised == [a.request_id, a.request_id]
    core.unlock(PASSPHRASE)
    assert [r.id for r in core.refresh()] == [a.request_id]  # still waiting at the broker
    assert a.session.poll().state == "pending"
    qtbot.waitUntil(lambda: fake.shown == [a.request_id, a.request_id])  # shown again


def test_cancelled_and_expired_requests_are_withdrawn(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    emu: RunningEmulator,
    router: tuple[NotificationRouter, FakeNotifier],
) -> None:
    _r, fake = router
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    b = ask(core, requester, "system:config")
    qtbot.waitUntil(lambda: fake.shown == [a.request_id, b.request_id])
    a.session.cancel()
    assert emu.emulator.broker is not None
    emu.emulator.broker.expire_event(b.request_id)
    core.refresh()
    qtbot.waitUntil(lambda: sorted(fake.withdrawn) == sorted([a.request_id, b.request_id]))


def test_an_answer_that_fails_is_reported(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    router: tuple[NotificationRouter, FakeNotifier],
    window: Window,
) -> None:
    r, fake = router
    a = paired_and_notified(qtbot, core, requester, fake, "keymgmt:list")
    a.session.cancel()  # withdrawn by the requester while the bubble is still up
    with qtbot.waitSignal(r.failed, timeout=10_000) as failed:
        fake.on_action(a.request_id, "approve")
    assert failed.args[0] == a.request_id
    assert failed.args[1]  # a sentence for the person
    assert window.raised == []  # the request is gone: nothing to try again
    qtbot.waitUntil(lambda: fake.withdrawn == [a.request_id])


def test_start_shows_what_is_already_waiting_and_the_setting_switches_it_off(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    make_router: Callable[[], tuple[NotificationRouter, FakeNotifier]],
    window: Window,
) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    r, fake = make_router()
    r.start()
    assert fake.shown == [a.request_id]
    r.set_enabled(False)
    assert fake.withdrawn == [a.request_id]
    b = ask(core, requester, "system:config")
    QCoreApplication.processEvents()  # deliver the core's (queued) news, if any came
    assert fake.shown == [a.request_id]
    r.set_enabled(True)  # two waiting: one grouped bubble, never a burst
    assert fake.shown == [a.request_id]
    ((key, title, body),) = fake.notices
    assert title == "2 access requests are waiting"
    assert sorted(body.splitlines()) == [
        f"Change the settings — {core.hems()[0].name}",
        f"List the keys — {core.hems()[0].name}",
    ]
    r.on_action(key, "open")  # a grouped bubble opens the window on the first request
    assert window.raised == [core.pending()[0].id]
    r.close()
    assert fake.closed
    core.deny(b.request_id)
    QCoreApplication.processEvents()
    assert b.request_id not in fake.withdrawn  # closed: no longer listening


def test_while_locked_one_bubble_says_a_request_waits_and_opens_the_unlock_screen(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    router: tuple[NotificationRouter, FakeNotifier],
    window: Window,
) -> None:
    """Issue 17's blocker: locked (idle), a request still reaches the owner — a bubble with no
    details whose Open shows the unlock screen; unlocking shows the request itself."""
    r, fake = router
    pair_by_qr(core, requester)
    core.update_settings(poll_interval_s=1)
    core.lock("Locked after being idle.")
    core.start(agent=False)
    session = requester.request_access("keymgmt:del")
    qtbot.waitUntil(lambda: bool(fake.notices), timeout=15_000)
    ((key, title, body),) = fake.notices
    assert title == "A request is waiting — Unlock"
    assert "unlock Encedo Authenticator" in body
    details = (session.event_id, "delete", "key", core.session.poll_list.load().popitem()[0])
    assert not any(part in title + body for part in details)  # nothing about it
    assert fake.shown == []
    r.on_action(key, "open")
    assert window.raised == [""]  # the window, which shows the unlock screen
    core.unlock(PASSPHRASE)
    qtbot.waitUntil(lambda: fake.shown == [session.event_id], timeout=15_000)
    assert key in fake.withdrawn


def test_private_notifications_say_only_that_a_request_waits(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    router: tuple[NotificationRouter, FakeNotifier],
) -> None:
    r, fake = router
    pair_by_qr(core, requester)
    r.set_private(True)  # the screen locked, or the owner's choice
    a = ask(core, requester, "keymgmt:del")
    qtbot.waitUntil(lambda: bool(fake.notices))
    key, title, body = fake.notices[-1]
    assert (title, body) == ("An access request is waiting", "Open Encedo Authenticator to see it.")
    assert fake.shown == []
    r.set_private(False)  # unlocked: the request itself, now
    assert fake.shown == [a.request_id]
    assert key in fake.withdrawn


def test_something_the_owner_should_know_is_a_bubble(
    qtbot: QtBot,
    core: Core,
    requester: Requester,
    router: tuple[NotificationRouter, FakeNotifier],
) -> None:
    pair_by_qr(core, requester)
    _, fake = router
    requester.request_access("teleport:everything")
    core.refresh()
    qtbot.waitUntil(lambda: bool(fake.notices))
    _, title, body = fake.notices[-1]
    assert title == "Encedo Authenticator"
    assert body.startswith("Refused a request this app does not understand")

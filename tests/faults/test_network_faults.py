"""The real core (and its poller) against the emulator's fault knobs.

For every fault: the person gets one clear message (it names the peer and says what to do),
nothing is lost (a request whose answer could not be delivered stays pending), nothing is
answered twice (the broker's count of approvals), and the app recovers by itself once the fault
ends (the poller comes back online, the request is shown, the answer goes through).

Clients time out after 0.5 s here, so "slow" is a latency of 1 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from authenticator.core.app import Core
from authenticator.core.model import Outcome
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import (
    BadResponseError,
    Cancelled,
    ConnectError,
    HandledElsewhere,
    NetError,
    NetTimeoutError,
    TransportError,
    Unavailable,
)
from tests.faults.support import (
    EVENT_DATA,
    LISTING,
    Watcher,
    approvals,
    fast_core,
    pending_ids,
    shown,
)
from tests.support_emulator import HEM_PASSPHRASE, finished, pair_by_qr, wait_for

# ---------------------------------------------------------------------------- broker faults


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        (
            {"latency_s": 1.0},
            NetTimeoutError,
            ("broker at 127.0.0.1", "did not answer in time", "try again"),
        ),
        ({"status": 503}, Unavailable, ("broker", "unavailable", "503", "retry")),
        (
            {"status": 502, "body": "<html>bad gateway</html>"},
            Unavailable,
            ("broker", "502", "retry"),
        ),
        ({"garbage": True}, BadResponseError, ("broker at 127.0.0.1", "not JSON", "try again")),
        ({"truncate": True}, TransportError, ("broker at 127.0.0.1", "interrupted", "retry")),
        ({"drop": True}, TransportError, ("broker at 127.0.0.1", "interrupted", "retry")),
    ],
    ids=["slow", "5xx", "5xx-html", "garbage", "truncated", "dropped"],
)
def test_broker_fault_on_the_round_and_on_the_answer(
    app: Core,
    emu: RunningEmulator,
    requester: Requester,
    *,
    fault: dict[str, object],
    error: type[NetError],
    words: tuple[str, ...],
) -> None:
    pair_by_qr(app, requester)
    faults = emu.emulator.faults
    # the round fails with one clear message, and the next one works by itself
    session = requester.request_access("keymgmt:list")
    faults.add(LISTING, times=1, **fault)  # type: ignore[arg-type]
    with pytest.raises(error) as info:
        app.refresh()
    for word in words:
        assert word in str(info.value), str(info.value)
    assert session.event_id in [r.id for r in app.refresh()]
    # the answer fails: the request stays pending, unclaimed; answering again goes through once
    faults.add(EVENT_DATA + session.event_id, method="POST", times=1, **fault)  # type: ignore[arg-type]
    with pytest.raises(error):
        app.approve(session.event_id)
    assert pending_ids(app) == [session.event_id]
    # (a slow answer included: the emulator, like a server that reads the body after the
    # client hung up, never processes it)
    before = approvals(emu)
    app.approve(session.event_id)
    assert approvals(emu) == before + 1  # the faulted POST never reached the broker
    assert pending_ids(app) == []
    assert finished(session).state == "approved"  # exactly one approval was recorded


def test_broker_down_then_up_with_the_poller(
    app: Core, emu: RunningEmulator, requester: Requester
) -> None:
    pair_by_qr(app, requester)
    watcher = Watcher()
    app.add_listener(watcher)
    app.update_settings(poll_interval_s=1)
    event_id = shown(app, requester)
    emu.down()
    try:
        with pytest.raises(ConnectError) as info:
            app.refresh()
        assert "broker at 127.0.0.1" in str(info.value)
        assert "check that it is on and reachable" in str(info.value)
        with pytest.raises(ConnectError):
            app.approve(event_id)
        assert pending_ids(app) == [event_id]  # nothing lost
        app.start(agent=False)
        wait_for(lambda: len([s for s in watcher.states if not s.online]) >= 2, timeout=20)
        messages = watcher.offline_messages()
        assert len(messages) == 1, messages  # one message, however many rounds failed
        assert "broker" in next(iter(messages))
    finally:
        emu.up()
    wait_for(watcher.back_online, timeout=30)  # by itself
    later = requester.request_access("keymgmt:list")  # and shows new requests again by itself
    wait_for(lambda: later.event_id in [r.id for r in watcher.added], timeout=15)
    before = approvals(emu)
    app.approve(event_id)
    assert approvals(emu) == before + 1
    assert pending_ids(app) == [later.event_id]


# ---------------------------------------------------------------------------- HEM faults


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ({"latency_s": 1.0}, NetTimeoutError, ("HEM at 127.0.0.1", "did not answer in time")),
        ({"status": 503}, Unavailable, ("HEM", "unavailable", "503")),
        ({"garbage": True}, BadResponseError, ("HEM at 127.0.0.1", "not JSON")),
        ({"truncate": True}, TransportError, ("HEM at 127.0.0.1", "interrupted")),
        ({"drop": True}, TransportError, ("HEM at 127.0.0.1", "interrupted")),
    ],
    ids=["slow", "5xx", "garbage", "truncated", "dropped"],
)
def test_hem_fault_on_the_direct_path(
    app: Core,
    emu: RunningEmulator,
    fault: dict[str, object],
    error: type[NetError],
    words: tuple[str, ...],
) -> None:
    app.pair_direct(app.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    faults = emu.emulator.faults
    faults.add("/api/auth/ext/request", times=1, **fault)  # type: ignore[arg-type]
    with pytest.raises(error) as info:
        app.ask_hem("keymgmt:list")
    for word in words:
        assert word in str(info.value), str(info.value)
    assert app.pending() == []
    entry = app.ask_hem("keymgmt:list")  # the fault is over: it works
    faults.add("/api/auth/ext/token", times=1, **fault)  # type: ignore[arg-type]
    with pytest.raises(error):
        app.approve(entry.request.id)
    assert pending_ids(app) == [entry.request.id]  # nothing lost
    assert app.approve(entry.request.id).token  # and it goes through once the fault is over


def test_hem_down_then_up(app: Core, emu: RunningEmulator) -> None:
    app.pair_direct(app.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    entry = app.ask_hem("keymgmt:list")
    emu.down()
    try:
        with pytest.raises(ConnectError) as info:
            app.ask_hem("keymgmt:list")
        assert "Could not connect to the HEM at 127.0.0.1" in str(info.value)
        with pytest.raises(ConnectError):
            app.approve(entry.request.id)
        assert pending_ids(app) == [entry.request.id]
    finally:
        emu.up()
    assert app.approve(entry.request.id).token
    assert app.pending() == []


# ---------------------------------------------------------------------------- events that end elsewhere


def test_cancelled_event(app: Core, emu: RunningEmulator, requester: Requester) -> None:
    pair_by_qr(app, requester)
    watcher = Watcher()
    app.add_listener(watcher)
    first = requester.request_access("keymgmt:list")
    second = requester.request_access("keymgmt:list")
    app.refresh()
    first.cancel()  # the requester withdraws: the next round closes it
    app.refresh()
    assert pending_ids(app) == [second.event_id]
    (gone,) = [r for r in watcher.removed if r[0] == first.event_id]
    assert gone[1] is Outcome.CANCELLED
    assert "withdrawn" in gone[2]
    broker = emu.emulator.broker
    assert broker is not None
    assert broker.cancel_event(second.event_id)  # withdrawn while the person is answering
    before = approvals(emu)
    with pytest.raises(Cancelled):
        app.approve(second.event_id)
    assert app.pending() == []
    assert approvals(emu) == before + 1  # the one attempt, refused
    assert second.poll().state == "cancelled"


def test_handled_elsewhere(
    app: Core, tmp_path: Path, emu: RunningEmulator, requester: Requester
) -> None:
    other = fast_core(tmp_path / "other")
    try:
        pair_by_qr(app, requester)
        pair_by_qr(other, requester)
        watcher = Watcher()
        app.add_listener(watcher)
        first = requester.request_access("keymgmt:list")
        second = requester.request_access("keymgmt:list")
        app.refresh()
        other.refresh()
        other.approve(first.event_id)
        other.deny(second.event_id)
        app.refresh()  # the next round sees both gone
        assert app.pending() == []
        outcomes = {rid: (outcome, msg) for rid, outcome, msg in watcher.removed}
        assert outcomes[first.event_id][0] is Outcome.HANDLED_ELSEWHERE
        assert "another authenticator" in outcomes[first.event_id][1]
        assert outcomes[second.event_id][0] is Outcome.HANDLED_ELSEWHERE
        assert finished(first).state == "approved"
        assert finished(second).state == "denied"
        # answering in a race with the other authenticator: told, and not answered twice
        third = requester.request_access("keymgmt:list")
        app.refresh()
        other.refresh()
        other.approve(third.event_id)
        with pytest.raises(HandledElsewhere):
            app.approve(third.event_id)
        assert finished(third).state == "approved"
    finally:
        other.close()

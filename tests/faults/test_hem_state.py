"""HEM clock skew and a HEM reboot in the middle of a request, with the real core."""

from __future__ import annotations

import time

import pytest

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import HemClockError, ServerError
from tests.faults.support import approvals, pending_ids
from tests.support_emulator import HEM_PASSPHRASE, finished, pair_by_qr

NEW_EVENT = "POST /notify/event/new"


def test_hem_clock_ahead_broker_refuses_then_check_in(
    app: Core, emu: RunningEmulator, requester: Requester
) -> None:
    """A HEM whose clock runs ahead issues an ``authreq`` from the broker's future: the broker
    refuses it (401), the Manager checks the HEM in (which sets its clock) and asks again."""
    pair_by_qr(app, requester)
    device = emu.emulator.hems[0]
    device.clock.set_skew(120)
    broker = emu.emulator.broker
    assert broker is not None
    before = broker.calls.get(NEW_EVENT, 0)
    session = requester.request_access("keymgmt:list")
    assert broker.calls.get(NEW_EVENT, 0) - before == 2  # refused once, then accepted
    assert abs(device.clock.skew) < 5  # the check-in put the HEM's clock right
    assert session.event_id in [r.id for r in app.refresh()]
    app.approve(session.event_id)
    assert finished(session).state == "approved"


def test_hem_clock_behind_broker_refuses_an_expired_request_then_check_in(
    app: Core, emu: RunningEmulator, requester: Requester
) -> None:
    pair_by_qr(app, requester)
    device = emu.emulator.hems[0]
    device.clock.set_skew(-(3600 + 30))  # its requests expire before they are made (host time)
    session = requester.request_access("keymgmt:list")
    assert abs(device.clock.skew) < 5
    request = next(r for r in app.refresh() if r.id == session.event_id)
    assert request.expires_at > time.time() + 3000


def test_direct_path_with_the_hem_clock_behind(app: Core, emu: RunningEmulator) -> None:
    """A HEM far behind makes requests that are already expired by this computer's clock: the
    app checks it in and asks again; when the check-in service is out, the person is told in one
    sentence why and what to do, and nothing is queued."""
    app.update_settings(default_broker_url=emu.urls.broker.rstrip("/"))
    app.pair_direct(app.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    device = emu.emulator.hems[0]
    device.clock.set_skew(-(3600 + 5))
    emu.emulator.faults.add("/checkin", status=503, times=1)
    with pytest.raises(HemClockError) as info:
        app.ask_hem("keymgmt:list")
    message = str(info.value)
    assert "behind" in message
    assert "could not be checked in" in message
    assert "check it in" in message
    assert app.pending() == []
    app.session.clock_keeper.forget(app.hems()[0].name)  # the service is back
    assert app.approve(app.ask_hem("keymgmt:list").request.id).token
    assert abs(device.clock.skew) < 5  # healed by the check-in


def test_direct_path_with_the_hem_clock_ahead(app: Core, emu: RunningEmulator) -> None:
    """A HEM 10 minutes ahead is checked in first: the request shows its real expiry and
    approving works."""
    app.update_settings(default_broker_url=emu.urls.broker.rstrip("/"))
    app.pair_direct(app.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    emu.emulator.hems[0].clock.set_skew(600)
    entry = app.ask_hem("keymgmt:list")
    assert 3500 < entry.request.expires_at - time.time() <= 3600
    assert app.approve(entry.request.id).token


def test_hem_reboot_in_the_middle_of_a_direct_request(app: Core, emu: RunningEmulator) -> None:
    """A reboot forgets every pending ``authreq``: the approval is refused, the request ends
    (it can never succeed) with a message naming the HEM, and a new request works."""
    app.pair_direct(app.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    entry = app.ask_hem("keymgmt:list")
    emu.emulator.hems[0].reboot()
    with pytest.raises(ServerError) as info:
        app.approve(entry.request.id)
    assert "HEM" in str(info.value)
    assert app.pending() == []
    assert entry.decision.settled  # a waiting program is told at once
    assert app.journal_entries(limit=1)[0].kind == "request.failed"
    assert app.approve(app.ask_hem("keymgmt:list").request.id).token  # recovered


def test_hem_reboot_in_the_middle_of_a_broker_request(
    app: Core, emu: RunningEmulator, requester: Requester
) -> None:
    """Through the broker the app's approval is delivered once; the Manager then finds the HEM
    no longer knows the request (it rebooted) and reports that, and a new request works."""
    pair_by_qr(app, requester)
    session = requester.request_access("keymgmt:list")
    app.refresh()
    emu.emulator.hems[0].reboot()
    before = approvals(emu)
    app.approve(session.event_id)
    assert approvals(emu) == before + 1
    assert finished(session).state == "failed"
    again = requester.request_access("keymgmt:list")
    app.refresh()
    app.approve(again.event_id)
    assert finished(again).state == "approved"
    assert pending_ids(app) == []

"""The requester (the Manager's role) against the full emulator, over real HTTP, with an
authenticator simulated by ``SimulatedApp`` (the protocol package + ``BrokerClient``).

HEM 0 serves the access tests, with one authenticator paired once for the module; HEM 1 serves
the pairing tests, which add and refuse pairings; HEM 2 serves the clock tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from authenticator.emulator.broker.appsim import SimPairing, SimulatedApp
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread
from authenticator.errors import Cancelled, HandledElsewhere, NotFound, StateError
from authenticator.protocol.access import AuthReq, allow_body, authreply_mac
from authenticator.protocol.bearer import Bearer, kid_to_sub
from authenticator.protocol.jsonutil import parse_object
from authenticator.protocol.links import PairLink, parse_link
from authenticator.protocol.pairing import parse_qr, request_hash
from authenticator.protocol.periods import Period


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with serve_in_thread(Emulator(hem_count=3)) as running:
        for hem in running.emulator.hems:
            hem.set_pacing(0, 0)  # the device's 0.5 s login pacing would only slow the tests
        yield running


def make_requester(running: RunningEmulator, index: int, **kwargs: object) -> Requester:
    urls = running.urls
    return Requester(
        urls.hems[index],
        urls.broker,
        backend_url=urls.backend,
        passphrase="demo",
        **kwargs,
    )


@pytest.fixture(scope="module")
def requester(running: RunningEmulator) -> Iterator[Requester]:
    with make_requester(running, 0) as r:
        yield r


@pytest.fixture(scope="module")
def app(requester: Requester) -> Iterator[tuple[SimulatedApp, SimPairing, str]]:
    """One authenticator paired with HEM 0 through the broker → (app, pairing, kid)."""
    with SimulatedApp(label="Module app (Linux)") as sim:
        session = requester.start_pairing()
        pairing = sim.pair(session.qr_text)
        assert session.poll() == "paired"
        assert session.kid is not None
        yield sim, pairing, session.kid


def the_event(sim: SimulatedApp, pairing: SimPairing, event_id: str) -> str:
    pending = [e for e, p in sim.pending() if p is pairing]
    assert event_id in pending
    return event_id


# ---------------------------------------------------------------------------- pairing


def test_pairing_through_the_broker(running: RunningEmulator) -> None:
    with make_requester(running, 1) as requester, SimulatedApp(label="Desk (Linux)") as sim:
        session = requester.start_pairing()
        hem = running.emulator.hems[1]
        assert session.poll() == "pending"

        fields = parse_object(session.qr_text)
        assert list(fields) == ["link", "hash", "user", "email", "hostname", "url"]
        assert fields["hash"] == request_hash(session.request)
        assert fields["url"] == running.urls.hems[1]
        assert fields["link"].startswith(running.urls.broker + "/notify/pairing/")
        assert fields["hostname"] == hem.config.hostname
        link = parse_link(session.pair_link)
        assert isinstance(link, PairLink)
        assert link.qr == parse_qr(session.qr_text)

        before = requester.paired_count()
        pairing = sim.pair(session.qr_text)
        assert session.poll() == "paired"
        assert session.poll() == "paired"  # terminal: no more calls
        assert session.pid == pairing.pid
        stored = hem.key(session.kid or "")
        assert stored is not None
        assert stored.label == "Desk (Linux)"
        assert requester.paired_count() == before + 1
        assert pairing.pid in running.emulator.broker.subscriber_pids(session.eid)


def test_refused_pairing(running: RunningEmulator) -> None:
    with make_requester(running, 1) as requester, SimulatedApp() as sim:
        session = requester.start_pairing()
        sim.refuse(session.qr_text)
        assert session.poll() == "refused"
        assert session.kid is None


def test_expired_pairing(running: RunningEmulator) -> None:
    with make_requester(running, 1) as requester, SimulatedApp() as sim:
        session = requester.start_pairing()
        assert running.emulator.broker.expire_registration(session.rid)
        assert session.poll() == "expired"
        with pytest.raises(NotFound):
            sim.pair(session.qr_text)


def test_pairing_needs_the_passphrase(running: RunningEmulator) -> None:
    urls = running.urls
    with Requester(urls.hems[1], urls.broker) as requester, pytest.raises(StateError):
        requester.start_pairing()


# ---------------------------------------------------------------------------- access


def test_access_approved_gives_the_bearer(
    requester: Requester, app: tuple[SimulatedApp, SimPairing, str]
) -> None:
    sim, pairing, kid = app
    session = requester.request_access("keymgmt:list")
    assert session.poll().state == "pending"
    assert 55 <= session.remaining <= 60
    event_id = the_event(sim, pairing, session.event_id)
    event, scope = sim.open(event_id, pairing)
    assert scope == "keymgmt:list"
    assert event.ipinfo.city == "This computer"
    sim.approve(event_id, pairing, period=Period.H1)
    now = int(time.time())
    result = session.poll()
    assert result.state == "approved"
    assert result.token is not None
    assert result.claims["scope"] == "keymgmt:list"
    assert result.claims["sub"] == kid_to_sub(kid)
    assert result.claims["kid"] == kid
    assert abs(result.claims["exp"] - (now + 3600)) <= 5
    assert session.poll() is result
    assert "token" not in repr(result)


def test_write_access_and_key_use(
    requester: Requester, app: tuple[SimulatedApp, SimPairing, str]
) -> None:
    sim, pairing, _ = app
    disk = requester.request_access("storage:disk0:rw")
    sim.approve(the_event(sim, pairing, disk.event_id), pairing, write=True)
    assert disk.poll().claims["scope"] == "storage:disk0:rw"

    kid = requester.find_key("PGP main")
    assert kid is not None
    assert requester.find_key("No such key") is None
    use = requester.request_access(f"keymgmt:use:{kid}")
    _, scope = sim.open(use.event_id, pairing)
    assert scope.startswith(f"keymgmt:use:{kid}#")  # the HEM names the key for the app
    sim.approve(use.event_id, pairing)
    assert use.poll().claims["scope"] == f"keymgmt:use:{kid}"  # and drops the name again


def test_access_denied(requester: Requester, app: tuple[SimulatedApp, SimPairing, str]) -> None:
    sim, pairing, _ = app
    session = requester.request_access("system:config")
    sim.deny(the_event(sim, pairing, session.event_id), pairing)
    result = session.poll()
    assert result.state == "denied"
    assert result.token is None


def test_access_cancelled_by_the_requester(
    requester: Requester, app: tuple[SimulatedApp, SimPairing, str]
) -> None:
    sim, pairing, _ = app
    session = requester.request_access("keymgmt:list")
    sim.open(session.event_id, pairing)
    assert session.cancel().state == "cancelled"
    assert session.poll().state == "cancelled"
    with pytest.raises(Cancelled):
        sim.open(session.event_id, pairing)
    assert session.event_id not in [e for e, _ in sim.pending()]


def test_access_withdrawn_after_the_wait(
    running: RunningEmulator, app: tuple[SimulatedApp, SimPairing, str]
) -> None:
    sim, pairing, _ = app
    offset = [0]
    with make_requester(running, 0, now=lambda: int(time.time()) + offset[0]) as requester:
        session = requester.request_access("keymgmt:list", wait=30)
        assert session.poll().state == "pending"
        offset[0] = 31
        assert session.remaining == 0
        assert session.poll().state == "expired"
        with pytest.raises(Cancelled):  # the Manager withdrew it
            sim.open(session.event_id, pairing)


def test_access_expired_at_the_broker(
    running: RunningEmulator, requester: Requester, app: tuple[SimulatedApp, SimPairing, str]
) -> None:
    sim, pairing, _ = app
    session = requester.request_access("keymgmt:list")
    assert running.emulator.broker.expire_event(session.event_id)
    assert session.poll().state == "expired"
    with pytest.raises(NotFound):
        sim.open(session.event_id, pairing)
    assert session.cancel().state == "expired"


def test_two_authenticators_one_answers(
    requester: Requester, app: tuple[SimulatedApp, SimPairing, str]
) -> None:
    first, first_pairing, first_kid = app
    with SimulatedApp(label="Second (Linux)") as second:
        pairing = requester.start_pairing()
        second_pairing = second.pair(pairing.qr_text)
        assert pairing.poll() == "paired"
        session = requester.request_access("keymgmt:list")
        the_event(first, first_pairing, session.event_id)
        the_event(second, second_pairing, session.event_id)
        second.approve(session.event_id, second_pairing)
        with pytest.raises(HandledElsewhere):
            first.open(session.event_id, first_pairing)
        result = session.poll()
        assert result.state == "approved"
        assert result.claims["kid"] == pairing.kid != first_kid


def test_a_tampered_approval_fails_at_the_hem(
    requester: Requester, app: tuple[SimulatedApp, SimPairing, str]
) -> None:
    """An approval the broker accepts but the HEM refuses (an authreply for another request)
    ends the session as failed, with the HEM's reason."""
    sim, pairing, _ = app
    session = requester.request_access("keymgmt:list")
    other = requester.request_access("keymgmt:list")
    event, _ = sim.open(session.event_id, pairing)
    foreign = sim.answer_authreq(other.authreq, pairing)  # signed for the other request's jti
    body = allow_body(foreign, authreply_mac(pairing.keys.aid, event.epk, foreign))
    sim.broker(pairing.broker).answer_event(session.event_id, pairing.pid, body)
    assert requester.redeem(foreign)  # it IS valid for the other request…
    result = session.poll()  # …so redeeming it twice is a replay the HEM refuses
    assert result.state == "failed"
    assert result.error
    other.cancel()


# ---------------------------------------------------------------------------- direct path


def test_direct_path(requester: Requester, app: tuple[SimulatedApp, SimPairing, str]) -> None:
    sim, pairing, kid = app
    authreq, epk = requester.direct_authreq("keymgmt:list")
    parsed = AuthReq.parse(authreq)
    parsed.verify_signature(epk)
    assert parsed.epk == epk.public
    authreply = sim.answer_authreq(authreq, pairing)
    token = requester.redeem(authreply)
    bearer = Bearer.parse(token)
    assert bearer.scope == "keymgmt:list"
    assert bearer.kid == kid


# ---------------------------------------------------------------------------- the clock


def test_check_in_when_the_clock_is_unset(running: RunningEmulator) -> None:
    hem = running.emulator.hems[2]
    hem.set_rtc(False)
    with make_requester(running, 2) as requester:
        assert "ts" not in requester.hem.status()
        session = requester.request_access("keymgmt:list")  # nobody paired: still pending
        assert "ts" in requester.hem.status()
        assert session.poll().state == "pending"
        assert requester.check_in_if_needed() is False
        session.cancel()


def test_check_in_needs_a_backend(running: RunningEmulator) -> None:
    running.emulator.hems[2].set_rtc(False)
    urls = running.urls
    with Requester(urls.hems[2], urls.broker) as requester, pytest.raises(StateError):
        requester.request_access("keymgmt:list")
    running.emulator.hems[2].set_rtc(True)


def test_a_hem_clock_ahead_of_the_broker_is_checked_in_and_retried(
    running: RunningEmulator,
) -> None:
    hem = running.emulator.hems[2]
    hem.clock.set_skew(120)
    with make_requester(running, 2) as requester:
        session = requester.request_access("keymgmt:list")
        assert abs(hem.clock.skew) < 5  # the check-in put the HEM's clock right
        assert session.poll().state == "pending"
        session.cancel()
    calls = running.emulator.broker.calls
    assert calls["POST /notify/event/new"] >= 2

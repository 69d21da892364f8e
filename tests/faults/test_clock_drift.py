"""The app under a drifting HEM clock, over an emulated day (issue 16).

A real HEM's RTC runs about 8 % fast between check-ins. Here one emulated HEM runs at a chosen
rate on a host clock the test moves (an hour at a time, nothing waits), and the real ``Core``
answers on both paths. What "approving correctly" means, by the clock that enforces it — the
HEM's: every approval yields a token the HEM accepts, that lives the period the owner granted
(15 min), give or take only the drift while the owner read the request (8 % of 5 min), and
never longer than that. Where the protocol lets the app reach the HEM (the direct path) it heals
the clock with a check-in; where it cannot, the owner is told in one sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from authenticator.core.app import Core
from authenticator.core.hemclock import RETRY_AFTER, TOLERANCE
from authenticator.core.netfactory import NetFactory
from authenticator.emulator.clock import MovableClock
from authenticator.emulator.hem.device import HemDevice
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread
from authenticator.errors import HemClockError
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.periods import Period
from authenticator.store.keychain import SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.vault import KdfParams
from tests.support_emulator import HEM_PASSPHRASE, PASSPHRASE, finished, pair_by_qr, wait_for

HOUR = 3600
READING = 300
"""Seconds the owner takes to read a request before approving it."""
GRANTED = int(Period.MIN15)
SLACK = 60
"""A grant may lose the drift while the owner read (8 % of 5 min = 24 s) plus rounding."""
LONGEST = GRANTED + round(0.08 * READING)
"""A slow HEM gains those 24 s instead: the app cannot see a drift that happens after the HEM
signed the request (a real HEM runs fast, so in practice a grant only ever shortens)."""


@dataclass
class Day:
    """One HEM drifting at ``rate`` on a movable host clock, the app paired with it by QR."""

    running: RunningEmulator
    host: MovableClock
    core: Core
    requester: Requester

    @property
    def device(self) -> HemDevice:
        return self.running.emulator.hems[0]

    @property
    def hem_url(self) -> str:
        return self.running.urls.hems[0]

    def accepted(self, token: str) -> bool:
        r = httpx.get(
            f"{self.hem_url}/api/keymgmt/list", headers={"Authorization": f"Bearer {token}"}
        )
        return r.status_code == 200


def day_at(rate: float, tmp_path: Path) -> Iterator[Day]:
    host = MovableClock()
    emulator = Emulator(
        hem_count=1, passphrase=HEM_PASSPHRASE, clock_rate=rate, clock=host, demo=False
    )
    with serve_in_thread(emulator) as running:
        running.emulator.hems[0].set_pacing(0, 0)
        core = Core(
            AppPaths.for_home(tmp_path / "home"),
            clock=host,
            keychain=SystemKeychain(timeout=0.5),
            net=NetFactory(hem_timeout=15.0, broker_timeout=15.0),
            kdf=KdfParams.minimum(),
        )
        core.create_store(passphrase=PASSPHRASE)
        urls = running.urls
        with Requester(urls.hems[0], urls.broker, backend_url=urls.backend,
                       passphrase=HEM_PASSPHRASE, now=host.now) as requester:  # fmt: skip
            pair_by_qr(core, requester)  # a broker pairing whose QR also carried the HEM's address
            try:
                yield Day(running, host, core, requester)
            finally:
                core.close()


@pytest.fixture
def fast(tmp_path: Path) -> Iterator[Day]:
    """A HEM running 8 % fast from its last check-in, like the real ones."""
    yield from day_at(1.08, tmp_path)


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Day]:
    """A HEM running 8 % slow: the same size of error the other way."""
    yield from day_at(0.92, tmp_path)


def lifetime(token: str) -> int:
    """How long the HEM lets the token live, by its own clock (it minted ``iat``)."""
    bearer = Bearer.parse(token)
    return bearer.exp - bearer.iat


def direct_approval(day: Day) -> str:
    """A program asks (direct path); the owner reads for 5 minutes and approves 15 min."""
    entry = day.core.ask_hem("keymgmt:list")
    day.host.advance(READING)
    grant = day.core.approve(entry.request.id, Period.MIN15)
    assert grant.token is not None
    return grant.token


# ---------------------------------------------------------------------------- direct path


@pytest.mark.parametrize("which", ["fast", "slow"])
def test_direct_path_keeps_approving_over_a_day_and_heals_the_clock(
    which: str, request: pytest.FixtureRequest
) -> None:
    day: Day = request.getfixturevalue(which)
    for hour in range(1, 25):
        day.host.advance(HOUR)
        token = direct_approval(day)
        assert day.accepted(token), f"hour {hour}: the HEM refused the token"
        assert GRANTED - SLACK <= lifetime(token) <= LONGEST, f"hour {hour}: {lifetime(token)} s"
        # the app checked the HEM in: its clock is off by little more than the reading time's drift
        assert abs(day.device.clock.skew) <= TOLERANCE + 0.08 * READING, f"hour {hour}"
    assert day.running.emulator.backend.count >= 12  # healed along the way, not once at the end


def test_direct_path_with_the_hem_clock_unset_checks_it_in(fast: Day) -> None:
    fast.device.set_rtc(False)  # e.g. just rebooted: it makes no request until a check-in
    token = direct_approval(fast)
    assert fast.device.rtc_set
    assert fast.accepted(token)


def test_direct_path_when_the_check_in_service_is_out(fast: Day) -> None:
    """Without a check-in the app still approves correctly while the HEM is within an hour of
    this computer (and says so, once, in one sentence); beyond, it refuses in one sentence."""
    emulator = fast.running.emulator
    emulator.faults.add("/checkin", status=503)
    fast.host.advance(3 * HOUR)  # the HEM is now ~14 min ahead
    token = direct_approval(fast)
    assert fast.accepted(token)
    assert GRANTED - SLACK <= lifetime(token) <= GRANTED
    told = [e.text for e in fast.core.journal_entries(limit=20) if "checked in" in e.text]
    assert told, "the owner was not told the HEM's clock could not be corrected"
    assert "could not be checked in" in told[0]
    assert told[0].endswith(".")
    assert ". " not in told[0]

    fast.host.advance(10 * HOUR)  # ~62 min ahead: too far to answer on
    with pytest.raises(HemClockError) as info:
        fast.core.ask_hem("keymgmt:list")
    message = str(info.value)
    assert message.startswith(f"{fast.core.hems()[0].name}'s clock is 1 h")
    assert "ahead of this computer's" in message
    assert message.endswith("let the Encedo Manager check it in, then ask again.")
    assert ". " not in message
    assert fast.core.pending() == []

    emulator.faults.clear()  # the service is back: after a short pause the app heals by itself
    fast.host.advance(RETRY_AFTER)
    token = direct_approval(fast)
    assert fast.accepted(token)
    assert abs(fast.device.clock.skew) <= TOLERANCE


# ---------------------------------------------------------------------------- broker path


def test_broker_path_keeps_approving_over_a_day(fast: Day) -> None:
    """Through the broker the app never sees a time it can verify, so it grants on its own
    clock; the broker refuses a request from a HEM ahead of it, so the Manager checks the HEM
    in before each request, and the approval lives what was granted."""
    broker = fast.running.emulator.broker
    assert broker is not None
    for hour in range(1, 25):
        fast.host.advance(HOUR)
        session = fast.requester.request_access("keymgmt:list", wait=HOUR)
        wait_for(lambda s=session: s.event_id in [r.id for r in fast.core.refresh()])
        fast.host.advance(READING)
        fast.core.approve(session.event_id, Period.MIN15)
        result = finished(session)
        assert result.state == "approved", f"hour {hour}: {result}"
        assert result.token is not None
        assert fast.accepted(result.token)
        assert GRANTED - SLACK <= lifetime(result.token) <= GRANTED, f"hour {hour}"
    assert fast.running.emulator.backend.count >= 24  # the Manager's check-ins, one per request

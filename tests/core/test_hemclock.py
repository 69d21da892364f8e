"""core/hemclock: readings of a HEM's clock, what a grant is anchored on, the check-in, and the
keeper's choice between anchoring, checking in and refusing (with one sentence for the owner).

The pure parts run on numbers; the check-in runs against the real emulator (its own backend),
and the keeper both on hand-written fakes and on an emulated HEM whose clock runs 8 % fast on a
host clock the test moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from authenticator.core.hemclock import (
    MAX_ANCHOR,
    RETRY_AFTER,
    TOLERANCE,
    CheckinResult,
    ClockKeeper,
    ClockReading,
    anchorable,
    check_in,
    checkin_backend,
    checkin_note,
    describe_offset,
    grant_base,
    needs_checkin,
)
from authenticator.emulator.clock import MovableClock
from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread
from authenticator.errors import Forbidden, HemClockError
from authenticator.net.broker import BrokerClient
from authenticator.net.hem import HemClient
from authenticator.protocol.access import AuthReq
from authenticator.protocol.keys import KeyPair

NOW = 1_800_000_000


def one_sentence(text: str) -> bool:
    return text.endswith(".") and ". " not in text and "\n" not in text


# ---------------------------------------------------------------------------- readings


def test_readings() -> None:
    r = ClockReading.from_authreq(NOW + 300, received_at=NOW, verified=True)
    assert (r.offset, r.taken_at, r.verified, r.hem_time(NOW + 10)) == (300, NOW, True, NOW + 310)
    s = ClockReading.from_status({"time": NOW - 42, "ts": "…"}, received_at=NOW)
    assert s == ClockReading(offset=-42, taken_at=NOW, verified=False)
    assert ClockReading.from_status({"uptime": 5}, received_at=NOW) is None  # RTC unset
    assert ClockReading.from_status({"time": True}, received_at=NOW) is None
    assert ClockReading.from_status({"time": "1800000000"}, received_at=NOW) is None


@pytest.mark.parametrize(
    ("offset", "due"),
    [(0, False), (TOLERANCE, False), (-TOLERANCE, False), (TOLERANCE + 1, True), (-500, True)],
)
def test_needs_checkin(offset: int, due: bool) -> None:
    assert needs_checkin(ClockReading(offset, NOW, True)) is due
    assert needs_checkin(ClockReading(offset, NOW, False)) is due


def test_needs_checkin_when_the_rtc_is_unset() -> None:
    assert needs_checkin(None)


@pytest.mark.parametrize("offset", [1, 600, -600, MAX_ANCHOR, -MAX_ANCHOR])
def test_a_verified_reading_anchors_the_grant_both_ways(offset: int) -> None:
    reading = ClockReading(offset, NOW, verified=True)
    assert anchorable(reading)
    assert grant_base(NOW + 60, reading) == NOW + 60 + offset


@pytest.mark.parametrize(
    "reading",
    [
        None,
        ClockReading(600, NOW, verified=False),  # a broker event, a pasted request, a status
        ClockReading(MAX_ANCHOR + 1, NOW, verified=True),
        ClockReading(-MAX_ANCHOR - 1, NOW, verified=True),
    ],
)
def test_anything_else_uses_this_computers_clock(reading: ClockReading | None) -> None:
    assert not anchorable(reading)
    assert grant_base(NOW, reading) == NOW


def test_an_unverified_hint_can_never_stretch_a_grant() -> None:
    """Whatever a broker claims, a grant is never anchored later than this computer's now."""
    for offset in (10, 3600, 365 * 86400):
        assert grant_base(NOW, ClockReading(offset, NOW, verified=False)) == NOW


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (40, "40 s ahead of this computer's"),
        (-59, "59 s behind this computer's"),
        (600, "10 min ahead of this computer's"),
        (3600, "1 h ahead of this computer's"),
        (6912, "1 h 55 min ahead of this computer's"),
        (-2 * 86400, "48 h behind this computer's"),
    ],
)
def test_describe_offset(offset: int, text: str) -> None:
    assert describe_offset(offset) == text


def test_checkin_backend_is_the_brokers_origin() -> None:
    assert checkin_backend("https://api.encedo.com/notify", "https://x.test") == (
        "https://api.encedo.com"
    )
    assert checkin_backend(None, "https://api.encedo.com") == "https://api.encedo.com"
    assert checkin_backend("http://127.0.0.1:8123", "https://api.encedo.com") == (
        "http://127.0.0.1:8123"
    )


def test_checkin_note() -> None:
    assert checkin_note("office-hem", CheckinResult("OK")) is None
    note = checkin_note("office-hem", CheckinResult("L"))
    assert note is not None
    assert one_sentence(note)
    assert note.startswith("office-hem was checked in")
    assert "'L'" in note


# ---------------------------------------------------------------------------- the check-in


def heal(emu: RunningEmulator, backend: str | None = None) -> CheckinResult:
    with HemClient(emu.urls.hems[0], timeout=2.0) as hem:
        return check_in(hem, backend or emu.urls.backend, post_checkin=BrokerClient.post_checkin)


def test_check_in_sets_the_hems_clock(emu: RunningEmulator) -> None:
    device = emu.emulator.hems[0]
    device.clock.set_skew(5000)
    assert heal(emu) == CheckinResult("OK")
    assert abs(device.clock.skew) < 5
    assert emu.emulator.backend.count == 1


def test_check_in_sets_an_unset_rtc(emu: RunningEmulator) -> None:
    device = emu.emulator.hems[0]
    device.set_rtc(False)
    heal(emu)
    assert device.rtc_set


@pytest.mark.parametrize(
    ("prefix", "method", "fault", "reason"),
    [
        ("/api/system/checkin", "GET", {"status": 500}, "the HEM gave no check-in challenge"),
        ("/checkin", None, {"status": 503}, "the check-in service at 127.0.0.1 refused it"),
        ("/checkin", None, {"garbage": True}, "the check-in service at 127.0.0.1 refused it"),
        ("/checkin", None, {"drop": True}, "the check-in service at 127.0.0.1 could not be reached"),
        ("/api/system/checkin", "POST", {"status": 401},
         "the HEM refused the check-in service's answer"),
    ],
)  # fmt: skip
def test_check_in_failures_say_which_step_failed(
    emu: RunningEmulator, prefix: str, method: str | None, fault: dict[str, object], reason: str
) -> None:
    emu.emulator.faults.add(prefix, method=method, **fault)  # type: ignore[arg-type]
    with pytest.raises(HemClockError) as info:
        heal(emu)
    assert info.value.reason == reason
    assert str(info.value) == f"The HEM could not be checked in: {reason}."
    assert info.value.code == "hem_clock"


def test_check_in_service_unreachable(emu: RunningEmulator) -> None:
    with pytest.raises(HemClockError) as info:
        heal(emu, backend="http://127.0.0.1:9")
    assert info.value.reason == "the check-in service at 127.0.0.1 could not be reached"


def test_check_in_that_locks_the_hem_is_reported(emu: RunningEmulator) -> None:
    emu.emulator.backend.set_action("L")
    emu.emulator.hems[0].checkin_actions = frozenset({"OK", "L"})
    result = heal(emu)
    assert result == CheckinResult("L")
    assert checkin_note("hem", result) is not None


# ---------------------------------------------------------------------------- the keeper (fakes)


@dataclass(frozen=True)
class Req:
    iat: int


class FakeHem:
    """A HEM whose clock is ``offset`` off this computer's; ``heal`` sets it to ``after_heal``."""

    def __init__(self, now: list[int], offset: int | None, *, after_heal: int = 0) -> None:
        self.now = now
        self.offset = offset  # None: RTC unset
        self.after_heal = after_heal
        self.asked = 0
        self.heals = 0
        self.fail: str | None = None
        self.status = "OK"

    def ask(self) -> Req:
        self.asked += 1
        if self.offset is None:
            raise Forbidden(status=403)
        return Req(self.now[0] + self.offset)

    def heal(self) -> CheckinResult:
        self.heals += 1
        if self.fail is not None:
            raise HemClockError(f"The HEM could not be checked in: {self.fail}.", reason=self.fail)
        self.offset = self.after_heal
        return CheckinResult(self.status)


@pytest.fixture
def now() -> list[int]:
    return [NOW]


@pytest.fixture
def keeper(now: list[int]) -> ClockKeeper:
    return ClockKeeper(lambda: now[0])


def test_within_the_tolerance_nothing_is_checked_in(keeper: ClockKeeper, now: list[int]) -> None:
    hem = FakeHem(now, 100)
    asked = keeper.ask("hem", hem.ask, hem.heal)
    assert (asked.reading.offset, asked.healed, asked.note, hem.heals) == (100, None, None, 0)
    assert keeper.base(NOW, asked.reading) == NOW + 100


@pytest.mark.parametrize("offset", [TOLERANCE + 1, 6912, -700, -5000])
def test_beyond_it_the_hem_is_checked_in_and_asked_again(
    keeper: ClockKeeper, now: list[int], offset: int
) -> None:
    hem = FakeHem(now, offset)
    asked = keeper.ask("hem", hem.ask, hem.heal)
    assert (hem.heals, hem.asked) == (1, 2)
    assert asked.reading.offset == 0
    assert asked.healed == CheckinResult("OK")
    assert asked.note is None
    assert keeper.base(NOW, asked.reading) == NOW


def test_an_unset_rtc_is_checked_in_first(keeper: ClockKeeper, now: list[int]) -> None:
    hem = FakeHem(now, None)
    asked = keeper.ask("hem", hem.ask, hem.heal)
    assert (hem.heals, hem.asked, asked.reading.offset) == (1, 2, 0)


def test_an_unset_rtc_that_cannot_be_checked_in(keeper: ClockKeeper, now: list[int]) -> None:
    hem = FakeHem(now, None)
    hem.fail = "the check-in service at api.encedo.com could not be reached"
    with pytest.raises(HemClockError) as info:
        keeper.ask("office-hem", hem.ask, hem.heal)
    message = str(info.value)
    assert message == (
        "office-hem's clock is not set and it could not be checked in (the check-in service at "
        "api.encedo.com could not be reached); let the Encedo Manager check it in, then ask again."
    )
    assert one_sentence(message)
    assert isinstance(info.value.__cause__, Forbidden)
    with pytest.raises(HemClockError) as again:  # not retried at once: no second timeout
        keeper.ask("office-hem", hem.ask, hem.heal)
    assert str(again.value) == message
    assert hem.heals == 1


def test_cannot_heal_but_close_enough_still_approves_and_says_so(
    keeper: ClockKeeper, now: list[int]
) -> None:
    hem = FakeHem(now, 1500)
    hem.fail = "the check-in service at api.encedo.com could not be reached"
    asked = keeper.ask("office-hem", hem.ask, hem.heal)
    assert asked.reading.offset == 1500
    assert keeper.base(NOW, asked.reading) == NOW + 1500  # the token lives what was granted
    assert asked.note == (
        "office-hem's clock is 25 min ahead of this computer's and it could not be checked in "
        "(the check-in service at api.encedo.com could not be reached); approvals still last what "
        "you grant by its clock, but let the Encedo Manager check it in soon."
    )
    assert one_sentence(asked.note)


@pytest.mark.parametrize("offset", [MAX_ANCHOR + 1, 6912, -(MAX_ANCHOR + 1)])
def test_cannot_heal_and_too_far_off_refuses_in_one_sentence(
    keeper: ClockKeeper, now: list[int], offset: int
) -> None:
    hem = FakeHem(now, offset)
    hem.fail = "the check-in service at api.encedo.com refused it"
    with pytest.raises(HemClockError) as info:
        keeper.ask("office-hem", hem.ask, hem.heal)
    message = str(info.value)
    assert one_sentence(message)
    assert message.startswith(f"office-hem's clock is {describe_offset(offset)} and it could not")
    assert message.endswith("let the Encedo Manager check it in, then ask again.")
    assert info.value.reason == "the check-in service at api.encedo.com refused it"


def test_a_failed_check_in_is_not_retried_at_once(keeper: ClockKeeper, now: list[int]) -> None:
    hem = FakeHem(now, 900)
    hem.fail = "the check-in service at api.encedo.com could not be reached"
    keeper.ask("hem", hem.ask, hem.heal)
    now[0] += RETRY_AFTER - 1
    asked = keeper.ask("hem", hem.ask, hem.heal)
    assert hem.heals == 1  # one timeout, not one per request
    assert asked.note is not None
    assert "could not be reached" in asked.note
    now[0] += 1
    hem.fail = None
    asked = keeper.ask("hem", hem.ask, hem.heal)
    assert (hem.heals, asked.reading.offset, asked.note) == (2, 0, None)


def test_failures_are_remembered_per_hem(keeper: ClockKeeper, now: list[int]) -> None:
    broken, fine = FakeHem(now, 900), FakeHem(now, 900)
    broken.fail = "the HEM refused the check-in service's answer"
    keeper.ask("a", broken.ask, broken.heal)
    keeper.ask("b", fine.ask, fine.heal)
    assert (broken.heals, fine.heals) == (1, 1)
    keeper.forget("a")
    broken.fail = None
    assert keeper.ask("a", broken.ask, broken.heal).reading.offset == 0


def test_still_off_after_a_check_in_blames_this_computers_clock(
    keeper: ClockKeeper, now: list[int]
) -> None:
    hem = FakeHem(now, 6000, after_heal=900)  # the service's time is this computer's + 900
    asked = keeper.ask("hem", hem.ask, hem.heal)
    assert asked.reading.offset == 900
    assert asked.note is not None
    assert "this computer's clock is probably wrong" in asked.note
    assert one_sentence(asked.note)
    far = FakeHem(now, 9000, after_heal=7200)
    with pytest.raises(HemClockError) as info:
        keeper.ask("far", far.ask, far.heal)
    assert str(info.value) == (
        "far's clock is still 2 h ahead of this computer's after a check-in, so this computer's "
        "clock is probably wrong; correct it, then ask again."
    )


def test_an_unset_rtc_checked_in_but_still_off(keeper: ClockKeeper, now: list[int]) -> None:
    hem = FakeHem(now, None, after_heal=-900)  # this computer runs 15 min fast
    asked = keeper.ask("hem", hem.ask, hem.heal)
    assert (hem.heals, asked.reading.offset) == (1, -900)
    assert asked.note is not None
    assert "still 15 min behind this computer's after a check-in" in asked.note


def test_a_check_in_that_did_more_than_set_the_clock_is_told(
    keeper: ClockKeeper, now: list[int]
) -> None:
    hem = FakeHem(now, 5000)
    hem.status = "L"
    asked = keeper.ask("hem", hem.ask, hem.heal)
    assert asked.note == checkin_note("hem", CheckinResult("L"))


# ---------------------------------------------------------------------------- on an emulated day


@pytest.fixture
def fast_hem() -> Iterator[tuple[RunningEmulator, MovableClock]]:
    host = MovableClock(float(NOW))
    emulator = Emulator(hem_count=1, clock_rate=1.08, clock=host, demo=False)
    with serve_in_thread(emulator) as running:
        yield running, host


def test_the_keeper_heals_an_emulated_hem_that_ran_fast_for_a_day(
    fast_hem: tuple[RunningEmulator, MovableClock],
) -> None:
    running, host = fast_hem
    keeper = ClockKeeper(host.now)
    url, backend = running.urls.hems[0], running.urls.backend
    host.advance(86400)

    def ask() -> AuthReq:
        epk = KeyPair.generate()
        with HemClient(url) as hem:
            text, _ = hem.ext_request(epk.public.b64, "keymgmt:list")
        authreq = AuthReq.parse(text)
        authreq.verify_signature(epk)
        return authreq

    def heal() -> CheckinResult:
        with HemClient(url) as hem:
            return check_in(hem, backend, post_checkin=BrokerClient.post_checkin)

    asked = keeper.ask("hem", ask, heal)
    assert asked.healed == CheckinResult("OK")
    assert abs(asked.reading.offset) <= 1
    assert running.emulator.backend.count == 1
    host.advance(600)  # 48 s of drift: within the tolerance, no second check-in
    again = keeper.ask("hem", ask, heal)
    assert (again.healed, running.emulator.backend.count) == (None, 1)
    assert again.reading.offset == pytest.approx(48, abs=1)

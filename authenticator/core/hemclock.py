"""The HEM's clock as the app sees it, and how the app keeps approving while it drifts.

What the sources say (spec/hem-api.md §4 and §6, spec/protocol.md §5):

* A HEM's RTC runs about 8 % fast and only a **check-in** puts it right: ``GET
  /api/system/checkin`` → the check-in service (``POST <backend>/checkin {check}``) → ``POST
  /api/system/checkin {checked}``, whose ``iat`` sets the clock. Both HEM endpoints are open, so
  whoever reaches the HEM can heal it. The backend is the pairing's broker origin (the live
  service serves ``/notify`` and ``/checkin`` on api.encedo.com; the emulator serves both on one
  origin), else the default broker.
* The HEM checks an ``authreply``'s ``exp`` on its own clock and copies it into the bearer. A
  grant written on this computer's clock therefore lives ``period − (HEM − this computer)`` by
  the clock that enforces it: shorter, or dead on arrival, when the HEM runs ahead; *longer than
  the owner granted* when it lags.
* **Direct path**: the app made the ``epk`` and verifies the ``authreq``'s signature, so its
  ``iat`` is the HEM's own, authenticated word on its clock — a *verified* reading a grant may be
  anchored on (the token then lives exactly the granted period by the HEM's clock).
* **Broker path**: nothing the app can verify carries a time. The scope tag binds the sealed
  scope to the ``jti`` and nothing else; the event's ``exp``, ``epk`` and location are the
  broker's word. Anchoring on them would let a broker stretch "15 minutes" to a year, so a broker
  grant uses this computer's clock, always. It stays correct for a fast RTC anyway: the broker
  refuses an ``authreq`` whose ``iat`` is ahead of its own clock (≈0 s), so the requester checks
  the HEM in before the request exists, and the HEM can gain at most 8 % of the request's life
  (≤ 288 s of its hour) before the approval is redeemed — a 15-minute grant keeps ≥ 10 minutes.

The policy (:class:`ClockKeeper`, for the direct path):

1. An offset within :data:`TOLERANCE` is left alone and the grant anchored on the HEM's clock.
2. Beyond it (or with the HEM's RTC unset: ``ext/request`` answers 403), the app checks the HEM
   in and asks again; the new request carries the corrected clock.
3. When the check-in fails, an offset within :data:`MAX_ANCHOR` is still anchored — approvals
   work — and the owner is told in one sentence; a larger one is refused with one sentence. A
   failed check-in is not retried for the same HEM for :data:`RETRY_AFTER` seconds, so an
   unreachable service costs one timeout, not one per request.

Nothing here reads a clock or the network itself: ``now`` and the calls are passed in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from authenticator.errors import (
    BadResponseError,
    Forbidden,
    HemClockError,
    NetError,
    ServerError,
)
from authenticator.protocol.urls import origin_of

__all__ = [
    "MAX_ANCHOR",
    "RETRY_AFTER",
    "TOLERANCE",
    "Asked",
    "CheckinPort",
    "CheckinResult",
    "ClockKeeper",
    "ClockReading",
    "PostCheckin",
    "anchorable",
    "check_in",
    "checkin_backend",
    "checkin_note",
    "describe_offset",
    "grant_base",
    "needs_checkin",
]

TOLERANCE = 120
"""Seconds the HEM's clock may be off before the app checks it in (about 25 minutes of an 8 %
drift). Within it a direct grant is anchored on the HEM's verified clock; a later check-in can
stretch such a grant by at most this much."""

MAX_ANCHOR = 3600
"""The largest verified offset a direct grant is anchored on when the HEM could not be checked
in (about 12 hours of an 8 % drift). Beyond it the app refuses and says why."""

RETRY_AFTER = 600
"""Seconds before a HEM whose check-in failed is tried again."""


# ---------------------------------------------------------------------------- readings


@dataclass(frozen=True, slots=True)
class ClockReading:
    """What the app knows of a HEM's clock: ``offset`` = HEM time − this computer's time (whole
    seconds), measured at ``taken_at`` (this computer's time); ``verified`` when it comes from a
    signature the app checked (a direct ``authreq``'s ``iat``)."""

    offset: int
    taken_at: int
    verified: bool

    @classmethod
    def from_authreq(cls, iat: int, *, received_at: int, verified: bool) -> ClockReading:
        """From an ``authreq``'s ``iat``; ``verified`` only when its signature was checked (the
        app's own request), never for a pasted one or a broker event."""
        return cls(offset=iat - received_at, taken_at=received_at, verified=verified)

    @classmethod
    def from_status(cls, status: Mapping[str, Any], *, received_at: int) -> ClockReading | None:
        """From ``GET /api/system/status``'s ``time`` (unsigned: good for deciding on a check-in,
        never for anchoring); ``None`` when the RTC is unset (no ``time``)."""
        value = status.get("time")
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return cls(offset=value - received_at, taken_at=received_at, verified=False)

    def hem_time(self, now: int) -> int:
        """The HEM's time when this computer's is ``now`` (assuming it drifts no further)."""
        return now + self.offset


def needs_checkin(reading: ClockReading | None, *, tolerance: int = TOLERANCE) -> bool:
    """A check-in is due when the RTC is unset (no reading) or off by more than ``tolerance``."""
    return reading is None or abs(reading.offset) > tolerance


def anchorable(reading: ClockReading | None, *, max_anchor: int = MAX_ANCHOR) -> bool:
    """Whether a grant may be anchored on this reading: verified, and at most ``max_anchor`` off."""
    return reading is not None and reading.verified and abs(reading.offset) <= max_anchor


def grant_base(now: int, reading: ClockReading | None, *, max_anchor: int = MAX_ANCHOR) -> int:
    """The ``now`` to write into an ``authreply`` (``exp = base + period``).

    The HEM's clock (``now + offset``) when the reading is verified and within ``max_anchor``, so
    the token lives exactly the granted period by the clock that enforces it, whichever way the
    HEM drifts; this computer's clock otherwise (broker events, pasted requests, no reading).
    """
    if reading is None or not anchorable(reading, max_anchor=max_anchor):
        return now
    return now + reading.offset


def describe_offset(offset: int) -> str:
    """``1 h 55 min ahead of this computer's`` / ``40 s behind this computer's``."""
    seconds = abs(offset)
    if seconds < 60:
        amount = f"{seconds} s"
    elif seconds < 3600:
        amount = f"{round(seconds / 60)} min"
    else:
        hours, minutes = divmod(round(seconds / 60), 60)
        amount = f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{amount} {'ahead of' if offset > 0 else 'behind'} this computer's"


# ---------------------------------------------------------------------------- check-in


class CheckinPort(Protocol):
    """The two HEM calls of a check-in (``authenticator.net.hem.HemClient`` has them)."""

    def checkin_challenge(self) -> str: ...

    def checkin(self, checked: str) -> dict[str, Any]: ...


PostCheckin = Callable[[str, str], str]
"""``(backend_url, check) → checked``: the check-in service
(``authenticator.net.broker.BrokerClient.post_checkin``)."""


@dataclass(frozen=True, slots=True)
class CheckinResult:
    """A check-in the HEM accepted: ``status`` is what it answered (``OK``, or the action the
    check-in service had it carry out)."""

    status: str


def checkin_backend(broker_url: str | None, default_broker_url: str) -> str:
    """Where to send a HEM's check-in: the origin of the pairing's broker, else the default."""
    return origin_of(broker_url or default_broker_url)


def _host(url: str) -> str:
    return urlsplit(url).hostname or "the check-in service"


def check_in(hem: CheckinPort, backend_url: str, *, post_checkin: PostCheckin) -> CheckinResult:
    """Check the HEM in through the service at ``backend_url``: its clock is then the service's.

    ``HemClockError`` (``reason`` says which step failed, chained from the network error) when
    the HEM gives no challenge, the service cannot be reached or refuses, or the HEM refuses
    the answer.
    """
    service = f"the check-in service at {_host(backend_url)}"
    try:
        check = hem.checkin_challenge()
    except NetError as exc:
        raise _failed("the HEM gave no check-in challenge") from exc
    try:
        checked = post_checkin(backend_url, check)
    except (ServerError, BadResponseError) as exc:
        raise _failed(f"{service} refused it") from exc
    except NetError as exc:
        raise _failed(f"{service} could not be reached") from exc
    try:
        answer = hem.checkin(checked)
    except NetError as exc:
        raise _failed("the HEM refused the check-in service's answer") from exc
    status = answer.get("status")
    text = status if isinstance(status, str) else ""
    return CheckinResult(status="".join(c for c in text if c.isalnum() or c in "?-")[:16])


def _failed(reason: str) -> HemClockError:
    return HemClockError(f"The HEM could not be checked in: {reason}.", reason=reason)


def checkin_note(hem_name: str, result: CheckinResult) -> str | None:
    """One sentence for the owner when a check-in made the HEM do more than set its clock."""
    if result.status == "OK":
        return None
    return (
        f"{hem_name} was checked in to correct its clock, and the check-in service had it carry "
        f"out {result.status or 'an unnamed action'!r}; see the Encedo Manager."
    )


# ---------------------------------------------------------------------------- the keeper


class _Dated(Protocol):
    @property
    def iat(self) -> int: ...


T = TypeVar("T", bound=_Dated)


@dataclass(frozen=True, slots=True)
class Asked(Generic[T]):
    """A direct request as :meth:`ClockKeeper.ask` got it: the ``authreq`` (``value``), the
    verified reading of the HEM's clock it carries, the check-in made for it (if any), and the
    one sentence to tell the owner (``note``), if any."""

    value: T
    reading: ClockReading
    healed: CheckinResult | None = None
    note: str | None = None


class ClockKeeper:
    """The core's one place that decides, per HEM, to anchor, to check in, or to refuse.

    Thread-safe; remembers only when a HEM's check-in last failed (in memory).
    """

    def __init__(
        self,
        now: Callable[[], int],
        *,
        tolerance: int = TOLERANCE,
        max_anchor: int = MAX_ANCHOR,
        retry_after: int = RETRY_AFTER,
    ) -> None:
        self._now = now
        self.tolerance = tolerance
        self.max_anchor = max_anchor
        self.retry_after = retry_after
        self._failed: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    # -- what the core calls

    def ask(
        self, hem_name: str, ask: Callable[[], T], heal: Callable[[], CheckinResult]
    ) -> Asked[T]:
        """Run ``ask`` (``ext/request`` and the signature check → the verified ``authreq``),
        checking the HEM in and asking again when its clock is unset or off by more than the
        tolerance. ``heal`` is :func:`check_in` bound to the HEM and its backend.

        Returns the request to show with its reading (for :func:`grant_base` when approving);
        raises ``HemClockError`` with one sentence when the clock is too far off and cannot be
        corrected. Network errors of ``ask`` itself pass through.
        """
        healed: CheckinResult | None = None
        try:
            value = ask()
        except Forbidden as exc:  # the HEM's RTC is unset: it makes no request until a check-in
            recent = self._recent_failure(hem_name)
            if recent is not None:
                raise _not_set(hem_name, recent) from exc
            healed = self._heal(hem_name, heal, exc)
            value = ask()
        reading = self._reading(value)
        if not needs_checkin(reading, tolerance=self.tolerance):
            return Asked(value, reading, healed, _note(hem_name, healed))
        if healed is None:
            reason = self._recent_failure(hem_name)
            if reason is None:
                try:
                    healed = self._heal(hem_name, heal, None)
                except HemClockError as exc:
                    reason = exc.reason
            if reason is not None:
                return self._unhealed(hem_name, value, reading, reason)
            value = ask()
            reading = self._reading(value)
            if not needs_checkin(reading, tolerance=self.tolerance):
                return Asked(value, reading, healed, _note(hem_name, healed))
        # Checked in just now and still off: the service's time and this computer's disagree.
        where = describe_offset(reading.offset)
        if anchorable(reading, max_anchor=self.max_anchor):
            note = (
                f"{hem_name}'s clock is still {where} after a check-in, so this computer's clock "
                "is probably wrong; approvals still work, but correct this computer's clock."
            )
            return Asked(value, reading, healed, note)
        raise HemClockError(
            f"{hem_name}'s clock is still {where} after a check-in, so this computer's clock is "
            "probably wrong; correct it, then ask again."
        )

    def base(self, now: int, reading: ClockReading | None) -> int:
        """:func:`grant_base` with this keeper's bound."""
        return grant_base(now, reading, max_anchor=self.max_anchor)

    def forget(self, hem_name: str) -> None:
        """Forget a failed check-in (e.g. the owner changed the HEM's settings)."""
        with self._lock:
            self._failed.pop(hem_name, None)

    # -- inside

    def _reading(self, value: T) -> ClockReading:
        return ClockReading.from_authreq(value.iat, received_at=self._now(), verified=True)

    def _recent_failure(self, hem_name: str) -> str | None:
        with self._lock:
            failed = self._failed.get(hem_name)
        if failed is not None and self._now() - failed[0] < self.retry_after:
            return failed[1]
        return None

    def _heal(
        self, hem_name: str, heal: Callable[[], CheckinResult], unset: Forbidden | None
    ) -> CheckinResult:
        try:
            result = heal()
        except HemClockError as exc:
            with self._lock:
                self._failed[hem_name] = (self._now(), exc.reason)
            if unset is None:
                raise
            raise _not_set(hem_name, exc.reason) from unset
        self.forget(hem_name)
        return result

    def _unhealed(self, hem_name: str, value: T, reading: ClockReading, reason: str) -> Asked[T]:
        where = describe_offset(reading.offset)
        if anchorable(reading, max_anchor=self.max_anchor):
            note = (
                f"{hem_name}'s clock is {where} and it could not be checked in ({reason}); "
                "approvals still last what you grant by its clock, but let the Encedo Manager "
                "check it in soon."
            )
            return Asked(value, reading, None, note)
        raise HemClockError(
            f"{hem_name}'s clock is {where} and it could not be checked in ({reason}); "
            "let the Encedo Manager check it in, then ask again.",
            reason=reason,
        )


def _not_set(hem_name: str, reason: str) -> HemClockError:
    return HemClockError(
        f"{hem_name}'s clock is not set and it could not be checked in ({reason}); "
        "let the Encedo Manager check it in, then ask again.",
        reason=reason,
    )


def _note(hem_name: str, healed: CheckinResult | None) -> str | None:
    return None if healed is None else checkin_note(hem_name, healed)

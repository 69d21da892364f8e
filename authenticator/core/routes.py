"""Where an answer goes: one object per request source, chosen once, then only called.

A request's *route* knows everything that differs between the sources, so the code that answers
requests never asks which source it has (the python-fido2 backend pattern):

* :class:`BrokerRoute` — an event found by polling the broker; answered with ``POST``/``DELETE``
  on the event, and listed (or not) by the broker's ``allbypid``.
* :class:`LocalRoute` — a program asked through the local agent; the app asked the HEM itself
  (it holds the ephemeral key, so the HEM's signed ``iat`` is verified) and redeems the
  ``authreply`` at the HEM's ``/api/auth/ext/token``; the token goes to the program.
* :class:`PastedRoute` — an ``authreq`` pasted or opened from an ``encedo-auth:`` link; redeemed
  at the paired HEM's stored address (never at an address the link names).

Adding a source means adding one class that satisfies :class:`Route`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from authenticator.core.hemclock import ClockReading, grant_base
from authenticator.core.netfactory import NetFactory
from authenticator.core.pairings import hem_url_of, keys_of, pinned_cert_of
from authenticator.errors import (
    AuthenticatorError,
    Cancelled,
    DecodeError,
    HandledElsewhere,
    NetError,
    NotFound,
    StateError,
)
from authenticator.protocol.access import (
    AuthReq,
    BrokerEvent,
    PairingKeys,
    allow_body,
    authreply_mac,
    build_authreply,
)
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.periods import Period
from authenticator.store.records import PairingRecord

__all__ = [
    "BrokerRoute",
    "Delivered",
    "Gone",
    "LocalRoute",
    "PastedRoute",
    "Route",
    "Source",
    "jti_key",
    "only",
]

Source = Literal["broker", "local", "link"]

Gone = Cancelled | HandledElsewhere | NotFound
"""The peer says the request is over: withdrawn, answered elsewhere, or expired/unknown."""


def jti_key(jti: str) -> str:
    """The handled-memory key of a HEM request id, whatever base64 flavour spells it."""
    try:
        return f"jti|{b64encode(b64decode(jti, what='request id (jti)'))}"
    except DecodeError:
        return f"jti|{jti[:400]}"


@dataclass(frozen=True, slots=True)
class Delivered:
    """What answering one part of a request produced: the bearer token where the source hands
    one out, or the error that stopped that part (only a route of several parts reports a
    part's error instead of raising it)."""

    token: str | None = field(default=None, repr=False)
    error: AuthenticatorError | None = None


def only(granted: Sequence[str]) -> str:
    """The one granted scope of a route that answers a single scope."""
    if len(granted) != 1:
        raise StateError("This request asks for one access; it cannot grant several.")
    return granted[0]


class Route(Protocol):
    """How one pending request is answered, refused and withdrawn."""

    @property
    def source(self) -> Source: ...

    @property
    def jti(self) -> str:
        """The HEM's id of the request (the same under any event id it is offered with)."""
        ...

    @property
    def lost_answer_possible(self) -> bool:
        """Whether an answer that got no reply may still have reached its peer."""
        ...

    @property
    def mutable(self) -> bool:
        """Whether muting the HEM ("I didn't ask for this") refuses it: a remote requester's
        request is, a program's on this computer or one the owner pasted is not."""
        ...

    def done_key(self) -> str:
        """The handled-memory key that says this very request was dealt with."""
        ...

    def grant_base(self, now: int) -> int:
        """The time a grant's period counts from (``now``, or the HEM's verified clock)."""
        ...

    def answer(
        self,
        net: NetFactory,
        rec: PairingRecord,
        *,
        granted: Sequence[str],
        period: Period,
        base: int,
    ) -> tuple[Delivered, ...]:
        """Deliver an approval of every part (``granted``: the scope granted for each, in the
        request's order); returns what each produced, with the bearer token where this source
        hands one out. Raises when nothing was delivered."""
        ...

    def refuse(self, net: NetFactory) -> str:
        """Deliver a refusal; returns a note for the outcome sentence ("" when all went well)."""
        ...

    def withdrawn(self) -> str:
        """The sentence that says the request went away unanswered."""
        ...

    def listed_by(self, broker_origin: str) -> bool:
        """Whether this request should appear in that broker's listing while it is pending."""
        ...

    def ask_why_gone(self, net: NetFactory) -> Gone | None:
        """Ask the peer why the request disappeared; ``None`` when it is unsure (try later)."""
        ...


@dataclass(frozen=True, slots=True)
class BrokerRoute:
    """Answer through the broker: the event as served, its pairing."""

    broker_url: str
    event: BrokerEvent
    pid: str

    @property
    def source(self) -> Source:
        return "broker"

    @property
    def jti(self) -> str:
        return self.event.jti

    @property
    def lost_answer_possible(self) -> bool:
        return True

    @property
    def mutable(self) -> bool:
        return True

    def done_key(self) -> str:
        return f"done|{self.broker_url}|{self.event.event_id}"

    def grant_base(self, now: int) -> int:
        return now

    def answer(
        self,
        net: NetFactory,
        rec: PairingRecord,
        *,
        granted: Sequence[str],
        period: Period,
        base: int,
    ) -> tuple[Delivered, ...]:
        keys = keys_of(rec)
        authreply = build_authreply(
            keys, jti=self.jti, granted=only(granted), period=period, now=base
        )
        mac = authreply_mac(keys.aid, self.event.epk, authreply)
        net.broker(self.broker_url).answer_event(
            self.event.event_id, self.pid, allow_body(authreply, mac)
        )
        return (Delivered(),)

    def refuse(self, net: NetFactory) -> str:
        try:
            net.broker(self.broker_url).deny_event(self.event.event_id, self.pid)
        except (Cancelled, HandledElsewhere, NotFound):
            return " (it was already gone)"
        except NetError:
            return " (the broker could not be told; the requester will time out)"
        return ""

    def withdrawn(self) -> str:
        return "The requester withdrew the request."

    def listed_by(self, broker_origin: str) -> bool:
        return self.broker_url == broker_origin

    def ask_why_gone(self, net: NetFactory) -> Gone | None:
        try:
            net.broker(self.broker_url).get_event(self.event.event_id, self.pid)
        except (Cancelled, HandledElsewhere, NotFound) as exc:
            return exc
        except AuthenticatorError:
            return None
        return None


@dataclass(frozen=True, slots=True)
class _AtTheHem:
    """Shared by the sources redeemed at the HEM's own ``/api/auth/ext/token``."""

    authreq: AuthReq

    @property
    def jti(self) -> str:
        return self.authreq.jti

    @property
    def lost_answer_possible(self) -> bool:
        return False  # nothing reaches a requester: the token comes back in the HEM's answer

    @property
    def mutable(self) -> bool:
        return False

    def redeem(
        self,
        net: NetFactory,
        rec: PairingRecord,
        granted: str,
        period: Period,
        base: int,
        *,
        keys: PairingKeys | None = None,
    ) -> str:
        """The HEM's token for ``granted``; ``keys``: the pairing's keys when the caller already
        derived them (a bundle redeems every part with one derivation)."""
        authreply = build_authreply(
            keys or keys_of(rec), jti=self.jti, granted=granted, period=period, now=base
        )
        with net.hem(hem_url_of(rec), pinned_cert=pinned_cert_of(rec)) as hem:
            return hem.ext_token(authreply)

    def answer(
        self,
        net: NetFactory,
        rec: PairingRecord,
        *,
        granted: Sequence[str],
        period: Period,
        base: int,
    ) -> tuple[Delivered, ...]:
        return (Delivered(self.redeem(net, rec, only(granted), period, base)),)

    def refuse(self, net: NetFactory) -> str:
        return ""  # the HEM has no "deny": the request simply expires there

    def listed_by(self, broker_origin: str) -> bool:
        return False

    def ask_why_gone(self, net: NetFactory) -> Gone | None:
        return None


@dataclass(frozen=True, slots=True)
class LocalRoute(_AtTheHem):
    """A local program's request; the app asked the HEM for it, so the ``iat`` it carries is the
    HEM's verified word on its clock (``reading``)."""

    reading: ClockReading | None = None

    @property
    def source(self) -> Source:
        return "local"

    def done_key(self) -> str:
        return f"done|local|{self.jti}"

    def grant_base(self, now: int) -> int:
        # Anchored on the HEM's verified clock (within bounds), so the token lives exactly the
        # granted period by the clock that enforces it, whichever way the HEM drifts.
        return grant_base(now, self.reading)

    def withdrawn(self) -> str:
        return "The program withdrew its request."


@dataclass(frozen=True, slots=True)
class PastedRoute(_AtTheHem):
    """A pasted or linked ``authreq``: its ``iat`` is unverified, so the grant counts from now."""

    @property
    def source(self) -> Source:
        return "link"

    def done_key(self) -> str:
        return f"done|link|{self.jti}"

    def grant_base(self, now: int) -> int:
        return now

    def withdrawn(self) -> str:
        return "The pasted request was closed."

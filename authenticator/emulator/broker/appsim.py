"""A scripted authenticator app: the other end of the requester, for tests, benchmarks, demos.

It does what the phone app does, with :mod:`authenticator.protocol` for every computation and
:class:`~authenticator.net.broker.BrokerClient` for every call, against any broker:

* :meth:`SimulatedApp.pair` — read the QR text, ``GET link``, check the hash/claims/expiry,
  answer with a fresh key pair, ``POST link`` → pid (:meth:`SimulatedApp.refuse`: ``DELETE``);
* :meth:`SimulatedApp.pending` — one ``allbypid`` per broker for every pairing it holds;
* :meth:`SimulatedApp.approve` / :meth:`SimulatedApp.deny` — open the event (expiry, scope tag),
  answer with an ``authreply`` and its MAC, or ``DELETE`` it;
* :meth:`SimulatedApp.answer_authreq` — the direct path: open an ``authreq`` it was handed.

It never approves anything by itself: the caller decides. Not thread-safe (one test, one app).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from authenticator.net.broker import BrokerClient
from authenticator.protocol.access import (
    AuthReq,
    BrokerEvent,
    PairingKeys,
    allow_body,
    authreply_mac,
    build_authreply,
    granted_scope,
    open_authreq,
    open_event,
)
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.pairing import answer_pairing, check_pairing_request, parse_qr
from authenticator.protocol.periods import Period
from authenticator.protocol.urls import origin_of

__all__ = ["SimPairing", "SimulatedApp"]


@dataclass(frozen=True, slots=True)
class SimPairing:
    """One pairing the simulated app holds: its keys, the broker it came from, the HEM's name."""

    keys: PairingKeys = field(repr=False)
    broker: str
    hostname: str

    @property
    def pid(self) -> str:
        return self.keys.pid


def _wall_clock() -> int:
    return int(time.time())


class SimulatedApp:
    """An authenticator with no window: pair, list pending events, approve or deny."""

    def __init__(
        self,
        *,
        label: str = "Simulated desktop (Linux)",
        now: Callable[[], int] = _wall_clock,
        timeout: float = 10.0,
    ) -> None:
        self.label = label
        self.now = now
        self.timeout = timeout
        self.pairings: list[SimPairing] = []
        self._brokers: dict[str, BrokerClient] = {}

    def close(self) -> None:
        for client in self._brokers.values():
            client.close()
        self._brokers.clear()

    def __enter__(self) -> SimulatedApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def broker(self, url: str) -> BrokerClient:
        origin = origin_of(url)
        if origin not in self._brokers:
            self._brokers[origin] = BrokerClient(origin, timeout=self.timeout)
        return self._brokers[origin]

    # ------------------------------------------------------------------ pairing

    def pair(self, qr_text: str) -> SimPairing:
        """Scan ``qr_text`` (JSON, bare link or ``encedo-auth:pair`` link) and accept it."""
        qr = parse_qr(qr_text)
        broker = self.broker(qr.link)
        served = broker.get_pairing(qr.link)
        request = check_pairing_request(served["request"], qr_hash=qr.hash, now=self.now())
        aid = KeyPair.generate()
        pid = broker.accept_pairing(qr.link, answer_pairing(request, aid, label=self.label).body())
        pairing = SimPairing(
            keys=PairingKeys(aid=aid, eid=request.eid, pid=pid),
            broker=broker.origin,
            hostname=qr.hostname,
        )
        self.pairings.append(pairing)
        return pairing

    def refuse(self, qr_text: str) -> None:
        """Scan ``qr_text`` and refuse it (``DELETE link`` with the four-field body)."""
        qr = parse_qr(qr_text)
        broker = self.broker(qr.link)
        served = broker.get_pairing(qr.link)
        request = check_pairing_request(served["request"], qr_hash=qr.hash, now=self.now())
        answer = answer_pairing(request, KeyPair.generate(), label=self.label)
        broker.refuse_pairing(qr.link, answer.body())

    # ------------------------------------------------------------------ events

    def pending(self) -> list[tuple[str, SimPairing]]:
        """Every pending event for every pairing, as ``(event id, pairing)``, by event id."""
        found: list[tuple[str, SimPairing]] = []
        origins = sorted({p.broker for p in self.pairings})
        for origin in origins:
            mine = [p for p in self.pairings if p.broker == origin]
            by_pid = {p.pid: p for p in mine}
            for event_id, pid in self.broker(origin).allbypid(list(by_pid)).items():
                pairing = by_pid.get(pid) or next((p for p in mine if p.keys.owns_pid(pid)), None)
                if pairing is not None:
                    found.append((event_id, pairing))
        return sorted(found, key=lambda item: item[0])

    def open(self, event_id: str, pairing: SimPairing) -> tuple[BrokerEvent, str]:
        """Fetch the event and open it (expiry first, then the scope tag) → (event, scope)."""
        event = self.broker(pairing.broker).get_event(event_id, pairing.pid)
        return event, open_event(event, pairing.keys, now=self.now())

    def approve(
        self,
        event_id: str,
        pairing: SimPairing,
        *,
        period: Period = Period.MIN15,
        write: bool = False,
    ) -> str:
        """Allow the event (granting write access only if asked and ``write``); → authreply."""
        event, scope = self.open(event_id, pairing)
        granted = granted_scope(scope, write=write and scope.endswith(":rw"))
        now = self.now()
        authreply = build_authreply(
            pairing.keys, jti=event.jti, granted=granted, period=period, now=now
        )
        mac = authreply_mac(pairing.keys.aid, event.epk, authreply)
        self.broker(pairing.broker).answer_event(event_id, pairing.pid, allow_body(authreply, mac))
        return authreply

    def deny(self, event_id: str, pairing: SimPairing) -> None:
        """Refuse the event (``DELETE`` with ``{}``)."""
        self.broker(pairing.broker).deny_event(event_id, pairing.pid)

    # ------------------------------------------------------------------ direct path

    def answer_authreq(
        self,
        authreq: str,
        pairing: SimPairing | None = None,
        *,
        period: Period = Period.MIN15,
        write: bool = False,
    ) -> str:
        """Open an ``authreq`` handed over directly and build the ``authreply`` for the HEM."""
        parsed = AuthReq.parse(authreq)
        chosen = pairing or next(p for p in self.pairings if p.keys.eid == parsed.eid)
        scope = open_authreq(parsed, chosen.keys, now=self.now())
        granted = granted_scope(scope, write=write and scope.endswith(":rw"))
        return build_authreply(
            chosen.keys, jti=parsed.jti, granted=granted, period=period, now=self.now()
        )

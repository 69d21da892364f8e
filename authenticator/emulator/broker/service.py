"""The broker's state and rules, without HTTP (the routes in ``routes.py`` only translate).

What it keeps, all in memory behind one lock:

* **sessions** — X25519 key pairs it handed out (``/notify/session``); it keeps the private
  halves, so it can check every signature and MAC keyed with them;
* **registrations** — pairings in progress (``register/init`` → pairing link → ``finalise``);
* **subscribers** — finished pairings, ``pid ↔ eid ↔ aid ↔ kid``;
* **events** — one per ``event/new``, addressed to every known subscriber its ``authreq`` names.

Every check the live service is thought to make is made here, and a few it may not make (the
spec leaves them unknown): the pairing request and ``authreq`` signatures, the pairing MAC, the
``code``, the allow MAC, the subscriber-list/delete MACs. A refusal is raised as one of our
``ServerError`` classes carrying the HTTP status; ``routes.py`` turns it into the JSON answer.
Time comes from the injected ``clock``, randomness from ``rng`` (tests make both deterministic).
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from authenticator.errors import (
    Cancelled,
    Conflict,
    DecodeError,
    HandledElsewhere,
    IntegrityError,
    NotFound,
    ServerError,
    Unauthorized,
)
from authenticator.protocol.access import AuthReq
from authenticator.protocol.b64 import b64decode, b64encode, b64url_encode, pidx
from authenticator.protocol.crypto import ct_equal, hmac_sha256
from authenticator.protocol.ejwt import Jwt
from authenticator.protocol.jsonutil import get_str
from authenticator.protocol.keys import KeyPair, PrivateKey, PublicKey

__all__ = [
    "EVENT_ID_LENGTH",
    "REGISTRATION_LIFETIME",
    "SESSION_LIFETIME",
    "Broker",
    "EventState",
    "NotYetValid",
    "RegistrationState",
]

SESSION_LIFETIME = 600
"""Seconds a ``/notify/session`` key can be used to start something (register/init, event/new)."""

REGISTRATION_LIFETIME = 600
"""Seconds a pairing link (and its ``rid``) lives: enough to scan, read and click."""

FORGET_AFTER = 3600
"""Seconds an ended registration or event is still remembered (for ``summary``), then dropped."""

EVENT_ID_LENGTH = 5
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_MAX_PIDS = 64
_IAT_LEEWAY = 1
"""Whole seconds an ``authreq``'s ``iat`` may be ahead of us: the live broker has ≈0 s; one
second absorbs a HEM that rounds instead of truncating."""

Location = dict[str, str]


class NotYetValid(Unauthorized):
    """An ``authreq`` issued in the broker's future (``iat`` ahead of its clock).

    Answered ``401 {"err": …}`` like the live service, whose message this mirrors.
    """


class RegistrationState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    FINALISED = "finalised"
    EXPIRED = "expired"


class EventState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


def _status(cls: type[ServerError], status: int, message: str | None = None) -> ServerError:
    return cls(message, status=status)


def _unauthorized(message: str) -> ServerError:
    return _status(Unauthorized, 401, message)


def _not_found(message: str = "Not found.") -> ServerError:
    return _status(NotFound, 404, message)


def _canon(text: object, *, what: str, size: int | None = 32) -> str:
    """Std padded base64 of a binary value given in either flavour (``DecodeError`` → 400)."""
    return b64encode(b64decode(text, size=size, what=what))


def _key(body: Mapping[str, Any], name: str, what: str) -> PublicKey:
    return PublicKey.from_b64(get_str(body, name, what="request body"), what=what)


def _mac(body: Mapping[str, Any], name: str = "mac") -> bytes:
    return b64decode(get_str(body, name, what="request body"), size=32, what="MAC")


def _check_mac(secret: bytes, msg: bytes, mac: bytes, what: str) -> None:
    if not ct_equal(hmac_sha256(secret, msg), mac):
        raise _unauthorized(f"The {what} MAC does not match.")


def _exchange(keys: KeyPair, peer: PublicKey) -> bytes:
    """X25519 with a peer key that may be low-order (then: 401, as for any bad key)."""
    try:
        return keys.exchange(peer)
    except IntegrityError as exc:
        raise _unauthorized("The peer key is not usable.") from exc


def _verify_jwt(jwt: Jwt, secret: bytes, what: str) -> None:
    try:
        jwt.verify(secret, what=what)
    except (IntegrityError, DecodeError) as exc:
        raise _unauthorized(f"The {what} signature does not verify.") from exc


@dataclass(slots=True)
class _Session:
    keys: KeyPair
    exp: float
    eid: str | None = None
    aid: str | None = None


@dataclass(slots=True)
class _Registration:
    rid: str
    link_id: str
    request: str
    eid: PublicKey
    keys: KeyPair
    exp: float
    ipinfo_eid: Location
    state: RegistrationState = RegistrationState.PENDING
    pid: str | None = None
    reply: str | None = None
    aid: str | None = None
    fid: str = ""
    label: str = ""
    ipinfo_aid: Location = field(default_factory=dict)


@dataclass(slots=True)
class _Subscriber:
    pid: str
    eid: str
    aid: str
    kid: str
    label: str
    fid: str
    created: int
    ipinfo_aid: Location


@dataclass(slots=True)
class _Target:
    """What one addressed pairing sees of an event, and the key its answer's MAC uses."""

    pid: str
    aid: str
    sealed: str


@dataclass(slots=True)
class _Event:
    event_id: str
    eid: str
    keys: KeyPair
    jti: str
    exp: int
    targets: dict[str, _Target]
    ipinfo_eid: Location
    created: float
    state: EventState = EventState.PENDING
    forced_expired: bool = False
    authreply: str | None = None
    answered_by: str | None = None
    ipinfo_aid: Location = field(default_factory=dict)
    note: str | None = None


class Broker:
    """The notify service. Thread-safe; every public method takes the one lock.

    Knobs for tests and the admin API: :meth:`cancel_event`, :meth:`expire_event`,
    :meth:`expire_registration`, :meth:`set_location`, :meth:`reset`,
    :attr:`subscribers_delete_live_404`; read-outs: :meth:`summary` and :attr:`calls` (answers
    per endpoint, e.g. ``"GET /notify/session"``).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._lock = threading.RLock()
        self._calls: Counter[str] = Counter()
        self._sessions: dict[str, _Session] = {}
        self._registrations: dict[str, _Registration] = {}
        self._links: dict[str, str] = {}
        self._subscribers: dict[str, _Subscriber] = {}
        self._events: dict[str, _Event] = {}
        self._city = "This computer"
        self._country = ""
        self.subscribers_delete_live_404 = False
        """When true, ``subscribers/delete`` answers 404 as the live service does today."""

    # ------------------------------------------------------------------ knobs and read-outs

    @property
    def calls(self) -> dict[str, int]:
        """A snapshot of how many requests each endpoint answered (any status)."""
        with self._lock:
            return dict(self._calls)

    def count(self, endpoint: str) -> None:
        with self._lock:
            self._calls[endpoint] += 1

    def set_location(self, city: str, country: str) -> None:
        """What ``ipinfo`` reports for callers on this computer (the IP stays theirs)."""
        with self._lock:
            self._city, self._country = city, country

    def reset(self) -> None:
        """Forget everything: sessions, pairings, subscribers, events, counters, knobs."""
        with self._lock:
            self._calls.clear()
            self._sessions.clear()
            self._registrations.clear()
            self._links.clear()
            self._subscribers.clear()
            self._events.clear()
            self._city, self._country = "This computer", ""
            self.subscribers_delete_live_404 = False

    def cancel_event(self, event_id: str) -> bool:
        """Withdraw a pending event, as the requester's ``DELETE /notify/event/<id>`` does."""
        with self._lock:
            event = self._events.get(event_id)
            if event is None or self._event_state(event) is not EventState.PENDING:
                return False
            event.state = EventState.CANCELLED
            return True

    def expire_event(self, event_id: str) -> bool:
        """Make an event expire now (it then answers 404 everywhere)."""
        with self._lock:
            event = self._events.get(event_id)
            if event is None or event.forced_expired:
                return False
            event.forced_expired = True
            return True

    def expire_registration(self, rid: str) -> bool:
        """Make a pairing registration (and its link) expire now, unless it was finalised."""
        with self._lock:
            reg = self._registrations.get(rid)
            if reg is None or self._registration_state(reg, self._clock()) in (
                RegistrationState.FINALISED,
                RegistrationState.EXPIRED,
            ):
                return False
            reg.exp = self._clock() - 1
            return True

    def summary(self) -> dict[str, Any]:
        """Counts: live sessions, registrations and events by state, subscribers, calls."""
        with self._lock:
            self._purge()
            now = self._clock()
            regs = Counter(
                self._registration_state(r, now).value for r in self._registrations.values()
            )
            events = Counter(self._event_state(e).value for e in self._events.values())
            return {
                "sessions": sum(1 for s in self._sessions.values() if s.exp >= now),
                "registrations": {s.value: regs.get(s.value, 0) for s in RegistrationState},
                "subscribers": len(self._subscribers),
                "events": {s.value: events.get(s.value, 0) for s in EventState},
                "calls": sum(self._calls.values()),
            }

    def subscriber_pids(self, eid: str | None = None) -> list[str]:
        """The pids of every subscriber (of one HEM when ``eid`` is given)."""
        with self._lock:
            want = _canon(eid, what="eid") if eid is not None else None
            return [s.pid for s in self._subscribers.values() if want in (None, s.eid)]

    # ------------------------------------------------------------------ locations

    def ipinfo(self, ip: str) -> Location:
        """``{city, country, ip}`` for a caller: the configured place for this computer."""
        try:
            local = ipaddress.ip_address(ip).is_loopback
        except ValueError:
            local = False
        with self._lock:
            if local:
                return {"city": self._city, "country": self._country, "ip": ip}
        return {"city": "", "country": "", "ip": ip}

    # ------------------------------------------------------------------ sessions

    def new_session(self, *, eid: object = None, aid: object = None) -> dict[str, Any]:
        """``GET /notify/session`` (no key) or ``POST`` with ``{eid}`` or ``{aid}``."""
        eid_c = _canon(eid, what="eid") if eid is not None else None
        aid_c = _canon(aid, what="aid") if aid is not None else None
        keys = KeyPair.from_private(PrivateKey(self._rng(32)))
        with self._lock:
            self._purge()
            exp = self._clock() + SESSION_LIFETIME
            self._sessions[keys.public.b64] = _Session(keys=keys, exp=exp, eid=eid_c, aid=aid_c)
            answer: dict[str, Any] = {"epk": keys.public.b64, "exp": int(exp)}
            if eid_c is not None:
                answer["paired"] = sum(1 for s in self._subscribers.values() if s.eid == eid_c)
            return answer

    def _live_session(self, epk: object) -> KeyPair:
        """The key pair of a session we handed out and that has not expired (else 401)."""
        key = _canon(epk, what="epk")
        session = self._sessions.get(key)
        if session is None or session.exp < self._clock():
            raise _unauthorized("The epk is not a live session key of this broker.")
        return session.keys

    # ------------------------------------------------------------------ pairing (HEM side)

    def register_init(self, body: Mapping[str, Any], *, origin: str, ip: str) -> dict[str, Any]:
        """``POST /notify/register/init {request, eid, epk}`` → ``{rid, link}``.

        The request must be addressed to a live session key (``aud``), issued by ``eid``
        (``iss``) and signed with ``X25519(eid_prv, epk)``, which we check with ``epk_prv``.
        """
        request = get_str(body, "request", what="request body")
        eid = _key(body, "eid", "eid")
        jwt = Jwt.parse(request, what="pairing request")
        with self._lock:
            self._purge()
            keys = self._live_session(get_str(body, "epk", what="request body"))
            aud, iss = jwt.payload.get("aud"), jwt.payload.get("iss")
            if not isinstance(aud, str) or _canon_or_none(aud) != keys.public.b64:
                raise _unauthorized("The pairing request is not addressed to this session key.")
            if not isinstance(iss, str) or _canon_or_none(iss) != eid.b64:
                raise _unauthorized("The pairing request was not issued by this eid.")
            _verify_jwt(jwt, _exchange(keys, eid), "pairing request")
            rid = self._fresh_id(self._registrations)
            link_id = self._fresh_id(self._links)
            self._registrations[rid] = _Registration(
                rid=rid,
                link_id=link_id,
                request=request,
                eid=eid,
                keys=keys,
                exp=self._clock() + REGISTRATION_LIFETIME,
                ipinfo_eid=self.ipinfo(ip),
            )
            self._links[link_id] = rid
            return {"rid": rid, "link": f"{origin.rstrip('/')}/notify/pairing/{link_id}"}

    def register_check(self, rid: str) -> dict[str, Any] | None:
        """``GET /notify/register/check/<rid>``: ``None`` while pending (202), ``{pid, reply}``
        once the app accepted; 410 refused; 404 unknown or expired."""
        with self._lock:
            reg = self._registration(rid)
            state = self._registration_state(reg, self._clock())
            if state is RegistrationState.PENDING:
                return None
            if state is RegistrationState.REFUSED:
                raise _status(HandledElsewhere, 410, "The pairing was refused.")
            return {"pid": reg.pid, "reply": reg.reply}

    def register_finalise(self, rid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /notify/register/finalise/<rid> {kid, code}``: the HEM stored the key.

        ``code = HMAC(X25519(eid_prv, epk), reply)``; we hold ``epk_prv`` so we check it, then
        record the subscriber ``pid ↔ eid ↔ aid ↔ kid``.
        """
        kid = get_str(body, "kid", what="request body").lower()
        if len(kid) != 32 or any(c not in "0123456789abcdef" for c in kid):
            raise DecodeError("The kid must be 32 hexadecimal characters.")
        code = _mac(body, "code")
        with self._lock:
            reg = self._registration(rid)
            state = self._registration_state(reg, self._clock())
            if state is RegistrationState.REFUSED:
                raise _status(HandledElsewhere, 410, "The pairing was refused.")
            if (
                state is not RegistrationState.ACCEPTED
                or reg.pid is None
                or reg.reply is None
                or reg.aid is None
            ):
                raise _status(Conflict, 409, "The pairing is not waiting to be finalised.")
            _check_mac(_exchange(reg.keys, reg.eid), reg.reply.encode("ascii"), code, "code")
            reg.state = RegistrationState.FINALISED
            self._subscribers[reg.pid] = _Subscriber(
                pid=reg.pid,
                eid=reg.eid.b64,
                aid=reg.aid,
                kid=kid,
                label=reg.label,
                fid=reg.fid,
                created=int(self._clock()),
                ipinfo_aid=reg.ipinfo_aid,
            )
            return {}

    # ------------------------------------------------------------------ pairing (app side)

    def pairing_get(self, link_id: str) -> dict[str, Any]:
        """``GET <link>`` → ``{request, ipinfo_eid}``; 404 unknown, expired or answered."""
        with self._lock:
            reg = self._pending_link(link_id)
            return {"request": reg.request, "ipinfo_eid": dict(reg.ipinfo_eid)}

    def pairing_answer(
        self, link_id: str, body: Mapping[str, Any], *, accept: bool, ip: str
    ) -> dict[str, Any]:
        """``POST <link>`` (accept → ``{pid}``) or ``DELETE <link>`` (refuse → ``{}``).

        Both carry ``{reply, fid, mac, aid}`` with ``mac = HMAC(X25519(aid_prv, epk), reply ‖
        fid)``, which we check with ``X25519(epk_prv, aid)``. An accepted reply must also name
        the session key (``epk``), this HEM (``aud``) and the sender (``iss = aid``).
        """
        reply = get_str(body, "reply", what="request body")
        fid = get_str(body, "fid", what="request body")
        aid = _key(body, "aid", "aid")
        mac = _mac(body)
        jwt = Jwt.parse(reply, what="pairing reply")
        with self._lock:
            reg = self._pending_link(link_id)
            _check_mac(_exchange(reg.keys, aid), (reply + fid).encode("utf-8"), mac, "pairing")
            if not accept:
                reg.state = RegistrationState.REFUSED
                return {}
            claims = jwt.payload
            if _canon_or_none(claims.get("epk")) != reg.keys.public.b64:
                raise _unauthorized("The reply does not name this pairing's broker key.")
            if _canon_or_none(claims.get("aud")) != reg.eid.b64:
                raise _unauthorized("The reply is not addressed to this HEM.")
            if _canon_or_none(claims.get("iss")) != aid.b64:
                raise _unauthorized("The reply was not issued by this aid.")
            label = claims.get("label")
            pid = b64encode(self._rng(32))
            reg.state = RegistrationState.ACCEPTED
            reg.pid, reg.reply, reg.aid, reg.fid = pid, reply, aid.b64, fid
            reg.label = label if isinstance(label, str) else ""
            reg.ipinfo_aid = self.ipinfo(ip)
            return {"pid": pid}

    # ------------------------------------------------------------------ events (requester side)

    def event_new(self, body: Mapping[str, Any], *, ip: str) -> dict[str, Any]:
        """``POST /notify/event/new {authreq, epk}`` → ``{eventid, ipinfo_you, ipinfo_aid,
        ipinfo_eid}``.

        The ``authreq`` must be signed with ``X25519(eid_prv, epk)`` for a live session ``epk``
        it names as ``aud``, and not be issued in our future (live: 401 ``{"err": …}``). One
        event is made, addressed to every pid of its scope map that is a subscriber of ``iss``.
        """
        authreq = AuthReq.parse(get_str(body, "authreq", what="request body"))
        with self._lock:
            self._purge()
            keys = self._live_session(get_str(body, "epk", what="request body"))
            if authreq.epk != keys.public:
                raise _unauthorized("The access request is not addressed to this session key.")
            _verify_jwt(authreq.jwt, _exchange(keys, authreq.eid), "access request")
            now = self._clock()
            if authreq.iat > now + _IAT_LEEWAY:
                when = datetime.fromtimestamp(authreq.iat, UTC).strftime("%Y-%m-%dT%H:%M:%S%z")
                raise NotYetValid(
                    f"Cannot handle token prior to {when} (iat {authreq.iat})", status=401
                )
            if authreq.exp < now:
                raise _unauthorized("Expired token")
            eid = authreq.eid.b64
            targets: dict[str, _Target] = {}
            for pid_text, sealed in authreq.entries.items():
                pid = _canon_or_none(pid_text, size=None)
                sub = self._subscribers.get(pid) if pid is not None else None
                if sub is not None and sub.eid == eid:
                    targets[sub.pid] = _Target(pid=sub.pid, aid=sub.aid, sealed=sealed)
            event_id = self._fresh_event_id()
            here = self.ipinfo(ip)
            first = next(iter(targets.values()), None)
            aid_place = dict(self._subscribers[first.pid].ipinfo_aid) if first else {}
            self._events[event_id] = _Event(
                event_id=event_id,
                eid=eid,
                keys=keys,
                jti=authreq.jti,
                exp=authreq.exp,
                targets=targets,
                ipinfo_eid=here,
                created=now,
                ipinfo_aid=aid_place,
                note=authreq.note,
            )
            return {
                "eventid": event_id,
                "ipinfo_you": dict(here),
                "ipinfo_aid": aid_place,
                "ipinfo_eid": dict(here),
            }

    def event_check(self, event_id: str) -> dict[str, Any] | None:
        """``GET /notify/event/check/<id>``: ``None`` pending (202), ``{authreply, …}`` approved,
        ``{deny: true}`` denied; 410 cancelled; 404 unknown or expired."""
        with self._lock:
            event = self._event(event_id)
            state = self._event_state(event)
            if state is EventState.PENDING:
                return None
            if state is EventState.APPROVED:
                return {"authreply": event.authreply, "ipinfo_aid": dict(event.ipinfo_aid)}
            if state is EventState.DENIED:
                return {"deny": True}
            raise _status(Cancelled, 410, "The event was cancelled.")

    def event_cancel(self, event_id: str) -> dict[str, Any]:
        """``DELETE /notify/event/<id>``: withdraw it if pending; 404 unknown or expired."""
        with self._lock:
            event = self._event(event_id)
            if self._event_state(event) is EventState.PENDING:
                event.state = EventState.CANCELLED
            return {}

    # ------------------------------------------------------------------ events (app side)

    def allbypid(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /notify/event/data/allbypid {pid: [..]}`` → ``{eventid: {id: [pid]}}`` for the
        pending events of those pids, or ``{eventid: []}`` when there are none (live shapes)."""
        pids = body.get("pid")
        if isinstance(pids, str):
            pids = [pids]
        if (
            not isinstance(pids, list)
            or len(pids) > _MAX_PIDS
            or not all(isinstance(p, str) for p in pids)
        ):
            raise DecodeError("The pid field must be a list of pairing ids.")
        wanted = {pidx(p) for p in pids}
        with self._lock:
            found: dict[str, list[str]] = {}
            for event in self._events.values():
                if self._event_state(event) is not EventState.PENDING:
                    continue
                hits = [pid for pid in event.targets if pidx(pid) in wanted]
                if hits:
                    found[event.event_id] = hits
            return {"eventid": found or []}

    def event_get(self, event_id: str, path_pid: str) -> dict[str, Any]:
        """``GET /notify/event/data/<id>/<pidx>`` → ``{jti, scope, epk, exp, ipinfo_eid}``, and
        the ``authreq``'s ``note`` when it has one (whether the live broker forwards it is not
        documented; this one does, so code matching can show a requester's code)."""
        with self._lock:
            event, target = self._open_target(event_id, path_pid)
            data: dict[str, Any] = {
                "jti": event.jti,
                "scope": target.sealed,
                "epk": event.keys.public.b64,
                "exp": event.exp,
                "ipinfo_eid": dict(event.ipinfo_eid),
            }
            if event.note is not None:
                data["note"] = event.note
            return data

    def event_allow(
        self, event_id: str, path_pid: str, body: Mapping[str, Any], *, ip: str
    ) -> None:
        """``POST /notify/event/data/<id>/<pidx> {authreply, mac}``: the approval.

        ``mac = HMAC(X25519(aid_prv, epk), authreply)``; checked with ``X25519(epk_prv, aid)``.
        """
        with self._lock:
            event, target = self._open_target(event_id, path_pid)  # 404/410 before 400/401
            authreply = get_str(body, "authreply", what="request body")
            mac = _mac(body)
            Jwt.parse(authreply, what="authreply")
            aid = PublicKey.from_b64(target.aid, what="aid")
            _check_mac(_exchange(event.keys, aid), authreply.encode("ascii"), mac, "approval")
            event.state = EventState.APPROVED
            event.authreply = authreply
            event.answered_by = target.pid
            event.ipinfo_aid = self.ipinfo(ip)

    def event_deny(self, event_id: str, path_pid: str) -> None:
        """``DELETE /notify/event/data/<id>/<pidx>`` with ``{}``: the refusal."""
        with self._lock:
            event, target = self._open_target(event_id, path_pid)
            event.state = EventState.DENIED
            event.answered_by = target.pid

    # ------------------------------------------------------------------ subscribers

    def subscribers_list(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """``POST /notify/subscribers/list {nonce, mac, eid, epk}`` (HEM side, via ``ext/mac``)."""
        eid = self._hem_proof(body)
        with self._lock:
            return [
                {
                    "pid": s.pid,
                    "aid": s.aid,
                    "kid": s.kid,
                    "label": s.label,
                    "created": s.created,
                }
                for s in self._subscribers.values()
                if s.eid == eid
            ]

    def subscribers_delete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /notify/subscribers/delete``: HEM side ``{nonce, mac, eid, epk, pid}`` or app
        side ``{pid, epk, nonce, mac, aid}`` (the MAC keyed with that pid's own ``aid``)."""
        if self.subscribers_delete_live_404:
            raise _not_found("Not deployed.")
        pid = _canon_or_none(get_str(body, "pid", what="request body"), size=None)
        if "eid" in body and "aid" in body:
            raise DecodeError("Give either eid (HEM side) or aid (app side), not both.")
        if "eid" in body:
            eid = self._hem_proof(body)
            with self._lock:
                sub = self._subscribers.get(pid) if pid else None
                if sub is None or sub.eid != eid:
                    raise _not_found("No such subscriber.")
                del self._subscribers[sub.pid]
                return {}
        aid = _key(body, "aid", "aid")
        nonce = b64decode(get_str(body, "nonce", what="request body"), what="nonce")
        mac = _mac(body)
        with self._lock:
            keys = self._live_session(get_str(body, "epk", what="request body"))
            _check_mac(_exchange(keys, aid), nonce, mac, "unpair")
            sub = self._subscribers.get(pid) if pid else None
            if sub is None:
                raise _not_found("No such subscriber.")
            if sub.aid != aid.b64:
                raise _unauthorized("This aid is not the one paired under this pid.")
            del self._subscribers[sub.pid]
            return {}

    def _hem_proof(self, body: Mapping[str, Any]) -> str:
        """Check ``mac = HMAC(X25519(eid_prv, epk), nonce)`` (from ``/api/auth/ext/mac``)."""
        eid = _key(body, "eid", "eid")
        nonce = b64decode(get_str(body, "nonce", what="request body"), what="nonce")
        mac = _mac(body)
        with self._lock:
            keys = self._live_session(get_str(body, "epk", what="request body"))
            _check_mac(_exchange(keys, eid), nonce, mac, "HEM")
        return eid.b64

    # ------------------------------------------------------------------ internals (lock held)

    def _registration(self, rid: str) -> _Registration:
        reg = self._registrations.get(rid)
        if reg is None or self._registration_state(reg, self._clock()) is RegistrationState.EXPIRED:
            raise _not_found("No such pairing registration (it may have expired).")
        return reg

    def _pending_link(self, link_id: str) -> _Registration:
        rid = self._links.get(link_id)
        reg = self._registrations.get(rid) if rid is not None else None
        if reg is None or self._registration_state(reg, self._clock()) is not (
            RegistrationState.PENDING
        ):
            raise _not_found("This pairing code has expired or was already answered.")
        return reg

    @staticmethod
    def _registration_state(reg: _Registration, now: float) -> RegistrationState:
        if reg.state is not RegistrationState.FINALISED and now > reg.exp:
            return RegistrationState.EXPIRED
        return reg.state

    def _event(self, event_id: str) -> _Event:
        event = self._events.get(event_id)
        if event is None or self._event_state(event) is EventState.EXPIRED:
            raise _not_found("No such event (it may have expired).")
        return event

    def _event_state(self, event: _Event) -> EventState:
        if event.forced_expired or self._clock() > event.exp:
            return EventState.EXPIRED
        return event.state

    def _open_target(self, event_id: str, path_pid: str) -> tuple[_Event, _Target]:
        """The event as one addressed pairing sees it: 404 unknown/expired/not addressed,
        410 ``{"reason":"cancelled"}`` withdrawn, plain 410 answered (here or elsewhere)."""
        event = self._event(event_id)
        want = pidx(path_pid)
        target = next((t for pid, t in event.targets.items() if pidx(pid) == want), None)
        if target is None:
            raise _not_found("This event is not addressed to this pairing.")
        state = self._event_state(event)
        if state is EventState.CANCELLED:
            raise _status(Cancelled, 410, "The event was cancelled.")
        if state is not EventState.PENDING:
            raise _status(HandledElsewhere, 410, "The event was already answered.")
        return event, target

    def _fresh_id(self, taken: Mapping[str, object]) -> str:
        while True:
            candidate = b64url_encode(self._rng(16))
            if candidate not in taken:
                return candidate

    def _fresh_event_id(self) -> str:
        while True:
            chars: list[str] = []
            while len(chars) < EVENT_ID_LENGTH:
                chars.extend(_ALNUM[b % 62] for b in self._rng(8) if b < 248)
            candidate = "".join(chars[:EVENT_ID_LENGTH])
            if candidate not in self._events:
                return candidate

    def _purge(self) -> None:
        """Drop expired sessions, and registrations/events ended more than FORGET_AFTER ago."""
        now = self._clock()
        for key in [k for k, s in self._sessions.items() if s.exp < now]:
            del self._sessions[key]
        for rid in [r for r, reg in self._registrations.items() if now > reg.exp + FORGET_AFTER]:
            self._links.pop(self._registrations.pop(rid).link_id, None)
        for event_id in [e for e, ev in self._events.items() if now > ev.exp + FORGET_AFTER]:
            del self._events[event_id]


def _canon_or_none(text: object, *, size: int | None = 32) -> str | None:
    try:
        return _canon(text, what="value", size=size)
    except DecodeError:
        return None

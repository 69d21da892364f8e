"""Access requests (spec/protocol.md §5–§6): open what the HEM asks, build what the app answers.

Two ways a request reaches the app:

* a **broker event** (``GET /notify/event/data/<id>/<pidx>``):
  ``{jti, scope, epk, exp, ipinfo_eid}`` — :func:`open_event`;
* an **authreq** the app holds itself (direct path, pasted string, ``encedo-auth:`` link) — its
  ``scope`` maps each pairing's pid to a sealed scope — :func:`open_authreq`. When the app made the
  request's ``epk`` it also checks the HEM's signature (:meth:`AuthReq.verify_signature`).

Either way the scope tag (scheme A) is what proves the HEM asked; expiry is checked first; the
answer is the ``authreply`` (:func:`build_authreply`) and, for the broker, its MAC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from authenticator.errors import DecodeError, ExpiredError, IntegrityError, ProtocolError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.ejwt import Jwt, encode
from authenticator.protocol.jsonutil import get_int, get_optional_str, get_str
from authenticator.protocol.keys import KeyPair, PublicKey
from authenticator.protocol.outside import LIMITS, Origin, Outside, clean
from authenticator.protocol.periods import Period
from authenticator.protocol.sealing import event_master, open_scope, seal_scope

__all__ = [
    "DENY_BODY",
    "AuthReq",
    "BrokerEvent",
    "IpInfo",
    "PairingKeys",
    "allow_body",
    "authreply_mac",
    "build_authreply",
    "granted_scope",
    "is_expired",
    "open_authreq",
    "open_event",
    "parse_allbypid",
    "token_refresh_body",
    "token_refresh_mac",
    "unpair_body",
    "unpair_mac",
]

DENY_BODY: Mapping[str, Any] = MappingProxyType({})
"""``DELETE /notify/event/data/<id>/<pidx>`` carries ``{}``: a deny produces no authreply."""

_MAX_EVENT_ID = 128


def is_expired(exp: int, now: int) -> bool:
    """``now > exp`` means expired; equal is still valid (spec §16)."""
    return now > exp


@dataclass(frozen=True, slots=True)
class PairingKeys:
    """What opening and answering needs from one pairing: our key pair, the HEM's identity, pid."""

    aid: KeyPair
    eid: PublicKey
    pid: str

    def __post_init__(self) -> None:
        if not b64decode(self.pid, what="pairing id"):
            raise DecodeError("The pairing id is empty.")

    @property
    def s1(self) -> bytes:
        """``S1 = X25519(aid_prv, eid)``, the pairing secret."""
        return self.aid.exchange(self.eid)

    def master(self, jti: str, s1: bytes | None = None) -> bytes:
        """The per-event master of ``jti`` (``s1``: :attr:`s1` when the caller has it already)."""
        return event_master(s1 or self.s1, b64decode(jti, what="request id (jti)"))

    def owns_pid(self, pid: str) -> bool:
        """Whether ``pid`` names this pairing, whatever base64 flavour it is written in."""
        try:
            return b64decode(pid, what="pairing id") == b64decode(self.pid, what="pairing id")
        except DecodeError:
            return False


# ---------------------------------------------------------------------------- broker events


@dataclass(frozen=True, slots=True)
class IpInfo:
    """Where the broker saw the requester. Each part may be empty; none of it is verified (it is
    the broker's claim, cleaned for display)."""

    city: str = ""
    country: str = ""
    ip: str = ""

    @classmethod
    def from_json(cls, obj: object) -> IpInfo:
        """The broker's words, cleaned where they enter the app (``outside.clean``)."""
        if not isinstance(obj, Mapping):
            return cls()

        def part(name: str, limit: int) -> str:
            return clean(obj.get(name), Origin.BROKER, limit=limit).text

        return cls(
            city=part("city", LIMITS.location),
            country=part("country", LIMITS.location),
            ip=part("ip", LIMITS.ip),
        )

    def describe(self) -> str:
        """``Warsaw, PL · 203.0.113.7`` (or as much of it as is known)."""
        place = ", ".join(p for p in (self.city, self.country) if p)
        return " · ".join(p for p in (place, self.ip) if p)

    def to_json(self) -> dict[str, str]:
        return {"city": self.city, "country": self.country, "ip": self.ip}


@dataclass(frozen=True, slots=True)
class BrokerEvent:
    """One pending event as the broker serves it to this pairing. ``note`` is the requester's
    note when the broker forwards it (cleaned outside text; the live broker may not)."""

    event_id: str
    jti: str
    scope: str = field(repr=False)
    epk: PublicKey
    exp: int
    ipinfo: IpInfo
    note: Outside | None = None

    @classmethod
    def from_json(cls, event_id: str, obj: Mapping[str, Any]) -> BrokerEvent:
        if not event_id or len(event_id) > _MAX_EVENT_ID or not event_id.isprintable():
            raise DecodeError("The broker named an impossible event id.")
        what = "broker event"
        jti = get_str(obj, "jti", what=what)
        b64decode(jti, what="request id (jti)")
        return cls(
            event_id=event_id,
            jti=jti,
            scope=get_str(obj, "scope", what=what),
            epk=PublicKey.from_b64(get_str(obj, "epk", what=what), what="broker key (epk)"),
            exp=get_int(obj, "exp", what=what),
            ipinfo=IpInfo.from_json(obj.get("ipinfo_eid")),
            note=clean(obj.get("note"), Origin.REQUESTER, limit=LIMITS.note) or None,
        )


def open_event(event: BrokerEvent, keys: PairingKeys, *, now: int) -> str:
    """Expiry first, then the scheme-A tag; returns the plaintext scope."""
    if is_expired(event.exp, now):
        raise ExpiredError("This request expired before it could be shown.")
    return open_scope(keys.master(event.jti), event.scope)


def parse_allbypid(obj: Mapping[str, Any]) -> dict[str, str]:
    """``{"eventid": {"<id>": ["<pid>"], …}}`` (or ``{"eventid": []}``) → ``{event id: pid}``.

    The value may be a string, a number, or a list whose first element counts (as the reference
    app reads it). Sorted by event id.
    """
    raw = obj.get("eventid")
    if not raw:
        return {}
    if not isinstance(raw, Mapping):
        raise DecodeError("The broker's list of pending events is malformed.")
    out: dict[str, str] = {}
    for event_id, value in sorted(raw.items()):
        first = value[0] if isinstance(value, list) and value else value
        if isinstance(first, bool) or not isinstance(first, (str, int)):
            raise DecodeError("The broker's list of pending events is malformed.")
        if not event_id or len(event_id) > _MAX_EVENT_ID:
            raise DecodeError("The broker named an impossible event id.")
        out[event_id] = str(first)
    return out


# ---------------------------------------------------------------------------- authreq


@dataclass(frozen=True, slots=True)
class AuthReq:
    """An ``authreq`` JWT from ``/api/auth/ext/request``, parsed but not verified.

    ``entries`` maps each paired authenticator's pid (std base64) to its sealed scope. ``ctx`` and
    ``note`` are the requester's free text: shown, never trusted.
    """

    jwt: Jwt = field(repr=False)
    iss: str
    aud: str
    iat: int
    exp: int
    jti: str
    ctx: str | None
    note: str | None
    entries: Mapping[str, str] = field(repr=False)

    @property
    def token(self) -> str:
        return self.jwt.token

    @property
    def eid(self) -> PublicKey:
        return PublicKey.from_b64(self.iss, what="HEM identity (iss)")

    @property
    def epk(self) -> PublicKey:
        return PublicKey.from_b64(self.aud, what="requester key (aud)")

    @classmethod
    def parse(cls, token: object) -> AuthReq:
        jwt = Jwt.parse(token, what="access request")
        p = jwt.payload
        what = "access request"
        scope = p.get("scope")
        if not isinstance(scope, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in scope.items()
        ):
            raise DecodeError("The access request's scope map is malformed.")
        ctx = p.get("ctx")
        req = cls(
            jwt=jwt,
            iss=get_str(p, "iss", what=what),
            aud=get_str(p, "aud", what=what),
            iat=get_int(p, "iat", what=what),
            exp=get_int(p, "exp", what=what),
            jti=get_str(p, "jti", what=what),
            ctx=str(ctx) if isinstance(ctx, (str, int)) and not isinstance(ctx, bool) else None,
            note=get_optional_str(p, "note", what=what),
            entries=MappingProxyType(dict(scope)),
        )
        req.eid  # noqa: B018 - validates iss
        req.epk  # noqa: B018 - validates aud
        b64decode(req.jti, what="request id (jti)")
        return req

    def entry_for(self, keys: PairingKeys) -> str:
        """This pairing's sealed scope, matching the pid whatever its base64 flavour."""
        for pid, sealed in self.entries.items():
            if keys.owns_pid(pid):
                return sealed
        raise ProtocolError(
            "This request is not addressed to this computer: the HEM has no pairing with it "
            "(it may have been unpaired in the Manager)."
        )

    def verify_signature(self, epk: KeyPair) -> None:
        """Only the holder of the request's ``epk`` can check the HEM's signature: do so when the
        app made that key itself (direct path)."""
        if epk.public != self.epk:
            raise IntegrityError("The access request was not made for this computer's key.")
        self.jwt.verify(epk.exchange(self.eid), what="access request")


def open_authreq(authreq: AuthReq, keys: PairingKeys, *, now: int) -> str:
    """Open this pairing's entry of ``authreq``: same HEM, not expired, tag valid → scope."""
    if authreq.eid != keys.eid:
        raise IntegrityError("The access request comes from a different HEM than this pairing.")
    if is_expired(authreq.exp, now):
        raise ExpiredError("This request has expired; ask for a new one.")
    return open_scope(keys.master(authreq.jti), authreq.entry_for(keys))


# ---------------------------------------------------------------------------- the answer


def granted_scope(requested: str, *, write: bool) -> str:
    """Every ``:rw`` removed, then ``:rw`` appended when write access is granted."""
    base = requested.replace(":rw", "")
    return base + ":rw" if write else base


def build_authreply(keys: PairingKeys, *, jti: str, granted: str, period: Period, now: int) -> str:
    """The ``authreply`` (§5.6): payload ``aud, jti, exp, iat, pid, iss, scope`` in this order,
    the granted scope sealed under the same per-event master, signed with ``S1``."""
    s1 = keys.s1  # one X25519 for the seal and the signature
    payload = {
        "aud": keys.eid.b64,
        "jti": jti,
        "exp": now + int(period),
        "iat": now,
        "pid": keys.pid,
        "iss": keys.aid.public.b64,
        "scope": seal_scope(keys.master(jti, s1), granted),
    }
    return encode(payload, s1)


def authreply_mac(aid: KeyPair, epk: PublicKey, authreply: str) -> str:
    """Broker MAC of an approval: ``HMAC(X25519(aid_prv, event.epk), authreply)``."""
    return b64encode(hmac_sha256(aid.exchange(epk), authreply.encode("ascii")))


def allow_body(authreply: str, mac: str) -> dict[str, str]:
    return {"authreply": authreply, "mac": mac}


# ---------------------------------------------------------------------------- unpair, refresh


def unpair_mac(aid: KeyPair, epk: PublicKey, nonce: bytes) -> str:
    """``HMAC(X25519(aid_prv, epk), nonce)`` over the raw nonce bytes (§6.1)."""
    return b64encode(hmac_sha256(aid.exchange(epk), nonce))


def unpair_body(keys: PairingKeys, epk: PublicKey, nonce: bytes) -> dict[str, str]:
    """``POST /notify/subscribers/delete`` body, in the order ``pid, epk, nonce, mac, aid``."""
    return {
        "pid": keys.pid,
        "epk": epk.b64,
        "nonce": b64encode(nonce),
        "mac": unpair_mac(keys.aid, epk, nonce),
        "aid": keys.aid.public.b64,
    }


def token_refresh_mac(aid: KeyPair, epk: PublicKey, nonce: bytes, fid: str) -> str:
    """``HMAC(X25519(aid_prv, epk), nonce ‖ fid)`` (§6.3, the v2 proposal)."""
    return b64encode(hmac_sha256(aid.exchange(epk), nonce + fid.encode("utf-8")))


def token_refresh_body(keys: PairingKeys, epk: PublicKey, nonce: bytes, fid: str) -> dict[str, str]:
    """``POST /notify/subscribers/token`` body, in the order ``pid, aid, fid, nonce, mac``."""
    return {
        "pid": keys.pid,
        "aid": keys.aid.public.b64,
        "fid": fid,
        "nonce": b64encode(nonce),
        "mac": token_refresh_mac(keys.aid, epk, nonce, fid),
    }

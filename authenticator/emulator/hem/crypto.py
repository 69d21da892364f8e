"""The HEM side of the protocol, as pure functions on top of :mod:`authenticator.protocol`.

The device's identity key never leaves :class:`~authenticator.emulator.hem.device.HemDevice`:
every function here takes an :data:`Ecdh` callable, "X25519 of the device identity key with this
peer", instead of the private key. That keeps the functions pure and lets the tests feed them the
*other* side of each exchange (``X25519(peer_prv, eid)`` is the same secret), which is how a real
device's captured ``authreq`` is reproduced byte for byte without its private key.

Byte-exact choices follow spec/protocol.md and spec/hem-api.md: HEM header order
``ecdh, typ, alg``; pairing request ``jti, exp, aud, iss``; ``authreq``
``iss, aud, iat, exp, jti[, ctx][, note], scope``; bearer ``typ, alg`` with
``scope, sub, iat, exp, jti[, ctx]``; check-in ``jti, iss, qid, aud, fws, bls, uis, csn``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from authenticator.errors import DecodeError, ExpiredError, IntegrityError
from authenticator.protocol.access import is_expired
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.ejwt import BEARER_HEADER, HEM_HEADER, Jwt, encode
from authenticator.protocol.jsonutil import get_int, get_str
from authenticator.protocol.keys import KeyPair, PublicKey
from authenticator.protocol.sealing import event_master, open_scope, seal_scope

__all__ = [
    "AuthReply",
    "BearerClaims",
    "Checked",
    "Ecdh",
    "PairingReply",
    "check_checked",
    "check_pairing_reply",
    "decode_checkin_status",
    "ext_mac",
    "make_authreq",
    "make_checkin_challenge",
    "make_pairing_request",
    "mint_bearer",
    "open_authreply",
    "pairing_code",
    "verify_authreply",
    "verify_bearer",
]

Ecdh = Callable[[PublicKey], bytes]
"""``ecdh(peer)`` = the raw X25519 secret of the device identity key ``eid`` with ``peer``."""

CHECKIN_ACTIONS = {"O": "OK", "L": "L", "W": "W", "R": "R", "B": "B", "U": "U"}
"""First byte of the decoded check-in ``status`` → the action it asks for (our encoding)."""


# ---------------------------------------------------------------------------- pairing


def make_pairing_request(
    ecdh: Ecdh, *, eid: PublicKey, epk: PublicKey, jti: bytes, exp: int
) -> str:
    """``/api/auth/ext/init``: claims ``jti, exp, aud = epk, iss = eid``, keyed
    ``X25519(eid, epk)``."""
    payload = {"jti": b64encode(jti), "exp": exp, "aud": epk.b64, "iss": eid.b64}
    return encode(payload, ecdh(epk), header=HEM_HEADER)


@dataclass(frozen=True, slots=True)
class PairingReply:
    """An authenticator's verified pairing reply (the ``reply`` of ``/api/auth/ext/validate``)."""

    token: str = field(repr=False)
    jti: str
    aid: PublicKey
    label: str
    epk: PublicKey


def check_pairing_reply(ecdh: Ecdh, reply: object) -> PairingReply:
    """Parse the reply and verify its signature, keyed ``X25519(eid, iss)``.

    ``DecodeError`` for a malformed reply (missing or mistyped ``jti``, ``iss``, ``label``,
    ``epk``), ``IntegrityError`` when the signature does not match.
    """
    jwt = Jwt.parse(reply, what="pairing reply")
    p = jwt.payload
    what = "pairing reply"
    jti = get_str(p, "jti", what=what)
    aid = PublicKey.from_b64(get_str(p, "iss", what=what), what="authenticator key (iss)")
    label = get_str(p, "label", what=what)
    epk = PublicKey.from_b64(get_str(p, "epk", what=what), what="confirmation key (epk)")
    jwt.verify(ecdh(aid), what=what)
    return PairingReply(token=jwt.token, jti=jti, aid=aid, label=label, epk=epk)


def pairing_code(ecdh: Ecdh, reply: PairingReply) -> str:
    """``code = b64 HMAC(X25519(eid, reply.epk), reply as ASCII)``."""
    return b64encode(hmac_sha256(ecdh(reply.epk), reply.token.encode("ascii")))


def ext_mac(ecdh: Ecdh, epk: PublicKey, nonce: bytes) -> str:
    """``/api/auth/ext/mac``: ``b64 HMAC(X25519(eid, epk), nonce bytes)``."""
    return b64encode(hmac_sha256(ecdh(epk), nonce))


# ---------------------------------------------------------------------------- access


def make_authreq(
    ecdh: Ecdh,
    *,
    eid: PublicKey,
    epk: PublicKey,
    iat: int,
    exp: int,
    jti: bytes,
    scope: str,
    pairings: Sequence[tuple[bytes, PublicKey]],
    ctx: str | None = None,
    note: str | None = None,
) -> str:
    """The ``authreq``: ``scope`` sealed (scheme A) for every ``(pid, aid)`` pairing under
    ``S1 = X25519(eid, aid)`` and this ``jti``, signed with ``X25519(eid, epk)``."""
    payload: dict[str, Any] = {
        "iss": eid.b64,
        "aud": epk.b64,
        "iat": iat,
        "exp": exp,
        "jti": b64encode(jti),
    }
    if ctx is not None:
        payload["ctx"] = ctx
    if note is not None:
        payload["note"] = note
    payload["scope"] = {
        b64encode(pid): seal_scope(event_master(ecdh(aid), jti), scope) for pid, aid in pairings
    }
    return encode(payload, ecdh(epk), header=HEM_HEADER)


@dataclass(frozen=True, slots=True)
class AuthReply:
    """An ``authreply`` as ``/api/auth/ext/token`` receives it, parsed but not yet verified."""

    jwt: Jwt = field(repr=False)
    pid: bytes
    iss: PublicKey
    jti: str
    jti_raw: bytes
    scope: str = field(repr=False)
    exp: int
    ctx: str | int | None

    @classmethod
    def parse(cls, token: object) -> AuthReply:
        """``DecodeError`` unless a JWT with ``pid, iss, jti, scope, exp`` of the right types."""
        jwt = Jwt.parse(token, what="approval")
        p = jwt.payload
        what = "approval"
        jti = get_str(p, "jti", what=what)
        ctx = p.get("ctx")
        if isinstance(ctx, bool) or not isinstance(ctx, (str, int, type(None))):
            raise DecodeError("The approval's ctx is neither text nor a number.")
        return cls(
            jwt=jwt,
            pid=b64decode(get_str(p, "pid", what=what), what="pairing id"),
            iss=PublicKey.from_b64(get_str(p, "iss", what=what), what="authenticator key (iss)"),
            jti=jti,
            jti_raw=b64decode(jti, what="request id (jti)"),
            scope=get_str(p, "scope", what=what),
            exp=get_int(p, "exp", what=what),
            ctx=ctx,
        )


def verify_authreply(ecdh: Ecdh, reply: AuthReply) -> None:
    """The approval's signature, keyed ``X25519(eid, iss)``; ``IntegrityError`` if it is wrong."""
    reply.jwt.verify(ecdh(reply.iss), what="approval")


def open_authreply(ecdh: Ecdh, reply: AuthReply) -> str:
    """The approved scope, sealed under ``M = HMAC(X25519(eid, iss), jti)``.

    ``DecodeError`` (not scheme ``A``, impossible length) or ``IntegrityError`` (tag).
    """
    return open_scope(event_master(ecdh(reply.iss), reply.jti_raw), reply.scope)


# ---------------------------------------------------------------------------- bearer tokens


@dataclass(frozen=True, slots=True)
class BearerClaims:
    """The claims of a bearer token this device minted and verified."""

    scope: str
    sub: str
    iat: int
    exp: int
    jti: str = field(repr=False)
    ctx: str | int | None = None


def mint_bearer(
    key: bytes,
    *,
    scope: str,
    sub: str,
    iat: int,
    exp: int,
    jti: bytes,
    ctx: str | int | None = None,
) -> str:
    """HS256 with the per-boot key; header ``typ, alg``; claims
    ``scope, sub, iat, exp, jti[, ctx]``."""
    payload: dict[str, Any] = {
        "scope": scope,
        "sub": sub,
        "iat": iat,
        "exp": exp,
        "jti": b64encode(jti),
    }
    if ctx is not None:
        payload["ctx"] = ctx
    return encode(payload, key, header=BEARER_HEADER)


def verify_bearer(key: bytes, token: object, *, now: int) -> BearerClaims:
    """``DecodeError`` (malformed), ``IntegrityError`` (not ours) or ``ExpiredError``
    (``now > exp``)."""
    jwt = Jwt.parse(token, what="access token")
    jwt.verify(key, require_ecdh=False, what="access token")
    p = jwt.payload
    what = "access token"
    claims = BearerClaims(
        scope=get_str(p, "scope", what=what),
        sub=get_str(p, "sub", what=what),
        iat=get_int(p, "iat", what=what),
        exp=get_int(p, "exp", what=what),
        jti=get_str(p, "jti", what=what),
        ctx=p.get("ctx"),
    )
    if is_expired(claims.exp, now):
        raise ExpiredError("The access token has expired.")
    return claims


# ---------------------------------------------------------------------------- check-in


def make_checkin_challenge(
    session: KeyPair,
    *,
    backend: PublicKey,
    jti: bytes,
    qid: bytes,
    fws: bytes,
    bls: bytes,
    uis: bytes,
    csn: bytes,
) -> str:
    """``GET /api/system/checkin``'s ``check``, keyed ``X25519(session, backend)``."""
    payload = {
        "jti": b64encode(jti),
        "iss": session.public.b64,
        "qid": b64encode(qid),
        "aud": backend.b64,
        "fws": b64encode(fws),
        "bls": b64encode(bls),
        "uis": b64encode(uis),
        "csn": b64encode(csn),
    }
    return encode(payload, session.exchange(backend), header=HEM_HEADER)


@dataclass(frozen=True, slots=True)
class Checked:
    """A verified backend answer: the nonce it answers, the time it sets, the action it asks."""

    jti: str
    iat: int
    action: str


def decode_checkin_status(status: object) -> str:
    """Our ``status`` encoding: base64 of 32 bytes whose first byte is the action letter
    (``O`` = OK, ``L``, ``W``, ``R``, ``B``, ``U``). Anything else is ``"???"``."""
    try:
        raw = b64decode(status, size=32, what="check-in status")
    except DecodeError:
        return "???"
    return CHECKIN_ACTIONS.get(chr(raw[0]), "???")


def check_checked(session: KeyPair, checked: object, *, trusted: PublicKey) -> Checked:
    """Verify the backend's ``checked``: issued by the trusted backend key, signed with
    ``X25519(session, iss)``, addressed to this boot's session key. The caller checks the nonce.

    ``DecodeError`` for a malformed answer, ``IntegrityError`` for a foreign issuer or signature.
    """
    jwt = Jwt.parse(checked, what="check-in answer")
    p = jwt.payload
    what = "check-in answer"
    iss = PublicKey.from_b64(get_str(p, "iss", what=what), what="backend key (iss)")
    if iss != trusted:
        raise IntegrityError("The check-in answer does not come from the trusted backend.")
    aud = p.get("aud")
    if aud is not None and PublicKey.from_b64(aud, what="session key (aud)") != session.public:
        raise IntegrityError("The check-in answer is addressed to another session.")
    jwt.verify(session.exchange(iss), what=what)
    return Checked(
        jti=get_str(p, "jti", what=what),
        iat=get_int(p, "iat", what=what),
        action=decode_checkin_status(p.get("status")),
    )

"""Pairing (spec/protocol.md §4): the QR payload, the request checks, the reply and its MAC, and
direct pairing with a HEM the app can reach.

Broker pairing::

    QR {link, hash, user, email, hostname} → GET link → {request, ipinfo_eid}
    check_pairing_request(request, qr_hash, now)   hash, claims, expiry — before anything is sent
    answer_pairing(request, aid, label)            reply JWT (keyed S1) + MAC (keyed S_epk)
    POST link answer.body() → {pid}                (refuse: DELETE link with the same body)

Direct pairing: the app makes its own ephemeral key ``epk``, asks ``/api/auth/ext/init {epk}``
(so it *can* verify the request's signature), answers ``/api/auth/ext/validate {pid, reply}``
with a fresh random 32-byte pid, and checks the returned ``code`` with its ``epk``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from authenticator.errors import DecodeError, ExpiredError, IntegrityError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.crypto import ct_equal, hmac_sha256, sha256
from authenticator.protocol.ejwt import Jwt, encode
from authenticator.protocol.jsonutil import get_optional_int, get_str, parse_object
from authenticator.protocol.keys import KeyPair, PublicKey, Rng
from authenticator.protocol.outside import LIMITS, Origin, clean
from authenticator.protocol.urls import check_url

__all__ = [
    "DEFAULT_FID",
    "MAX_LABEL",
    "PairingAnswer",
    "PairingRequest",
    "QrPayload",
    "ValidateResult",
    "answer_pairing",
    "check_pairing_code",
    "check_pairing_request",
    "new_pid",
    "parse_pid_response",
    "parse_qr",
    "request_hash",
]

DEFAULT_FID = "no-push-token"
"""The push token a desktop sends: it has none (the v2 app's value when there is no token)."""

MAX_LABEL = 32
_MAX_QR = 4096
_PAIR_LINK_PREFIX = "encedo-auth:pair"


# ---------------------------------------------------------------------------- the QR code


@dataclass(frozen=True, slots=True)
class QrPayload:
    """What the pairing QR code carries.

    ``hash`` is ``None`` for a bare-link QR (no fingerprint of the request). ``hem_url`` is our
    own optional extension (``"url"``): the HEM's address, written by the built-in emulator's
    Manager page so that direct requests can reach a HEM that is not at ``https://<hostname>``.
    ``user``, ``email`` and ``hostname`` are cleaned outside text (``outside.clean``, "as the
    pairing code states it").
    """

    link: str
    hash: str | None = None
    user: str = ""
    email: str = ""
    hostname: str = ""
    hem_url: str | None = None

    def __post_init__(self) -> None:
        # The HEM's user, e-mail and hostname are what the code states: display text from here on.
        for name, limit in (
            ("user", LIMITS.user),
            ("email", LIMITS.email),
            ("hostname", LIMITS.hostname),
        ):
            shown = clean(getattr(self, name), Origin.PAIRING, limit=limit).text
            object.__setattr__(self, name, shown)
        object.__setattr__(self, "link", check_url(self.link, what="pairing link"))
        if self.hem_url is not None:
            object.__setattr__(self, "hem_url", check_url(self.hem_url, what="HEM address"))
        if self.hash is not None:
            b64decode(self.hash, size=32, what="QR code hash")


def _text_field(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DecodeError(f"The QR code's {name!r} is not text.")
    return value


def _from_fields(obj: Mapping[str, Any]) -> QrPayload:
    link = obj.get("link")
    if not isinstance(link, str) or not link:
        raise DecodeError("The QR code has no pairing link.")
    hash_ = _text_field(obj, "hash") or None
    hem_url = _text_field(obj, "url") or None
    return QrPayload(
        link=link,
        hash=hash_,
        user=_text_field(obj, "user"),
        email=_text_field(obj, "email"),
        hostname=_text_field(obj, "hostname"),
        hem_url=hem_url,
    )


def parse_qr(text: object) -> QrPayload:
    """Read a pairing QR: its JSON, a bare ``https://`` link, or an ``encedo-auth:pair?…`` link."""
    if not isinstance(text, str) or not text.strip():
        raise DecodeError("The QR code is empty.")
    body = text.strip()
    if len(body) > _MAX_QR:
        raise DecodeError("The QR code is too long to be a pairing code.")
    if body.startswith("{"):
        return _from_fields(parse_object(body, what="QR code"))
    if body.lower().startswith(_PAIR_LINK_PREFIX):
        query = parse_qs(urlsplit(body).query, keep_blank_values=True)
        if any(len(v) > 1 for v in query.values()):
            raise DecodeError("The pairing link repeats a field.")
        return _from_fields({k: v[0] for k, v in query.items()})
    if body.lower().startswith(("https://", "http://")):
        return QrPayload(link=body)
    raise DecodeError("This is not an Encedo pairing code.")


# ---------------------------------------------------------------------------- the request


def request_hash(request: str) -> str:
    """``base64std(SHA-256(request))``: what the QR's ``hash`` must equal."""
    return b64encode(sha256(request.encode("utf-8")))


@dataclass(frozen=True, slots=True)
class PairingRequest:
    """The HEM's pairing request (from ``/api/auth/ext/init``), read without verification.

    ``jti``, ``iss`` and ``aud`` keep the exact strings received: the reply echoes them.
    """

    token: str = field(repr=False)
    jwt: Jwt = field(repr=False)
    jti: str
    iss: str
    aud: str
    exp: int | None
    eid: PublicKey
    epk: PublicKey
    eat: object | None = None

    @property
    def has_eat(self) -> bool:
        return "eat" in self.jwt.payload

    @classmethod
    def parse(cls, token: object) -> PairingRequest:
        jwt = Jwt.parse(token, what="pairing request")
        p = jwt.payload
        what = "pairing request"
        jti = get_str(p, "jti", what=what)
        iss = get_str(p, "iss", what=what)
        aud = get_str(p, "aud", what=what)
        exp = get_optional_int(p, "exp", what=what)
        b64decode(jti, what="pairing request id (jti)")
        return cls(
            token=jwt.token,
            jwt=jwt,
            jti=jti,
            iss=iss,
            aud=aud,
            exp=exp,
            eid=PublicKey.from_b64(iss, what="HEM identity (iss)"),
            epk=PublicKey.from_b64(aud, what="broker key (aud)"),
            eat=p.get("eat"),
        )

    def verify_signature(self, epk: KeyPair) -> None:
        """Direct pairing only: we made ``epk``, so we can check the HEM signed this request."""
        if epk.public != self.epk:
            raise IntegrityError("The pairing request was not made for this computer's key.")
        self.jwt.verify(epk.exchange(self.eid), what="pairing request")


def check_pairing_request(request: str, *, qr_hash: str | None, now: int) -> PairingRequest:
    """All checks before anything is sent (v2 order): hash, required claims, expiry."""
    if qr_hash is not None:
        want = b64decode(qr_hash, size=32, what="QR code hash")
        if not isinstance(request, str) or not ct_equal(sha256(request.encode("utf-8")), want):
            raise IntegrityError(
                "The pairing link served a different request than the QR code shows; "
                "nothing was sent. Scan the code again."
            )
    parsed = PairingRequest.parse(request)
    if parsed.exp is not None and now > parsed.exp:
        raise ExpiredError("The pairing request has expired; ask the Manager for a new QR code.")
    return parsed


# ---------------------------------------------------------------------------- the answer


@dataclass(frozen=True, slots=True)
class PairingAnswer:
    """The reply JWT, the broker MAC, and the four-field body of ``POST``/``DELETE link``."""

    reply: str
    fid: str
    mac: str
    aid: str

    def body(self) -> dict[str, str]:
        return {"reply": self.reply, "fid": self.fid, "mac": self.mac, "aid": self.aid}


def _check_label(label: str) -> None:
    if not label or len(label) > MAX_LABEL or not label.isprintable():
        raise DecodeError(
            f"The name shown on the HEM must be 1 to {MAX_LABEL} printable characters."
        )


def answer_pairing(
    request: PairingRequest, aid: KeyPair, *, label: str, fid: str = DEFAULT_FID
) -> PairingAnswer:
    """Build the reply (keyed ``S1 = X25519(aid_prv, eid)``) and its MAC (keyed
    ``X25519(aid_prv, epk)`` over ``reply ‖ fid``). ``eat`` is echoed only if the request had it.
    """
    _check_label(label)
    payload: dict[str, Any] = {"jti": request.jti}
    if request.has_eat:
        payload["eat"] = request.eat
    payload |= {"iss": aid.public.b64, "aud": request.iss, "epk": request.aud, "label": label}
    reply = encode(payload, aid.exchange(request.eid))
    mac = b64encode(hmac_sha256(aid.exchange(request.epk), (reply + fid).encode("utf-8")))
    return PairingAnswer(reply=reply, fid=fid, mac=mac, aid=aid.public.b64)


def parse_pid_response(obj: Mapping[str, Any]) -> str:
    """The broker's answer to an accepted pairing: ``{"pid": <std base64>}``."""
    pid = get_str(obj, "pid", what="broker answer")
    if not b64decode(pid, what="pairing id"):
        raise DecodeError("The broker returned an empty pairing id.")
    return pid


# ---------------------------------------------------------------------------- direct pairing


def new_pid(rng: Rng = secrets.token_bytes) -> str:
    """A fresh pairing id for direct pairing: 32 random bytes (the HEM reads a fixed 32)."""
    return b64encode(rng(32))


@dataclass(frozen=True, slots=True)
class ValidateResult:
    """``/api/auth/ext/validate`` answer: the key id of our key on the HEM and the ``code``."""

    kid: str
    code: str

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ValidateResult:
        kid = get_str(obj, "kid", what="HEM answer").lower()
        if len(kid) != 32 or any(c not in "0123456789abcdef" for c in kid):
            raise DecodeError("The HEM answered with a malformed key id.")
        code = get_str(obj, "code", what="HEM answer")
        b64decode(code, size=32, what="confirmation code")
        return cls(kid=kid, code=code)


def check_pairing_code(code: str, *, reply: str, epk: KeyPair, eid: PublicKey) -> None:
    """``code = HMAC(X25519(eid_prv, reply.epk), reply)``; we recompute it with our ``epk``.

    A match proves the HEM that stored our key is the one whose identity we paired with.
    """
    want = hmac_sha256(epk.exchange(eid), reply.encode("ascii"))
    if not ct_equal(b64decode(code, size=32, what="confirmation code"), want):
        raise IntegrityError(
            "The HEM's confirmation code does not match; the pairing cannot be trusted."
        )

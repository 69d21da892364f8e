"""Passphrase login to a HEM (spec/hem-api.md §2), as every current client does it.

::

    seed     = PBKDF2-HMAC-SHA256(passphrase, salt = the eid TEXT as received, 600 000, 32)
    user key = X25519 key pair with private scalar ``seed`` (clamped)
    proof    = ECDH-JWT {jti, aud = spk, exp, iat, iss = user pub[, scope][, ctx]}
               keyed X25519(user_prv, spk)                → POST /api/auth/token {"auth": proof}

The passphrase is never stored; the derived key lives only as long as the login.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authenticator.errors import DecodeError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.ejwt import encode
from authenticator.protocol.jsonutil import get_int, get_str
from authenticator.protocol.keys import KeyPair, PrivateKey, PublicKey

__all__ = [
    "PBKDF2_ITERATIONS",
    "LoginChallenge",
    "build_login_proof",
    "derive_user_key",
    "userkey_rotation_hmac",
]

PBKDF2_ITERATIONS = 600_000
MAX_SCOPE = 127


def derive_user_key(
    passphrase: str, eid_text: str, *, iterations: int = PBKDF2_ITERATIONS
) -> KeyPair:
    """The user (or master) key pair from a passphrase; the salt is the eid *text*, not decoded."""
    if not passphrase:
        raise DecodeError("The passphrase is empty.")
    seed = hashlib.pbkdf2_hmac(
        "sha256", passphrase.encode("utf-8"), eid_text.encode("utf-8"), iterations, 32
    )
    return KeyPair.from_private(PrivateKey(seed))


@dataclass(frozen=True, slots=True)
class LoginChallenge:
    """``GET /api/auth/token``: ``{exp, spk, jti, lbl, eid}``."""

    exp: int
    spk: str
    jti: str
    eid: str
    lbl: str = ""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> LoginChallenge:
        what = "login challenge"
        spk = get_str(obj, "spk", what=what)
        PublicKey.from_b64(spk, what="session key (spk)")
        lbl = obj.get("lbl")
        return cls(
            exp=get_int(obj, "exp", what=what),
            spk=spk,
            jti=get_str(obj, "jti", what=what),
            eid=get_str(obj, "eid", what=what),
            lbl=lbl if isinstance(lbl, str) else "",
        )


def build_login_proof(
    key: KeyPair,
    challenge: LoginChallenge,
    *,
    now: int,
    exp: int,
    scope: str | None = None,
    ctx: str | int | None = None,
) -> str:
    """The ``auth`` eJWT: claims ``jti, aud, exp, iat, iss[, scope][, ctx]`` in this order."""
    if scope is not None and not 0 < len(scope) <= MAX_SCOPE:
        raise DecodeError(f"A login scope must be 1 to {MAX_SCOPE} characters.")
    payload: dict[str, Any] = {
        "jti": challenge.jti,
        "aud": challenge.spk,
        "exp": exp,
        "iat": now,
        "iss": key.public.b64,
    }
    if scope is not None:
        payload["scope"] = scope
    if ctx is not None:
        payload["ctx"] = ctx
    return encode(payload, key.exchange(PublicKey.from_b64(challenge.spk, what="session key")))


def userkey_rotation_hmac(new_key: KeyPair, spk: str, nonce: str) -> str:
    """Passphrase rotation proof: ``HMAC(X25519(new_user_prv, spk), nonce bytes)``."""
    secret = new_key.exchange(PublicKey.from_b64(spk, what="session key (spk)"))
    return b64encode(hmac_sha256(secret, b64decode(nonce, what="config nonce")))

"""The Encedo JWT: a compact HS256 JWS keyed with a raw X25519 shared secret.

Producing: header and payload are serialised byte-exactly (:func:`compact_json`, keys in the order
given), so our output reproduces the reference app's bytes. The app header order is
``ecdh, alg, typ``; the HEM's is ``ecdh, typ, alg`` (both are accepted on input).

Verifying: always over the *received* ``head.body`` bytes, never a re-serialisation. pyjwt's
HS256 algorithm does the HMAC work (and its constant-time comparison).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import InvalidKeyError

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol.b64 import b64url_decode, b64url_encode
from authenticator.protocol.jsonutil import compact_json, parse_object

__all__ = ["APP_HEADER", "BEARER_HEADER", "HEM_HEADER", "Jwt", "encode", "read_unverified"]

APP_HEADER: Mapping[str, str] = MappingProxyType({"ecdh": "x25519", "alg": "HS256", "typ": "JWT"})
HEM_HEADER: Mapping[str, str] = MappingProxyType({"ecdh": "x25519", "typ": "JWT", "alg": "HS256"})
BEARER_HEADER: Mapping[str, str] = MappingProxyType({"typ": "JWT", "alg": "HS256"})

_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)
_MAX_TOKEN = 64 * 1024


def _sign(secret: bytes, signing_input: bytes) -> bytes:
    try:
        return _HS256.sign(signing_input, _HS256.prepare_key(secret))
    except InvalidKeyError as exc:  # pyjwt refuses key material that looks like a PEM/SSH key
        raise DecodeError("The signing key is not usable for HS256.") from exc


def encode(
    payload: Mapping[str, Any], secret: bytes, *, header: Mapping[str, Any] = APP_HEADER
) -> str:
    """Sign ``payload`` with ``secret`` (the raw 32-byte shared secret), byte-exactly."""
    head = b64url_encode(compact_json(dict(header)))
    body = b64url_encode(compact_json(dict(payload)))
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{b64url_encode(_sign(secret, signing_input))}"


@dataclass(frozen=True, slots=True)
class Jwt:
    """A parsed, not yet verified, compact JWS."""

    token: str = field(repr=False)
    header: Mapping[str, Any]
    payload: Mapping[str, Any]
    signing_input: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @classmethod
    def parse(cls, token: object, *, what: str = "token") -> Jwt:
        if not isinstance(token, str) or len(token) > _MAX_TOKEN or not token.isascii():
            raise DecodeError(f"The {what} is not a JWT.")
        token = token.strip()
        parts = token.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            raise DecodeError(f"The {what} is not a JWT (three dot-separated parts expected).")
        head, body, sig = parts
        header = parse_object(b64url_decode(head, what=f"{what} header"), what=f"{what} header")
        payload = parse_object(b64url_decode(body, what=f"{what} payload"), what=f"{what} payload")
        signature = b64url_decode(sig, what=f"{what} signature")
        return cls(
            token=token,
            header=MappingProxyType(header),
            payload=MappingProxyType(payload),
            signing_input=f"{head}.{body}".encode("ascii"),
            signature=signature,
        )

    def verify(self, secret: bytes, *, require_ecdh: bool = True, what: str = "token") -> None:
        """Check the HS256 signature with ``secret``; ``IntegrityError`` if it does not match.

        The header must say ``alg: HS256`` (never ``none`` or anything else) and, for the
        ECDH-JWT, ``ecdh: x25519``.
        """
        if self.header.get("alg") != "HS256":
            raise DecodeError(f"The {what} is not signed with HS256.")
        if require_ecdh and self.header.get("ecdh") != "x25519":
            raise DecodeError(f"The {what} is not an X25519 ECDH-JWT.")
        try:
            ok = _HS256.verify(self.signing_input, _HS256.prepare_key(secret), self.signature)
        except InvalidKeyError as exc:
            raise DecodeError("The signing key is not usable for HS256.") from exc
        if not ok:
            raise IntegrityError(f"The {what} signature does not match.")


def read_unverified(token: object, *, what: str = "token") -> Mapping[str, Any]:
    """The payload of a JWT whose signature we cannot check (we do not hold the key)."""
    return Jwt.parse(token, what=what).payload

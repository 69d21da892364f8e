"""HEM bearer tokens, read without verification (only the HEM holds their per-boot key).

Payload order as the device emits it: ``scope, sub, iat, exp, jti`` (+ ``ctx``). ``sub`` is ``U``
(user), ``M`` (master) or the std base64 of the 16-byte key id of the authenticator that approved.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field

from authenticator.errors import DecodeError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.ejwt import Jwt
from authenticator.protocol.jsonutil import get_int, get_str

__all__ = ["Bearer", "kid_to_sub", "sub_to_kid"]


def kid_to_sub(kid: str) -> str:
    """32 hex chars → the bearer ``sub`` (std base64 of the 16 bytes)."""
    try:
        raw = binascii.unhexlify(kid)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("A key id is 32 hexadecimal characters.") from exc
    if len(raw) != 16:
        raise DecodeError("A key id is 32 hexadecimal characters.")
    return b64encode(raw)


def sub_to_kid(sub: str) -> str:
    """The bearer ``sub`` of an approval → the key id (32 lowercase hex chars)."""
    return b64decode(sub, size=16, what="token subject").hex()


@dataclass(frozen=True, slots=True)
class Bearer:
    """The claims of a HEM access token. The token itself never appears in ``repr``."""

    token: str = field(repr=False)
    scope: str
    sub: str
    iat: int
    exp: int
    jti: str = field(repr=False)
    ctx: str | None = None

    @classmethod
    def parse(cls, token: object) -> Bearer:
        jwt = Jwt.parse(token, what="access token")
        p = jwt.payload
        what = "access token"
        ctx = p.get("ctx")
        return cls(
            token=jwt.token,
            scope=get_str(p, "scope", what=what),
            sub=get_str(p, "sub", what=what),
            iat=get_int(p, "iat", what=what),
            exp=get_int(p, "exp", what=what),
            jti=get_str(p, "jti", what=what),
            ctx=None if ctx is None or isinstance(ctx, bool) else str(ctx),
        )

    @property
    def role(self) -> str:
        """``user``, ``master`` or ``authenticator``."""
        return {"U": "user", "M": "master"}.get(self.sub, "authenticator")

    @property
    def kid(self) -> str | None:
        """The approving authenticator's key id, when the token came from an approval."""
        if self.role != "authenticator":
            return None
        try:
            return sub_to_kid(self.sub)
        except DecodeError:
            return None

"""The base64 flavours of the protocol.

* Out: standard alphabet with ``=`` padding for every binary value; base64url without padding for
  JWT segments; ``pidx`` (the pid in a URL path) by character substitution.
* In: tolerant, like the HEM — either alphabet, padding optional, surrounding whitespace ignored —
  but nothing else: any other character, or a length no encoder can produce, is a ``DecodeError``.
"""

from __future__ import annotations

import base64
import re

from authenticator.errors import DecodeError

__all__ = ["b64decode", "b64encode", "b64url_decode", "b64url_encode", "pidx"]

_TOLERANT = re.compile(r"[A-Za-z0-9+/\-_]*={0,2}")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (what every peer expects for binary values)."""
    return base64.b64encode(data).decode("ascii")


def b64url_encode(data: bytes) -> str:
    """base64url without padding (JWT segments)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: object, *, size: int | None = None, what: str = "value") -> bytes:
    """Decode either alphabet with optional padding; ``size`` demands an exact decoded length.

    ``what`` names the value in the error message (never the value itself: it may be secret).
    """
    if not isinstance(text, str):
        raise DecodeError(f"The {what} is not a base64 text.")
    body = text.strip()
    if not _TOLERANT.fullmatch(body):
        raise DecodeError(f"The {what} is not valid base64.")
    body = body.rstrip("=")
    if len(body) % 4 == 1:
        raise DecodeError(f"The {what} is not valid base64 (impossible length).")
    body = body.replace("-", "+").replace("_", "/")
    # The pattern and the length check above leave nothing the standard decoder can refuse.
    raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    if size is not None and len(raw) != size:
        raise DecodeError(f"The {what} must be {size} bytes, not {len(raw)}.")
    return raw


def b64url_decode(text: object, *, what: str = "JWT segment") -> bytes:
    """Decode a JWT segment (tolerant in the same way as :func:`b64decode`)."""
    return b64decode(text, what=what)


def pidx(pid: str) -> str:
    """The pid as it appears in a URL path: ``+``→``-``, ``/``→``_``, trailing ``=`` dropped.

    Pure character substitution, no decoding (the reference apps do exactly this).
    """
    return pid.replace("+", "-").replace("/", "_").rstrip("=")

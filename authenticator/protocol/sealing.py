"""Scope sealing, "scheme A" (spec/protocol.md §3.4).

::

    M      = HMAC-SHA256(key = S1, msg = jti bytes)       per-event master
    ct     = AES-128-CBC(M[0:16], iv = M[16:32], PKCS7(scope))
    tag    = HMAC-SHA256(key = M, msg = scope)             over the UNPADDED scope
    sealed = "A" + base64std(ct ‖ tag)

The HEM seals each pairing's entry of an ``authreq`` this way; the app seals the scope it grants
in its ``authreply`` the same way, under the same ``M``. Only the HEM and this pairing know ``S1``,
so a valid tag proves the request came from the paired HEM and was not altered.
"""

from __future__ import annotations

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.crypto import (
    BLOCK,
    aes128_cbc_decrypt,
    aes128_cbc_encrypt,
    ct_equal,
    hmac_sha256,
)

__all__ = ["SCHEME", "event_master", "open_scope", "seal_scope", "sealed_size"]

SCHEME = "A"
TAG_SIZE = 32
MAX_SEALED = 8192


def event_master(s1: bytes, jti: bytes) -> bytes:
    """``M = HMAC(S1, jti)``: the key *and* IV of one event; ``jti`` is the decoded nonce."""
    if len(s1) != 32:
        raise DecodeError("The pairing secret must be 32 bytes.")
    if not jti:
        raise DecodeError("The request id (jti) is empty.")
    return hmac_sha256(s1, jti)


def sealed_size(scope_len: int) -> int:
    """Raw bytes after the scheme letter for an ``n``-byte scope: 16·⌈(n+1)/16⌉ + 32."""
    return BLOCK * ((scope_len + 1 + BLOCK - 1) // BLOCK) + TAG_SIZE


def seal_scope(master: bytes, scope: str) -> str:
    """Seal ``scope`` under the event master ``M`` (deterministic for a given ``M``)."""
    if len(master) != 32:
        raise DecodeError("The event master key must be 32 bytes.")
    plain = scope.encode("utf-8")
    ct = aes128_cbc_encrypt(master[:16], master[16:], plain)
    return SCHEME + b64encode(ct + hmac_sha256(master, plain))


def open_scope(master: bytes, sealed: object) -> str:
    """Open a sealed scope; ``IntegrityError`` unless the tag matches (constant-time compare).

    Format problems (wrong scheme letter, bad base64, a length no sealer can produce) are
    ``DecodeError``; an altered ciphertext, pad or tag is ``IntegrityError`` — and the two
    integrity failures are not told apart (no padding oracle).
    """
    if len(master) != 32:
        raise DecodeError("The event master key must be 32 bytes.")
    if not isinstance(sealed, str) or not sealed or len(sealed) > MAX_SEALED:
        raise DecodeError("The sealed scope is missing or too long.")
    if sealed[0] != SCHEME:
        raise DecodeError("The sealed scope uses an unknown scheme (only 'A' exists).")
    raw = b64decode(sealed[1:], what="sealed scope")
    if len(raw) < BLOCK + TAG_SIZE or (len(raw) - TAG_SIZE) % BLOCK:
        raise DecodeError("The sealed scope has an impossible length.")
    ct, tag = raw[:-TAG_SIZE], raw[-TAG_SIZE:]
    plain = aes128_cbc_decrypt(master[:16], master[16:], ct)
    if not ct_equal(hmac_sha256(master, plain), tag):
        raise IntegrityError()
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError("The sealed scope is not UTF-8 text.") from exc

"""X25519 keys (RFC 7748) on libsodium via pynacl.

App private keys are stored *clamped* (the v1 app did, so stored keys stay compatible); libsodium
clamps internally, so either form gives the same public key and shared secrets. Shared secrets are
the raw 32-byte X25519 output, used directly as HMAC keys (no KDF), exactly as the protocol says.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from nacl.bindings import crypto_scalarmult, crypto_scalarmult_base
from nacl.exceptions import RuntimeError as NaclRuntimeError

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.crypto import ct_equal

__all__ = ["KEY_SIZE", "KeyPair", "PrivateKey", "PublicKey", "Rng", "clamp"]

KEY_SIZE = 32

Rng = Callable[[int], bytes]
"""A source of random bytes: ``rng(n)`` returns ``n`` bytes. Defaults to ``secrets.token_bytes``."""


def clamp(raw: bytes) -> bytes:
    """RFC 7748 clamping: clear the 3 low bits and the top bit, set bit 254."""
    if len(raw) != KEY_SIZE:
        raise DecodeError(f"An X25519 private key must be {KEY_SIZE} bytes.")
    k = bytearray(raw)
    k[0] &= 0xF8
    k[31] &= 0x7F
    k[31] |= 0x40
    return bytes(k)


@dataclass(frozen=True, slots=True, eq=False)
class PublicKey:
    """A 32-byte X25519 public key."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes) or len(self.raw) != KEY_SIZE:
            raise DecodeError(f"An X25519 public key must be {KEY_SIZE} bytes.")

    @classmethod
    def from_b64(cls, text: object, *, what: str = "public key") -> PublicKey:
        return cls(b64decode(text, size=KEY_SIZE, what=what))

    @property
    def b64(self) -> str:
        return b64encode(self.raw)

    def __bytes__(self) -> bytes:
        return self.raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return ct_equal(self.raw, other.raw)

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"PublicKey({self.b64})"


@dataclass(frozen=True, slots=True, eq=False)
class PrivateKey:
    """A clamped 32-byte X25519 private key. Its ``repr`` never shows the key."""

    raw: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes):
            raise DecodeError(f"An X25519 private key must be {KEY_SIZE} bytes.")
        object.__setattr__(self, "raw", clamp(self.raw))

    @classmethod
    def generate(cls, rng: Rng = secrets.token_bytes) -> PrivateKey:
        return cls(rng(KEY_SIZE))

    @classmethod
    def from_b64(cls, text: object, *, what: str = "private key") -> PrivateKey:
        return cls(b64decode(text, size=KEY_SIZE, what=what))

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(crypto_scalarmult_base(self.raw))

    def exchange(self, peer: PublicKey) -> bytes:
        """The raw X25519 shared secret with ``peer``.

        A low-order peer key would give an all-zero secret that anyone can compute; libsodium
        refuses it and so do we.
        """
        try:
            return crypto_scalarmult(self.raw, peer.raw)
        except NaclRuntimeError as exc:
            raise IntegrityError("The peer's public key is not a usable X25519 key.") from exc

    def __bytes__(self) -> bytes:
        return self.raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PrivateKey):
            return NotImplemented
        return ct_equal(self.raw, other.raw)

    def __hash__(self) -> int:
        return hash(self.public_key.raw)

    def __repr__(self) -> str:
        return "PrivateKey(<redacted>)"


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A private key and its public half."""

    private: PrivateKey
    public: PublicKey

    def __post_init__(self) -> None:
        if self.private.public_key != self.public:
            raise DecodeError("The public key does not belong to the private key.")

    @classmethod
    def generate(cls, rng: Rng = secrets.token_bytes) -> KeyPair:
        return cls.from_private(PrivateKey.generate(rng))

    @classmethod
    def from_private(cls, private: PrivateKey) -> KeyPair:
        return cls(private, private.public_key)

    def exchange(self, peer: PublicKey) -> bytes:
        return self.private.exchange(peer)

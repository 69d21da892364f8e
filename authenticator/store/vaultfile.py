"""The vault file format: header, payload, and the cryptography that binds them.

This module only turns bytes into values and back; locking, the keychain and the life cycle of an
open vault are in ``vault``. File layout (integers big-endian)::

    b"EDAV" | version (1 byte, = 1) | header length (2 bytes) | header (compact JSON)
    | nonce (24 bytes) | XChaCha20-Poly1305(data key, payload JSON, aad = everything before)

The header names the protection mode, a random vault id (also the keychain account), the
Argon2id parameters and salt in passphrase mode, and ``wrap`` = nonce ‖ XChaCha20-Poly1305(key
encryption key, data key, aad=b"EDAV-wrap-1"). As the whole header is the payload's associated
data, any change to it is detected as soon as the data key is known. A header must be in exactly
the canonical form written here, so most edits are detected even before that.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

import nacl.exceptions
from nacl import bindings
from nacl.pwhash import argon2id

from authenticator.errors import CorruptStoreError, DecodeError
from authenticator.store.records import PairingRecord

__all__ = [
    "MAGIC",
    "MAX_FILE",
    "VERSION",
    "Header",
    "JsonValue",
    "KdfParams",
    "Mode",
    "Payload",
    "Rng",
    "corrupt",
    "decrypt_payload",
    "encode_file",
    "parse_file",
    "seal_key",
    "unwrap_key",
]

Mode = Literal["keychain", "passphrase"]
JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
Rng = Callable[[int], bytes]

MAGIC = b"EDAV"
VERSION = 1
PAYLOAD_FORMAT = 1
MAX_FILE = 4 * 1024 * 1024
KEY_BYTES = 32
VAULT_ID_BYTES = 16
_WRAP_AAD = b"EDAV-wrap-1"
_NONCE_BYTES = bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_TAG_BYTES = bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES
_SALT_BYTES = argon2id.SALTBYTES
_PREFIX_BYTES = len(MAGIC) + 1 + 2
_OPS_MAX = 16
_MEM_MAX = 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost: ``ops`` passes over ``mem`` bytes of memory (bounded, as headers may lie)."""

    ops: int
    mem: int

    def __post_init__(self) -> None:
        if isinstance(self.ops, bool) or not isinstance(self.ops, int):
            raise DecodeError("The Argon2id pass count must be an integer.")
        if isinstance(self.mem, bool) or not isinstance(self.mem, int):
            raise DecodeError("The Argon2id memory size must be an integer.")
        if not argon2id.OPSLIMIT_MIN <= self.ops <= _OPS_MAX:
            raise DecodeError(
                f"The Argon2id pass count must be between {argon2id.OPSLIMIT_MIN} and {_OPS_MAX}."
            )
        if not argon2id.MEMLIMIT_MIN <= self.mem <= _MEM_MAX:
            raise DecodeError("The Argon2id memory size must be between 8 KiB and 1 GiB.")

    @classmethod
    def default(cls) -> KdfParams:
        """3 passes over 64 MiB: about 0.1–0.5 s on a desktop, costly to brute-force."""
        return cls(ops=3, mem=64 * 1024 * 1024)

    @classmethod
    def minimum(cls) -> KdfParams:
        """The cheapest parameters libsodium accepts: for tests only, far too weak for use."""
        return cls(ops=argon2id.OPSLIMIT_MIN, mem=argon2id.MEMLIMIT_MIN)

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        """The 32-byte key-encryption key for ``passphrase`` (NFC-normalised UTF-8)."""
        secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        return argon2id.kdf(KEY_BYTES, secret, salt, opslimit=self.ops, memlimit=self.mem)


@dataclass(frozen=True, slots=True)
class Header:
    """The cleartext header: how the data key is wrapped."""

    mode: Mode
    vault_id: str
    wrap: bytes = field(repr=False)
    kdf: KdfParams | None = None
    salt: bytes | None = None

    @property
    def account(self) -> str:
        """The keychain account holding this vault's wrapping secret."""
        return f"vault-{self.vault_id}"

    @classmethod
    def for_passphrase(
        cls, vault_id: str, data_key: bytes, passphrase: str, kdf: KdfParams, rng: Rng
    ) -> Header:
        """A header wrapping ``data_key`` under a key derived from ``passphrase``."""
        salt = rng(_SALT_BYTES)
        wrap = seal_key(kdf.derive(passphrase, salt), data_key, rng)
        return cls(mode="passphrase", vault_id=vault_id, wrap=wrap, kdf=kdf, salt=salt)

    @classmethod
    def for_keychain(cls, vault_id: str, data_key: bytes, secret: bytes, rng: Rng) -> Header:
        """A header wrapping ``data_key`` under ``secret`` from the keychain."""
        return cls(mode="keychain", vault_id=vault_id, wrap=seal_key(secret, data_key, rng))

    def to_bytes(self) -> bytes:
        obj: dict[str, object] = {"mode": self.mode, "vault_id": self.vault_id}
        if self.kdf is not None and self.salt is not None:
            obj["kdf"] = {
                "alg": "argon2id13",
                "ops": self.kdf.ops,
                "mem": self.kdf.mem,
                "salt": _b64(self.salt),
            }
        obj["wrap"] = _b64(self.wrap)
        return json.dumps(obj, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Header:
        """Parse a header; it must be exactly what ``to_bytes`` writes (else ``DecodeError``)."""
        try:
            obj = json.loads(raw.decode("ascii"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise DecodeError("the header is not valid JSON") from None
        if not isinstance(obj, dict):
            raise DecodeError("the header is not a JSON object")
        mode = obj.get("mode")
        vault_id = obj.get("vault_id")
        if not isinstance(vault_id, str) or len(vault_id) != 2 * VAULT_ID_BYTES:
            raise DecodeError("the header's vault id is invalid")
        wrap = _unb64(obj.get("wrap"), _NONCE_BYTES + KEY_BYTES + _TAG_BYTES, "wrapped key")
        if mode == "keychain" and set(obj) == {"mode", "vault_id", "wrap"}:
            header = cls(mode="keychain", vault_id=vault_id, wrap=wrap)
        elif mode == "passphrase" and set(obj) == {"mode", "vault_id", "kdf", "wrap"}:
            kdf = obj["kdf"]
            if not isinstance(kdf, dict) or set(kdf) != {"alg", "ops", "mem", "salt"}:
                raise DecodeError("the header's key derivation parameters are invalid")
            if kdf["alg"] != "argon2id13":
                raise DecodeError("the header names an unknown key derivation")
            params = KdfParams(ops=kdf["ops"], mem=kdf["mem"])
            salt = _unb64(kdf["salt"], _SALT_BYTES, "salt")
            header = cls(mode="passphrase", vault_id=vault_id, wrap=wrap, kdf=params, salt=salt)
        else:
            raise DecodeError("the header names an unknown protection mode")
        if header.to_bytes() != raw:
            raise DecodeError("the header is not in its canonical form")
        return header


@dataclass(frozen=True, slots=True)
class Payload:
    """The decrypted content of the vault."""

    pairings: tuple[PairingRecord, ...]
    journal_key: bytes = field(repr=False)
    extra: dict[str, JsonValue]

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "format": PAYLOAD_FORMAT,
                "pairings": [record.to_json() for record in self.pairings],
                "journal_key": _b64(self.journal_key),
                "extra": self.extra,
            },
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        ).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Payload:
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise DecodeError("its content is not valid JSON") from None
        if not isinstance(obj, dict) or set(obj) != {"format", "pairings", "journal_key", "extra"}:
            raise DecodeError("its content has missing or unknown fields")
        if obj["format"] != PAYLOAD_FORMAT:
            raise DecodeError("its content is in an unknown format")
        if not isinstance(obj["pairings"], list) or not isinstance(obj["extra"], dict):
            raise DecodeError("its content has fields of the wrong type")
        pairings = tuple(PairingRecord.from_json(item) for item in obj["pairings"])
        names = {p.name for p in pairings}
        eids = {p.eid for p in pairings}
        if len(names) != len(pairings) or len(eids) != len(pairings):
            raise DecodeError("two of its pairings have the same name or the same HEM")
        journal_key = _unb64(obj["journal_key"], KEY_BYTES, "journal key")
        return cls(pairings=pairings, journal_key=journal_key, extra=obj["extra"])


def parse_file(path: Path, data: bytes) -> tuple[Header, bytes, bytes]:
    """Split a vault file into (header, associated data, nonce ‖ ciphertext).

    Anything that is not a well-formed vault of this version is a ``CorruptStoreError``.
    """
    if len(data) < _PREFIX_BYTES:
        raise corrupt(path, "it is truncated" if data else "it is empty")
    if data[: len(MAGIC)] != MAGIC:
        raise corrupt(path, "it is not an authenticator vault")
    version = data[len(MAGIC)]
    if version != VERSION:
        if version > VERSION:
            raise CorruptStoreError(
                f"The vault {path} was written by a newer version of the authenticator "
                f"(format {version}); update the app to open it. It was not changed."
            )
        raise corrupt(path, f"its format number {version} is invalid")
    header_end = _PREFIX_BYTES + int.from_bytes(data[len(MAGIC) + 1 : _PREFIX_BYTES], "big")
    if len(data) < header_end + _NONCE_BYTES + _TAG_BYTES:
        raise corrupt(path, "it is truncated")
    try:
        header = Header.from_bytes(data[_PREFIX_BYTES:header_end])
    except DecodeError as exc:
        raise corrupt(path, str(exc)) from None
    return header, data[:header_end], data[header_end:]


def encode_file(header: Header, payload: Payload, data_key: bytes, rng: Rng) -> bytes:
    """The bytes of a vault file holding ``payload`` encrypted under ``data_key``."""
    raw_header = header.to_bytes()
    prefix = MAGIC + bytes([VERSION]) + len(raw_header).to_bytes(2, "big") + raw_header
    nonce = rng(_NONCE_BYTES)
    sealed = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        payload.to_bytes(), prefix, nonce, data_key
    )
    return prefix + nonce + sealed


def decrypt_payload(path: Path, data_key: bytes, sealed: bytes, aad: bytes) -> Payload:
    """Decrypt and parse the payload; a failure with the right key means a damaged file."""
    plain = _open(data_key, sealed, aad)
    if plain is None:
        raise corrupt(path, "its content fails its integrity check")
    try:
        return Payload.from_bytes(plain)
    except DecodeError as exc:
        raise corrupt(path, str(exc)) from None


def seal_key(kek: bytes, data_key: bytes, rng: Rng) -> bytes:
    """Wrap ``data_key``: nonce ‖ AEAD(kek, data key, aad=b"EDAV-wrap-1")."""
    nonce = rng(_NONCE_BYTES)
    return nonce + bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        data_key, _WRAP_AAD, nonce, kek
    )


def unwrap_key(kek: bytes, wrap: bytes) -> bytes | None:
    """The data key wrapped in ``wrap``, or ``None`` when ``kek`` is not the right key."""
    return _open(kek, wrap, _WRAP_AAD)


def corrupt(path: Path, detail: str) -> CorruptStoreError:
    """The error for a damaged vault file: names it and says how to recover."""
    return CorruptStoreError(
        f"The vault {path} is damaged ({detail}). It was not changed: keep a copy of it, then "
        "restore a backup or start over by moving it away."
    )


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes | None:
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        return bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, key)
    except nacl.exceptions.CryptoError:
        return None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(value: object, size: int, what: str) -> bytes:
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
        else:
            if len(raw) == size and _b64(raw) == value:
                return raw
    raise DecodeError(f"the {what} is invalid")

"""The emulated HEM's key repository: generated keys, and the pairings stored as ``EXTAID`` keys.

What a key looks like from outside (``/api/keymgmt/*``), per the HEM's OpenAPI file: a 32-hex
``kid``, a printable label of at most 32 characters, a type, an optional binary ``descr``, creation
and update times, and a public key for asymmetric keys. The emulator never uses a key (there are
no crypto endpoints), so only public halves are kept.

Type codes are the 16-bit values of spec/protocol.md §10.4 (flags in the high byte, algorithm in
the low byte): an Ed25519 signing key is ``0x8000|0x2000|0x1000|0x0400|22 = 0xB416``, a pairing
(an imported X25519 public key) is ``0x8000|0x1000|0x0800|20 = 0x9814`` = ``ECDH,CURVE25519``.
Post-quantum keys have no published code: their type is the HEM's own text (``PKEY,PQC,MLDSA65``)
and their "public key" is random bytes of the right size (the emulator implements no PQC).

Key ids: SHA-1 of the raw public key, first 16 bytes (what the device does for imported keys, so
re-pairing the same key is a duplicate); random for symmetric keys.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.signing import SigningKey

from authenticator.errors import DecodeError, StateError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.jsonutil import get_int, get_str
from authenticator.protocol.keys import KeyPair, PublicKey, Rng
from authenticator.protocol.scopes import keytype_to_string

__all__ = [
    "EXTAID",
    "KEY_TYPES",
    "MAX_KEYS",
    "MAX_PAIRINGS",
    "KeyStore",
    "KeyType",
    "StoredKey",
    "check_label",
]

EXTAID = b"EXTAID"
MAX_PAIRINGS = 8
MAX_KEYS = 64
MAX_LABEL = 32
MAX_DESCR = 64
PAGE = 15

_ASYM, _ATT, _PKEY, _PUB, _ECDH, _EXDSA = 0x8000, 0x4000, 0x2000, 0x1000, 0x0800, 0x0400
_KID = re.compile(r"[0-9a-fA-F]{32}")


@dataclass(frozen=True, slots=True)
class KeyType:
    """One ``type`` accepted by ``/api/keymgmt/create``."""

    name: str
    algorithm: int | None
    asymmetric: bool
    pub_size: int | None = None
    """Size of a random stand-in public key (curves without a library here, and PQC)."""
    mode_flags: bool = False
    """NIST curves: the ``mode`` field picks ECDH and/or ExDSA."""
    usage: int = 0
    pqc: bool = False


def _types() -> dict[str, KeyType]:
    types = [
        *(KeyType(n, a, True, mode_flags=True) for n, a in (
            ("SECP256R1", 10), ("SECP384R1", 11), ("SECP521R1", 12), ("SECP256K1", 13))),
        KeyType("CURVE25519", 20, True, usage=_ECDH),
        KeyType("CURVE448", 21, True, pub_size=56, usage=_ECDH),
        KeyType("ED25519", 22, True, usage=_EXDSA),
        KeyType("ED448", 23, True, pub_size=57, usage=_EXDSA),
        *(KeyType(n, a, False) for n, a in (
            ("SHA2-256", 10), ("SHA2-384", 11), ("SHA2-512", 12), ("SHA3-256", 13),
            ("SHA3-384", 14), ("SHA3-512", 15), ("AES128", 30), ("AES192", 31), ("AES256", 32))),
        *(KeyType(f"MLKEM{n}", None, True, pub_size=s, pqc=True) for n, s in (
            (512, 800), (768, 1184), (1024, 1568))),
        *(KeyType(f"MLDSA{n}", None, True, pub_size=s, pqc=True) for n, s in (
            (44, 1312), (65, 1952), (87, 2592))),
    ]  # fmt: skip
    return {t.name: t for t in types}


KEY_TYPES: Mapping[str, KeyType] = _types()
_CURVES: Mapping[str, ec.EllipticCurve] = {
    "SECP256R1": ec.SECP256R1(),
    "SECP384R1": ec.SECP384R1(),
    "SECP521R1": ec.SECP521R1(),
    "SECP256K1": ec.SECP256K1(),
}
_MODES = {"ECDH": _ECDH, "ExDSA": _EXDSA, "ECDH,ExDSA": _ECDH | _EXDSA}


def check_label(label: object) -> str:
    """1 to 32 printable ASCII characters (the device's label rule); ``DecodeError`` otherwise."""
    if (
        not isinstance(label, str)
        or not 0 < len(label) <= MAX_LABEL
        or not label.isascii()
        or not label.isprintable()
    ):
        raise DecodeError(f"A key label is 1 to {MAX_LABEL} printable ASCII characters.")
    return label


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One repository record. ``code`` is ``None`` for post-quantum keys (no published code)."""

    kid: str
    label: str
    type_name: str
    code: int | None
    descr: bytes
    created: int
    updated: int
    pubkey: bytes | None

    @property
    def private(self) -> bool:
        return self.code is None or bool(self.code & _PKEY)

    @property
    def pid(self) -> bytes | None:
        """The pairing id when this key is a pairing (descriptor ``EXTAID`` + pid)."""
        return self.descr[len(EXTAID) :] if self.descr.startswith(EXTAID) else None

    @property
    def type_text(self) -> str:
        """What list and search print: ``PKEY,ExDSA,ED25519``, ``ECDH,CURVE25519``, ``AES256``."""
        if self.code is None:
            return ("PKEY," if self.private else "") + "PQC," + self.type_name
        flags = keytype_to_string(self.code).split(",")[:-1]
        return ",".join([*flags, self.type_name])

    @property
    def meta_type(self) -> str:
        """The ``t`` of a ``keymgmt:use:<kid>#<meta>`` rewrite: 4 uppercase hex digits, or the
        HEM's type text for post-quantum keys (the app's scope catalogue reads both)."""
        return self.type_text if self.code is None else f"{self.code:04X}"

    def list_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kid": self.kid,
            "created": self.created,
            "type": self.type_text,
            "label": self.label,
        }
        if self.descr:
            entry["descr"] = b64encode(self.descr)
        entry["updated"] = self.updated
        return entry

    def get_entry(self) -> dict[str, Any]:
        """``/api/keymgmt/get``: the algorithm only, the public key, and ``descr`` except for
        pairings (a quirk of the device)."""
        entry: dict[str, Any] = {"type": self.type_name}
        if self.pubkey is not None:
            entry["pubkey"] = b64encode(self.pubkey)
        entry["updated"] = self.updated
        if self.descr and self.pid is None:
            entry["descr"] = b64encode(self.descr)
        return entry

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "label": self.label,
            "type": self.type_name,
            "code": self.code,
            "descr": b64encode(self.descr),
            "created": self.created,
            "updated": self.updated,
            "pubkey": None if self.pubkey is None else b64encode(self.pubkey),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> StoredKey:
        what = "stored key"
        kid = get_str(obj, "kid", what=what)
        if not _KID.fullmatch(kid):
            raise DecodeError("A stored key id is not 32 hexadecimal characters.")
        type_name = get_str(obj, "type", what=what)
        if type_name not in KEY_TYPES:
            raise DecodeError(f"A stored key has an unknown type {type_name!r}.")
        code = obj.get("code")
        if code is not None:
            code = get_int(obj, "code", what=what)
        pub = obj.get("pubkey")
        return cls(
            kid=kid.lower(),
            label=check_label(obj.get("label")),
            type_name=type_name,
            code=code,
            descr=b64decode(get_str(obj, "descr", what=what), what="key description"),
            created=get_int(obj, "created", what=what),
            updated=get_int(obj, "updated", what=what),
            pubkey=None if pub is None else b64decode(pub, what="public key"),
        )


def _kid_of(pubkey: bytes) -> str:
    return hashlib.sha1(pubkey).digest()[:16].hex()  # noqa: S324 - the device's key id, not security


def _public_key(kind: KeyType, rng: Rng) -> bytes:
    if kind.name in _CURVES:
        private = ec.generate_private_key(_CURVES[kind.name])
        return private.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    if kind.name == "CURVE25519":
        return KeyPair.generate(rng).public.raw
    if kind.name == "ED25519":
        return bytes(SigningKey(rng(32)).verify_key)
    return rng(kind.pub_size or 32)  # a stand-in: the emulator implements no PQC nor 448 curves


class KeyStore:
    """The repository, in insertion order. Not locked: the owning device's lock guards it."""

    def __init__(self, keys: Mapping[str, StoredKey] | None = None) -> None:
        self._keys: dict[str, StoredKey] = dict(keys or {})

    def __iter__(self) -> Iterator[StoredKey]:
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, kid: str) -> StoredKey | None:
        return self._keys.get(kid.lower())

    def pairings(self) -> list[StoredKey]:
        return [k for k in self._keys.values() if k.pid is not None]

    def pairing_by_pid(self, pid: bytes) -> StoredKey | None:
        return next((k for k in self.pairings() if k.pid == pid), None)

    def delete(self, kid: str) -> bool:
        return self._keys.pop(kid.lower(), None) is not None

    def _add(self, key: StoredKey) -> StoredKey:
        if key.kid in self._keys:
            raise StateError("The repository already holds this key.")
        if len(self._keys) >= MAX_KEYS:
            raise StateError("The repository is full.")
        self._keys[key.kid] = key
        return key

    def generate(
        self,
        type_name: str,
        *,
        label: str,
        now: int,
        descr: bytes = b"",
        mode: str | None = None,
        rng: Rng = secrets.token_bytes,
    ) -> StoredKey:
        """``/api/keymgmt/create``. ``DecodeError`` for a bad argument, ``StateError`` when full."""
        kind = KEY_TYPES.get(type_name)
        if kind is None:
            raise DecodeError(f"Unknown key type {type_name!r}.")
        check_label(label)
        if len(descr) > MAX_DESCR:
            raise DecodeError(f"A key description is at most {MAX_DESCR} bytes.")
        usage = kind.usage
        if kind.mode_flags:
            if mode is None:
                usage = _ECDH | _EXDSA
            elif mode in _MODES:
                usage = _MODES[mode]
            else:
                raise DecodeError("The key mode must be ECDH, ExDSA or ECDH,ExDSA.")
        if not kind.asymmetric:
            code: int | None = kind.algorithm
            pubkey = None
            kid = rng(16).hex()
        else:
            pubkey = _public_key(kind, rng)
            kid = _kid_of(pubkey)
            algorithm = kind.algorithm
            code = None if algorithm is None else _ASYM | _PKEY | _PUB | usage | algorithm
        return self._add(StoredKey(kid, label, kind.name, code, descr, now, now, pubkey))

    def import_pairing(self, aid: PublicKey, *, pid: bytes, label: str, now: int) -> StoredKey:
        """Store an authenticator's key as ``EXTAID`` + pid. ``StateError`` (the device's 406)
        when 8 pairings exist or this public key is already stored."""
        if len(self.pairings()) >= MAX_PAIRINGS:
            raise StateError("The HEM already holds 8 pairings.")
        code = _ASYM | _PUB | _ECDH | 20
        key = StoredKey(
            _kid_of(aid.raw), label, "CURVE25519", code, EXTAID + pid, now, now, aid.raw
        )
        return self._add(key)

    def page(self, keys: list[StoredKey], offset: int, count: int) -> dict[str, Any]:
        """The list envelope ``{offset, deleted, total, listed, list}``; ``total`` is the whole
        repository (as the device reports it), ``count`` is clamped to 15."""
        chosen = keys[offset : offset + min(max(count, 0), PAGE)]
        return {
            "offset": offset,
            "deleted": 0,
            "total": len(self._keys),
            "listed": len(chosen),
            "list": [k.list_entry() for k in chosen],
        }

    def search(self, needle: bytes, *, start: bool, end: bool) -> list[StoredKey]:
        """Keys whose binary ``descr`` starts with / ends with / contains ``needle``."""

        def hit(descr: bytes) -> bool:
            if start and end:
                return descr == needle
            if start:
                return descr.startswith(needle)
            if end:
                return descr.endswith(needle)
            return needle in descr

        return [k for k in self._keys.values() if k.descr and hit(k.descr)]

    def to_json(self) -> list[dict[str, Any]]:
        return [k.to_json() for k in self._keys.values()]

    @classmethod
    def from_json(cls, items: object) -> KeyStore:
        if not isinstance(items, list):
            raise DecodeError("The stored key list is malformed.")
        keys = [StoredKey.from_json(i) for i in items if isinstance(i, Mapping)]
        if len(keys) != len(items):
            raise DecodeError("The stored key list is malformed.")
        return cls({k.kid: k for k in keys})

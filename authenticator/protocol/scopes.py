"""The scope catalogue (spec/protocol.md §10): what a scope asks, in plain words.

Matching, strictest first (never a loose prefix or an unanchored pattern):

1. an exact fixed scope (``system:config``, ``keymgmt:list``, ``storage:disk`` …);
2. ``storage:disk<N>`` with an optional ``:rw`` — unlock a drive; write access can be granted;
3. ``keymgmt:use:<kid>`` with the HEM's optional ``#<meta>`` (and an ignored ``-<suffix>``);
4. anything else is **unknown**: shown as such and never approvable.

The texts are sentences a person reads before clicking Approve. The title and the sentence come
from the scope alone and never carry outside text: a ``keymgmt:use`` sentence names the key by its
id (short form; the full id is a detail row). The label and type in ``#<meta>`` are *stated by the
request* — a requester may append its own meta and the HEM seals it as given — so they are cleaned
outside text (:mod:`authenticator.protocol.outside`, :attr:`Origin.REQUEST`) on :class:`KeyMeta`,
shown only in detail rows named "… — as the request states it".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from authenticator.errors import DecodeError, UnknownScopeError
from authenticator.protocol.b64 import b64decode
from authenticator.protocol.jsonutil import parse_object
from authenticator.protocol.outside import LIMITS, Origin, Outside, clean
from authenticator.protocol.periods import Period

__all__ = [
    "HEM_SLOT",
    "KeyMeta",
    "ScopeInfo",
    "describe",
    "grant_text",
    "key_type_words",
    "keytype_name",
    "keytype_to_string",
    "require_known",
]

# ---------------------------------------------------------------------------- key types

_ASYM = {
    1: "GENERIC_DER",
    10: "SECP256R1",
    11: "SECP384R1",
    12: "SECP521R1",
    13: "SECP256K1",
    20: "CURVE25519",
    21: "CURVE448",
    22: "ED25519",
    23: "ED448",
}
_SYM = {
    10: "SHA2-256",
    11: "SHA2-384",
    12: "SHA2-512",
    13: "SHA3-256",
    14: "SHA3-384",
    15: "SHA3-512",
    30: "AES-128",
    31: "AES-192",
    32: "AES-256",
}
# Flag bits of the high byte, in printing order; the bool says "asymmetric keys only".
_FLAGS = (
    (0x4000, "ATT", False),
    (0x2000, "PKEY", True),
    (0x0800, "ECDH", True),
    (0x0400, "ExDSA", True),
    (0x0200, "CERT", True),
)
_ASYM_BIT = 0x8000
_PKEY_BIT = 0x2000
# Type names the HEM itself prints in list/search (their numeric codes are not published).
_HEM_TYPE_NAMES = frozenset(
    {*_ASYM.values(), *_SYM.values(), "AES128", "AES192", "AES256", "PQC"}
    | {f"MLKEM{n}" for n in (512, 768, 1024)}
    | {f"MLDSA{n}" for n in (44, 65, 87)}
    | {"ATT", "PKEY", "ECDH", "ExDSA", "CERT"}
)


def keytype_name(code: int) -> str | None:
    """The algorithm of a 16-bit key type code, or ``None`` when the code is unknown."""
    table = _ASYM if code & _ASYM_BIT else _SYM
    return table.get(code & 0x00FF)


def keytype_to_string(code: int) -> str:
    """Flags then algorithm, comma-joined: ``0xAC16`` → ``PKEY,ECDH,ExDSA,ED25519``."""
    asym = bool(code & _ASYM_BIT)
    parts = [name for bit, name, asym_only in _FLAGS if code & bit and (asym or not asym_only)]
    parts.append(keytype_name(code) or f"unknown type 0x{code:04X}")
    return ",".join(parts)


# What each algorithm is, in words; ``None`` = what it does depends on the flags (the NIST curves).
_WORDS: dict[str, tuple[str, str | None]] = {
    "ED25519": ("Ed25519", "signing"),
    "ED448": ("Ed448", "signing"),
    "CURVE25519": ("X25519", "key-agreement"),
    "CURVE448": ("X448", "key-agreement"),
    "SECP256R1": ("P-256", None),
    "SECP384R1": ("P-384", None),
    "SECP521R1": ("P-521", None),
    "SECP256K1": ("secp256k1", None),
    "GENERIC_DER": ("generic (DER)", None),
    **{f"MLDSA{n}": (f"ML-DSA-{n} post-quantum", "signing") for n in (44, 65, 87)},
    **{f"MLKEM{n}": (f"ML-KEM-{n} post-quantum", "key-encapsulation") for n in (512, 768, 1024)},
    **{f"AES-{n}": (f"AES-{n}", "secret") for n in (128, 192, 256)},
    **{f"AES{n}": (f"AES-{n}", "secret") for n in (128, 192, 256)},
    **{f"SHA2-{n}": (f"HMAC-SHA-{n}", "secret") for n in (256, 384, 512)},
    **{f"SHA3-{n}": (f"HMAC-SHA3-{n}", "secret") for n in (256, 384, 512)},
}


def key_type_words(algorithm: str, flags: frozenset[str]) -> str:
    """A key type in words: ``Ed25519 signing key, private key``, ``AES-256 secret key`` …

    ``flags`` are the HEM's flag names (``PKEY``, ``ECDH``, ``ExDSA`` …). An asymmetric key
    without ``PKEY`` is only a public key on the HEM, and is called one.
    """
    if algorithm not in _WORDS:
        return "key of an unknown type"
    name, use = _WORDS[algorithm]
    if use == "secret":
        return f"{name} secret key"
    if "PKEY" not in flags:
        return f"{name} public key"
    if use is None:
        uses = [u for flag, u in (("ExDSA", "signing"), ("ECDH", "key-agreement")) if flag in flags]
        use = " and ".join(uses) or None
    return f"{name} {use} key, private key" if use else f"{name} key, private key"


_NO_TEXT = Outside("", Origin.REQUEST)


@dataclass(frozen=True, slots=True)
class KeyMeta:
    """The key a ``keymgmt:use:`` request names. Only ``kid`` is the key; everything else comes
    from the request's ``#<meta>``, which the requester may have written: it is what the request
    *states*, never the key's verified name or type."""

    kid: str
    stated_label: Outside = _NO_TEXT
    stated_type: Outside = _NO_TEXT
    type_text: str = ""
    algorithm: str = ""
    private: bool = False

    @property
    def short_kid(self) -> str:
        """``42afc419dbda…`` — the first 12 hex digits of the key id."""
        return self.kid if len(self.kid) <= 12 else f"{self.kid[:12]}…"


def _parse_type(t: object) -> tuple[str, str, frozenset[str]]:
    """(HEM type text, algorithm, flags) from the meta's ``t``: hex code, or the HEM's names."""
    if isinstance(t, str) and re.fullmatch(r"(0x)?[0-9A-Fa-f]{1,4}", t):
        code = int(t, 16)
        text = keytype_to_string(code)
        return text, keytype_name(code) or "", frozenset(text.split(",")[:-1])
    if isinstance(t, str) and t:
        names = [n.strip() for n in t.split(",") if n.strip()]
        if names and all(n in _HEM_TYPE_NAMES for n in names):
            return ",".join(names), names[-1], frozenset(names[:-1])
    return "", "", frozenset()


def _parse_meta(kid: str, meta: str | None) -> KeyMeta:
    if not meta:
        return KeyMeta(kid=kid)
    try:
        obj = parse_object(b64decode(meta, what="key details"), what="key details")
    except DecodeError:
        return KeyMeta(kid=kid)
    type_text, algorithm, flags = _parse_type(obj.get("t"))
    words = key_type_words(algorithm, flags) if type_text else ""
    return KeyMeta(
        kid=kid,
        stated_label=clean(obj.get("l"), Origin.REQUEST, limit=LIMITS.key_label),
        stated_type=clean(words, Origin.REQUEST, limit=LIMITS.key_type),
        type_text=type_text,
        algorithm=algorithm,
        private="PKEY" in flags,
    )


# ---------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True, slots=True)
class ScopeInfo:
    """What a scope asks. ``phrase`` completes "… wants to"; :data:`HEM_SLOT` in it marks where
    the HEM's name goes (:meth:`text` fills it; cleaned text never contains the slot character).

    ``details`` are every row to show, as (row name, value); a row of outside text has its origin
    in its name (``Key name — as the request states it``). ``stated`` holds those outside rows
    again as (plain name, :class:`Outside`), for a front end that draws the origin itself."""

    scope: str
    known: bool
    kind: str
    title: str
    phrase: str
    write_possible: bool = False
    write_requested: bool = False
    details: tuple[tuple[str, str], ...] = ()
    key: KeyMeta | None = None
    stated: tuple[tuple[str, Outside], ...] = ()

    def text(self, *, hem: str, who: str = "Someone") -> str:
        """The plain-words sentence: ``Someone in Warsaw wants to list the keys on my-hem.``"""
        return f"{who} wants to {self.phrase_for(hem)}."

    def phrase_for(self, hem: str) -> str:
        """``list the keys on my-hem``."""
        return self.phrase.replace(HEM_SLOT, hem)


HEM_SLOT = "\x00"

_FIXED: dict[str, tuple[str, str, str]] = {
    # scope: (kind, title, phrase)
    "system:config": ("system.config", "Change the settings", "change the settings of {hem}"),
    "system:upgrade": ("system.upgrade", "Update the software", "install an update on {hem}"),
    "system:shutdown": ("system.shutdown", "Shut down", "shut down {hem}"),
    "storage:disk": ("storage.lock", "Lock the drives", "lock the drives of {hem}"),
    "logger:get": ("logger.get", "Read the log", "read the audit log of {hem}"),
    "logger:del": ("logger.del", "Delete the log", "delete the audit log of {hem}"),
    "keymgmt:list": ("keymgmt.list", "List the keys", "list the keys on {hem}"),
    "keymgmt:search": ("keymgmt.search", "Search the keys", "search the keys on {hem}"),
    "keymgmt:get": ("keymgmt.get", "Read a public key", "read a public key from {hem}"),
    "keymgmt:gen": ("keymgmt.gen", "Generate a key", "generate a new key on {hem}"),
    "keymgmt:upd": ("keymgmt.upd", "Update a key", "update a key on {hem}"),
    "keymgmt:del": ("keymgmt.del", "Delete a key", "delete a key from {hem}"),
    "keymgmt:imp": ("keymgmt.imp", "Import a public key", "import a public key into {hem}"),
    "keymgmt:ecdh": ("keymgmt.ecdh", "Derive a shared key", "derive a shared key on {hem}"),
    "keymgmt:derive": ("keymgmt.derive", "Derive a key", "derive a new key on {hem}"),
    "auth:ext:pair": (
        "auth.pair",
        "Pair an authenticator",
        "pair another authenticator with {hem}",
    ),
    # The Encedo Manager's default login scope (spec/hem-api.md §1). What the HEM lets such a
    # token do is not documented; the Manager uses it for everything it does, so say so.
    "master": (
        "manager.login",
        "Log in to the Manager",
        "log in to the Encedo Manager with full access to {hem}",
    ),
}  # fmt: skip

_DISK = re.compile(r"storage:disk(\d{1,3})(:rw)?")
_KEY_USE = re.compile(r"keymgmt:use:([0-9a-fA-F]{1,64})(?:#([A-Za-z0-9+/=_]*))?(?:-(.*))?", re.S)
_DISK_NAMES = {"0": "regular drive", "1": "encrypted drive"}
_MAX_SCOPE = 1023


def describe(scope: str) -> ScopeInfo:
    """Turn a decrypted scope into what the person reads. Never raises: unknown is a result."""
    if len(scope) > _MAX_SCOPE or not scope.isprintable():
        return _unknown(scope)
    if scope in _FIXED:
        kind, title, phrase = _FIXED[scope]
        return ScopeInfo(
            scope=scope,
            known=True,
            kind=kind,
            title=title,
            phrase=phrase.replace("{hem}", HEM_SLOT),
        )
    if m := _DISK.fullmatch(scope):
        n, rw = m.group(1), m.group(2) is not None
        name = _DISK_NAMES.get(n, "drive")
        return ScopeInfo(
            scope=scope,
            known=True,
            kind="storage.unlock",
            title="Unlock a drive",
            phrase=f"unlock the {name} (disk{n}) of {HEM_SLOT}"
            + (", asking for read and write access" if rw else ""),
            write_possible=True,
            write_requested=rw,
            details=(("Drive", f"disk{n} ({name})"), ("Asked", "read and write" if rw else "read")),
        )
    if m := _KEY_USE.fullmatch(scope):
        key = _parse_meta(m.group(1).lower(), m.group(2))
        stated = tuple(
            (name, value)
            for name, value in (("Key name", key.stated_label), ("Key type", key.stated_type))
            if value
        )
        return ScopeInfo(
            scope=scope,
            known=True,
            kind="keymgmt.use",
            title="Use a key",
            phrase=f"use the key {key.short_kid} on {HEM_SLOT}",
            details=(("Key id", key.kid), *((v.row(n), v.text) for n, v in stated)),
            key=key,
            stated=stated,
        )
    return _unknown(scope)


def _unknown(scope: str) -> ScopeInfo:
    shown = clean(scope, Origin.REQUEST, limit=LIMITS.scope)
    return ScopeInfo(
        scope=scope,
        known=False,
        kind="unknown",
        title="Unknown request",
        phrase=f"do something this app does not know ({shown.text}) on {HEM_SLOT}",
    )


def require_known(info: ScopeInfo) -> ScopeInfo:
    """``UnknownScopeError`` unless the scope is in the catalogue (unknown is never approvable)."""
    if not info.known:
        raise UnknownScopeError()
    return info


def grant_text(info: ScopeInfo, period: Period, *, write: bool) -> str:
    """Exactly what Approve grants: ``Allow read-only for 1 h``, ``Allow for 15 min`` …"""
    if info.write_possible:
        return f"Allow {'read and write' if write else 'read-only'} for {period.label}"
    return f"Allow for {period.label}"

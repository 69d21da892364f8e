"""What the vault keeps about each paired HEM.

A ``PairingRecord`` is created by the core after a successful pairing and only ever stored inside
the encrypted vault, because it carries the authenticator's private key for that HEM (``aid_prv``).
Its ``repr`` leaves that key out so a record can be logged or shown in a traceback safely.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from authenticator.errors import DecodeError

__all__ = ["NAME_MAX", "PairingRecord", "Source"]

Source = Literal["broker", "direct"]

NAME_MAX = 64
LABEL_MAX = 32
_TEXT_MAX = 256
_PID_MAX = 256
_KEY_BYTES = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_FIELDS = (
    "name",
    "eid",
    "pid",
    "aid",
    "aid_prv",
    "label",
    "hostname",
    "user",
    "email",
    "source",
    "broker_url",
    "hem_url",
    "cert_sha256",
    "kid",
    "paired_at",
    "last_used",
    "muted_until",
    "cert_pem",
)
_OPTIONAL_FIELDS = {"cert_pem"}  # added after the first format: absent in older vaults
_PEM_MAX = 16 * 1024


@dataclass(frozen=True, slots=True)
class PairingRecord:
    """One paired HEM: its identity, our key pair for it, and where to reach it.

    ``name`` is what this app calls the HEM (unique among pairings); ``label`` is how this computer
    appears on the HEM. ``eid``, ``pid`` and ``aid`` are standard base64 as the protocol carries
    them; ``aid_prv`` is the raw 32-byte private key. ``broker_url`` is the origin of the broker
    the pairing came from; ``hem_url`` and ``cert_sha256`` (the pinned certificate) are known for
    direct pairings. Times are unix seconds.
    """

    name: str
    eid: str
    pid: str
    aid: str
    aid_prv: bytes = field(repr=False)
    label: str
    hostname: str
    user: str
    email: str
    source: Source
    broker_url: str | None
    hem_url: str | None
    cert_sha256: str | None
    kid: str | None
    paired_at: int
    last_used: int | None = None
    muted_until: int | None = None
    cert_pem: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        _b64(self.eid, "eid", size=_KEY_BYTES)
        _b64(self.pid, "pid", size=None)
        _b64(self.aid, "aid", size=_KEY_BYTES)
        if not isinstance(self.aid_prv, bytes) or len(self.aid_prv) != _KEY_BYTES:
            raise DecodeError("The stored private key of a pairing must be 32 bytes.")
        _text(self.label, "label", LABEL_MAX, empty=False)
        _text(self.hostname, "hostname", _TEXT_MAX)
        _text(self.user, "user", _TEXT_MAX)
        _text(self.email, "email", _TEXT_MAX)
        if self.source not in ("broker", "direct"):
            raise DecodeError("A pairing's source must be 'broker' or 'direct'.")
        if self.broker_url is not None:
            _url(self.broker_url, "broker_url", origin=True)
        elif self.source == "broker":
            raise DecodeError("A pairing made through a broker must remember the broker's URL.")
        if self.hem_url is not None:
            _url(self.hem_url, "hem_url", origin=False)
        elif self.source == "direct":
            raise DecodeError("A direct pairing must remember the HEM's URL.")
        if self.cert_sha256 is not None and (
            not isinstance(self.cert_sha256, str) or not _SHA256_HEX.fullmatch(self.cert_sha256)
        ):
            raise DecodeError("A pinned certificate fingerprint must be 64 lowercase hex digits.")
        if self.kid is not None:
            _text(self.kid, "kid", _TEXT_MAX, empty=False)
        _time(self.paired_at, "paired_at")
        if self.last_used is not None:
            _time(self.last_used, "last_used")
        if self.muted_until is not None:
            _time(self.muted_until, "muted_until")
        if self.cert_pem is not None:
            if (
                not isinstance(self.cert_pem, str)
                or len(self.cert_pem) > _PEM_MAX
                or not self.cert_pem.lstrip().startswith("-----BEGIN CERTIFICATE-----")
            ):
                raise DecodeError("A pinned certificate must be one PEM certificate.")
            if self.cert_sha256 is None:
                raise DecodeError("A pinned certificate needs its fingerprint.")

    def replace(self, **changes: Any) -> PairingRecord:
        """A copy with ``changes`` applied (validated like a new record)."""
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise DecodeError(f"A pairing has no field {sorted(unknown)[0]!r}.")
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, str | int | None]:
        """The record as JSON values, private key included: only for the encrypted vault."""
        return {
            "name": self.name,
            "eid": self.eid,
            "pid": self.pid,
            "aid": self.aid,
            "aid_prv": base64.b64encode(self.aid_prv).decode("ascii"),
            "label": self.label,
            "hostname": self.hostname,
            "user": self.user,
            "email": self.email,
            "source": self.source,
            "broker_url": self.broker_url,
            "hem_url": self.hem_url,
            "cert_sha256": self.cert_sha256,
            "kid": self.kid,
            "paired_at": self.paired_at,
            "last_used": self.last_used,
            "muted_until": self.muted_until,
            "cert_pem": self.cert_pem,
        }

    @classmethod
    def from_json(cls, obj: object) -> PairingRecord:
        """Parse what ``to_json`` produced; anything else is a ``DecodeError``."""
        if not isinstance(obj, dict):
            raise DecodeError("A stored pairing is not a JSON object.")
        if not set(_FIELDS) - _OPTIONAL_FIELDS <= set(obj) <= set(_FIELDS):
            raise DecodeError("A stored pairing has missing or unknown fields.")
        source = obj["source"]
        if source not in ("broker", "direct"):
            raise DecodeError("A pairing's source must be 'broker' or 'direct'.")
        return cls(
            name=_str(obj["name"], "name"),
            eid=_str(obj["eid"], "eid"),
            pid=_str(obj["pid"], "pid"),
            aid=_str(obj["aid"], "aid"),
            aid_prv=_b64(_str(obj["aid_prv"], "aid_prv"), "aid_prv", size=_KEY_BYTES),
            label=_str(obj["label"], "label"),
            hostname=_str(obj["hostname"], "hostname"),
            user=_str(obj["user"], "user"),
            email=_str(obj["email"], "email"),
            source="broker" if source == "broker" else "direct",
            broker_url=_opt_str(obj["broker_url"], "broker_url"),
            hem_url=_opt_str(obj["hem_url"], "hem_url"),
            cert_sha256=_opt_str(obj["cert_sha256"], "cert_sha256"),
            kid=_opt_str(obj["kid"], "kid"),
            paired_at=_int(obj["paired_at"], "paired_at"),
            last_used=_opt_int(obj["last_used"], "last_used"),
            muted_until=_opt_int(obj["muted_until"], "muted_until"),
            cert_pem=_opt_str(obj.get("cert_pem"), "cert_pem"),
        )


def check_name(name: object) -> str:
    """Validate a HEM name as the user types it: 1–64 characters, no control characters."""
    if not isinstance(name, str) or not name.strip():
        raise DecodeError("A HEM name must not be empty.")
    if len(name) > NAME_MAX:
        raise DecodeError(f"A HEM name must be at most {NAME_MAX} characters.")
    if _CONTROL.search(name) or name != name.strip():
        raise DecodeError(
            "A HEM name must not contain control characters or start or end with spaces."
        )
    return name


def _b64(value: object, what: str, *, size: int | None) -> bytes:
    if not isinstance(value, str) or not value or len(value) > _PID_MAX:
        raise DecodeError(f"The pairing's {what} is not standard base64.")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError(f"The pairing's {what} is not standard base64.") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise DecodeError(f"The pairing's {what} is not canonical standard base64.")
    if size is not None and len(raw) != size:
        raise DecodeError(f"The pairing's {what} must encode {size} bytes.")
    return raw


def _text(value: object, what: str, limit: int, *, empty: bool = True) -> None:
    if not isinstance(value, str):
        raise DecodeError(f"The pairing's {what} must be text.")
    if not empty and not value.strip():
        raise DecodeError(f"The pairing's {what} must not be empty.")
    if len(value) > limit:
        raise DecodeError(f"The pairing's {what} must be at most {limit} characters.")
    if _CONTROL.search(value):
        raise DecodeError(f"The pairing's {what} must not contain control characters.")


def _url(value: object, what: str, *, origin: bool) -> None:
    if not isinstance(value, str) or len(value) > _TEXT_MAX or _CONTROL.search(value):
        raise DecodeError(f"The pairing's {what} is not a valid URL.")
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise DecodeError(f"The pairing's {what} is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise DecodeError(f"The pairing's {what} must be an http(s) URL.")
    if origin and (parts.path not in ("", "/") or parts.query or parts.fragment):
        raise DecodeError(f"The pairing's {what} must be an origin like https://host[:port].")


def _time(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DecodeError(f"The pairing's {what} must be a non-negative unix time.")


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise DecodeError(f"The pairing's {what} must be text.")
    return value


def _opt_str(value: object, what: str) -> str | None:
    return None if value is None else _str(value, what)


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"The pairing's {what} must be an integer.")
    return value


def _opt_int(value: object, what: str) -> int | None:
    return None if value is None else _int(value, what)

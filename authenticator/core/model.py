"""What the core shows and hands out: access requests, HEMs, pairing previews, outcomes.

One :class:`AccessRequest` model for every source (broker event, local program, pasted link), so
the GUI, the CLI and the agent all show and answer requests the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from authenticator.errors import (
    AuthenticatorError,
    ExpiredError,
    HemClockError,
    IntegrityError,
    NetTimeoutError,
    ServerError,
    TransportError,
    Unavailable,
    UnknownScopeError,
)
from authenticator.net.tls import CertificateInfo
from authenticator.protocol.access import IpInfo
from authenticator.protocol.outside import LIMITS, Origin, Outside, clean
from authenticator.protocol.pairing import PairingRequest, QrPayload
from authenticator.protocol.periods import Period
from authenticator.protocol.scopes import ScopeInfo, grant_text
from authenticator.store.records import PairingRecord

if TYPE_CHECKING:
    from authenticator.core.peer import PeerIdentity

__all__ = [
    "AccessRequest",
    "ConnectionState",
    "DirectPreview",
    "Grant",
    "HemView",
    "Outcome",
    "PairingPreview",
    "PartResult",
    "Program",
    "ScopePart",
    "Source",
    "why_not",
]

Source = Literal["broker", "local", "link"]


class Outcome(enum.StrEnum):
    """How a request left the inbox (journal ``outcome`` and the agent's refusal codes)."""

    APPROVED = "approved"
    DENIED = "denied"
    REPORTED = "reported"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    HANDLED_ELSEWHERE = "handled_elsewhere"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    LOCKED = "locked"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Program:
    """The local program that asked (from the socket's peer credentials where the OS gives them).

    ``pid``, ``uid``, ``user`` and ``start_time`` are the kernel's facts. ``name``, ``path`` (the
    executable), ``script`` (the script an interpreter runs, absolute) and ``chain`` (the program
    then its parents, e.g. ``("backup.sh", "bash", "sshd")``) are the program's claims, already
    cleaned for display (``core.agent.identity.program_of``). ``interpreter``: the executable is
    a known interpreter (with ``script`` None it runs code from its command line or stdin).
    ``remote``: it looks started from an SSH session. ``identity`` is the live, raw
    :class:`~authenticator.core.peer.PeerIdentity` (neither compared nor serialised).
    """

    name: str
    pid: int | None = None
    path: str | None = None
    uid: int | None = None
    user: str | None = None
    script: str | None = None
    interpreter: bool = False
    start_time: int | None = None
    chain: tuple[str, ...] = ()
    remote: bool = False
    identity: PeerIdentity | None = field(default=None, compare=False, repr=False)

    @property
    def exe(self) -> str | None:
        """The executable's path (the same as ``path``)."""
        return self.path

    def describe(self) -> str:
        """``backup.sh (pid 4242)``."""
        return f"{self.name} (pid {self.pid})" if self.pid is not None else self.name

    def chain_text(self) -> str:
        """``backup.sh ← bash ← sshd`` (the name alone when the chain is unknown)."""
        return " ← ".join(self.chain) if self.chain else self.name

    def check_unchanged(self) -> None:
        """Raise ``ProgramChangedError`` when the program is no longer the process that asked
        (it exec'd another program, exited, or its pid was reused); nothing to check without an
        identity (a program named by hand, e.g. the terminal's parent)."""
        if self.identity is not None:
            self.identity.check()

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pid": self.pid,
            "path": self.path,
            "uid": self.uid,
            "user": self.user,
            "script": self.script,
            "interpreter": self.interpreter,
            "start_time": self.start_time,
            "chain": list(self.chain),
            "remote": self.remote,
        }


def _shown(text: str | None, origin: Origin, limit: int = LIMITS.path) -> Outside:
    return clean(text, origin, limit=limit)


_ASKER: dict[str, str] = {
    "broker": "Someone",
    "local": "A program on this computer",
    "link": "The pasted request",
}


@dataclass(frozen=True, slots=True)
class ScopePart:
    """One scope of a request: the verified scope, its words, and what the HEM itself calls the
    key a key-use scope names (when the app could ask)."""

    scope: str
    info: ScopeInfo
    key_name: Outside | None = None

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def write_possible(self) -> bool:
        return self.info.write_possible

    def phrase_for(self, hem: str) -> str:
        return self.info.phrase_for(hem)

    def to_json(self, hem: str) -> dict[str, object]:
        return {
            "scope": self.scope,
            "title": self.title,
            "phrase": self.phrase_for(hem),
            "write_possible": self.write_possible,
            "key_name": self.key_name.text if self.key_name is not None else None,
            "details": [list(d) for d in self.info.details],
        }


def why_not(exc: AuthenticatorError) -> str:
    """Why a scope got nothing, in the app's own words (never the peer's)."""
    reasons: tuple[tuple[type[AuthenticatorError], str], ...] = (
        (UnknownScopeError, "this app does not know this access"),
        (HemClockError, "the HEM's clock is wrong"),
        (NetTimeoutError, "the HEM did not answer in time"),
        (TransportError, "the HEM could not be reached"),
        (Unavailable, "the HEM is busy or unavailable"),
        (ServerError, "the HEM refused it"),
        (IntegrityError, "the HEM's answer failed its check"),
        (ExpiredError, "it expired"),
    )
    return next((words for kind, words in reasons if isinstance(exc, kind)), "it failed")


def _joined(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """A pending request to approve or deny.

    ``id`` is what people type (``authenticator approve ID``): the broker's event id, or ``L…``
    for a local program's request and ``P…`` for a pasted one. ``scope`` is the decrypted scope
    whose tag was verified; ``info`` says it in plain words. :attr:`title` and :attr:`text` —
    what is asked — are built from the verified scope alone; everything outsiders say (the
    broker's ``location``, a program's name and ``reason``, a requester's ``note``, the key
    label a request states) was cleaned where it came in and is shown only in the labelled
    rows of :meth:`claims`, never inside that sentence. ``key_name`` is what the HEM itself
    calls the key a key-use request names (when the app could ask it); ``warnings`` are the
    app's own loud sentences about a mismatch.

    Several scopes asked at once (a local program's *bundle*) are one request: ``bundle`` lists
    every part in the order asked (``scope``/``info``/``key_name`` are then the first part's),
    :attr:`title` and :attr:`text` name them all, and one answer (one period) covers them all;
    :attr:`parts` is the list for any request (one part when it is not a bundle).
    ``renews_until``: the program still holds a token for every scope asked, valid until then
    (the request extends it: a *renewal*). ``codes``: code matching — the three codes the owner
    chooses from (the requester's claimed code among two decoys, shuffled); empty when the
    request needs no code.
    """

    id: str
    hem: str
    hem_hostname: str
    source: Source
    scope: str
    info: ScopeInfo
    created: int
    expires_at: int
    location: IpInfo = field(default_factory=IpInfo)
    program: Program | None = None
    reason: str | None = None
    note: Outside | None = None
    key_name: Outside | None = None
    warnings: tuple[str, ...] = ()
    default_period: Period = Period.MIN15
    default_write: bool = False
    bundle: tuple[ScopePart, ...] = ()
    renews_until: int | None = None
    codes: tuple[int, ...] = ()

    @property
    def parts(self) -> tuple[ScopePart, ...]:
        """Every scope asked, in order (one part for a request that is not a bundle)."""
        return self.bundle or (ScopePart(self.scope, self.info, self.key_name),)

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(p.scope for p in self.parts)

    @property
    def is_bundle(self) -> bool:
        return len(self.bundle) > 1

    @property
    def is_renewal(self) -> bool:
        return self.renews_until is not None

    @property
    def write_possible(self) -> bool:
        """Whether write access can be granted (to at least one part of a bundle)."""
        return any(p.write_possible for p in self.parts)

    @property
    def title(self) -> str:
        """``List the keys``; ``3 accesses: List the keys, Read the log, …``; ``Renew: …``."""
        parts = self.parts
        base = (
            f"{len(parts)} accesses: {', '.join(p.title for p in parts)}"
            if len(parts) > 1
            else self.info.title
        )
        return f"Renew: {base}" if self.is_renewal else base

    @property
    def phrase(self) -> str:
        """What is asked, completing "… wants to": ``list the keys on my-hem and read …``."""
        return _joined([p.phrase_for(self.hem) for p in self.parts])

    @property
    def asker(self) -> str:
        """Who asks, in the app's own words: ``Someone``, ``A program on this computer``…"""
        return _ASKER[self.source]

    @property
    def requester(self) -> str:
        """Who asks, in a few words, with what they claim (for lists and the journal)."""
        if self.program is not None:
            return self.program.describe()
        if self.source == "link":
            return "A pasted request"
        where = self.location.describe()
        return f"Someone at {where}" if where else "Someone"

    @property
    def text(self) -> str:
        """What is asked, from the verified scope alone: ``Someone wants to list the keys on
        my-hem.``; for a renewal ``… asks to renew its access to list the keys on my-hem.``"""
        if self.is_renewal:
            return f"{self.asker} asks to renew its access to {self.phrase}."
        if self.bundle:
            return f"{self.asker} wants to {self.phrase}."
        return self.info.text(hem=self.hem, who=self.asker)

    def claims(self) -> tuple[tuple[str, Outside], ...]:
        """What outsiders say about the request, each with whose claim it is: rows such as
        ``("Location — reported by the broker", Outside("Warsaw, PL · 203.0.113.7", …))``.
        Empty claims are left out."""
        rows: list[tuple[str, Outside | None]] = []
        if self.source == "broker":
            where = self.location.describe()
            rows.append(("Location", _shown(where, Origin.BROKER, LIMITS.location + LIMITS.ip)))
        if self.program is not None:
            rows.append(
                ("Program", _shown(self.program.describe(), Origin.PROGRAM, LIMITS.program))
            )
            rows.append(("Path", _shown(self.program.path, Origin.PROGRAM, LIMITS.path)))
            rows.append(("Script", _shown(self.program.script, Origin.PROGRAM, LIMITS.path)))
            if len(self.program.chain) > 1:
                chain = self.program.chain_text()
                rows.append(("Started by", _shown(chain, Origin.PROGRAM, LIMITS.argv)))
        if self.reason:
            origin = Origin.PROGRAM if self.source == "local" else Origin.REQUESTER
            rows.append(("Reason", _shown(self.reason, origin, LIMITS.reason)))
        rows.append(("Their note", self.note))
        for part in self.parts:  # a bundle's rows say which part they belong to
            of = f" ({part.info.key.short_kid})" if self.bundle and part.info.key else ""
            rows.append((f"Key name{of}", part.key_name))
            rows.extend((f"{name}{of}", value) for name, value in part.info.stated)
        # Cleaned where they came in; cleaning again (idempotent) keeps this true for requests
        # built any other way.
        return tuple(
            (value.row(name), _shown(value.text, value.origin)) for name, value in rows if value
        )

    def write_parts(
        self, write: bool, write_scopes: frozenset[str] | None = None
    ) -> tuple[bool, ...]:
        """Write access per part: ``write_scopes`` names the parts that get it; else ``write``
        applies to every part where write access is possible."""
        if write_scopes is None:
            return tuple(write and p.write_possible for p in self.parts)
        return tuple(p.scope in write_scopes and p.write_possible for p in self.parts)

    def grant_text(
        self, period: Period, write: bool, write_scopes: frozenset[str] | None = None
    ) -> str:
        """Exactly what Approve grants: ``Allow read-only for 1 h``, ``Allow all 3 for 15 min``,
        ``Renew for 1 h`` …"""
        parts = self.parts
        if len(parts) == 1:
            text = grant_text(self.info, period, write=write)
        else:
            writes = self.write_parts(write, write_scopes)
            text = f"Allow all {len(parts)} for {period.label}"
            if any(writes):
                with_write = [
                    p.scope.split("#", 1)[0] for p, w in zip(parts, writes, strict=True) if w
                ]
                text += f", with write access to {_joined(with_write)}"
            elif self.write_possible:
                text += ", read-only"
        return "Renew" + text.removeprefix("Allow") if self.is_renewal else text

    def seconds_left(self, now: int) -> int:
        return max(0, self.expires_at - now)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "hem": self.hem,
            "source": self.source,
            "scope": self.scope,
            "title": self.title,
            "text": self.text,
            "requester": self.requester,
            "location": self.location.to_json() if self.source == "broker" else None,
            "program": self.program.to_json() if self.program else None,
            "reason": self.reason,
            "note": self.note.text if self.note is not None else None,
            "claims": [
                {"row": row, "text": value.text, "origin": value.origin.value}
                for row, value in self.claims()
            ],
            "warnings": list(self.warnings),
            "created": self.created,
            "expires_at": self.expires_at,
            "write_possible": self.write_possible,
            "write_requested": self.info.write_requested,
            "known": self.info.known,
            "details": [list(d) for d in self.info.details],
            "scopes": list(self.scopes),
            "parts": [p.to_json(self.hem) for p in self.parts],
            "renews_until": self.renews_until,
            "codes": list(self.codes),
        }


@dataclass(frozen=True, slots=True)
class PartResult:
    """How one scope of an answer ended: what was granted and its token (where the source hands
    one out), or the error that stopped that scope. ``scope`` is the scope as asked."""

    scope: str
    granted: str | None = None
    token: str | None = field(default=None, repr=False)
    error: AuthenticatorError | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None and self.granted is not None


@dataclass(frozen=True, slots=True)
class Grant:
    """What an approval produced. ``token`` only for local and pasted requests.

    ``results`` has one entry per part of the request (a bundle's scopes, in order): its granted
    scope and token, or why that scope got none; ``scope`` and ``token`` are the first granted
    part's (the only one for a request that is not a bundle).
    """

    request_id: str
    scope: str
    period: Period
    write: bool
    exp: int
    token: str | None = field(default=None, repr=False)
    results: tuple[PartResult, ...] = ()


@dataclass(frozen=True, slots=True)
class HemView:
    """A paired HEM as the lists show it (no key material)."""

    name: str
    label: str
    hostname: str
    user: str
    email: str
    source: Literal["broker", "direct"]
    paired_at: int
    last_used: int | None
    broker_url: str | None
    hem_url: str | None
    cert_sha256: str | None
    muted_until: int | None

    @classmethod
    def of(cls, rec: PairingRecord) -> HemView:
        return cls(
            name=rec.name,
            label=rec.label,
            hostname=rec.hostname,
            user=rec.user,
            email=rec.email,
            source=rec.source,
            paired_at=rec.paired_at,
            last_used=rec.last_used,
            broker_url=rec.broker_url,
            hem_url=rec.hem_url,
            cert_sha256=rec.cert_sha256,
            muted_until=rec.muted_until,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "label": self.label,
            "hostname": self.hostname,
            "user": self.user,
            "email": self.email,
            "source": self.source,
            "paired_at": self.paired_at,
            "last_used": self.last_used,
            "broker": self.broker_url,
            "url": self.hem_url,
            "certificate_sha256": self.cert_sha256,
            "muted_until": self.muted_until,
        }


@dataclass(frozen=True, slots=True)
class PairingPreview:
    """What the person sees before accepting a QR pairing; everything was checked already."""

    qr: QrPayload
    request: PairingRequest = field(repr=False)
    location: IpInfo
    broker_url: str
    suggested_name: str
    default_label: str

    @property
    def has_fingerprint(self) -> bool:
        """False for a bare-link QR code: nothing ties the code to the request served."""
        return self.qr.hash is not None


@dataclass(frozen=True, slots=True)
class DirectPreview:
    """A HEM reached directly, before the passphrase: its address, certificate and firmware."""

    url: str
    certificate: CertificateInfo | None
    trusted_by_system: bool
    hostname: str
    firmware: str

    @property
    def needs_pin(self) -> bool:
        """An https HEM whose certificate no authority vouches for: pin it after confirmation."""
        return self.certificate is not None and not self.trusted_by_system


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """How the broker poller is doing (the tray's "offline" state)."""

    online: bool
    message: str = ""
    retry_in: float = 0.0

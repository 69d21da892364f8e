"""The journal's vocabulary: every kind and outcome as an enum, one typed record per event kind.

Services never write free-form journal lines: they build one of the records below and hand it
to :class:`Recorder` (through ``Session.record``). Each record knows its kind, its HEM, its
outcome and the small scalar fields it carries — never a token, a key or a passphrase, because
none of the records has a field for one.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from authenticator.core.clock import Clock
from authenticator.core.model import AccessRequest, Outcome
from authenticator.errors import StoreError
from authenticator.store.journal import Journal

if TYPE_CHECKING:
    from authenticator.protocol.periods import Period

__all__ = [
    "KINDS",
    "AppEvent",
    "FieldValue",
    "HemClockNote",
    "JournalRecord",
    "Kind",
    "Line",
    "PairFailed",
    "PairOutcome",
    "PairRefused",
    "Paired",
    "Recorder",
    "RejectReason",
    "Renamed",
    "RequestApproved",
    "RequestEnded",
    "RequestGone",
    "RequestRejected",
    "RequestShown",
    "RuleRecord",
    "SettingChanged",
    "TokenIssued",
    "UnpairOutcome",
    "UnpairRecord",
]

log = logging.getLogger(__name__)

FieldValue = str | int | bool | None


class Kind(enum.StrEnum):
    PAIRED = "pair.paired"
    PAIR_REFUSED = "pair.refused"
    PAIR_FAILED = "pair.failed"
    SHOWN = "request.shown"
    APPROVED = "request.approved"
    DENIED = "request.denied"
    REPORTED = "request.reported"
    EXPIRED = "request.expired"
    CANCELLED = "request.cancelled"
    HANDLED_ELSEWHERE = "request.handled_elsewhere"
    REJECTED = "request.rejected"
    WITHDRAWN = "request.withdrawn"
    FAILED = "request.failed"
    TOKEN_ISSUED = "token.issued"  # noqa: S105 - a journal kind, not a secret
    RULE_ADDED = "remember.added"
    RULE_FORGOTTEN = "remember.forgotten"
    UNPAIRED = "unpair.done"
    UNPAIRED_LOCAL = "unpair.local"
    UNPAIR_FAILED = "unpair.failed"
    RENAMED = "hem.renamed"
    HEM_CLOCK = "hem.clock"
    LOCKED = "app.locked"
    UNLOCKED = "app.unlocked"
    STORE_CREATED = "app.store_created"
    PROTECTION_CHANGED = "app.protection_changed"
    SETTINGS_CHANGED = "settings.changed"


KINDS = tuple(k.value for k in Kind)

# How a request ended → the journal kind that says so.
_ENDED_KIND: dict[Outcome, Kind] = {
    Outcome.APPROVED: Kind.APPROVED,
    Outcome.DENIED: Kind.DENIED,
    Outcome.REPORTED: Kind.REPORTED,
    Outcome.EXPIRED: Kind.EXPIRED,
    Outcome.CANCELLED: Kind.CANCELLED,
    Outcome.HANDLED_ELSEWHERE: Kind.HANDLED_ELSEWHERE,
    Outcome.REJECTED: Kind.REJECTED,
    Outcome.WITHDRAWN: Kind.WITHDRAWN,
    Outcome.FAILED: Kind.FAILED,
    Outcome.LOCKED: Kind.WITHDRAWN,
}


class PairOutcome(enum.StrEnum):
    PAIRED = "paired"
    REFUSED = "refused"
    EXPIRED = "expired"
    UNAUTHORIZED = "unauthorized"
    FAILED = "failed"


class UnpairOutcome(enum.StrEnum):
    UNPAIRED = "unpaired"
    FORGOTTEN = "forgotten"
    KEPT = "kept"


class RejectReason(enum.StrEnum):
    """Why a request was never shown."""

    TAMPERED = "tampered"
    REPLAYED = "replayed"
    UNKNOWN_SCOPE = "unknown_scope"
    SCOPE_MISMATCH = "scope_mismatch"


@dataclass(frozen=True, slots=True)
class Line:
    """What one record becomes in the journal."""

    kind: Kind
    text: str
    hem: str | None = None
    outcome: str | None = None
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


class JournalRecord:
    """Base of the typed records; each turns itself into one journal :class:`Line`."""

    __slots__ = ()

    def line(self) -> Line:
        raise NotImplementedError


def _request_fields(request: AccessRequest) -> dict[str, FieldValue]:
    return {
        "request": request.id,
        "source": request.source,
        "scope": request.scope,
        "title": request.title,
    }


_APP_KINDS = frozenset({Kind.STORE_CREATED, Kind.UNLOCKED, Kind.LOCKED, Kind.PROTECTION_CHANGED})
_UNPAIR_KINDS = frozenset({Kind.UNPAIRED, Kind.UNPAIRED_LOCAL, Kind.UNPAIR_FAILED})
_RULE_KINDS = frozenset({Kind.RULE_ADDED, Kind.RULE_FORGOTTEN})


@dataclass(frozen=True, slots=True)
class AppEvent(JournalRecord):
    """The store was created or unlocked, the app locked, the protection changed."""

    kind: Kind
    text: str
    protection: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _APP_KINDS:
            raise ValueError(f"{self.kind} is not an app event")

    def line(self) -> Line:
        details = {"protection": self.protection} if self.protection else {}
        return Line(self.kind, self.text, fields=details)


@dataclass(frozen=True, slots=True)
class SettingChanged(JournalRecord):
    setting: str
    value: FieldValue

    def line(self) -> Line:
        return Line(
            Kind.SETTINGS_CHANGED,
            f"{self.setting} set to {self.value}.",
            fields={"setting": self.setting, "value": self.value},
        )


@dataclass(frozen=True, slots=True)
class Renamed(JournalRecord):
    old: str
    new: str

    def line(self) -> Line:
        return Line(Kind.RENAMED, f"{self.old} renamed to {self.new}.", hem=self.new)


@dataclass(frozen=True, slots=True)
class HemClockNote(JournalRecord):
    """What the owner should know about a HEM's clock (a check-in failed, or did more)."""

    hem: str
    text: str

    def line(self) -> Line:
        return Line(Kind.HEM_CLOCK, self.text, self.hem)


@dataclass(frozen=True, slots=True)
class Paired(JournalRecord):
    hem: str
    text: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def line(self) -> Line:
        return Line(Kind.PAIRED, self.text, self.hem, PairOutcome.PAIRED, self.details)


@dataclass(frozen=True, slots=True)
class PairFailed(JournalRecord):
    hem: str | None
    outcome: PairOutcome
    text: str
    error: str | None = None

    def line(self) -> Line:
        details = {"error": self.error} if self.error else {}
        return Line(Kind.PAIR_FAILED, self.text, self.hem, self.outcome, details)


@dataclass(frozen=True, slots=True)
class PairRefused(JournalRecord):
    hem: str | None
    text: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def line(self) -> Line:
        return Line(Kind.PAIR_REFUSED, self.text, self.hem, PairOutcome.REFUSED, self.details)


@dataclass(frozen=True, slots=True)
class RequestShown(JournalRecord):
    request: AccessRequest
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def line(self) -> Line:
        req = self.request
        fields = {**_request_fields(req), "expires_at": req.expires_at, **self.details}
        return Line(Kind.SHOWN, req.text, req.hem, None, fields)


@dataclass(frozen=True, slots=True)
class RequestEnded(JournalRecord):
    """A shown request left the inbox without an approval (denied, expired, withdrawn…)."""

    request: AccessRequest
    outcome: Outcome
    text: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def line(self) -> Line:
        fields = {**_request_fields(self.request), **self.details}
        return Line(_ENDED_KIND[self.outcome], self.text, self.request.hem, self.outcome, fields)


@dataclass(frozen=True, slots=True)
class RequestGone(JournalRecord):
    """A request that ended before it could be shown (cancelled, expired, muted…)."""

    hem: str
    outcome: Outcome
    text: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def line(self) -> Line:
        return Line(_ENDED_KIND[self.outcome], self.text, self.hem, self.outcome, self.details)


@dataclass(frozen=True, slots=True)
class RequestRejected(JournalRecord):
    """A request that was never shown: tampered, replayed, unknown, or not as asked."""

    hem: str
    reason: RejectReason
    text: str
    source: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def line(self) -> Line:
        fields = {"reason": self.reason.value, "source": self.source, **self.details}
        return Line(Kind.REJECTED, self.text, self.hem, Outcome.REJECTED, fields)


@dataclass(frozen=True, slots=True)
class RequestApproved(JournalRecord):
    request: AccessRequest
    text: str
    granted: str
    period: Period
    write: bool
    until: int

    def line(self) -> Line:
        req = self.request
        fields = {
            **_request_fields(req),
            "granted": self.granted,
            "period": self.period.flag,
            "write": self.write,
            "until": self.until,
            "requester": req.requester,
        }
        return Line(Kind.APPROVED, self.text, req.hem, Outcome.APPROVED, fields)


@dataclass(frozen=True, slots=True)
class TokenIssued(JournalRecord):
    """A token went to a local program (after an approval, or remembered without asking)."""

    hem: str
    text: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def line(self) -> Line:
        return Line(Kind.TOKEN_ISSUED, self.text, self.hem, "issued", self.details)


@dataclass(frozen=True, slots=True)
class RuleRecord(JournalRecord):
    """The owner asked not to be asked again (or to renew without asking) for a program, or
    forgot such a rule (locking forgets them all, journalled as the lock)."""

    kind: Kind
    hem: str
    text: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _RULE_KINDS:
            raise ValueError(f"{self.kind} is not a remembered-rule event")

    def line(self) -> Line:
        return Line(self.kind, self.text, self.hem, None, self.details)


@dataclass(frozen=True, slots=True)
class UnpairRecord(JournalRecord):
    kind: Kind
    hem: str
    outcome: UnpairOutcome
    text: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _UNPAIR_KINDS:
            raise ValueError(f"{self.kind} is not an unpair event")

    def line(self) -> Line:
        return Line(self.kind, self.text, self.hem, self.outcome, self.details)


class Recorder:
    """Writes journal entries stamped by the clock; a failure to record is logged, never fatal
    to the action that was already done (the person must not see an approval "fail" because
    the disk is full after the HEM granted it)."""

    def __init__(self, journal: Journal, clock: Clock, on_change: Callable[[], None]) -> None:
        self.journal = journal
        self._clock = clock
        self._on_change = on_change

    def __call__(self, record: JournalRecord) -> None:
        line = record.line()
        try:
            self.journal.append(
                line.kind.value,
                ts=self._clock.now(),
                hem=line.hem,
                outcome=None if line.outcome is None else str(line.outcome),
                text=line.text[:500],
                fields=dict(line.fields),
            )
        except StoreError as exc:
            log.warning("could not record %s in the journal: %s", line.kind.value, exc)
            return
        self._on_change()

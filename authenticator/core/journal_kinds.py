"""The journal's vocabulary and the one place that writes entries.

Every kind the app records, and :class:`Recorder`, which stamps the time, never writes a secret
(tokens, keys and passphrases are not fields here), and tells the listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from authenticator.core.clock import Clock
from authenticator.errors import StoreError
from authenticator.store.journal import Journal

__all__ = ["KINDS", "Kind", "Recorder"]

log = logging.getLogger(__name__)

FieldValue = str | int | bool | None


class Kind:
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
    UNPAIRED = "unpair.done"
    UNPAIRED_LOCAL = "unpair.local"
    UNPAIR_FAILED = "unpair.failed"
    RENAMED = "hem.renamed"
    LOCKED = "app.locked"
    UNLOCKED = "app.unlocked"
    STORE_CREATED = "app.store_created"
    PROTECTION_CHANGED = "app.protection_changed"
    SETTINGS_CHANGED = "settings.changed"


KINDS = tuple(v for k, v in vars(Kind).items() if k.isupper())


class Recorder:
    """Writes journal entries stamped by the clock; a failure to record is logged, never fatal
    to the action that was already done (the person must not see an approval "fail" because
    the disk is full after the HEM granted it)."""

    def __init__(self, journal: Journal, clock: Clock, on_change: Callable[[], None]) -> None:
        self.journal = journal
        self._clock = clock
        self._on_change = on_change

    def __call__(
        self,
        kind: str,
        *,
        hem: str | None = None,
        outcome: str | None = None,
        text: str = "",
        **fields: FieldValue,
    ) -> None:
        try:
            self.journal.append(
                kind, ts=self._clock.now(), hem=hem, outcome=outcome, text=text[:500], fields=fields
            )
        except StoreError as exc:
            log.warning("could not record %s in the journal: %s", kind, exc)
            return
        self._on_change()

"""The intake: where every new request, whatever its source, is let in or turned away.

Each source checks what it received (expiry, the scope tag, replays, the catalogue, mutes) and
says what to do as a *verdict*; :meth:`Intake.apply` is the one function that carries a verdict
out — remember it in the handled memory, refuse it at its peer, journal it, show it, or raise the
error the asker should see. Nothing else puts a request in the inbox.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authenticator.core.codes import code_from_note, offer
from authenticator.core.inbox import Entry, Inbox
from authenticator.core.journal_kinds import FieldValue, JournalRecord, RequestShown
from authenticator.core.keynames import KeyCheck
from authenticator.core.pairings import hem_url_of, pinned_cert_of
from authenticator.core.routes import Route, jti_key
from authenticator.core.session import Session
from authenticator.errors import AuthenticatorError
from authenticator.protocol.scopes import ScopeInfo
from authenticator.store.records import PairingRecord

__all__ = ["Intake", "Show", "TurnAway", "Verdict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Show:
    """Let the request in: put it in the inbox (listeners are told) and journal that it was shown.

    ``journal`` is false when it was journalled already (the same broker event listed again);
    ``remember`` names handled-memory keys to write once it is shown. ``code``: the code the
    requester shows, when the owner must match it (a local program's, see core/codes.py);
    without one, a requester's note stating ``code:NN`` asks for matching unless the setting
    ``code_matching`` is off.
    """

    entry: Entry
    details: Mapping[str, FieldValue] = field(default_factory=dict)
    journal: bool = True
    remember: tuple[str, ...] = ()
    code: int | None = None


@dataclass(frozen=True, slots=True)
class TurnAway:
    """Keep the request out: remember it, refuse it at its peer when ``refuse`` names a route,
    journal ``record``, tell the owner ``notice`` (when they should know at once), and raise
    ``error`` to the asker when there is one."""

    record: JournalRecord
    remember: tuple[str, ...] = ()
    refuse: Route | None = None
    error: AuthenticatorError | None = None
    notice: str | None = None


Verdict = Show | TurnAway


class Intake:
    """Applies verdicts; also answers "was this HEM request offered before?"."""

    def __init__(self, session: Session, inbox: Inbox) -> None:
        self._s = session
        self._inbox = inbox

    def remember(self, *keys: str) -> None:
        if keys:
            self._s.handled.add_all(keys, self._s.clock.now())

    def offered_before(self, jti: str) -> bool:
        """Whether the HEM request ``jti`` was answered already, or is pending under another id."""
        key = jti_key(jti)
        if key in self._s.handled:
            return True
        return any(jti_key(e.route.jti) == key for e in self._inbox.entries())

    def pending_with_jti(self, jti: str) -> Entry | None:
        key = jti_key(jti)
        return next((e for e in self._inbox.entries() if jti_key(e.route.jti) == key), None)

    def check_key(self, rec: PairingRecord, info: ScopeInfo) -> KeyCheck:
        """For a key-use request: what the HEM itself calls the key, when the app can learn it
        (see :mod:`authenticator.core.keynames`)."""

        def fetch(token: str) -> Mapping[str, Any]:
            with self._s.net.hem(hem_url_of(rec), pinned_cert=pinned_cert_of(rec)) as hem:
                return hem.keymgmt_list(token)

        return self._s.key_names.check(rec.name, info, now=self._s.now(), fetch=fetch)

    def _offer_codes(self, show: Show) -> None:
        """Code matching: the requester's code among two decoys, on the request; the right one
        stays on the entry (the prompt never marks it)."""
        entry = show.entry
        code = show.code
        if code is None and self._s.settings.code_matching != "off":
            note = entry.request.note
            code = code_from_note(note.text if note is not None else None)
        if code is None:
            return
        entry.code = code
        entry.request = dataclasses.replace(entry.request, codes=offer(code))

    def apply(self, verdict: Verdict) -> Entry | None:
        """Carry ``verdict`` out. Returns the entry shown (``None`` when the same id is already
        pending, or the request was turned away without an error to raise)."""
        if isinstance(verdict, Show):
            self._offer_codes(verdict)
            if not self._inbox.add(verdict.entry):
                return None
            if verdict.journal:
                self._s.record(RequestShown(verdict.entry.request, verdict.details))
            self.remember(*verdict.remember)
            return verdict.entry
        self.remember(*verdict.remember)
        if verdict.refuse is not None:
            note = verdict.refuse.refuse(self._s.net)
            if note:
                log.info("could not refuse a request nobody saw%s", note)
        self._s.record(verdict.record)
        if verdict.notice:
            self._s.hub.notice(verdict.notice)
        if verdict.error is not None:
            raise verdict.error
        return None

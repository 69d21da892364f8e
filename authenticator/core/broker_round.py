"""The broker round: bring broker events into the inbox, notice the ones that went away.

One round makes one ``allbypid`` call per broker for all its pairings; each new event is fetched
once and checked — expiry first, then the scope tag, replays, the scope catalogue, mutes — and
the verdict goes to the intake. A tampered or unknown request is never shown and never answered
(the requester simply times out) and is journalled; an event that expired before it could be
shown, or comes from a muted HEM, is refused at the broker. Events that leave the listing
(answered elsewhere, withdrawn, expired) leave the inbox with the reason the broker gives.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

from authenticator.core.answers import Answers, gone_outcome
from authenticator.core.inbox import Entry, Inbox
from authenticator.core.intake import Intake, Show, TurnAway, Verdict
from authenticator.core.journal_kinds import (
    FieldValue,
    RejectReason,
    RequestGone,
    RequestRejected,
)
from authenticator.core.model import AccessRequest, Outcome
from authenticator.core.pairings import keys_of
from authenticator.core.routes import BrokerRoute, jti_key
from authenticator.core.session import Session
from authenticator.errors import (
    Cancelled,
    DecodeError,
    ExpiredError,
    HandledElsewhere,
    IntegrityError,
    NetError,
    NotFound,
)
from authenticator.protocol.access import open_event
from authenticator.protocol.b64 import b64decode
from authenticator.protocol.scopes import describe
from authenticator.store.records import PairingRecord

__all__ = ["BrokerRound"]

log = logging.getLogger(__name__)


def _same_pid(a: str, b: str) -> bool:
    try:
        return b64decode(a, what="pid") == b64decode(b, what="pid")
    except DecodeError:
        return a == b


def _key(prefix: str, origin: str, event_id: str) -> str:
    return f"{prefix}|{origin}|{event_id}"


class BrokerRound:
    """One round with every broker that has pairings (:meth:`run`)."""

    def __init__(self, session: Session, inbox: Inbox, intake: Intake, answers: Answers) -> None:
        self._s = session
        self._inbox = inbox
        self._intake = intake
        self._answers = answers
        self._lock = threading.Lock()

    def run(self) -> None:
        """Raises the first network error after trying every broker (the poller backs off)."""
        with self._lock:
            by_broker: dict[str, list[PairingRecord]] = defaultdict(list)
            for rec in self._s.pairings():
                if rec.broker_url:
                    by_broker[rec.broker_url].append(rec)
            first_error: NetError | None = None
            for origin, recs in by_broker.items():
                try:
                    self._one_broker(origin, recs)
                except NetError as exc:
                    log.info("broker %s: %s", origin, exc.code)
                    first_error = first_error or exc
            if first_error is not None:
                raise first_error

    def count_waiting(self) -> int:
        """While locked: how many broker events wait, from the poll list alone (no keys)."""
        waiting = 0
        first_error: NetError | None = None
        for origin, pids in self._s.poll_list.load().items():
            if not pids:
                continue
            try:
                listing = self._s.net.broker(origin).allbypid(pids)
            except NetError as exc:
                first_error = first_error or exc
                continue
            waiting += sum(
                1 for event_id in listing if _key("done", origin, event_id) not in self._s.handled
            )
        if first_error is not None and not waiting:
            raise first_error
        return waiting

    def _one_broker(self, origin: str, recs: list[PairingRecord]) -> None:
        listing = self._s.net.broker(origin).allbypid([r.pid for r in recs])
        listed: set[str] = set()
        for event_id, pid in listing.items():
            rec = next((r for r in recs if _same_pid(r.pid, pid)), None)
            if rec is None:
                continue
            listed.add(event_id)
            if event_id in self._inbox or _key("done", origin, event_id) in self._s.handled:
                continue
            self._intake.apply(self._check(origin, rec, event_id))
        for entry in self._inbox.entries():
            if (
                not entry.claimed
                and entry.route.listed_by(origin)
                and entry.request.id not in listed
            ):
                self._answers.resolve_vanished(entry)

    def _check(self, origin: str, rec: PairingRecord, event_id: str) -> Verdict:
        """Fetch one new event and say what to do with it."""
        done = _key("done", origin, event_id)
        base: dict[str, FieldValue] = {"request": event_id, "source": "broker"}
        try:
            event = self._s.net.broker(origin).get_event(event_id, rec.pid)
        except (NotFound, Cancelled, HandledElsewhere) as exc:
            return TurnAway(RequestGone(rec.name, gone_outcome(exc), str(exc), base), (done,))
        route = BrokerRoute(origin, event, rec.pid)
        now = self._s.clock.now()
        if now > event.exp:
            text = "The request expired before it could be shown; it was refused."
            return TurnAway(
                RequestGone(rec.name, Outcome.EXPIRED, text, base),
                (done, jti_key(event.jti)),
                refuse=route,
            )
        try:
            scope = open_event(event, keys_of(rec), now=now)
        except (IntegrityError, DecodeError, ExpiredError):
            text = (
                "A request failed its integrity check (altered, or not from this HEM); it was "
                "not shown and not answered, so it will time out."
            )
            return TurnAway(
                RequestRejected(rec.name, RejectReason.TAMPERED, text, "broker", base), (done,)
            )
        if self._intake.offered_before(event.jti):
            text = (
                "A request the HEM made once was offered again under another id; it was not "
                "shown and not answered."
            )
            return TurnAway(
                RequestRejected(rec.name, RejectReason.REPLAYED, text, "broker", base), (done,)
            )
        info = describe(scope)
        if not info.known:
            # Never approvable, but answered: the requester is not left waiting an hour.
            text = f"Refused a request this app does not understand: {info.phrase_for(rec.name)}."
            details = {**base, "scope": info.title}
            return TurnAway(
                RequestRejected(rec.name, RejectReason.UNKNOWN_SCOPE, text, "broker", details),
                (done, jti_key(event.jti)),
                refuse=route,
                notice=text,
            )
        if rec.muted_until is not None and now < rec.muted_until:
            text = f"Denied automatically: requests from {rec.name} are muted."
            details = {**base, "scope": scope, "muted": True}
            return TurnAway(
                RequestGone(rec.name, Outcome.DENIED, text, details),
                (done, jti_key(event.jti)),
                refuse=route,
            )
        key = self._intake.check_key(rec, info)
        request = AccessRequest(
            id=event_id,
            hem=rec.name,
            hem_hostname=rec.hostname,
            source="broker",
            scope=scope,
            info=info,
            created=now,
            expires_at=event.exp,
            location=event.ipinfo,
            note=event.note,
            key_name=key.label,
            warnings=key.warnings,
        )
        # Journalled once per event, however many times it is listed (or CLI runs list it).
        shown = _key("shown", origin, event_id)
        first = shown not in self._s.handled
        return Show(
            Entry(request, route),
            {"location": event.ipinfo.describe()},
            journal=first,
            remember=(shown,) if first else (),
        )

"""Answers: approve, deny, expire and withdraw the requests in the inbox.

Every answer goes back the way its request came — the request's route knows how
(:mod:`authenticator.core.routes`). An answer that could not be delivered because the network
failed leaves the request pending, so nothing is lost; a peer that says the request is over
(cancelled, answered elsewhere, expired) ends it with that reason.
"""

from __future__ import annotations

import logging
from typing import NoReturn

from authenticator.core.codes import CodeRequiredError, WrongCodeError, same_code
from authenticator.core.grants import How
from authenticator.core.inbox import Entry, Inbox
from authenticator.core.intake import Intake
from authenticator.core.journal_kinds import Kind, RequestApproved, RequestEnded, RuleRecord
from authenticator.core.model import AccessRequest, Grant, Outcome, PartResult, why_not
from authenticator.core.remember import program_key
from authenticator.core.routes import jti_key
from authenticator.core.session import Session
from authenticator.errors import (
    AuthenticatorError,
    Cancelled,
    ExpiredError,
    HandledElsewhere,
    LockedError,
    NetError,
    NoSuchHemError,
    NotFound,
    ProgramChangedError,
    ServerError,
    StateError,
    Unavailable,
)
from authenticator.protocol.access import granted_scope
from authenticator.protocol.periods import Period

__all__ = ["Answers", "gone_outcome"]

log = logging.getLogger(__name__)


def gone_outcome(exc: AuthenticatorError) -> Outcome:
    """How a request ended when its peer says it is over."""
    if isinstance(exc, Cancelled):
        return Outcome.CANCELLED
    if isinstance(exc, HandledElsewhere):
        return Outcome.HANDLED_ELSEWHERE
    return Outcome.EXPIRED


def _retryable(exc: AuthenticatorError) -> bool:
    """Network trouble (no answer, 5xx) keeps the request; a refusal ends it."""
    if isinstance(exc, Unavailable):
        return True
    return isinstance(exc, NetError) and not isinstance(exc, ServerError)


def _expired_text(req: AccessRequest) -> str:
    return f"Expired unanswered: {req.phrase}."


class Answers:
    """The answering side of the request inbox."""

    def __init__(self, session: Session, inbox: Inbox, intake: Intake) -> None:
        self._s = session
        self._inbox = inbox
        self._intake = intake

    def finish(
        self, entry: Entry, outcome: Outcome, message: str, **details: str | int | bool | None
    ) -> None:
        """Take a request out, remember it was handled, journal it, tell a waiting program."""
        req = entry.request
        # Remembered and journalled before anyone is told, so whoever reacts finds it recorded.
        self._intake.remember(entry.route.done_key(), jti_key(entry.route.jti))
        self._s.record(RequestEnded(req, outcome, message, details))
        self._inbox.remove(req.id, outcome, message)
        entry.decision.settle(outcome, message)

    # ------------------------------------------------------------------ no answer

    def expire_due(self) -> list[str]:
        """Close every request whose time is up; returns their ids."""
        expired = self._inbox.due(self._s.clock.now())
        for rid in expired:
            try:
                entry = self._inbox.claim(rid)
            except AuthenticatorError:
                continue  # answered meanwhile
            self.finish(entry, Outcome.EXPIRED, _expired_text(entry.request))
        return expired

    def withdraw(self, request_id: str, message: str | None = None) -> None:
        """The asker went away: its request leaves the inbox unanswered."""
        try:
            entry = self._inbox.claim(request_id)
        except AuthenticatorError:
            return
        self.finish(entry, Outcome.WITHDRAWN, message or entry.route.withdrawn())

    def resolve_vanished(self, entry: Entry) -> None:
        """A shown request left its peer's listing: find out why, and close it accordingly."""
        gone = entry.route.ask_why_gone(self._s.net)
        if gone is not None:
            self.finish(entry, gone_outcome(gone), str(gone))

    # ------------------------------------------------------------------ approve

    def approve(
        self,
        request_id: str,
        period: Period = Period.MIN15,
        write: bool = False,
        *,
        remember: bool = False,
        renew: bool = False,
        code: int | None = None,
        write_scopes: frozenset[str] | None = None,
    ) -> Grant:
        """Grant a request for ``period`` (with write access where it applies).

        Returns the :class:`Grant`; for a local or pasted request it carries the bearer token(s).
        ``remember`` (local programs, when the setting allows it): don't ask this program again
        for these scopes until the token expires. ``renew`` (local programs): renew without
        asking until the app locks (core/remember.py). ``code``: the code the owner picked when
        the request has code matching (``request.codes``) — none raises ``CodeRequiredError``
        and the request stays; a wrong one denies it, journals it as suspicious and raises
        ``WrongCodeError``. ``write_scopes``: the parts of a bundle that get write access
        (default: ``write`` applies to every part where it is possible).
        """
        if self._s.locked:
            raise LockedError()
        entry = self._inbox.claim(request_id)
        if entry.code is not None:
            if code is None:
                self._inbox.release(request_id)
                raise CodeRequiredError()
            if not same_code(code, entry.code):
                self._wrong_code(entry, code)
        program = entry.request.program
        if program is not None:
            try:  # approve only the process that asked, as it asked
                program.check_unchanged()
            except ProgramChangedError as exc:
                self.finish(entry, Outcome.WITHDRAWN, str(exc))
                raise
        grant = self.grant(entry, period, write, write_scopes=write_scopes)
        if remember or renew:
            self._remember(entry.request, grant, remember=remember, renew=renew)
        return grant

    def _wrong_code(self, entry: Entry, picked: int) -> NoReturn:
        """The owner picked a code the requester does not show: deny, journal as suspicious."""
        req = entry.request
        note = entry.route.refuse(self._s.net)
        self.finish(
            entry,
            Outcome.DENIED,
            f"Denied as suspicious: the code picked ({picked:02d}) is not the one the requester "
            f"shows, so this was not the request the owner expected: {req.phrase}{note}.",
            suspicious=True,
            reason="wrong_code",
            picked=picked,
        )
        raise WrongCodeError()

    def _remember(self, req: AccessRequest, grant: Grant, *, remember: bool, renew: bool) -> None:
        """Keep the rules the owner ticked for a local program (never for a code-matched
        request: its program is never served without the owner matching the code)."""
        program = req.program
        if program is None or req.codes:
            return
        now = self._s.clock.now()
        added: list[str] = []
        for part, result in zip(req.parts, grant.results, strict=False):
            if not result.ok or result.granted is None:
                continue
            write = ":rw" in result.granted
            if remember and self._s.settings.agent_remember_program:
                refusal = self._s.remembered.add(
                    program, req.hem, part.scope, exp=grant.exp, write=write, now=now
                )
                if refusal is None:
                    added.append(f"don't ask again for {part.title.lower()}")
            if renew:
                refusal = self._s.remembered.add_renewal(
                    program, req.hem, part.scope, now=now, period=grant.period, write=write
                )
                if refusal is None:
                    added.append(f"renew {part.title.lower()} without asking")
        if added:
            self._s.record(
                RuleRecord(
                    Kind.RULE_ADDED,
                    req.hem,
                    f"For {program.name}: {'; '.join(added)} (until the app locks).",
                    {"program": program.name, "path": program.path, "script": program.script},
                )
            )

    def grant(
        self,
        entry: Entry,
        period: Period,
        write: bool,
        *,
        how: How = "clicked",
        write_scopes: frozenset[str] | None = None,
    ) -> Grant:
        """Answer ``entry`` with an approval (claimed from the inbox, or never put in it).

        Every part of a bundle is answered; a part that fails is reported in ``Grant.results``
        without hiding the others (the request fails as a whole only when no part got through).
        ``how`` is recorded with the access in use (clicked, remembered, renewed).
        """
        req, route = entry.request, entry.route
        try:
            if write and not req.write_possible:
                raise StateError("Write access cannot be granted for this request.")
            if write_scopes is not None and not write_scopes <= {
                p.scope for p in req.parts if p.write_possible
            }:
                raise StateError("Write access can only be granted to a drive.")
            now = self._s.clock.now()
            if now > req.expires_at:
                self.finish(entry, Outcome.EXPIRED, _expired_text(req))
                raise ExpiredError()
            rec = self._s.pairing(req.hem)
            writes = req.write_parts(write, write_scopes)
            granted = tuple(
                granted_scope(p.scope, write=w) for p, w in zip(req.parts, writes, strict=True)
            )
            base = route.grant_base(now)
            delivered = route.answer(self._s.net, rec, granted=granted, period=period, base=base)
        except (Cancelled, HandledElsewhere, NotFound) as exc:
            if isinstance(exc, HandledElsewhere) and entry.answer_may_have_arrived:
                exc = HandledElsewhere(
                    "The broker already has an answer for this request — most likely this "
                    "computer's own, sent just before the connection failed.",
                    status=exc.status,
                )
            self.finish(entry, gone_outcome(exc), str(exc))
            raise exc from None
        except (NetError, NoSuchHemError) as exc:
            if _retryable(exc):
                entry.answer_may_have_arrived = route.lost_answer_possible
                self._inbox.release(req.id)
            else:
                self.finish(entry, Outcome.FAILED, str(exc), error=exc.code)
            raise
        except ExpiredError:
            raise
        except AuthenticatorError:
            self._inbox.release(req.id)
            raise
        results = tuple(
            PartResult(p.scope, g if d.error is None else None, d.token, d.error)
            for p, g, d in zip(req.parts, granted, delivered, strict=True)
        )
        first = next(r for r in results if r.ok)
        exp = base + int(period)
        grant = Grant(req.id, first.granted or "", period, write, exp, first.token, results)
        for result in results:
            if result.ok and result.granted is not None:
                self._s.key_names.remember_token(rec.name, result.granted, result.token, exp)
        text = f"{req.grant_text(period, write, write_scopes)}: {req.phrase}."
        failed = [(p, r.error) for p, r in zip(req.parts, results, strict=True) if r.error]
        if failed:
            text += " Not granted: " + "; ".join(f"{p.title} ({why_not(e)})" for p, e in failed)
            text += "."
        self._intake.remember(route.done_key(), jti_key(route.jti))
        self._s.record(
            RequestApproved(
                req,
                text,
                granted=" ".join(r.granted for r in results if r.granted is not None),
                period=period,
                write=write,
                until=exp,
            )
        )
        self._s.grants.add(
            req,
            results,
            issued_at=now,
            exp=exp,
            how=how,
            holder=program_key(req.program) if req.program is not None else None,
        )
        self._inbox.remove(req.id, Outcome.APPROVED, text)
        entry.decision.settle(Outcome.APPROVED, text, grant=grant)
        self._s.touch(rec.name)
        return grant

    # ------------------------------------------------------------------ deny

    def deny(self, request_id: str, *, report: bool = False) -> None:
        """Refuse a request; ``report`` also records "I didn't ask for this" and mutes the HEM."""
        entry = self._inbox.claim(request_id)
        req = entry.request
        note = entry.route.refuse(self._s.net)
        what = req.phrase
        if not report:
            self.finish(entry, Outcome.DENIED, f"Denied: {what}{note}.")
            return
        minutes = self._s.settings.mute_minutes_after_report
        until = self._s.clock.now() + 60 * minutes
        message = (
            f"Denied and reported: {what}{note}. Requests from {req.hem} are muted for "
            f"{minutes} min."
        )
        self.finish(
            entry,
            Outcome.REPORTED,
            message,
            muted_until=until,
            location=req.location.describe(),
        )
        if minutes:
            try:
                self._s.update_pairing(req.hem, muted_until=until)
            except (LockedError, NoSuchHemError):
                log.info("could not mute %s", req.hem)
                return
            self._deny_muted(req.hem)

    def _deny_muted(self, hem: str) -> None:
        """A HEM was just muted: what else its requesters queued is refused too (a local
        program's own requests are not theirs, and stay)."""
        for entry in self._inbox.entries():
            if entry.request.hem != hem or not entry.route.mutable:
                continue
            try:
                claimed = self._inbox.claim(entry.request.id)
            except AuthenticatorError:
                continue  # being answered right now
            note = claimed.route.refuse(self._s.net)
            self.finish(
                claimed,
                Outcome.DENIED,
                f"Denied automatically: requests from {hem} are muted{note}.",
                muted=True,
            )

    # ------------------------------------------------------------------ locking

    def clear(self, outcome: Outcome, message: str) -> None:
        """Everything leaves the inbox (the app locks); waiting programs are told why."""
        for entry in self._inbox.clear(outcome, message):
            entry.decision.settle(outcome, message)

"""The direct path: requests the app itself asks a HEM for, and requests pasted or linked.

* A **local program** asks (through the agent or ``authenticator token``): the app makes its own
  ephemeral key, asks the HEM for an ``authreq`` (``/api/auth/ext/request``), verifies the HEM's
  signature (it holds the key), opens its own entry (scope tag), checks the HEM asked for exactly
  the scope the program wanted, and lets the request in. Approving redeems the ``authreply`` at
  ``/api/auth/ext/token``; the token goes back to the program.
* A **pasted** ``authreq`` (or an ``encedo-auth:authreq`` link) is opened the same way, except
  that its signature cannot be checked (someone else holds its key): the scope tag is what
  proves the HEM asked. Its answer goes only to the paired HEM's stored address: a link that
  names another address is refused, so an approval can never be sent to a stranger.
"""

from __future__ import annotations

import secrets
import string
from typing import NoReturn

from authenticator.core.hemclock import CheckinResult, anchorable, check_in, checkin_backend
from authenticator.core.inbox import Entry
from authenticator.core.intake import Intake, Show, TurnAway
from authenticator.core.journal_kinds import HemClockNote, RejectReason, RequestRejected
from authenticator.core.model import AccessRequest, Program
from authenticator.core.pairings import hem_url_of, keys_of, pinned_cert_of
from authenticator.core.routes import LocalRoute, PastedRoute, jti_key
from authenticator.core.session import Session
from authenticator.errors import (
    AlreadyAnsweredError,
    AuthenticatorError,
    BadResponseError,
    DecodeError,
    ExpiredError,
    IntegrityError,
    LockedError,
    NoSuchHemError,
    ProtocolError,
    StateError,
)
from authenticator.protocol.access import AuthReq, open_authreq
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.links import AuthreqLink, parse_link
from authenticator.protocol.outside import LIMITS, Origin, Outside, clean
from authenticator.protocol.pairing import QrPayload
from authenticator.protocol.periods import Period
from authenticator.protocol.scopes import describe, require_known
from authenticator.protocol.urls import origin_of
from authenticator.store.records import PairingRecord

__all__ = ["DirectPath", "Pasted", "new_request_id", "read_pasted"]

_ID_CHARS = string.ascii_uppercase + string.digits


def new_request_id(prefix: str) -> str:
    """``L7K2QX``-style ids for requests that have no broker event id."""
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(5))


def _clean_reason(reason: str | None) -> str | None:
    """A program's stated reason, as display text (its claim)."""
    return clean(reason, Origin.PROGRAM, limit=LIMITS.reason).text or None


def _program_warnings(program: Program | None) -> tuple[str, ...]:
    """What the app itself saw about the asking program that the owner must not miss."""
    if program is not None and program.remote:
        return (
            "This program was started from a remote (SSH) session, not at this computer's "
            "keyboard.",
        )
    return ()


def _clean_note(note: str | None) -> Outside | None:
    """A requester's note in a pasted request, as display text (not verified)."""
    text = clean(note, Origin.REQUESTER, limit=LIMITS.note)
    return text or None


class Pasted:
    """A pasted ``authreq``, with the HEM address its link named (if it came as a link)."""

    __slots__ = ("authreq", "link_url")

    def __init__(self, authreq: AuthReq, link_url: str | None = None) -> None:
        self.authreq = authreq
        self.link_url = link_url


def read_pasted(text: str) -> Pasted | QrPayload | str:
    """What pasted text is: an access request, or a pairing code (a link's payload or the text
    itself, for the pairing service to read)."""
    body = text.strip()
    if body.lower().startswith("encedo-auth:"):
        link = parse_link(body)
        if isinstance(link, AuthreqLink):
            return Pasted(link.authreq, link.hem_url)
        return link.qr
    if body.count(".") == 2 and not body.startswith(("{", "http")):
        return Pasted(AuthReq.parse(body))
    return body


class DirectPath:
    """Requests the app asks for itself, and pasted ones."""

    def __init__(self, session: Session, intake: Intake) -> None:
        self._s = session
        self._intake = intake

    def ask(
        self,
        scope: str,
        *,
        hem: str | None = None,
        period: Period = Period.MIN15,
        write: bool = False,
        program: Program | None = None,
        reason: str | None = None,
        quiet: bool = False,
    ) -> Entry:
        """Ask the HEM for an ``authreq`` for ``scope`` and let it in for the person to answer
        (``quiet``: build the request without showing or announcing it)."""
        if self._s.locked:
            raise LockedError()
        info = require_known(describe(scope))
        if write and not info.write_possible:
            raise StateError("Write access cannot be granted for this kind of request.")
        rec = self._s.pairing(hem)
        url, pinned = hem_url_of(rec), pinned_cert_of(rec)

        def ask_once() -> AuthReq:
            epk = KeyPair.generate(self._s.rng)
            with self._s.net.hem(url, pinned_cert=pinned) as client:
                text, _ = client.ext_request(epk.public.b64, scope)
            try:
                authreq = AuthReq.parse(text)
            except DecodeError as exc:
                raise BadResponseError("The HEM answered with a malformed access request.") from exc
            try:
                authreq.verify_signature(epk)
            except IntegrityError as exc:
                text = "The HEM's answer failed its integrity check; nothing was shown."
                self._turn_away(rec, RejectReason.TAMPERED, text, "local", exc, scope=scope)
            return authreq

        def heal() -> CheckinResult:
            backend = checkin_backend(rec.broker_url, self._s.settings.default_broker_url)
            with self._s.net.hem(url, pinned_cert=pinned) as client:
                return check_in(client, backend, post_checkin=self._s.net.post_checkin)

        asked = self._s.clock_keeper.ask(rec.name, ask_once, heal)
        if asked.note:
            self._s.record(HemClockNote(rec.name, asked.note))
        authreq, reading = asked.value, asked.reading
        now = self._s.clock.now()
        # The HEM's times (iat, exp) are on its clock: compare them on it, show them on ours.
        offset = reading.offset if anchorable(reading) else 0
        try:
            opened = open_authreq(authreq, keys_of(rec), now=now + offset)
        except IntegrityError as exc:
            text = "The HEM's answer failed its integrity check; nothing was shown."
            self._turn_away(rec, RejectReason.TAMPERED, text, "local", exc, scope=scope)
        except ExpiredError as exc:  # the HEM made (and signed) it just now: its clock is behind
            raise ExpiredError(
                f"{rec.name} made a request that had already expired by this computer's clock: "
                "the HEM's clock is behind. Let the Encedo Manager check it in (or check this "
                "computer's clock), then try again."
            ) from exc
        if opened != scope and not opened.startswith(scope + "#"):
            text = "The HEM sealed a different access than the one asked for."
            self._turn_away(
                rec, RejectReason.SCOPE_MISMATCH, text, "local", IntegrityError(text), scope=scope
            )
        info = describe(opened)
        key = self._intake.check_key(rec, info)
        request = AccessRequest(
            id=new_request_id("L"),
            hem=rec.name,
            hem_hostname=rec.hostname,
            source="local",
            scope=opened,
            info=info,
            created=now,
            expires_at=authreq.exp - offset,
            program=program,
            reason=_clean_reason(reason),
            key_name=key.label,
            warnings=(*key.warnings, *_program_warnings(program)),
            default_period=period,
            default_write=write,
        )
        entry = Entry(request, LocalRoute(authreq, reading))
        if not quiet:
            self._intake.apply(
                Show(
                    entry,
                    {
                        "program": program.describe() if program else None,
                        "path": program.path if program else None,
                        "reason": request.reason,
                    },
                )
            )
        return entry

    def open_pasted(self, pasted: Pasted) -> AccessRequest:
        """Open a pasted ``authreq`` (already parsed) and let it in."""
        if self._s.locked:
            raise LockedError()
        authreq = pasted.authreq
        rec = self._pairing_for(authreq)
        paired_at = origin_of(hem_url_of(rec))
        if pasted.link_url is not None and origin_of(pasted.link_url) != paired_at:
            named = clean(origin_of(pasted.link_url), Origin.LINK, limit=LIMITS.url).text
            raise StateError(
                f"This link asks for the answer to go to {named} (as the link states it), but "
                f"{rec.name} is paired at {paired_at}; it was refused so that an approval can "
                "never be sent to a stranger. If the HEM really moved, change its address in its "
                "settings first."
            )
        now = self._s.clock.now()
        try:
            scope = open_authreq(authreq, keys_of(rec), now=now)
        except IntegrityError as exc:
            text = "A pasted request failed its integrity check; it was not shown."
            self._turn_away(rec, RejectReason.TAMPERED, text, "link", exc)
        pending = self._intake.pending_with_jti(authreq.jti)
        if pending is not None:  # the same request pasted twice: show it once
            return pending.request
        if jti_key(authreq.jti) in self._s.handled:
            self._turn_away(
                rec,
                RejectReason.REPLAYED,
                "A pasted request was already answered; it was not shown again.",
                "link",
                AlreadyAnsweredError("This request was already answered; ask for a new one."),
            )
        info = require_known(describe(scope))
        key = self._intake.check_key(rec, info)
        request = AccessRequest(
            id=new_request_id("P"),
            hem=rec.name,
            hem_hostname=rec.hostname,
            source="link",
            scope=scope,
            info=info,
            created=now,
            expires_at=authreq.exp,
            note=_clean_note(authreq.note),
            key_name=key.label,
            warnings=key.warnings,
        )
        self._intake.apply(Show(Entry(request, PastedRoute(authreq))))
        return request

    def _turn_away(
        self,
        rec: PairingRecord,
        reason: RejectReason,
        text: str,
        source: str,
        error: AuthenticatorError,
        **details: str,
    ) -> NoReturn:
        """Journal a request that will not be shown and raise ``error`` to the asker."""
        self._intake.apply(TurnAway(RequestRejected(rec.name, reason, text, source, details)))
        raise error

    def _pairing_for(self, authreq: AuthReq) -> PairingRecord:
        candidates = [r for r in self._s.pairings() if keys_of(r).eid == authreq.eid]
        if not candidates:
            raise NoSuchHemError(
                "This request comes from a HEM that is not paired with this computer."
            )
        for rec in candidates:
            try:
                authreq.entry_for(keys_of(rec))
                return rec
            except ProtocolError:
                continue
        raise ProtocolError(
            "This request is not addressed to this computer (the HEM may have unpaired it)."
        )

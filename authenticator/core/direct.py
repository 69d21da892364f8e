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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NoReturn

from authenticator.core.bundles import MAX_SCOPES, BundleRoute
from authenticator.core.hemclock import CheckinResult, anchorable, check_in, checkin_backend
from authenticator.core.inbox import Entry
from authenticator.core.intake import Intake, Show, TurnAway
from authenticator.core.journal_kinds import (
    FieldValue,
    HemClockNote,
    RejectReason,
    RequestRejected,
)
from authenticator.core.model import AccessRequest, PartResult, Program, ScopePart, why_not
from authenticator.core.pairings import hem_url_of, keys_of, pinned_cert_of
from authenticator.core.routes import LocalRoute, PastedRoute, Route, jti_key
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
    UnknownScopeError,
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


def _shown_scope(scope: str) -> str:
    """A scope as a program wrote it, as display text (its claim: it may be anything)."""
    return clean(scope, Origin.PROGRAM, limit=LIMITS.scope).text


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One scope the HEM sealed as asked: its route, its words, and the key check's warnings."""

    route: LocalRoute
    part: ScopePart
    warnings: tuple[str, ...]
    created: int
    expires_at: int


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
        renews_until: int | None = None,
        code: int | None = None,
    ) -> Entry:
        """Ask the HEM for an ``authreq`` for ``scope`` and let it in for the person to answer
        (``quiet``: build the request without showing or announcing it)."""
        if self._s.locked:
            raise LockedError()
        info = require_known(describe(scope))
        if write and not info.write_possible:
            raise StateError("Write access cannot be granted for this kind of request.")
        rec = self._s.pairing(hem)
        fetched = self._fetch(rec, scope)
        request = self._request(
            rec,
            (fetched,),
            program=program,
            reason=reason,
            period=period,
            write=write,
            renews_until=renews_until,
            warnings=(),
        )
        entry = Entry(request, fetched.route)
        if not quiet:
            self._show(entry, code)
        return entry

    def ask_many(
        self,
        scopes: Sequence[str],
        *,
        hem: str | None = None,
        period: Period = Period.MIN15,
        write: bool = False,
        program: Program | None = None,
        reason: str | None = None,
        quiet: bool = False,
        renews_until: int | None = None,
        code: int | None = None,
    ) -> tuple[Entry | None, tuple[PartResult, ...]]:
        """Ask the HEM for one ``authreq`` per scope (each verified as :meth:`ask` does) and let
        them in as one request — a *bundle* when more than one got through.

        Returns the entry (``None`` when no scope could be asked for) and a result for each
        scope that failed (by the scope as asked): an unknown scope is refused without asking,
        a HEM that refuses or cannot be reached costs only that scope. ``write`` applies to
        the scopes where write access is possible. Raises only for the request as a whole
        (locked, no such HEM, too many scopes).
        """
        if self._s.locked:
            raise LockedError()
        asked = list(dict.fromkeys(scopes))  # the same scope twice is asked once
        if not asked:
            raise DecodeError("Name at least one scope.")
        if len(asked) > MAX_SCOPES:
            raise DecodeError(
                f"At most {MAX_SCOPES} scopes can be asked for at once ({len(asked)} were "
                "named); split them into several requests."
            )
        rec = self._s.pairing(hem)
        failed: dict[str, AuthenticatorError] = {}
        known = []
        for scope in asked:
            if describe(scope).known:
                known.append(scope)
            else:
                failed[scope] = UnknownScopeError()
        got: dict[str, _Fetched] = {}

        def fetch(scope: str) -> None:
            try:
                got[scope] = self._fetch(rec, scope)
            except AuthenticatorError as exc:
                failed[scope] = exc

        if known:
            # The first alone (it may check the HEM's clock in), then the rest at once.
            fetch(known[0])
            if len(known) > 1:
                with ThreadPoolExecutor(len(known) - 1, thread_name_prefix="ask") as pool:
                    list(pool.map(fetch, known[1:]))
        failures = tuple(
            PartResult(scope, error=failed[scope]) for scope in asked if scope in failed
        )
        fetched = tuple(got[scope] for scope in asked if scope in got)
        if not fetched:
            return None, failures
        warnings = tuple(
            f"Not asked for: {_shown_scope(r.scope)} — {why_not(r.error)}."
            for r in failures
            if r.error is not None
        )
        request = self._request(
            rec,
            fetched,
            program=program,
            reason=reason,
            period=period,
            write=write,
            renews_until=renews_until,
            warnings=warnings,
        )
        route: Route = (
            fetched[0].route if len(fetched) == 1 else BundleRoute(tuple(f.route for f in fetched))
        )
        entry = Entry(request, route)
        if not quiet:
            self._show(entry, code)
        return entry, failures

    def _fetch(self, rec: PairingRecord, scope: str) -> _Fetched:
        """One verified ``authreq`` of ``rec`` for ``scope`` (its signature, its scope tag, the
        scope it seals), with its route and the key check of a key-use scope."""
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
        return _Fetched(
            route=LocalRoute(authreq, reading),
            part=ScopePart(opened, info, key.label),
            warnings=key.warnings,
            created=now,
            expires_at=authreq.exp - offset,
        )

    def _request(
        self,
        rec: PairingRecord,
        fetched: tuple[_Fetched, ...],
        *,
        program: Program | None,
        reason: str | None,
        period: Period,
        write: bool,
        renews_until: int | None,
        warnings: tuple[str, ...],
    ) -> AccessRequest:
        first = fetched[0]
        return AccessRequest(
            id=new_request_id("L"),
            hem=rec.name,
            hem_hostname=rec.hostname,
            source="local",
            scope=first.part.scope,
            info=first.part.info,
            created=first.created,
            expires_at=min(f.expires_at for f in fetched),
            program=program,
            reason=_clean_reason(reason),
            key_name=first.part.key_name,
            warnings=(
                *(w for f in fetched for w in f.warnings),
                *warnings,
                *_program_warnings(program),
            ),
            default_period=period,
            default_write=write and any(f.part.write_possible for f in fetched),
            bundle=tuple(f.part for f in fetched) if len(fetched) > 1 else (),
            renews_until=renews_until,
        )

    def _show(self, entry: Entry, code: int | None) -> None:
        program, request = entry.request.program, entry.request
        details: dict[str, FieldValue] = {
            "program": program.describe() if program else None,
            "path": program.path if program else None,
            "reason": request.reason,
        }
        if request.is_bundle:
            details["scopes"] = " ".join(request.scopes)
        if request.is_renewal:
            details["renews_until"] = request.renews_until
        self._intake.apply(Show(entry, details, code=code))

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
        entry = Entry(request, PastedRoute(authreq))
        self._intake.apply(Show(entry))
        return entry.request  # as shown (code matching may have added its codes)

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

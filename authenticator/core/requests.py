"""Requests: bring broker events into the inbox, answer any request, expire the old ones.

The broker round (:meth:`Requests.sync`) makes one ``allbypid`` call per broker for all its
pairings; each new event is fetched once, checked — expiry first, then the scope tag, then the
scope catalogue — and only then shown. A tampered or unknown request is never shown and never
answered (the requester simply times out) and is journalled; an event that expired before it
could be shown is refused at the broker. Events that leave the listing (answered elsewhere,
withdrawn, expired) leave the inbox with the reason the broker gives.

Answers (:meth:`approve`, :meth:`deny`) go back the way the request came: broker POST/DELETE,
or the HEM's ``/api/auth/ext/token`` for the direct path. An answer that could not be delivered
because the network failed leaves the request pending, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import TYPE_CHECKING

from authenticator.core.inbox import BrokerRoute, DirectRoute, Entry
from authenticator.core.journal_kinds import Kind
from authenticator.core.model import AccessRequest, Grant, Outcome
from authenticator.errors import (
    AuthenticatorError,
    Cancelled,
    DecodeError,
    ExpiredError,
    HandledElsewhere,
    IntegrityError,
    LockedError,
    NetError,
    NoSuchHemError,
    NotFound,
    ServerError,
    StateError,
    Unavailable,
)
from authenticator.protocol.access import (
    allow_body,
    authreply_mac,
    build_authreply,
    granted_scope,
    open_event,
)
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.periods import Period
from authenticator.protocol.scopes import describe

if TYPE_CHECKING:
    from authenticator.core.app import Core
    from authenticator.net.broker import BrokerClient
    from authenticator.store.records import PairingRecord

__all__ = ["Requests"]

log = logging.getLogger(__name__)


def _refuse_quietly(broker: BrokerClient, event_id: str, pid: str, why: str) -> None:
    """Refuse at the broker a request the owner will never see; if that fails it times out."""
    try:
        broker.deny_event(event_id, pid)
    except NetError:
        log.info("could not refuse %s event %s", why, event_id)


def _same_pid(a: str, b: str) -> bool:
    try:
        return b64decode(a, what="pid") == b64decode(b, what="pid")
    except DecodeError:
        return a == b


class Requests:
    """The request side of the core (``core.requests``)."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._sync_lock = threading.Lock()
        self._poller: object | None = None

    # ------------------------------------------------------------------ helpers

    @property
    def _c(self) -> Core:
        return self._core

    def _done_key(self, request: AccessRequest, route: BrokerRoute | DirectRoute) -> str:
        if isinstance(route, BrokerRoute):
            return f"done|{route.broker_url}|{route.event.event_id}"
        return f"done|{request.source}|{route.authreq.jti}"

    @staticmethod
    def _event_key(prefix: str, origin: str, event_id: str) -> str:
        return f"{prefix}|{origin}|{event_id}"

    def _answered(self, request: AccessRequest, route: BrokerRoute | DirectRoute) -> None:
        """Remember that this request is done, by its id and by the HEM's request id (jti), so
        the same HEM request offered again under another event id is never shown again."""
        self._remember(self._done_key(request, route), jti_key(_route_jti(route)))

    def _offered_before(self, jti: str) -> bool:
        """Whether the HEM request ``jti`` was answered already, or is pending under another id."""
        key = jti_key(jti)
        if key in self._c.handled:
            return True
        for req in self._c.inbox.requests():
            try:
                route = self._c.inbox.entry(req.id).route
            except AuthenticatorError:
                continue
            if jti_key(_route_jti(route)) == key:
                return True
        return False

    def _remember(self, *keys: str) -> None:
        self._c.handled.add_all(keys, self._c.clock.now())

    def _finish(
        self,
        entry: Entry,
        outcome: Outcome,
        kind: str,
        message: str,
        **fields: str | int | bool | None,
    ) -> None:
        """Take a request out, remember it was handled, journal it, tell a waiting program."""
        req = entry.request
        self._c.inbox.remove(req.id, outcome, message)
        self._answered(req, entry.route)
        self._c.record(
            kind,
            hem=req.hem,
            outcome=outcome.value,
            text=message,
            request=req.id,
            source=req.source,
            scope=req.scope,
            title=req.title,
            **fields,
        )
        if entry.decision is not None:
            entry.decision.settle(outcome, message)

    def show(self, entry: Entry, *, journal: bool = True, **fields: str | int | None) -> bool:
        """Put a checked request in the inbox (listeners are told) and journal that it was shown.

        ``False`` (and nothing happens) when the same id is already pending.
        """
        if not self._c.inbox.add(entry):
            return False
        req = entry.request
        if journal:
            self._c.record(
                Kind.SHOWN,
                hem=req.hem,
                outcome=None,
                text=req.text,
                request=req.id,
                source=req.source,
                scope=req.scope,
                title=req.title,
                expires_at=req.expires_at,
                **fields,
            )
        return True

    def reject(
        self,
        hem: str,
        *,
        reason: str,
        text: str,
        source: str,
        **fields: str | int | None,
    ) -> None:
        """Journal a request that was never shown: tampered, unknown scope, or not as asked."""
        self._c.record(
            Kind.REJECTED,
            hem=hem,
            outcome=Outcome.REJECTED.value,
            text=text,
            reason=reason,
            source=source,
            **fields,
        )

    # ------------------------------------------------------------------ the broker round

    def sync(self) -> None:
        """One round with every broker that has pairings; raises the first network error after
        trying them all (the poller backs off on it)."""
        with self._sync_lock:
            vault = self._c.vault
            by_broker: dict[str, list[PairingRecord]] = defaultdict(list)
            for rec in vault.pairings:
                if rec.broker_url:
                    by_broker[rec.broker_url].append(rec)
            first_error: NetError | None = None
            for origin, recs in by_broker.items():
                try:
                    self._sync_broker(origin, recs)
                except NetError as exc:
                    log.info("broker %s: %s", origin, exc.code)
                    first_error = first_error or exc
            self.expire_due()
            if first_error is not None:
                raise first_error

    def _sync_broker(self, origin: str, recs: list[PairingRecord]) -> None:
        broker = self._c.net.broker(origin)
        listing = broker.allbypid([r.pid for r in recs])
        listed: set[str] = set()
        for event_id, pid in listing.items():
            rec = next((r for r in recs if _same_pid(r.pid, pid)), None)
            if rec is None:
                continue
            listed.add(event_id)
            if (
                event_id in self._c.inbox
                or self._event_key("done", origin, event_id) in self._c.handled
            ):
                continue
            self._open(origin, rec, event_id)
        for req in self._c.inbox.requests():
            entry = self._c.inbox.entry(req.id) if req.id in self._c.inbox else None
            if entry is None or entry.claimed or not isinstance(entry.route, BrokerRoute):
                continue
            if entry.route.broker_url == origin and req.id not in listed:
                self._resolve_vanished(entry)

    def _open(self, origin: str, rec: PairingRecord, event_id: str) -> None:
        from authenticator.core.app import keys_of

        broker = self._c.net.broker(origin)
        done = self._event_key("done", origin, event_id)
        base = {"request": event_id, "source": "broker"}
        try:
            event = broker.get_event(event_id, rec.pid)
        except (NotFound, Cancelled, HandledElsewhere) as exc:
            self._remember(done)
            kind, outcome = _gone(exc)
            self._c.record(kind, hem=rec.name, outcome=outcome.value, text=str(exc), **base)
            return
        now = self._c.clock.now()
        if now > event.exp:
            self._remember(done, jti_key(event.jti))
            _refuse_quietly(broker, event_id, rec.pid, "expired")
            self._c.record(
                Kind.EXPIRED,
                hem=rec.name,
                outcome=Outcome.EXPIRED.value,
                text="The request expired before it could be shown; it was refused.",
                **base,
            )
            return
        try:
            scope = open_event(event, keys_of(rec), now=now)
        except (IntegrityError, DecodeError, ExpiredError):
            self._remember(done)
            self.reject(
                rec.name,
                reason="tampered",
                text="A request failed its integrity check (altered, or not from this HEM); it "
                "was not shown and not answered, so it will time out.",
                **base,
            )
            return
        if self._offered_before(event.jti):
            self._remember(done)
            self.reject(
                rec.name,
                reason="replayed",
                text="A request the HEM made once was offered again under another id; it was "
                "not shown and not answered.",
                **base,
            )
            return
        info = describe(scope)
        if not info.known:
            self._remember(done)
            self.reject(
                rec.name,
                reason="unknown_scope",
                text=f"A request for an unknown access ({info.scope[:80]}) was not shown and not "
                "answered.",
                scope=info.scope[:200],
                **base,
            )
            return
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
        )
        if rec.muted_until is not None and now < rec.muted_until:
            self._remember(done, jti_key(event.jti))
            _refuse_quietly(broker, event_id, rec.pid, "muted")
            self._c.record(
                Kind.DENIED,
                hem=rec.name,
                outcome=Outcome.DENIED.value,
                text=f"Denied automatically: requests from {rec.name} are muted.",
                scope=scope,
                muted=True,
                **base,
            )
            return
        entry = Entry(request, BrokerRoute(origin, event, rec.pid))
        # Journalled once per event, however many times it is listed (or CLI runs list it).
        shown = self._event_key("shown", origin, event_id)
        first = shown not in self._c.handled
        if self.show(entry, journal=first, location=event.ipinfo.describe()) and first:
            self._remember(shown)

    def _resolve_vanished(self, entry: Entry) -> None:
        """A shown event left the broker's listing: find out why, and close it accordingly."""
        route = entry.route
        assert isinstance(route, BrokerRoute)  # noqa: S101 - callers filter
        try:
            self._c.net.broker(route.broker_url).get_event(route.event.event_id, route.pid)
        except (NotFound, Cancelled, HandledElsewhere) as exc:
            kind, outcome = _gone(exc)
            self._finish(entry, outcome, kind, str(exc))
        except NetError:
            return  # not sure yet: ask again next round

    # ------------------------------------------------------------------ expiry and withdrawal

    def expire_due(self) -> list[str]:
        """Close every request whose time is up; returns their ids."""
        expired = self._c.inbox.due(self._c.clock.now())
        for rid in expired:
            try:
                entry = self._c.inbox.entry(rid)
            except AuthenticatorError:
                continue
            what = entry.request.info.phrase_for(entry.request.hem)
            self._finish(entry, Outcome.EXPIRED, Kind.EXPIRED, f"Expired unanswered: {what}.")
        return expired

    def withdraw(self, request_id: str, message: str = "The program withdrew its request.") -> None:
        """A local program went away: its request leaves the inbox unanswered."""
        try:
            entry = self._c.inbox.claim(request_id)
        except AuthenticatorError:
            return
        self._finish(entry, Outcome.WITHDRAWN, Kind.WITHDRAWN, message)

    # ------------------------------------------------------------------ answers

    def approve(
        self,
        request_id: str,
        period: Period = Period.MIN15,
        write: bool = False,
        *,
        remember: bool = False,
    ) -> Grant:
        """Grant a request for ``period`` (with write access where it applies).

        Returns the :class:`Grant`; for a local or pasted request it carries the bearer token.
        ``remember`` (local programs, when the setting allows it): don't ask this program again
        for this scope until the token expires.
        """
        if self._c.locked:
            raise LockedError()
        entry = self._c.inbox.claim(request_id)
        grant = self.grant(entry, period, write)
        req = entry.request
        if remember and req.program is not None and self._c.settings.agent_remember_program:
            self._c.remembered.add(req.program, req.hem, req.scope, exp=grant.exp, write=write)
        return grant

    def grant(self, entry: Entry, period: Period, write: bool) -> Grant:
        """Answer ``entry`` with an approval (claimed from the inbox, or never put in it)."""
        from authenticator.core.app import hem_url_of, keys_of

        request_id = entry.request.id
        req, route = entry.request, entry.route
        try:
            if write and not req.write_possible:
                raise StateError("Write access cannot be granted for this request.")
            now = self._c.clock.now()
            if now > req.expires_at:
                self._finish(
                    entry,
                    Outcome.EXPIRED,
                    Kind.EXPIRED,
                    f"Expired unanswered: {req.info.phrase_for(req.hem)}.",
                )
                raise ExpiredError()
            rec = self._c.pairing(req.hem)
            keys = keys_of(rec)
            granted = granted_scope(req.scope, write=write)
            token: str | None = None
            base = now
            if isinstance(route, BrokerRoute):
                authreply = build_authreply(
                    keys, jti=route.event.jti, granted=granted, period=period, now=now
                )
                mac = authreply_mac(keys.aid, route.event.epk, authreply)
                self._c.net.broker(route.broker_url).answer_event(
                    route.event.event_id, route.pid, allow_body(authreply, mac)
                )
            else:
                # A request the app asked for itself carries the HEM's signed iat: anchor the
                # grant on the HEM's clock when it runs ahead, or the HEM would see an authreply
                # that expired already. (Never for pasted requests: their iat is unverified.)
                base = max(now, route.authreq.iat) if req.source == "local" else now
                authreply = build_authreply(
                    keys, jti=route.authreq.jti, granted=granted, period=period, now=base
                )
                url = route.hem_url or hem_url_of(rec)
                with self._c.net.hem(url, pinned_cert=_pem(rec)) as hem:
                    token = hem.ext_token(authreply)
        except (Cancelled, HandledElsewhere, NotFound) as exc:
            kind, outcome = _gone(exc)
            if isinstance(exc, HandledElsewhere) and entry.answer_may_have_arrived:
                exc = HandledElsewhere(
                    "The broker already has an answer for this request — most likely this "
                    "computer's own, sent just before the connection failed.",
                    status=exc.status,
                )
            self._finish(entry, outcome, kind, str(exc))
            raise exc from None
        except (NetError, NoSuchHemError) as exc:
            if _retryable(exc):
                entry.answer_may_have_arrived = isinstance(route, BrokerRoute)
                self._c.inbox.release(request_id)
            else:
                self._finish(entry, Outcome.FAILED, Kind.FAILED, str(exc), error=exc.code)
            raise
        except ExpiredError:
            raise
        except AuthenticatorError:
            self._c.inbox.release(request_id)
            raise
        grant = Grant(request_id, granted, period, write, base + int(period), token)
        text = f"{req.grant_text(period, write)}: {req.info.phrase_for(req.hem)}."
        self._c.inbox.remove(request_id, Outcome.APPROVED, text)
        self._answered(req, route)
        self._c.record(
            Kind.APPROVED,
            hem=req.hem,
            outcome=Outcome.APPROVED.value,
            text=text,
            request=req.id,
            source=req.source,
            scope=req.scope,
            granted=granted,
            period=period.flag,
            write=write,
            until=grant.exp,
            title=req.title,
            requester=req.requester,
        )
        entry.decision.settle(Outcome.APPROVED, text, grant=grant)
        self._c.touch(rec.name)
        return grant

    def deny(self, request_id: str, *, report: bool = False) -> None:
        """Refuse a request; ``report`` also records "I didn't ask for this" and mutes the HEM."""
        entry = self._c.inbox.claim(request_id)
        req, route = entry.request, entry.route
        note = ""
        if isinstance(route, BrokerRoute):
            try:
                self._c.net.broker(route.broker_url).deny_event(route.event.event_id, route.pid)
            except (NotFound, Cancelled, HandledElsewhere):
                note = " (it was already gone)"
            except NetError:
                note = " (the broker could not be told; the requester will time out)"
        if report:
            minutes = self._c.settings.mute_minutes_after_report
            until = self._c.clock.now() + 60 * minutes
            what = req.info.phrase_for(req.hem)
            message = (
                f"Denied and reported: {what}{note}. Requests from {req.hem} are muted for "
                f"{minutes} min."
            )
            self._finish(
                entry,
                Outcome.REPORTED,
                Kind.REPORTED,
                message,
                muted_until=until,
                location=req.location.describe(),
            )
            if minutes:
                try:
                    self._c.vault.update_pairing(req.hem, muted_until=until)
                    self._c.hub.hems_changed()
                except (LockedError, NoSuchHemError):
                    log.info("could not mute %s", req.hem)
            return
        what = req.info.phrase_for(req.hem)
        self._finish(entry, Outcome.DENIED, Kind.DENIED, f"Denied: {what}{note}.")

    # ------------------------------------------------------------------ the poller

    def start(self) -> None:
        from authenticator.core.poller import Poller

        if self._poller is None:
            poller = Poller(self._c)
            poller.start()
            self._poller = poller

    def check_now(self) -> None:
        from authenticator.core.poller import Poller

        if isinstance(self._poller, Poller):
            self._poller.check_now()

    def stop(self) -> None:
        from authenticator.core.poller import Poller

        poller, self._poller = self._poller, None
        if isinstance(poller, Poller):
            poller.stop()


def jti_key(jti: str) -> str:
    """The handled-memory key of a HEM request id, whatever base64 flavour spells it."""
    try:
        return f"jti|{b64encode(b64decode(jti, what='request id (jti)'))}"
    except DecodeError:
        return f"jti|{jti[:400]}"


def _route_jti(route: BrokerRoute | DirectRoute) -> str:
    return route.event.jti if isinstance(route, BrokerRoute) else route.authreq.jti


def _gone(exc: AuthenticatorError) -> tuple[str, Outcome]:
    if isinstance(exc, Cancelled):
        return Kind.CANCELLED, Outcome.CANCELLED
    if isinstance(exc, HandledElsewhere):
        return Kind.HANDLED_ELSEWHERE, Outcome.HANDLED_ELSEWHERE
    return Kind.EXPIRED, Outcome.EXPIRED


def _retryable(exc: AuthenticatorError) -> bool:
    """Network trouble (no answer, 5xx) keeps the request; a refusal ends it."""
    if isinstance(exc, Unavailable):
        return True
    return isinstance(exc, NetError) and not isinstance(exc, ServerError)


def _pem(rec: PairingRecord) -> str | None:
    return rec.cert_pem

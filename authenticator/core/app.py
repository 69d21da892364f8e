"""``Core``: the Qt-free authenticator the desktop app and the command line both drive.

It composes the services on one :class:`~authenticator.core.session.Session` — the request
inbox and its intake, the answers, the broker round, the direct path, pairing and unpair — and
owns the long-running work: the broker poller, the local agent server and the expiry clock
(:meth:`Core.start` / :meth:`Core.stop`). Front ends call its plain blocking methods off their
UI thread and subscribe to :class:`~authenticator.core.listener.CoreListener` events; they never
start or stop the background work themselves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

from authenticator.core import pairing as pairing_service
from authenticator.core import unpair as unpair_service
from authenticator.core.agent.server import AgentServer
from authenticator.core.answers import Answers
from authenticator.core.autostart import Autostart
from authenticator.core.broker_round import BrokerRound
from authenticator.core.clock import Clock
from authenticator.core.direct import DirectPath, Pasted, read_pasted
from authenticator.core.expiry import Expiry
from authenticator.core.grants import GrantView
from authenticator.core.inbox import Entry, Inbox
from authenticator.core.intake import Intake
from authenticator.core.journal_kinds import JournalRecord, Kind, Renamed, RuleRecord
from authenticator.core.listener import CoreListener, ListenerHub
from authenticator.core.lockwait import LockWait
from authenticator.core.model import (
    AccessRequest,
    DirectPreview,
    Grant,
    HemView,
    Outcome,
    PairingPreview,
    PartResult,
    Program,
)
from authenticator.core.netfactory import NetFactory
from authenticator.core.poller import Poller
from authenticator.core.programs import ProgramAsk, ProgramAsks, Ticket
from authenticator.core.remember import Remembered, Rule
from authenticator.core.session import Rng, Session
from authenticator.core.unpair import UnpairResult
from authenticator.errors import AuthenticatorError, DecodeError, StateError
from authenticator.protocol.periods import Period
from authenticator.protocol.urls import check_url
from authenticator.store.handled import HandledRequests
from authenticator.store.journal import Journal, JournalEntry, VerifyReport
from authenticator.store.keychain import Keychain
from authenticator.store.paths import AppPaths
from authenticator.store.records import PairingRecord
from authenticator.store.settings import Settings
from authenticator.store.vault import KdfParams, Vault

__all__ = ["Core"]

log = logging.getLogger(__name__)


class Core:
    """The authenticator without a window. One per process and home directory."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        clock: Clock | None = None,
        keychain: Keychain | None = None,
        net: NetFactory | None = None,
        rng: Rng = os.urandom,
        kdf: KdfParams | None = None,
        autostart: Autostart | None = None,
    ) -> None:
        session = Session(
            paths, clock=clock, keychain=keychain, net=net, rng=rng, kdf=kdf, autostart=autostart
        )
        self.session = session
        self.inbox = Inbox(session.hub)
        self._intake = Intake(session, self.inbox)
        self._answers = Answers(session, self.inbox, self._intake)
        self._direct = DirectPath(session, self._intake)
        self._broker_round = BrokerRound(session, self.inbox, self._intake, self._answers)
        self.poller = Poller(session, self._broker_round.run, self._locked_round)
        self._programs = ProgramAsks(session, self._direct, self._answers)
        self._lockwait = LockWait(lambda: session.locked, session.hub.locked_waiting)
        self.expiry = Expiry(
            self._answers.expire_due,
            self.inbox.next_due,
            lambda: session.clock.now(),  # noqa: PLW0108 - the clock may be replaced
        )
        self.inbox.watch(self.expiry.poke)
        self._agent: AgentServer | None = None

    # ------------------------------------------------------------------ what the session holds

    @property
    def paths(self) -> AppPaths:
        return self.session.paths

    @property
    def clock(self) -> Clock:
        return self.session.clock

    @property
    def keychain(self) -> Keychain:
        return self.session.keychain

    @property
    def net(self) -> NetFactory:
        return self.session.net

    @property
    def hub(self) -> ListenerHub:
        return self.session.hub

    @property
    def handled(self) -> HandledRequests:
        return self.session.handled

    @property
    def remembered(self) -> Remembered:
        return self.session.remembered

    # ------------------------------------------------------------------ background work

    def start(
        self,
        *,
        agent: bool = True,
        poller: bool = True,
        on_open: Callable[[list[str]], None] | None = None,
    ) -> None:
        """Start the expiry clock and, when asked, the local agent and the broker poller.

        Starting twice is harmless. The agent comes first: ``AlreadyRunningError`` (another app
        serves this home) stops here, before anything else runs.
        """
        if agent and self._agent is None:
            server = AgentServer(self, self.paths.agent_socket, on_open=on_open)
            server.start()
            self._agent = server
        self.expiry.start()
        if poller:
            self.poller.start()

    @property
    def agent_running(self) -> bool:
        return self._agent is not None

    def stop(self) -> None:
        """Stop the background work (agent first: no new requests; then poller and expiry)."""
        agent, self._agent = self._agent, None
        if agent is not None:
            agent.stop()
        self.poller.stop()
        self.expiry.stop()

    def _locked_round(self) -> None:
        """The poller's round while locked: how many requests wait, told to the listeners."""
        self._set_waiting(self._broker_round.count_waiting())

    def _set_waiting(self, count: int) -> None:
        """The broker's count; listeners hear it plus the programs waiting (core/lockwait.py)."""
        self._lockwait.set_broker(count)

    @property
    def waiting_while_locked(self) -> int:
        """Requests known to wait for the owner to unlock: broker requests and local programs
        that asked while locked (0 when unlocked)."""
        return self._lockwait.total

    def wait_unlocked(self, stop: Callable[[], bool]) -> bool:
        """Block while the app is locked (counted in :attr:`waiting_while_locked`); ``False``
        as soon as ``stop()`` says the waiter went away, ``True`` once the owner unlocked."""
        return self._lockwait.wait(stop)

    def check_now(self) -> None:
        """Ask the poller for a broker round at once (it keeps its own online state)."""
        self.poller.check_now()

    def close(self) -> None:
        self.stop()
        self.net.close()

    # ------------------------------------------------------------------ listeners

    def add_listener(self, listener: CoreListener | object) -> None:
        self.hub.add(listener)

    def remove_listener(self, listener: CoreListener) -> None:
        self.hub.remove(listener)

    # ------------------------------------------------------------------ the store

    def has_store(self) -> bool:
        return self.session.has_store()

    def store_mode(self) -> str | None:
        return self.session.store_mode()

    def keychain_available(self) -> bool:
        return self.session.keychain_available()

    def create_store(self, *, passphrase: str | None = None) -> None:
        self.session.create_store(passphrase=passphrase)

    def unlock(self, passphrase: str | None = None) -> None:
        self.session.unlock(passphrase)
        self._lockwait.unlocked()  # programs that waited go on; the count is 0
        self.check_now()  # what waited is fetched and shown now

    def lock(self, reason: str = "") -> None:
        """Forget the keys: nothing is shown or approved until the next unlock."""
        self.session.lock(
            reason,
            before=lambda: self._answers.clear(Outcome.LOCKED, "The authenticator was locked."),
        )

    @property
    def locked(self) -> bool:
        return self.session.locked

    @property
    def vault(self) -> Vault:
        return self.session.vault

    def record(self, record: JournalRecord) -> None:
        self.session.record(record)

    def change_passphrase(self, old: str, new: str) -> None:
        self.session.change_passphrase(old, new)

    def use_keychain(self) -> None:
        self.session.use_keychain()

    def use_passphrase(self, passphrase: str) -> None:
        self.session.use_passphrase(passphrase)

    # ------------------------------------------------------------------ settings

    @property
    def settings(self) -> Settings:
        return self.session.settings

    def update_settings(self, **changes: object) -> Settings:
        return self.session.update_settings(**changes)

    def reload_settings(self) -> Settings:
        return self.session.reload_settings()

    # ------------------------------------------------------------------ HEMs

    def hems(self) -> list[HemView]:
        return [
            HemView.of(r) for r in sorted(self.session.pairings(), key=lambda r: r.name.lower())
        ]

    def pairing(self, name: str | None) -> PairingRecord:
        return self.session.pairing(name)

    def rename_hem(self, name: str, new_name: str) -> HemView:
        rec = self.pairing(name)
        try:
            updated = self.session.update_pairing(rec.name, name=new_name.strip())
        except DecodeError as exc:
            raise StateError(str(exc)) from exc
        self.record(Renamed(rec.name, updated.name))
        return HemView.of(updated)

    def set_hem_url(self, name: str, url: str | None) -> HemView:
        rec = self.pairing(name)
        clean = check_url(url, what="HEM address").rstrip("/") if url else None
        return HemView.of(self.session.update_pairing(rec.name, hem_url=clean))

    def touch(self, name: str) -> None:
        self.session.touch(name)

    def unmute(self, name: str) -> None:
        self.session.update_pairing(self.pairing(name).name, muted_until=None)

    # ------------------------------------------------------------------ pairing

    def preview_qr(self, qr: str) -> PairingPreview:
        return pairing_service.preview_qr(self.session, qr)

    def accept_pairing(
        self, preview: PairingPreview, *, name: str | None = None, label: str | None = None
    ) -> HemView:
        return pairing_service.accept(self.session, preview, name=name, label=label)

    def refuse_pairing(self, preview: PairingPreview) -> None:
        pairing_service.refuse(self.session, preview)

    def preview_direct(self, url: str) -> DirectPreview:
        return pairing_service.preview_direct(self.session, url)

    def pair_direct(
        self,
        preview: DirectPreview,
        passphrase: str,
        *,
        name: str | None = None,
        label: str | None = None,
    ) -> HemView:
        return pairing_service.pair_direct(
            self.session, preview, passphrase, name=name, label=label
        )

    def unpair(
        self, name: str, *, local_only: bool = False, hem_passphrase: str | None = None
    ) -> UnpairResult:
        return unpair_service.unpair(
            self.session, name, local_only=local_only, hem_passphrase=hem_passphrase
        )

    # ------------------------------------------------------------------ requests

    def pending(self) -> list[AccessRequest]:
        """The requests waiting for an answer (the inbox), oldest first."""
        return self.inbox.requests()

    def pending_count(self) -> int:
        return len(self.inbox)

    def refresh(self) -> list[AccessRequest]:
        """One broker round now, then what is due expires; returns the pending list."""
        self.poller.round_now()
        self.expiry.check()
        return self.pending()

    def expire_due(self) -> list[str]:
        """Expire what is due now (the expiry clock does this by itself once started)."""
        return self.expiry.check()

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
        """Approve a pending request (core/answers.py ``Answers.approve``): ``remember`` and
        ``renew`` keep the owner's "don't ask again" / "renew without asking until I lock" for a
        local program; ``code`` is the code picked when ``request.codes`` offers some;
        ``write_scopes`` names the parts of a bundle that get write access."""
        return self._answers.approve(
            request_id,
            period,
            write,
            remember=remember,
            renew=renew,
            code=code,
            write_scopes=write_scopes,
        )

    def grant(self, entry: Entry, period: Period, write: bool) -> Grant:
        """Approve a request that was never shown (a remembered program's, for the agent)."""
        return self._answers.grant(entry, period, write)

    def deny(self, request_id: str, *, report: bool = False) -> None:
        self._answers.deny(request_id, report=report)

    def withdraw(self, request_id: str, message: str | None = None) -> None:
        """The asker went away (a local program hung up, or changed after it connected): its
        request leaves unanswered, with ``message`` (else the source's own sentence)."""
        self._answers.withdraw(request_id, message)

    def ask_hem(
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
        """Ask the HEM itself for a request (direct path); it waits in the inbox for an answer
        (``quiet``: not put in the inbox, for an approval the person said not to ask again)."""
        return self._direct.ask(
            scope,
            hem=hem,
            period=period,
            write=write,
            program=program,
            reason=reason,
            quiet=quiet,
        )

    def ask_hem_many(
        self,
        scopes: Sequence[str],
        *,
        hem: str | None = None,
        period: Period = Period.MIN15,
        write: bool = False,
        program: Program | None = None,
        reason: str | None = None,
    ) -> tuple[Entry | None, tuple[PartResult, ...]]:
        """Ask the HEM for several scopes as one request (a bundle): the entry (``None`` when
        no scope could be asked for) and why each failed scope failed."""
        return self._direct.ask_many(
            scopes, hem=hem, period=period, write=write, program=program, reason=reason
        )

    def ask_program(self, ask: ProgramAsk) -> Ticket:
        """A local program's ask (the agent's): renewal, merge, rules, code matching, then a
        prompt — see core/programs.py."""
        return self._programs.ask(ask)

    # ------------------------------------------------------------------ access in use

    def grants(self) -> list[GrantView]:
        """Every token handed out that has not expired (no tokens: who, what, until when)."""
        return self.session.grants.current(self.clock.now())

    def rules(self) -> list[Rule]:
        """Every remembered rule in force ("don't ask again", "renew without asking")."""
        return self.session.remembered.rules(self.clock.now())

    def forget_rule(self, rule_id: str) -> Rule | None:
        """Forget one remembered rule (journalled); ``None`` when there is none by that id."""
        rule = self.session.remembered.forget(rule_id)
        if rule is not None:
            kind = "renew without asking" if rule.kind == "renew" else "don't ask again"
            self.record(
                RuleRecord(
                    Kind.RULE_FORGOTTEN,
                    rule.hem,
                    f"Forgot for {rule.program}: {kind} for {rule.title.lower()}.",
                    {"rule": rule.id, "program": rule.program, "scope": rule.scope},
                )
            )
        return rule

    def remembered_allows(
        self, program: Program, hem: str | None, scope: str, *, period: Period, write: bool
    ) -> bool:
        """Whether the person said not to ask this program again for this scope (opt-in)."""
        if not self.settings.agent_remember_program or program.uid is None:
            return False
        try:
            name = self.pairing(hem).name
        except AuthenticatorError:
            return False
        now = self.clock.now()
        return self.remembered.allows(
            program, name, scope, until=now + int(period), write=write, now=now
        )

    def open_pasted(self, text: str) -> AccessRequest | PairingPreview:
        """Open a pasted ``authreq``, an ``encedo-auth:`` link, or a pairing code."""
        what = read_pasted(text)
        if isinstance(what, Pasted):
            return self._direct.open_pasted(what)
        return pairing_service.preview_qr(self.session, what)

    # ------------------------------------------------------------------ journal

    def journal(self) -> Journal:
        return self.session.journal()

    def journal_entries(self, limit: int | None = None) -> list[JournalEntry]:
        return self.journal().entries(limit=limit, newest_first=True)

    def verify_journal(self) -> VerifyReport:
        return self.journal().verify()

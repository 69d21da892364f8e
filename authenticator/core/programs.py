"""What local programs ask for: one place that decides how each ask is answered.

A program (through the agent) asks for one or several scopes. :meth:`ProgramAsks.ask` decides,
in this order:

1. **Code matching** (core/codes.py): under the setting ``code_matching`` the program must send
   the code it shows (``CodeRequiredError`` otherwise); such a request is never answered without
   the owner, and never merged.
2. **Renewal**: the program (same identity: uid + executable + script) still holds a token for
   every scope it asks, on the same HEM (core/grants.py) — the request is a renewal, and says
   until when the access it extends runs.
3. **Without asking**: a "don't ask again" rule for every scope (until the approved token
   expires), or — for a renewal — a "renew without asking until I lock" rule (core/remember.py):
   the HEM is asked quietly and the token granted at once (``how`` = remembered / renewed).
4. **Merge**: the same program (identity, remote flag and parent chain alike) asking the same
   scopes of the same HEM, with the same write wish, while its prompt is open joins that prompt:
   one answer serves every waiting client and they all receive the same token(s) — the HEM
   issues one token per ``authreq``, and asking it again would show the owner a second prompt
   for what they are already answering.
5. Otherwise a new request for the owner (a bundle when several scopes were asked).

The agent server holds a :class:`Ticket` per client: it waits on it, leaves it when its client
goes away (the prompt is withdrawn when the last one has gone), and reports the hand-out.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass

from authenticator.core.answers import Answers
from authenticator.core.bundles import MAX_SCOPES
from authenticator.core.codes import CodeRequiredError, program_needs_code
from authenticator.core.direct import DirectPath
from authenticator.core.grants import How
from authenticator.core.inbox import Decision, Entry
from authenticator.core.journal_kinds import RequestEnded, TokenIssued
from authenticator.core.model import AccessRequest, Grant, Outcome, PartResult, Program
from authenticator.core.remember import program_key
from authenticator.core.session import Session
from authenticator.errors import DecodeError
from authenticator.protocol.periods import Period

__all__ = ["MAX_SCOPES", "ProgramAsk", "ProgramAsks", "Ticket"]


@dataclass(frozen=True, slots=True)
class ProgramAsk:
    """One client's ask, as the agent received it (``code``: what the program shows)."""

    scopes: tuple[str, ...]
    program: Program
    hem: str | None = None
    period: Period = Period.MIN15
    write: bool = False
    reason: str | None = None
    code: int | None = None

    def __post_init__(self) -> None:
        if not self.scopes:
            raise DecodeError("Name at least one scope.")
        if len(set(self.scopes)) > MAX_SCOPES:
            raise DecodeError(
                f"At most {MAX_SCOPES} scopes can be asked for at once "
                f"({len(set(self.scopes))} were named); split them into several requests."
            )


class _Group:
    """The clients waiting on one open prompt (several when identical asks were merged)."""

    def __init__(self, key: Hashable, entry: Entry) -> None:
        self.key = key
        self.entry = entry
        self.clients = 1
        self.handed = 0


class Ticket:
    """One client's place in a request: its own, one it joined, or one granted at once.

    ``request`` is ``None`` when no scope could be asked for (``failures`` says why, per scope).
    ``how``: clicked (the owner answers), remembered or renewed (granted without asking, the
    decision is settled already). ``merged``: it joined an identical request already shown.
    ``match_code``: the owner must pick the code this program shows.
    """

    def __init__(
        self,
        owner: ProgramAsks,
        ask: ProgramAsk,
        entry: Entry | None,
        failures: tuple[PartResult, ...],
        *,
        how: How = "clicked",
        group: _Group | None = None,
        merged: bool = False,
    ) -> None:
        self._owner = owner
        self.ask = ask
        self.entry = entry
        self.failures = failures
        self.how: How = how
        self.group = group
        self.merged = merged
        self._left = False
        if entry is None:
            self.decision = Decision()
            self.decision.settle(Outcome.FAILED, "No scope could be asked for.")
        else:
            self.decision = entry.decision

    @property
    def request(self) -> AccessRequest | None:
        return self.entry.request if self.entry is not None else None

    @property
    def match_code(self) -> bool:
        return self.entry is not None and self.entry.code is not None

    @property
    def renews_until(self) -> int | None:
        return self.request.renews_until if self.request is not None else None

    @property
    def grant(self) -> Grant | None:
        return self.decision.grant

    def wait(self, timeout: float | None = None) -> bool:
        return self.decision.wait(timeout)

    def leave(self, message: str | None = None) -> None:
        """This client went away (hung up, or changed): the prompt is withdrawn when no other
        client waits on it."""
        if self._left:
            return
        self._left = True
        self._owner.left(self, message)

    def results(self) -> tuple[PartResult, ...]:
        """One result per scope asked, in the order asked: its token, or why not."""
        grant = self.decision.grant
        granted = grant.results if grant is not None else ()
        out: list[PartResult] = []
        for scope in dict.fromkeys(self.ask.scopes):
            failure = next((f for f in self.failures if f.scope == scope), None)
            if failure is not None:
                out.append(failure)
                continue
            result = next(
                (r for r in granted if r.scope == scope or r.scope.startswith(scope + "#")), None
            )
            out.append(
                PartResult(scope, result.granted, result.token, result.error)
                if result is not None
                else PartResult(scope, error=DecodeError("This scope was not answered."))
            )
        return tuple(out)

    def handed_out(self) -> None:
        """The tokens went to this client: journal it (never the tokens), count the holder."""
        self._owner.handed_out(self)

    def withheld(self, message: str, **details: str | int | bool | None) -> None:
        """The tokens were redeemed but not handed to this client (it changed)."""
        self._owner.withheld(self, message, details)

    def abandoned(self) -> None:
        """This client hung up after the approval, before its tokens could be handed out."""
        group = self.group
        if group is not None and group.clients > 1:
            with self._owner.lock:
                group.clients -= 1  # the others still get theirs
            return
        program = self.ask.program
        self.withheld(
            f"The token was not handed out: {program.describe()} hung up before it arrived.",
            reason="hung_up",
            program=program.name,
            pid=program.pid,
        )


class ProgramAsks:
    """The local programs' side of the core (the agent server drives it through ``Core``)."""

    def __init__(self, session: Session, direct: DirectPath, answers: Answers) -> None:
        self._s = session
        self._direct = direct
        self._answers = answers
        self.lock = threading.Lock()
        self._groups: dict[Hashable, _Group] = {}

    # ------------------------------------------------------------------ asking

    def ask(self, ask: ProgramAsk) -> Ticket:
        """Decide how ``ask`` is answered (see the module doc); raises only for the ask as a
        whole (locked, no such HEM, a code needed but not sent, the HEM's clock …)."""
        program = ask.program
        match = program_needs_code(self._s.settings.code_matching, program)
        if match and ask.code is None:
            raise CodeRequiredError(
                "This app asks callers like this one to show a code and the owner to match it "
                "(setting: code matching); use 'authenticator token', which shows one, or send "
                "a two-digit 'code' that your program shows."
            )
        hem = self._s.pairing(ask.hem).name
        scopes = tuple(dict.fromkeys(ask.scopes))
        now = self._s.clock.now()
        renews_until = self._held(program, hem, scopes, now)
        if not match:
            how, period = self._without_asking(ask, hem, scopes, renews_until, now)
            if how is not None:
                return self._granted_at_once(ask, how, period, renews_until)
            key = self._merge_key(ask, hem, scopes)
            with self.lock:
                group = self._groups.get(key)
                if group is not None and not group.entry.decision.settled:
                    group.clients += 1
                    return Ticket(self, ask, group.entry, (), group=group, merged=True)
        entry, failures = self._direct.ask_many(
            scopes,
            hem=hem,
            period=ask.period,
            write=ask.write,
            program=program,
            reason=ask.reason,
            renews_until=renews_until,
            code=ask.code if match else None,
        )
        if entry is None:
            return Ticket(self, ask, None, failures)
        group = None
        if not match:
            group = _Group(self._merge_key(ask, hem, scopes), entry)
            with self.lock:
                self._forget_settled()
                self._groups[group.key] = group
        return Ticket(self, ask, entry, failures, group=group)

    def _held(self, program: Program, hem: str, scopes: tuple[str, ...], now: int) -> int | None:
        """Until when the program holds every scope asked (a renewal), else ``None``."""
        if program.uid is None:
            return None
        holder = program_key(program)
        until = [self._s.grants.held(holder, hem, scope, now) for scope in scopes]
        if any(u is None for u in until):
            return None
        return min(u for u in until if u is not None)

    def _without_asking(
        self,
        ask: ProgramAsk,
        hem: str,
        scopes: tuple[str, ...],
        renews_until: int | None,
        now: int,
    ) -> tuple[How | None, Period]:
        program = ask.program
        if renews_until is not None:
            periods = [
                self._s.remembered.renewal_period(
                    program, hem, scope, period=ask.period, write=ask.write, now=now
                )
                for scope in scopes
            ]
            if all(p is not None for p in periods):
                return "renewed", min((p for p in periods if p is not None), key=int)
        if self._s.settings.agent_remember_program and program.uid is not None:
            until = now + int(ask.period)
            if all(
                self._s.remembered.allows(
                    program, hem, scope, until=until, write=ask.write, now=now
                )
                for scope in scopes
            ):
                return "remembered", ask.period
        return None, ask.period

    def _granted_at_once(
        self, ask: ProgramAsk, how: How, period: Period, renews_until: int | None
    ) -> Ticket:
        entry, failures = self._direct.ask_many(
            ask.scopes,
            hem=ask.hem,
            period=period,
            write=ask.write,
            program=ask.program,
            reason=ask.reason,
            quiet=True,
            renews_until=renews_until,
        )
        if entry is not None:
            self._answers.grant(entry, period, ask.write and entry.request.write_possible, how=how)
        return Ticket(self, ask, entry, failures, how=how)

    @staticmethod
    def _merge_key(ask: ProgramAsk, hem: str, scopes: tuple[str, ...]) -> Hashable:
        program = ask.program
        return (
            program_key(program),
            program.remote,
            program.chain,
            hem,
            frozenset(scopes),
            ask.write,
        )

    def _forget_settled(self) -> None:
        for key in [k for k, g in self._groups.items() if g.entry.decision.settled]:
            del self._groups[key]

    # ------------------------------------------------------------------ the clients

    def left(self, ticket: Ticket, message: str | None) -> None:
        entry, group = ticket.entry, ticket.group
        if entry is None or entry.decision.settled:
            return
        if group is not None:
            with self.lock:
                group.clients -= 1
                if group.clients > 0:
                    return
                if self._groups.get(group.key) is group:
                    del self._groups[group.key]
        self._answers.withdraw(entry.request.id, message)

    def handed_out(self, ticket: Ticket) -> None:
        request, grant = ticket.request, ticket.grant
        if request is None or grant is None:
            return
        group = ticket.group
        if group is not None:
            with self.lock:
                group.handed += 1
                again = group.handed > 1
            if again:
                self._s.grants.copied(request.id)
        program = ticket.ask.program
        results = [r for r in ticket.results() if r.ok]
        scopes = ", ".join(r.granted or r.scope for r in results)
        how = {
            "clicked": "",
            "remembered": " without asking (remembered)",
            "renewed": " without asking (renewed)",
        }[ticket.how]
        joined = " (it joined an identical request)" if ticket.merged else ""
        noun = "A token" if len(results) == 1 else f"{len(results)} tokens"
        self._s.record(
            TokenIssued(
                request.hem,
                f"{noun} for {scopes} handed to {program.describe()}{how}{joined}.",
                {
                    "remembered": ticket.how == "remembered",
                    "renewed": ticket.how == "renewed",
                    "merged": ticket.merged,
                    "program": program.name,
                    "path": program.path,
                    "script": program.script,
                    "chain": program.chain_text(),
                    "remote": program.remote,
                    "pid": program.pid,
                    "scope": scopes,
                    "until": grant.exp,
                    "renews_until": request.renews_until,
                },
            )
        )

    def withheld(
        self, ticket: Ticket, message: str, details: dict[str, str | int | bool | None]
    ) -> None:
        request = ticket.request
        if request is None:
            return
        self._s.record(RequestEnded(request, Outcome.FAILED, message, details))
        group = ticket.group
        if group is None or group.clients <= 1:
            self._s.grants.discard(request.id)

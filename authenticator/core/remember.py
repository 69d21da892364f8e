"""Opt-in "don't ask again for this program until the token expires" (off by default).

When the setting ``agent_remember_program`` is on and the person ticks "don't ask again" while
approving a local program's request, the same program asking again for the same scope on the
same HEM is answered without a prompt — but only while the approved token would still be valid,
never for more than was approved (period and write access), and never after the app is locked.
Every token handed out this way is journalled like any other.

"The same program" is the same user, executable and script (:func:`program_key`, from the raw
identity the agent captured, not from the cleaned display names). An interpreter without a script
(``python3 -c …``, ``sh -s``, code on stdin) would make every such use one program, so it is never
remembered: :func:`remember_refusal` says why, and :meth:`Remembered.add` declines it.

**Renew without asking until I lock** (opt-in per program, ticked on a local program's prompt):
when that program asks again for a scope it still holds a token for — a *renewal* — it gets a
fresh token without a prompt, never for a longer period or with more access than was approved,
never beyond 24 hours after that approval (:data:`RENEW_LIMIT`), and never after the app was
locked. The caller journals every token handed out this way.

Every rule is listed (:meth:`Remembered.rules`, for the grants page and ``authenticator
grants``) and can be forgotten one by one (:meth:`Remembered.forget`); locking forgets them all.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from authenticator.core.model import Program
from authenticator.protocol.periods import Period
from authenticator.protocol.scopes import describe

__all__ = [
    "RENEW_LIMIT",
    "ProgramKey",
    "Remembered",
    "Rule",
    "RuleKind",
    "program_key",
    "remember_refusal",
]

RENEW_LIMIT = 24 * 3600
"""Automatic renewals stop this many seconds after the approval that allowed them."""

RuleKind = Literal["until_expiry", "renew"]

ProgramKey = tuple[int | None, str | None, str | None]
"""uid, executable, script (raw: two paths that only differ in invisible characters differ)."""


def program_key(program: Program) -> ProgramKey:
    """Who a program is for limits and "don't ask again": uid + executable + script."""
    if program.identity is not None:
        return program.identity.key
    return program.uid, program.path or program.name, program.script


def remember_refusal(program: Program) -> str | None:
    """Why "don't ask again" cannot apply to ``program`` (``None``: it can)."""
    identity = program.identity
    exe = identity.exe if identity is not None else program.path
    interpreter = identity.interpreter if identity is not None else program.interpreter
    script = identity.script if identity is not None else program.script
    if program.uid is None or not exe:
        return "The app could not tell which program this is, so it cannot recognise it next time."
    if interpreter and not script:
        return (
            "This is an interpreter running code from its command line or input, not a script "
            "file: every such use would look like the same program, so it is never remembered."
        )
    return None


@dataclass(frozen=True, slots=True)
class Rule:
    """A remembered approval as the owner sees it (display names only, nothing secret).

    ``kind``: ``until_expiry`` — don't ask again while the approved token is valid (until
    ``until``); ``renew`` — renew without asking, each time for at most ``period``, until
    ``until`` (24 h after the approval) or the app locks.
    """

    id: str
    kind: RuleKind
    program: str
    path: str | None
    script: str | None
    hem: str
    scope: str
    title: str
    created: int
    until: int
    write: bool
    period: Period | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "program": self.program,
            "path": self.path,
            "script": self.script,
            "hem": self.hem,
            "scope": self.scope,
            "title": self.title,
            "created": self.created,
            "until": self.until,
            "write": self.write,
            "period": self.period.flag if self.period is not None else None,
        }


_Key = tuple[ProgramKey, str, str, RuleKind]


class Remembered:
    """Per-process memory of the approvals the person asked not to be asked again for."""

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self._lock = threading.Lock()
        self._rules: dict[_Key, Rule] = {}
        self._ids = itertools.count(1)
        self._on_change = on_change

    @staticmethod
    def _key(program: Program, hem: str, scope: str, kind: RuleKind) -> _Key:
        return program_key(program), hem, scope.split("#", 1)[0].replace(":rw", ""), kind

    def _put(
        self,
        program: Program,
        hem: str,
        scope: str,
        kind: RuleKind,
        *,
        created: int,
        until: int,
        write: bool,
        period: Period | None = None,
    ) -> str | None:
        refusal = remember_refusal(program)
        if refusal is not None:
            return refusal
        key = self._key(program, hem, scope, kind)
        with self._lock:
            rule = Rule(
                id=f"R{next(self._ids)}",
                kind=kind,
                program=program.name,
                path=program.path,
                script=program.script,
                hem=hem,
                scope=key[2],
                title=describe(key[2]).title,
                created=created,
                until=until,
                write=write,
                period=period,
            )
            self._rules[key] = rule
        self._on_change()
        return None

    def add(
        self, program: Program, hem: str, scope: str, *, exp: int, write: bool, now: int = 0
    ) -> str | None:
        """Remember "don't ask again until the token expires"; returns why it was not
        remembered (``None``: it was)."""
        return self._put(program, hem, scope, "until_expiry", created=now, until=exp, write=write)

    def add_renewal(
        self, program: Program, hem: str, scope: str, *, now: int, period: Period, write: bool
    ) -> str | None:
        """Remember "renew without asking until I lock" (at most ``period`` each time, write
        access only if ``write``, until ``now`` + 24 h); returns why not (``None``: done)."""
        return self._put(
            program,
            hem,
            scope,
            "renew",
            created=now,
            until=now + RENEW_LIMIT,
            write=write,
            period=period,
        )

    def allows(
        self, program: Program, hem: str, scope: str, *, until: int, write: bool, now: int
    ) -> bool:
        """Whether a new grant lasting ``until`` may be handed out without asking."""
        if remember_refusal(program) is not None:
            return False
        with self._lock:
            rule = self._rules.get(self._key(program, hem, scope, "until_expiry"))
        if rule is None or now > rule.until:
            return False
        return until <= rule.until and (rule.write or not write)

    def renewal_period(
        self, program: Program, hem: str, scope: str, *, period: Period, write: bool, now: int
    ) -> Period | None:
        """The period a renewal of ``scope`` may get without asking: the one asked, or a
        shorter one where the rule's 24 h end sooner; ``None`` when the program must be asked
        (more than approved: a longer period, write access; or nothing fits any more)."""
        if remember_refusal(program) is not None:
            return None
        with self._lock:
            rule = self._rules.get(self._key(program, hem, scope, "renew"))
        if rule is None or rule.period is None or now >= rule.until:
            return None
        if (write and not rule.write) or int(period) > int(rule.period):
            return None
        fitting = [p for p in Period if int(p) <= int(period) and now + int(p) <= rule.until]
        return max(fitting, key=int) if fitting else None

    def rules(self, now: int) -> list[Rule]:
        """Every rule still in force, oldest first (rules past their time are dropped)."""
        with self._lock:
            for key in [k for k, r in self._rules.items() if now > r.until]:
                del self._rules[key]
            rules = list(self._rules.values())
        return sorted(rules, key=lambda r: (r.created, int(r.id[1:])))

    def forget(self, rule_id: str) -> Rule | None:
        """Forget one rule; returns it (``None`` when there is no rule by that id)."""
        with self._lock:
            key = next((k for k, r in self._rules.items() if r.id == rule_id), None)
            rule = self._rules.pop(key) if key is not None else None
        if rule is not None:
            self._on_change()
        return rule

    def forget_all(self) -> int:
        with self._lock:
            count = len(self._rules)
            self._rules.clear()
        if count:
            self._on_change()
        return count

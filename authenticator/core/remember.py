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
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from authenticator.core.model import Program

__all__ = ["ProgramKey", "Remembered", "program_key", "remember_refusal"]

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
class _Grant:
    exp: int
    write: bool


class Remembered:
    """Per-process memory of the approvals the person asked not to be asked again for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[tuple[ProgramKey, str, str], _Grant] = {}

    @staticmethod
    def _key(program: Program, hem: str, scope: str) -> tuple[ProgramKey, str, str]:
        return program_key(program), hem, scope.split("#", 1)[0]

    def add(self, program: Program, hem: str, scope: str, *, exp: int, write: bool) -> str | None:
        """Remember the approval; returns why it was not remembered (``None``: it was)."""
        refusal = remember_refusal(program)
        if refusal is not None:
            return refusal
        with self._lock:
            self._grants[self._key(program, hem, scope)] = _Grant(exp, write)
        return None

    def allows(
        self, program: Program, hem: str, scope: str, *, until: int, write: bool, now: int
    ) -> bool:
        """Whether a new grant lasting ``until`` may be handed out without asking."""
        if remember_refusal(program) is not None:
            return False
        with self._lock:
            grant = self._grants.get(self._key(program, hem, scope))
            if grant is None or now > grant.exp:
                return False
            return until <= grant.exp and (grant.write or not write)

    def forget_all(self) -> None:
        with self._lock:
            self._grants.clear()

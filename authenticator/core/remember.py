"""Opt-in "don't ask again for this program until the token expires" (off by default).

When the setting ``agent_remember_program`` is on and the person ticks "don't ask again" while
approving a local program's request, the same program (same uid and executable) asking again for
the same scope on the same HEM is answered without a prompt — but only while the approved token
would still be valid, never for more than was approved (period and write access), and never
after the app is locked. Every token handed out this way is journalled like any other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from authenticator.core.model import Program

__all__ = ["Remembered", "program_key"]


def program_key(program: Program) -> str:
    return f"{program.uid}|{program.path or program.name}"


@dataclass(frozen=True, slots=True)
class _Grant:
    exp: int
    write: bool


class Remembered:
    """Per-process memory of the approvals the person asked not to be asked again for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[tuple[str, str, str], _Grant] = {}

    @staticmethod
    def _key(program: Program, hem: str, scope: str) -> tuple[str, str, str]:
        return program_key(program), hem, scope.split("#", 1)[0]

    def add(self, program: Program, hem: str, scope: str, *, exp: int, write: bool) -> None:
        with self._lock:
            self._grants[self._key(program, hem, scope)] = _Grant(exp, write)

    def allows(
        self, program: Program, hem: str, scope: str, *, until: int, write: bool, now: int
    ) -> bool:
        """Whether a new grant lasting ``until`` may be handed out without asking."""
        with self._lock:
            grant = self._grants.get(self._key(program, hem, scope))
            if grant is None or now > grant.exp:
                return False
            return until <= grant.exp and (grant.write or not write)

    def forget_all(self) -> None:
        with self._lock:
            self._grants.clear()

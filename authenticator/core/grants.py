"""Access in use: every approval whose token has not expired yet, as the owner should see it.

Each approval the app gives (a click, a remembered rule, an automatic renewal) adds one row per
scope: who got it (the program, the remote requester, the pasted request), the scope in words,
the HEM, when it expires and how it was approved. The registry never holds a token — only what
the journal already says — so it has nothing to leak.

Choices (docs/agent.md, "Access in use"):

* **In memory only, kept across a lock.** A HEM token cannot be revoked: it stays valid until it
  expires, whether the app is locked, restarted or not. Forgetting the rows on lock would hide
  access that is still out there, so the registry keeps them (the app shows them only while
  unlocked) and drops each row once its token has expired. It is not written to disk: after a
  restart the journal is the record.
* **A renewal is found here.** A program that asks again for scopes it still holds a token for
  (same program identity, same HEM) is asking to *renew*: :meth:`GrantRegistry.held` says until
  when it holds them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from authenticator.core.model import AccessRequest, PartResult

__all__ = ["REVOCATION_NOTE", "GrantRegistry", "GrantView", "How"]

How = Literal["clicked", "remembered", "renewed"]
"""How an approval was given: the owner clicked, a "don't ask again" rule, an automatic renewal."""

REVOCATION_NOTE = (
    "The HEM cannot revoke a token: each one stays valid until it expires, even if the app is "
    "locked or closed."
)


def base_scope(scope: str) -> str:
    """A scope without its key details and write flag (what "the same scope" compares)."""
    return scope.split("#", 1)[0].replace(":rw", "")


@dataclass(frozen=True, slots=True)
class GrantView:
    """One token in use, as the grants page and ``authenticator grants`` list it (no token).

    ``who`` is the requester in a few words (a program's name is its claim, already cleaned);
    ``title``/``text`` say the scope in words; ``holders`` is how many waiting clients received
    the token (several when identical requests were merged).
    """

    id: str
    request_id: str
    hem: str
    scope: str
    title: str
    text: str
    who: str
    source: str
    remote: bool
    issued_at: int
    exp: int
    how: How
    write: bool
    holders: int = 1
    holder: Hashable | None = field(default=None, compare=False, repr=False)

    def seconds_left(self, now: int) -> int:
        return max(0, self.exp - now)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "request": self.request_id,
            "hem": self.hem,
            "scope": self.scope,
            "title": self.title,
            "text": self.text,
            "who": self.who,
            "source": self.source,
            "remote": self.remote,
            "issued_at": self.issued_at,
            "expires_at": self.exp,
            "how": self.how,
            "write": self.write,
            "holders": self.holders,
        }


class GrantRegistry:
    """Thread-safe, in memory; ``on_change`` is called after every change (outside the lock)."""

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self._on_change = on_change
        self._lock = threading.Lock()
        self._rows: dict[str, GrantView] = {}
        self._ids = itertools.count(1)

    def add(
        self,
        request: AccessRequest,
        results: Sequence[PartResult],
        *,
        issued_at: int,
        exp: int,
        how: How,
        holder: Hashable | None,
    ) -> list[GrantView]:
        """One row per granted part of ``request`` (the parts that failed are not in use)."""
        program = request.program
        who = program.describe() if program is not None else request.requester
        rows: list[GrantView] = []
        for part, result in zip(request.parts, results, strict=False):
            if not result.ok or result.granted is None:
                continue
            rows.append(
                GrantView(
                    id=f"G{next(self._ids)}",
                    request_id=request.id,
                    hem=request.hem,
                    scope=result.granted,
                    title=part.title,
                    text=part.phrase_for(request.hem),
                    who=who,
                    source=request.source,
                    remote=program.remote if program is not None else request.source == "broker",
                    issued_at=issued_at,
                    exp=exp,
                    how=how,
                    write=":rw" in result.granted,
                    holder=holder,
                )
            )
        with self._lock:
            self._rows.update((row.id, row) for row in rows)
        if rows:
            self._on_change()
        return rows

    def current(self, now: int) -> list[GrantView]:
        """The rows whose token has not expired, soonest to expire first."""
        with self._lock:
            for gid in [g for g, row in self._rows.items() if row.exp <= now]:
                del self._rows[gid]
            rows = list(self._rows.values())
        return sorted(rows, key=lambda r: (r.exp, r.id))

    def held(self, holder: Hashable, hem: str, scope: str, now: int) -> int | None:
        """Until when ``holder`` holds an unexpired token for ``scope`` on ``hem`` (the latest
        expiry), or ``None``."""
        want = base_scope(scope)
        with self._lock:
            exps = [
                row.exp
                for row in self._rows.values()
                if row.holder == holder
                and row.hem == hem
                and base_scope(row.scope) == want
                and row.exp > now
            ]
        return max(exps) if exps else None

    def copied(self, request_id: str) -> None:
        """One more waiting client received the tokens of ``request_id`` (merged requests)."""
        self._update(request_id, lambda row: replace(row, holders=row.holders + 1))

    def discard(self, request_id: str) -> None:
        """The tokens of ``request_id`` went to nobody (withheld): not in anyone's hands."""
        self._update(request_id, None)

    def _update(self, request_id: str, change: Callable[[GrantView], GrantView] | None) -> None:
        with self._lock:
            ids = [gid for gid, row in self._rows.items() if row.request_id == request_id]
            for gid in ids:
                if change is None:
                    del self._rows[gid]
                else:
                    self._rows[gid] = change(self._rows[gid])
        if ids:
            self._on_change()

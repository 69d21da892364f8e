"""The request inbox: every pending access request, whatever its source, in one place.

Each entry pairs the :class:`AccessRequest` people see with the private *route* that answers it
(:mod:`authenticator.core.routes`). Entries are claimed before
they are answered, so one request is never answered twice, even when the tray, a notification
and a command-line process race; a claim that failed on the network is released and the request
stays (nothing lost).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from authenticator.core.listener import ListenerHub
from authenticator.core.model import AccessRequest, Grant, Outcome
from authenticator.core.routes import Route
from authenticator.errors import AlreadyAnsweredError, AuthenticatorError, NoSuchRequestError

__all__ = ["Decision", "Entry", "Inbox"]


class Decision:
    """How a local program's request ended; the agent thread waits on it."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self.grant: Grant | None = None
        self.outcome: Outcome | None = None
        self.message = ""
        self.error: AuthenticatorError | None = None

    def settle(
        self,
        outcome: Outcome,
        message: str = "",
        grant: Grant | None = None,
        error: AuthenticatorError | None = None,
    ) -> None:
        if self._done.is_set():
            return
        self.outcome, self.message, self.grant, self.error = outcome, message, grant, error
        self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def settled(self) -> bool:
        return self._done.is_set()


@dataclass
class Entry:
    request: AccessRequest
    route: Route
    decision: Decision = field(default_factory=Decision)
    claimed: bool = False
    answer_may_have_arrived: bool = False
    """An earlier answer got no reply (timeout, dropped): the broker may have it already."""
    code: int | None = None
    """Code matching: the code the requester shows (``request.codes`` offers it among decoys)."""


class Inbox:
    """Thread-safe store of pending requests that tells the listeners about every change."""

    def __init__(self, hub: ListenerHub) -> None:
        self._hub = hub
        self._lock = threading.RLock()
        self._entries: dict[str, Entry] = {}
        self._watchers: list[Callable[[], None]] = []

    def watch(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` (on the adding thread) whenever a request is added."""
        self._watchers.append(fn)

    def add(self, entry: Entry) -> bool:
        """Add a new request; ``False`` (and nothing happens) if the id is already pending."""
        with self._lock:
            if entry.request.id in self._entries:
                return False
            self._entries[entry.request.id] = entry
        for fn in self._watchers:
            fn()
        self._hub.request_added(entry.request)
        return True

    def __contains__(self, request_id: object) -> bool:
        with self._lock:
            return request_id in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def requests(self) -> list[AccessRequest]:
        """Pending requests, oldest first."""
        with self._lock:
            items = [e.request for e in self._entries.values()]
        return sorted(items, key=lambda r: (r.created, r.id))

    def get(self, request_id: str) -> AccessRequest:
        return self.entry(request_id).request

    def entry(self, request_id: str) -> Entry:
        with self._lock:
            entry = self._entries.get(request_id)
        if entry is None:
            raise NoSuchRequestError(
                f"No pending request has the id {request_id!r}; it may have been answered, "
                "withdrawn or expired."
            )
        return entry

    def claim(self, request_id: str) -> Entry:
        """Reserve a request for answering; ``AlreadyAnsweredError`` if someone else is on it."""
        with self._lock:
            entry = self.entry(request_id)
            if entry.claimed:
                raise AlreadyAnsweredError("This request is already being answered.")
            entry.claimed = True
            return entry

    def release(self, request_id: str) -> None:
        """Give a claimed request back (its answer could not be delivered; it stays pending)."""
        with self._lock:
            entry = self._entries.get(request_id)
            if entry is not None:
                entry.claimed = False

    def remove(self, request_id: str, outcome: Outcome, message: str = "") -> Entry | None:
        """Take a request out of the inbox and tell everyone how it ended."""
        with self._lock:
            entry = self._entries.pop(request_id, None)
        if entry is None:
            return None
        self._hub.request_removed(entry.request, outcome, message)
        return entry

    def due(self, now: int) -> list[str]:
        """Ids of the requests whose time is up (``now > expires_at``), not being answered."""
        with self._lock:
            return [
                rid
                for rid, e in self._entries.items()
                if now > e.request.expires_at and not e.claimed
            ]

    def next_due(self) -> int | None:
        """The earliest ``expires_at`` of the requests not being answered, if any."""
        with self._lock:
            times = [e.request.expires_at for e in self._entries.values() if not e.claimed]
        return min(times) if times else None

    def entries(self) -> list[Entry]:
        """The pending entries, oldest first."""
        with self._lock:
            items = list(self._entries.values())
        return sorted(items, key=lambda e: (e.request.created, e.request.id))

    def clear(self, outcome: Outcome, message: str) -> list[Entry]:
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            self._hub.request_removed(entry.request, outcome, message)
        return entries

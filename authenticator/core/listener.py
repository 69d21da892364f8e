"""How the core tells its front ends what happened: one typed listener Protocol, fanned out.

Long-lived work (the broker poller, the local agent) runs on its own threads; it reports through
this Protocol. ``gui/bridge.py`` implements it and re-emits each call as a Qt signal; the command
line implements it to print. Listener calls arrive on whatever thread did the work.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from authenticator.core.model import AccessRequest, ConnectionState, Outcome

__all__ = ["CoreListener", "ListenerHub"]

log = logging.getLogger(__name__)


class CoreListener(Protocol):
    def request_added(self, request: AccessRequest) -> None: ...

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None: ...

    def connection_changed(self, state: ConnectionState) -> None: ...

    def lock_changed(self, locked: bool) -> None: ...

    def hems_changed(self) -> None: ...

    def journal_changed(self) -> None: ...

    def notice(self, message: str) -> None:
        """Something the owner should know at once that is not a request to answer (one
        sentence, e.g. "Refused a request this app does not understand: …")."""

    def locked_waiting(self, count: int) -> None:
        """While locked: ``count`` requests wait for the owner to unlock (no details: the keys
        that would open them are locked away) — broker requests and local programs that asked
        while locked. ``0`` when none (or after unlocking)."""

    def grants_changed(self) -> None:
        """Access in use changed: a token was handed out or withheld, or a remembered rule was
        added or forgotten (``Core.grants()`` / ``Core.rules()`` say what is there now)."""


class ListenerHub:
    """Fans every call out to the registered listeners; one failing listener never stops others."""

    def __init__(self) -> None:
        self._listeners: list[object] = []
        self._lock = threading.Lock()

    def add(self, listener: CoreListener | object) -> None:
        """Register ``listener``: any object with some of :class:`CoreListener`'s methods (those
        it lacks are skipped)."""
        with self._lock:
            self._listeners.append(listener)

    def remove(self, listener: object) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _each(self) -> list[object]:
        with self._lock:
            return list(self._listeners)

    def _call(self, name: str, *args: object) -> None:
        for listener in self._each():
            method = getattr(listener, name, None)
            if method is None:  # a listener written before this event existed
                continue
            try:
                method(*args)
            except Exception:  # a front end's bug must not break the core's loop
                log.exception("listener %s.%s failed", type(listener).__name__, name)

    def request_added(self, request: AccessRequest) -> None:
        self._call("request_added", request)

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self._call("request_removed", request, outcome, message)

    def connection_changed(self, state: ConnectionState) -> None:
        self._call("connection_changed", state)

    def lock_changed(self, locked: bool) -> None:
        self._call("lock_changed", locked)

    def hems_changed(self) -> None:
        self._call("hems_changed")

    def journal_changed(self) -> None:
        self._call("journal_changed")

    def locked_waiting(self, count: int) -> None:
        self._call("locked_waiting", count)

    def notice(self, message: str) -> None:
        self._call("notice", message)

    def grants_changed(self) -> None:
        self._call("grants_changed")

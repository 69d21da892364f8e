"""The broker poller: one round every ``poll_interval_s``, backing off while the broker fails.

It runs on its own daemon thread, never blocks a front end, and recovers by itself: after a
failure it waits twice as long each time (up to a minute), tells the listeners the app is
offline, and says so again when the broker answers. ``check_now`` wakes it at once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from authenticator.core.model import ConnectionState
from authenticator.errors import AuthenticatorError, LockedError, NetError

if TYPE_CHECKING:
    from authenticator.core.app import Core

__all__ = ["MAX_BACKOFF", "Poller"]

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


class Poller:
    def __init__(self, core: Core) -> None:
        self._core = core
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="broker-poller", daemon=True)
        self._online: bool | None = None
        self.rounds = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def check_now(self) -> None:
        self._wake.set()

    def _set_online(self, state: ConnectionState) -> None:
        if state.online != self._online or not state.online:
            self._online = state.online
            self._core.hub.connection_changed(state)

    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            interval = float(self._core.settings.poll_interval_s)
            started = time.monotonic()
            if not self._core.locked:
                try:
                    self._core.requests.sync()
                    backoff = 0.0
                    self._set_online(ConnectionState(True))
                except LockedError:
                    pass
                except NetError as exc:
                    backoff = min(MAX_BACKOFF, max(2 * interval, 2 * backoff))
                    self._set_online(ConnectionState(False, str(exc), backoff))
                except AuthenticatorError as exc:
                    log.warning("broker round failed: %s", exc)
                except Exception:  # keep polling whatever happens; the log has the details
                    log.exception("broker round crashed")
                self.rounds += 1
            # Rounds start every ``interval`` (not ``interval`` after the previous one ended), so
            # a request waits at most one interval plus one round to be shown.
            self._wake.wait(backoff or max(0.0, interval - (time.monotonic() - started)))
            self._wake.clear()

"""The broker poller: one round every ``poll_interval_s``, backing off while the broker fails.

It runs on its own daemon thread, never blocks a front end, and recovers by itself: after a
failure it waits twice as long each time (up to a minute), tells the listeners the app is
offline, and says so again when the broker answers. While the app is locked it keeps asking
only whether requests wait (``locked_round``), so the owner is told to unlock.
:meth:`Poller.check_now` wakes it at once; :meth:`Poller.round_now` runs one round and waits for
it (the command line's ``requests``) — both through the same round, so the online state is
always the poller's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from authenticator.core.model import ConnectionState
from authenticator.core.session import Session
from authenticator.errors import AuthenticatorError, LockedError, NetError

__all__ = ["MAX_BACKOFF", "Poller"]

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


class Poller:
    """Runs ``round_fn`` (one broker round) on a schedule and keeps the online state."""

    def __init__(
        self,
        session: Session,
        round_fn: Callable[[], None],
        locked_round: Callable[[], None] | None = None,
    ) -> None:
        self._s = session
        self._round_fn = round_fn
        self._locked_round = locked_round
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round_lock = threading.Lock()
        self._online: bool | None = None
        self._backoff = 0.0
        self.rounds = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="broker-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive() and threading.current_thread() is not thread:
            thread.join(timeout)

    def check_now(self) -> None:
        """Wake the poller for a round at once (no-op when it does not run)."""
        self._wake.set()

    def round_now(self) -> None:
        """One round on the caller's thread; raises its error (``LockedError`` while locked, or
        the network's, after noting it in the online state)."""
        self._round(raise_errors=True)

    def _set_online(self, state: ConnectionState) -> None:
        if state.online != self._online or not state.online:
            self._online = state.online
            self._s.hub.connection_changed(state)

    def _round(self, *, raise_errors: bool) -> None:
        locked = self._s.locked
        if locked and (raise_errors or self._locked_round is None):
            if raise_errors:
                raise LockedError()
            return
        interval = float(self._s.settings.poll_interval_s)
        with self._round_lock:
            try:
                if locked and self._locked_round is not None:
                    self._locked_round()  # only whether something waits: the keys are locked
                else:
                    self._round_fn()
                self._backoff = 0.0
                self._set_online(ConnectionState(True))
            except LockedError:
                pass
            except NetError as exc:
                self._backoff = min(MAX_BACKOFF, max(2 * interval, 2 * self._backoff))
                self._set_online(ConnectionState(False, str(exc), self._backoff))
                if raise_errors:
                    raise
            except AuthenticatorError as exc:
                log.warning("broker round failed: %s", exc)
                if raise_errors:
                    raise
            finally:
                self.rounds += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            interval = float(self._s.settings.poll_interval_s)
            started = time.monotonic()
            try:
                self._round(raise_errors=False)
            except Exception:  # keep polling whatever happens; the log has the details
                log.exception("broker round crashed")
            # Rounds start every ``interval`` (not ``interval`` after the previous one ended), so
            # a request waits at most one interval plus one round to be shown.
            self._wake.wait(self._backoff or max(0.0, interval - (time.monotonic() - started)))
            self._wake.clear()

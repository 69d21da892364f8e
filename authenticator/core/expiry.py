"""The one expiry clock: closes every request whose time is up, as it happens.

A daemon thread sleeps until the earliest deadline in the inbox (at most a second at a time, so
a clock that jumps is noticed), or until a request is added, and then expires what is due. With
nothing pending it sleeps until something arrives. :meth:`Expiry.check` does the same work on
the caller's thread (a command-line process, a test with a fake clock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

__all__ = ["Expiry"]

log = logging.getLogger(__name__)

MAX_SLEEP = 1.0


class Expiry:
    def __init__(
        self,
        expire_due: Callable[[], list[str]],
        next_due: Callable[[], int | None],
        now: Callable[[], int],
    ) -> None:
        self._expire_due = expire_due
        self._next_due = next_due
        self._now = now
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def check(self) -> list[str]:
        """Expire what is due now; returns the ids."""
        with self._lock:
            return self._expire_due()

    def poke(self) -> None:
        """Something changed (a request was added): look at the deadlines again."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="expiry", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive() and threading.current_thread() is not thread:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
                due = self._next_due()
            except Exception:  # keep the clock running whatever happens
                log.exception("expiring requests failed")
                due = None
            if due is None:
                self._wake.wait()
            else:
                # ``now > expires_at`` is due: wake just after the deadline's second.
                self._wake.wait(min(MAX_SLEEP, max(0.05, due + 1 - self._now())))
            self._wake.clear()

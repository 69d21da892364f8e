"""Who waits for the owner to unlock: broker requests and local programs, told as one count.

While the app is locked nothing is shown, but nothing waits silently either: the poller counts
the broker requests waiting (no keys needed, see ``BrokerRound.count_waiting``) and every agent
client that asked while locked waits here until the owner unlocks. The listeners hear the total
through ``locked_waiting(count)`` — no details, the keys that would open them are locked away —
and ``0`` once the app is unlocked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["LockWait"]


class LockWait:
    def __init__(self, locked: Callable[[], bool], tell: Callable[[int], None]) -> None:
        self._locked = locked
        self._tell = tell
        self._cond = threading.Condition()
        self._broker = 0
        self._programs = 0
        self._told = 0

    @property
    def total(self) -> int:
        """Requests known to wait for the owner to unlock (0 when unlocked)."""
        with self._cond:
            return self._broker + self._programs if self._locked() else 0

    def set_broker(self, count: int) -> None:
        """The poller's latest count of broker requests waiting."""
        with self._cond:
            self._broker = count
        self._changed()

    def unlocked(self) -> None:
        """The owner unlocked: every waiting program goes on, the count is 0."""
        with self._cond:
            self._broker = 0
            self._cond.notify_all()
        self._changed()

    def wait(self, stop: Callable[[], bool], step: float = 0.25) -> bool:
        """Block while the app is locked; ``False`` as soon as ``stop()`` says the waiter went
        away (checked every ``step`` seconds), ``True`` once unlocked."""
        with self._cond:
            self._programs += 1
        self._changed()
        try:
            while self._locked():
                if stop():
                    return False
                with self._cond:
                    self._cond.wait(step)
            return True
        finally:
            with self._cond:
                self._programs -= 1
            self._changed()

    def _changed(self) -> None:
        count = self.total
        with self._cond:
            changed, self._told = count != self._told, count
        if changed:
            self._tell(count)

"""A per-program limit on requests, so a buggy script cannot flood the owner with prompts.

At most ``concurrent`` requests of one program may wait at once, and at most ``per_minute``
may start within any 60 seconds; beyond that the program gets ``busy`` at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator

from authenticator.errors import RateLimitedError

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(
        self,
        *,
        concurrent: int = 3,
        per_minute: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.concurrent = concurrent
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: dict[str, int] = defaultdict(int)
        self._starts: dict[str, deque[float]] = defaultdict(deque)

    @contextlib.contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold one of ``key``'s slots for the duration of a request, or ``RateLimitedError``."""
        now = self._clock()
        with self._lock:
            starts = self._starts[key]
            while starts and now - starts[0] >= 60.0:
                starts.popleft()
            if self._waiting[key] >= self.concurrent:
                raise RateLimitedError(
                    f"This program already has {self.concurrent} requests waiting; "
                    "answer or cancel them first."
                )
            if len(starts) >= self.per_minute:
                raise RateLimitedError(
                    "This program asked too often in the last minute; wait a moment."
                )
            starts.append(now)
            self._waiting[key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting[key] -= 1

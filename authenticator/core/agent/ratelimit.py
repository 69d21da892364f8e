"""Limits on requests, so a buggy (or hostile) script cannot flood the owner with prompts.

Two buckets hold at once:

* **per program** (uid + executable + script, see ``core.remember.program_key``): at most
  ``concurrent`` requests waiting (3) and ``per_minute`` started in any 60 seconds (10);
* **per user** (the uid): at most ``user_concurrent`` waiting (8) and ``user_per_minute`` started
  in any 60 seconds (30), so twelve copies of a script under twelve names, or many ``python3 -c``
  one-liners, still cannot bury the owner in prompts.

The per-user caps are never below the per-program ones (a caller that raises the per-program caps,
e.g. a load test, raises the per-user default with them). Beyond a cap the program gets ``busy``
at once; a refused request counts against neither bucket.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterator

from authenticator.errors import RateLimitedError

__all__ = ["USER_CONCURRENT", "USER_PER_MINUTE", "RateLimiter"]

USER_CONCURRENT = 8
USER_PER_MINUTE = 30


class _Bucket:
    def __init__(self, concurrent: int, per_minute: int) -> None:
        self.concurrent = concurrent
        self.per_minute = per_minute
        self.waiting: dict[Hashable, int] = defaultdict(int)
        self.starts: dict[Hashable, deque[float]] = defaultdict(deque)

    def full(self, key: Hashable, now: float) -> str | None:
        """``"waiting"`` or ``"often"`` when ``key`` is at a cap, else ``None``."""
        starts = self.starts.get(key)
        while starts and now - starts[0] >= 60.0:
            starts.popleft()
        if starts is not None and not starts:
            del self.starts[key]  # no memory kept for a key that went quiet
        if self.waiting.get(key, 0) >= self.concurrent:
            return "waiting"
        if len(self.starts.get(key, ())) >= self.per_minute:
            return "often"
        return None

    def take(self, key: Hashable, now: float) -> None:
        self.starts[key].append(now)
        self.waiting[key] += 1

    def give_back(self, key: Hashable) -> None:
        self.waiting[key] -= 1
        if self.waiting[key] <= 0:
            del self.waiting[key]


class RateLimiter:
    def __init__(
        self,
        *,
        concurrent: int = 3,
        per_minute: int = 10,
        user_concurrent: int | None = None,
        user_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.concurrent = concurrent
        self.per_minute = per_minute
        self.user_concurrent = (
            max(USER_CONCURRENT, concurrent) if user_concurrent is None else user_concurrent
        )
        self.user_per_minute = (
            max(USER_PER_MINUTE, per_minute) if user_per_minute is None else user_per_minute
        )
        self._clock = clock
        self._lock = threading.Lock()
        self._programs = _Bucket(self.concurrent, self.per_minute)
        self._users = _Bucket(self.user_concurrent, self.user_per_minute)

    @contextlib.contextmanager
    def slot(self, key: Hashable, user: Hashable | None = None) -> Iterator[None]:
        """Hold one of program ``key``'s slots (and one of ``user``'s) for the duration of a
        request, or raise ``RateLimitedError``."""
        now = self._clock()
        with self._lock:
            full = self._programs.full(key, now)
            if full == "waiting":
                raise RateLimitedError(
                    f"This program already has {self.concurrent} requests waiting; "
                    "answer or cancel them first."
                )
            if full == "often":
                raise RateLimitedError(
                    "This program asked too often in the last minute; wait a moment."
                )
            full = self._users.full(user, now) if user is not None else None
            if full == "waiting":
                raise RateLimitedError(
                    f"Your programs already have {self.user_concurrent} requests waiting; "
                    "answer or cancel them first."
                )
            if full == "often":
                raise RateLimitedError(
                    f"Your programs asked more than {self.user_per_minute} times in the last "
                    "minute; wait a moment."
                )
            self._programs.take(key, now)
            if user is not None:
                self._users.take(user, now)
        try:
            yield
        finally:
            with self._lock:
                self._programs.give_back(key)
                if user is not None:
                    self._users.give_back(user)

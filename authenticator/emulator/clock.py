"""The emulated HEM's clock: the host's real time plus a skew knob.

A real HEM keeps time in an RTC that drifts (about 8 % fast) and is corrected only by a check-in,
whose ``iat`` sets it. Each emulated HEM has its own :class:`EmuClock`, so a test or the admin API
can make one device run ahead or behind (``skew``) and a check-in can put it right again
(:meth:`EmuClock.set_time`). Uptime is measured on the monotonic clock, so skew never moves it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["EmuClock"]


class EmuClock:
    """Unix time as the device sees it: ``source() + skew``; thread-safe."""

    def __init__(
        self,
        source: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._monotonic = monotonic
        self._skew = 0.0
        self._boot = monotonic()
        self._lock = threading.Lock()

    def now(self) -> int:
        """The device's current time in whole unix seconds."""
        with self._lock:
            return int(self._source() + self._skew)

    @property
    def skew(self) -> float:
        """Seconds the device runs ahead (positive) or behind (negative) the host."""
        with self._lock:
            return self._skew

    def set_skew(self, seconds: float) -> None:
        with self._lock:
            self._skew = float(seconds)

    def set_time(self, unix: int) -> None:
        """Set the device time (what a check-in's ``iat`` does): the skew becomes the difference."""
        with self._lock:
            self._skew = float(unix) - self._source()

    def restart(self) -> None:
        """A reboot: uptime starts again from zero (the skew is the RTC's, it survives)."""
        with self._lock:
            self._boot = self._monotonic()

    def uptime(self) -> int:
        """Whole seconds since the last (re)boot."""
        with self._lock:
            return int(self._monotonic() - self._boot)

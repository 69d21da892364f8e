"""The emulated HEM's clock, and a host clock a test can move by hand.

A real HEM keeps time in an RTC that runs fast (about 8 %) and is put right only by a check-in,
whose ``iat`` sets it. Each emulated HEM has its own :class:`EmuClock`: device time is an anchor
(set by a check-in, a skew or a rate change) plus the host time elapsed since, times ``rate``::

    device_now = anchor_device + (host_now - anchor_host) * rate
               = host_now + offset_at_anchor + (host_now - anchor_host) * (rate - 1)

so a test or the admin API can make one device run ahead or behind (``skew``), run fast or slow
(``rate``, e.g. 1.08 "from its last check-in"), and a check-in puts it right again
(:meth:`EmuClock.set_time`).

The host time comes from a ``source`` callable (``time.time`` by default). Tests that need an
emulated day without waiting pass a :class:`MovableClock` to the whole emulator (HEM clocks,
broker, check-in backend): it only moves when told to. Uptime follows the same source when one
is given (real monotonic time otherwise), so skew and rate never move it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from authenticator.errors import DecodeError

__all__ = ["MAX_RATE", "MIN_RATE", "EmuClock", "MovableClock", "check_rate"]

MIN_RATE = 0.1
MAX_RATE = 10.0
"""The rates a device clock may run at (1.0 = exact; a real HEM runs at about 1.08)."""


def check_rate(rate: object) -> float:
    """``rate`` as a float, or ``DecodeError`` when it is not a number in [0.1, 10]."""
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise DecodeError("The clock rate must be a number.")
    value = float(rate)
    if not math.isfinite(value) or not MIN_RATE <= value <= MAX_RATE:
        raise DecodeError(f"The clock rate must be between {MIN_RATE:g} and {MAX_RATE:g}.")
    return value


class MovableClock:
    """Host time that moves only when told: ``clock()`` → unix seconds (float), ``now()`` → whole
    seconds (the core's ``Clock``), :meth:`advance` and :meth:`set`. Thread-safe."""

    def __init__(self, start: float | None = None) -> None:
        self._t = float(time.time() if start is None else start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._t

    def now(self) -> int:
        return int(self())

    def advance(self, seconds: float) -> float:
        """Move forward (or back, with a negative number); returns the new time."""
        with self._lock:
            self._t += float(seconds)
            return self._t

    def set(self, unix: float) -> None:
        with self._lock:
            self._t = float(unix)


class EmuClock:
    """Unix time as the device sees it (see the module docstring); thread-safe."""

    def __init__(
        self,
        source: Callable[[], float] = time.time,
        monotonic: Callable[[], float] | None = None,
        *,
        rate: float = 1.0,
    ) -> None:
        self._source = source
        self._monotonic = monotonic or (time.monotonic if source is time.time else source)
        self._lock = threading.Lock()
        self._rate = check_rate(rate)
        self._host0 = source()
        self._offset0 = 0.0  # device − host at the anchor
        self._boot = self._monotonic()

    def _skew(self, host: float) -> float:
        return self._offset0 + (host - self._host0) * (self._rate - 1.0)

    def _anchor(self, host: float, offset: float) -> None:
        self._host0 = host
        self._offset0 = offset

    def now(self) -> int:
        """The device's current time in whole unix seconds."""
        with self._lock:
            host = self._source()
            return math.floor(host + self._skew(host))

    def host_now(self) -> float:
        """The host's time (the source's)."""
        return self._source()

    @property
    def skew(self) -> float:
        """Seconds the device runs ahead (positive) or behind (negative) the host, right now."""
        with self._lock:
            return self._skew(self._source())

    @property
    def rate(self) -> float:
        """How fast the device's clock runs against the host's (1.0 = exact)."""
        with self._lock:
            return self._rate

    @property
    def anchored_at(self) -> float:
        """Host time of the last anchor (a check-in, a skew or a rate change)."""
        with self._lock:
            return self._host0

    def set_skew(self, seconds: float) -> None:
        """Run ``seconds`` off the host from now on (then drift at ``rate`` from there)."""
        with self._lock:
            self._anchor(self._source(), float(seconds))

    def set_time(self, unix: float) -> None:
        """Set the device time (what a check-in's ``iat`` does); the rate runs from here."""
        with self._lock:
            host = self._source()
            self._anchor(host, float(unix) - host)

    def set_rate(self, rate: float) -> None:
        """Run at ``rate`` from now on, without a jump (``DecodeError`` outside [0.1, 10])."""
        value = check_rate(rate)
        with self._lock:
            host = self._source()
            self._anchor(host, self._skew(host))
            self._rate = value

    def restart(self) -> None:
        """A reboot: uptime starts again from zero (skew and rate are the RTC's, they survive)."""
        with self._lock:
            self._boot = self._monotonic()

    def uptime(self) -> int:
        """Whole seconds since the last (re)boot."""
        with self._lock:
            return int(self._monotonic() - self._boot)

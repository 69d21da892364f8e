"""The time source of the core: real time in the app, a fake clock in tests."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> int:
        """Unix seconds."""
        ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())

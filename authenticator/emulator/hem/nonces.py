"""Single-use values with a deadline: challenges, pairing requests, issued ``authreq`` ids.

The device answers every one of them at most once (replays get 401) and forgets them at reboot.
Times are the device's own clock, so a skewed or re-set clock ages them as it would on the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["NoncePool"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    exp: int
    value: T


class NoncePool(Generic[T]):
    """``nonce → (exp, value)``; at most ``limit`` live entries (the oldest are dropped first).

    Not locked: the owning device's lock guards it.
    """

    def __init__(self, limit: int = 1024) -> None:
        self._items: dict[str, _Entry[T]] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._items)

    def put(self, nonce: str, value: T, *, exp: int, now: int) -> None:
        self._prune(now)
        while len(self._items) >= self._limit:
            del self._items[next(iter(self._items))]
        self._items[nonce] = _Entry(exp, value)

    def peek(self, nonce: str, *, now: int) -> T | None:
        """The value of a live (issued, unused, ``now <= exp``) nonce, without using it."""
        entry = self._items.get(nonce)
        if entry is None or now > entry.exp:
            return None
        return entry.value

    def take(self, nonce: str, *, now: int) -> T | None:
        """Use a live nonce once: its value, or ``None`` if unknown, used or expired."""
        value = self.peek(nonce, now=now)
        if value is not None:
            del self._items[nonce]
        return value

    def clear(self) -> None:
        self._items.clear()

    def _prune(self, now: int) -> None:
        for nonce in [n for n, e in self._items.items() if now > e.exp]:
            del self._items[nonce]

"""Access periods (spec/protocol.md §11): 15 min (default), 1 h, 8 h, 24 h.

The ``authreply``'s ``exp`` is ``now + period``; the HEM copies it into the bearer token.
"""

from __future__ import annotations

import re
from enum import IntEnum

from authenticator.errors import DecodeError

__all__ = ["Period"]

_TEXT = re.compile(r"\s*(\d{1,6})\s*(m|min|mins|minutes?|h|hours?|s)?\s*", re.IGNORECASE)


class Period(IntEnum):
    MIN15 = 900
    H1 = 3600
    H8 = 28800
    H24 = 86400

    @property
    def label(self) -> str:
        """Short human form: ``15 min``, ``1 h``, ``8 h``, ``24 h``."""
        return "15 min" if self is Period.MIN15 else f"{self.value // 3600} h"

    @property
    def flag(self) -> str:
        """The command-line form: ``15m``, ``1h``, ``8h``, ``24h``."""
        return "15m" if self is Period.MIN15 else f"{self.value // 3600}h"

    @classmethod
    def default(cls) -> Period:
        return cls.MIN15

    @classmethod
    def coerce(cls, seconds: int) -> Period:
        """Any other requested period falls back to 15 minutes (as the reference app does)."""
        try:
            return cls(seconds)
        except ValueError:
            return cls.MIN15

    @classmethod
    def parse(cls, text: object) -> Period:
        """Strictly parse ``15m``, ``1h``, ``8h``, ``24h`` (also ``60min``, ``3600s``, ``3600``)."""
        m = _TEXT.fullmatch(text) if isinstance(text, str) else None
        if m is None:
            raise DecodeError("The period must be one of 15m, 1h, 8h, 24h.")
        n = int(m.group(1))
        unit = (m.group(2) or "s").lower()
        seconds = n * 3600 if unit.startswith("h") else n * 60 if unit.startswith("m") else n
        try:
            return cls(seconds)
        except ValueError as exc:
            raise DecodeError("The period must be one of 15m, 1h, 8h, 24h.") from exc

"""A work-around for a reference-count bug of some PySide6 releases (seen in 6.12.0).

``SignalInstance.emit()`` returns ``True`` without taking a new reference to it, so every emit
called from Python takes one reference away from the ``True`` singleton. On Python 3.11 (where
``True`` is not immortal) a long-running app that emits a few thousand signals then aborts with
"Fatal Python error: bool_dealloc". :func:`emit` emits and gives the reference back — only when
the running PySide6 is measured to have the bug, so a fixed release costs nothing.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

__all__ = ["EMIT_LEAKS_TRUE", "emit"]


class _Probe(QObject):
    ping = Signal()


def _measure() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    leaked = before - sys.getrefcount(True)
    if leaked >= 8:
        for _ in range(leaked):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
        return True
    return False


EMIT_LEAKS_TRUE = _measure()


def emit(signal: Any, *args: object) -> None:
    """``signal.emit(*args)``, keeping ``True``'s reference count right on affected releases."""
    result = signal.emit(*args)
    if EMIT_LEAKS_TRUE and result is True:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))

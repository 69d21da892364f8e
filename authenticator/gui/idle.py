"""Idle lock: lock the app after N minutes without keyboard or mouse input in it.

An application-wide event filter notes the time of the last input event; a timer checks every few
seconds. Input elsewhere on the desktop does not count (the session's own lock is watched
separately); ``idle_lock_min = 0`` means never.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

from authenticator.gui.qtfix import emit

__all__ = ["IdleWatcher"]

_INPUT = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}
CHECK_MS = 5000


class IdleWatcher(QObject):
    idle = Signal()

    def __init__(
        self,
        minutes: Callable[[], int],
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        check_ms: int = CHECK_MS,
    ) -> None:
        super().__init__(parent)
        self._minutes = minutes
        self._clock = clock
        self.last_input = clock()
        self._timer = QTimer(self)
        self._timer.setInterval(check_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        self.last_input = self._clock()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def touch(self) -> None:
        self.last_input = self._clock()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in _INPUT:
            self.last_input = self._clock()
        return False

    def check(self) -> None:
        minutes = self._minutes()
        if minutes > 0 and self._clock() - self.last_input >= minutes * 60:
            self.last_input = self._clock()
            emit(self.idle)

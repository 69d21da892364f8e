"""Copying a token: on request only, and gone from the clipboard after 30 seconds.

The clipboard is cleared only if it still holds what we put there (the person may have copied
something else meanwhile), and when the app quits.

A copied secret carries the password-manager hint ``x-kde-passwordManagerHint: secret`` next to
its text, so clipboard managers and histories that honour it (Klipper, CopyQ, …) neither show
nor keep it.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QMimeData, QObject, QTimer
from PySide6.QtGui import QClipboard, QGuiApplication

__all__ = ["CLEAR_AFTER_S", "SECRET_HINT", "ClipboardGuard", "secret_mime_data"]

CLEAR_AFTER_S = 30
SECRET_HINT = "x-kde-passwordManagerHint"  # noqa: S105 - a MIME type, not a secret
"""The MIME type clipboard managers read to skip a secret (its value is ``secret``)."""


def secret_mime_data(secret: str) -> QMimeData:
    """``secret`` as plain text, marked for clipboard managers as a secret not to keep."""
    mime = QMimeData()
    mime.setText(secret)
    mime.setData(SECRET_HINT, QByteArray(b"secret"))
    return mime


class ClipboardGuard(QObject):
    """Puts secrets on the clipboard for a short time."""

    def __init__(
        self, parent: QObject | None = None, *, clear_after_s: int = CLEAR_AFTER_S
    ) -> None:
        super().__init__(parent)
        self.clear_after_s = clear_after_s
        self._held: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)

    @staticmethod
    def _clipboard() -> QClipboard:
        return QGuiApplication.clipboard()

    @property
    def holding(self) -> bool:
        return self._held is not None

    def copy(self, secret: str) -> None:
        """Put ``secret`` on the clipboard; it is cleared after ``clear_after_s`` seconds."""
        self._held = secret
        self._clipboard().setMimeData(secret_mime_data(secret))  # the clipboard owns it now
        self._timer.start(self.clear_after_s * 1000)

    def clear(self) -> None:
        """Remove our secret from the clipboard if it is still there."""
        held, self._held = self._held, None
        self._timer.stop()
        if held is not None and self._clipboard().text() == held:
            self._clipboard().clear()

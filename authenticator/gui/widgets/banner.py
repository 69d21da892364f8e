"""A one-sentence message in place: error, warning, success or information.

Errors are shown where they happened, in one calm sentence (never a dialog for something the
person can simply retry). The banner is hidden when empty and is announced to screen readers
through its accessible name. ``alert`` is the loud one: the app's own warning about what the
person is about to approve (a key the request names differently from the HEM, a program in a
remote session), drawn bold with a thick edge so it cannot be mistaken for a status line.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

__all__ = ["Banner", "BannerKind"]

BannerKind = Literal["error", "warn", "alert", "ok", "info"]


class Banner(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote a peer or a name
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setContentsMargins(10, 7, 10, 7)
        self.kind: BannerKind | None = None
        self.hide()

    def show_message(self, text: str, kind: BannerKind = "error") -> None:
        self.kind = kind
        self.setProperty("role", f"banner-{kind}")
        self.style().unpolish(self)
        self.style().polish(self)
        self.setText(text)
        self.setAccessibleName(text)
        self.show()

    def clear_message(self) -> None:
        self.kind = None
        self.setText("")
        self.setAccessibleName("")
        self.hide()

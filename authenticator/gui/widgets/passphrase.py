"""Passphrase fields: hidden text and a plain strength hint for new ones.

The text never goes into an accessible name, a tooltip or a log; callers read it once and clear
the field.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLineEdit, QWidget

__all__ = ["PassphraseField", "strength_hint"]


def _tr(text: str) -> str:
    return QCoreApplication.translate("passphrase", text)


def strength_hint(text: str) -> tuple[str, str]:
    """(level, words) for a new passphrase: ``weak``, ``fair`` or ``good`` and a hint."""
    if not text:
        return "weak", _tr("Use a few unrelated words or at least 12 characters.")
    pool = 0
    if any(c.islower() for c in text):
        pool += 26
    if any(c.isupper() for c in text):
        pool += 26
    if any(c.isdigit() for c in text):
        pool += 10
    if any(not c.isalnum() for c in text):
        pool += 33
    bits = len(text) * math.log2(max(pool, 2))
    if len(set(text)) <= 3:
        bits = min(bits, 20)
    if bits < 45 or len(text) < 10:
        return "weak", _tr("Weak: add more words or characters.")
    if bits < 70:
        return "fair", _tr("Fair: a longer passphrase is harder to guess.")
    return "good", _tr("Good.")


class PassphraseField(QLineEdit):
    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEchoMode(QLineEdit.EchoMode.Password)
        self.setAccessibleName(accessible_name)
        self.setPlaceholderText(accessible_name)

    def take(self) -> str:
        """The passphrase, and the field emptied."""
        text = self.text()
        self.clear()
        return text

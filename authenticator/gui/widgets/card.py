"""A centred card: the frame the first-run, welcome and lock screens are built in."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout, QWidget

__all__ = ["centred_card"]


def centred_card(
    page: QWidget, *, width: int, margins: tuple[int, int] = (28, 24), spacing: int = 12
) -> tuple[QFrame, QVBoxLayout]:
    """Put a fixed-width card in the middle of ``page`` (a bit above centre) and return it with
    the layout its content goes in."""
    outer = QVBoxLayout(page)
    outer.addStretch(1)
    card = QFrame(page)
    card.setProperty("role", "card")
    card.setFixedWidth(width)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(card)
    row.addStretch(1)
    outer.addLayout(row)
    outer.addStretch(2)
    layout = QVBoxLayout(card)
    horizontal, vertical = margins
    layout.setContentsMargins(horizontal, vertical, horizontal, vertical)
    layout.setSpacing(spacing)
    return card, layout

"""Plain text only: the widgets and helpers every screen uses to show text.

Qt guesses: a QLabel, a tooltip or a message box whose text "might be rich text"
(``Qt.mightBeRichText``: a tag near the start) is rendered as HTML. Outside text — a location the
broker reports, a requester's note, a program's name — would then decide what the screen shows
(a fake heading, a hidden comment, a sentence that reads "list the keys" over a request to delete
one). So:

* :class:`PlainLabel` is the app's label: a ``QLabel`` fixed to ``Qt.TextFormat.PlainText``;
  :func:`plain` does the same to a label made elsewhere (a dialog's, a form's);
* :func:`tooltip` turns any text into a tooltip Qt shows exactly as written (its own words are
  escaped into one paragraph, so nothing in them is read as markup);
* :func:`menu_text` keeps a ``&`` in outside text from becoming a keyboard mnemonic.

``tests/gui/test_plain_text.py`` walks every screen while hostile requests are shown and fails on
any label that is not plain text and any tooltip Qt would read as markup of the data's choosing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGui
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

__all__ = ["PlainLabel", "menu_text", "plain", "plain_box", "tooltip"]


class PlainLabel(QLabel):
    """A ``QLabel`` that always shows its text as plain text (never Qt's guessed rich text)."""

    def __init__(self, text: str | QWidget | None = "", parent: QWidget | None = None) -> None:
        """``PlainLabel(text, parent)``, ``PlainLabel(parent)`` or ``PlainLabel()``."""
        if not isinstance(text, str):
            parent, text = text, ""
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)


def plain(label: QLabel) -> QLabel:
    """``label`` switched to plain text (for labels another class creates)."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_box(box: QMessageBox) -> QMessageBox:
    """A message box whose text and informative text are plain text."""
    box.setTextFormat(Qt.TextFormat.PlainText)
    return box


def tooltip(text: str) -> str:
    """A tooltip that Qt shows exactly as ``text``: plain text when Qt would not guess markup,
    else the text escaped into one paragraph (``&lt;b&gt;`` shows as ``<b>``)."""
    if not QtGui.mightBeRichText(text):
        return text
    return QtGui.convertFromPlainText(text, QtGui.WhiteSpaceMode.WhiteSpaceNormal)


def menu_text(text: str) -> str:
    """Outside text for a menu entry or a button: ``&`` stays an ampersand."""
    return text.replace("&", "&&")

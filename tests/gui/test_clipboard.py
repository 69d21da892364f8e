"""Copying a token: the password-manager hint rides along, and the token leaves in time."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from authenticator.gui.clipboard import SECRET_HINT, ClipboardGuard

TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzY29wZSI6ImtleW1nbXQ6bGlzdCJ9.c2lnbmF0dXJl"


def test_a_copied_token_tells_clipboard_managers_to_skip_it(qtbot: QtBot) -> None:
    guard = ClipboardGuard(clear_after_s=30)
    guard.copy(TOKEN)
    mime = QGuiApplication.clipboard().mimeData()
    assert mime is not None
    assert mime.text() == TOKEN
    assert SECRET_HINT == "x-kde-passwordManagerHint"
    assert bytes(mime.data(SECRET_HINT).data()) == b"secret"
    assert guard.holding
    guard.clear()
    assert QGuiApplication.clipboard().text() == ""
    assert not guard.holding


def test_the_token_is_gone_after_its_time_unless_replaced(qtbot: QtBot) -> None:
    guard = ClipboardGuard(clear_after_s=1)
    guard.copy(TOKEN)
    qtbot.waitUntil(lambda: not guard.holding, timeout=5000)
    assert QGuiApplication.clipboard().text() == ""
    guard.copy(TOKEN)
    QGuiApplication.clipboard().setText("something the person copied")
    guard.clear()  # not ours any more: left alone
    assert QGuiApplication.clipboard().text() == "something the person copied"
    assert QGuiApplication.clipboard().mimeData().data(SECRET_HINT).isEmpty()

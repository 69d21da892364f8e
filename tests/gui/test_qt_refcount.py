"""The installed PySide6 must keep the reference counts of None and True right.

PySide6 6.12.0 drops a reference to ``None`` on every void call and to ``True`` on every
``emit``; on Python 3.11 (not immortal singletons) the app then aborts with "none_dealloc"
within minutes. pyproject pins ``pyside6-essentials<6.12``; this test says why if it breaks.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot


class _Emitter(QObject):
    ping = Signal()


def test_void_calls_and_emits_keep_none_and_true_alive(qtbot: QtBot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    emitter = _Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        label.setText("x")
        emitter.ping.emit()
    assert abs(sys.getrefcount(None) - none_before) < 50, "this PySide6 leaks None: use <6.12"
    assert abs(sys.getrefcount(True) - true_before) < 50, "this PySide6 leaks True: use <6.12"

"""TaskRunner: results on the GUI thread, errors as words, callbacks die with their widget."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from authenticator.errors import WrongPassphraseError
from authenticator.gui.tasks import GENERIC_ERROR, TaskRunner


def test_result_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    seen: list[tuple[int, bool]] = []
    gui = threading.current_thread()

    def work() -> int:
        assert threading.current_thread() is not gui
        return 42

    with qtbot.waitSignal(runner.idle):
        runner.run(work, lambda v: seen.append((v, threading.current_thread() is gui)))
    assert seen == [(42, True)]
    runner.close()


def test_errors_become_words(qtbot: QtBot, caplog: object) -> None:
    runner = TaskRunner()
    errors: list[str] = []

    def known() -> None:
        raise WrongPassphraseError()

    def unknown() -> None:
        raise KeyError("secret-ish detail")

    with qtbot.waitSignal(runner.idle):
        runner.run(known, on_error=lambda m, e: errors.append(m))
        runner.run(unknown, on_error=lambda m, e: errors.append(m))
    assert sorted(errors) == sorted(["Wrong passphrase; try again.", GENERIC_ERROR])
    assert all("secret-ish" not in e for e in errors)
    runner.close()


def test_callbacks_die_with_their_widget(qtbot: QtBot) -> None:
    runner = TaskRunner()
    gate = threading.Event()
    called: list[str] = []
    widget = QWidget()
    runner.run(lambda: gate.wait(5), lambda _: called.append("done"), owner=widget)
    widget.deleteLater()
    qtbot.waitUntil(lambda: not __import__("shiboken6").isValid(widget))
    gate.set()
    qtbot.waitUntil(lambda: runner.busy == 0)
    assert called == []
    runner.close()


def test_closed_runner_refuses_work(qtbot: QtBot) -> None:
    runner = TaskRunner()
    runner.close()
    assert runner.run(lambda: 1) == 0


def test_emitting_keeps_the_reference_count_of_true(qtbot: QtBot) -> None:
    """PySide6 6.12.0's emit() steals a reference to True; gui.qtfix.emit gives it back."""
    import sys

    from authenticator.gui.bridge import Bridge

    bridge = Bridge()
    bridge.hemsChanged.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(500):
        bridge.hems_changed()
    assert abs(sys.getrefcount(True) - before) < 10

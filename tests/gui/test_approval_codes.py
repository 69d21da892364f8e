"""Code matching in the window: the prompt asks which of three codes the requester shows; Allow
waits for a pick; the right one approves, a wrong one denies (journalled as suspicious). The
codes are reachable with the mouse, with Tab and by typing their digits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from authenticator.core.agent.protocol import TokenAnswer
from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import UserCancelled
from authenticator.gui.windows.approval import ApprovalView
from authenticator.gui.windows.main import MainWindow
from tests.gui.conftest import agent_for, bring_in, outcome, paired
from tests.hostile import MIXED


@pytest.fixture
def agent(core: Core, emu: RunningEmulator) -> Iterator[AgentServer]:
    with agent_for(core, emu, "gc", code_matching="always") as server:
        yield server


def ask(path: Path, code: int) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def run() -> None:
        try:
            result.append(AgentClient(path).token("keymgmt:list", code=code, timeout=60))
        except Exception as exc:  # the test inspects it
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def shown(qtbot: QtBot, window: MainWindow) -> ApprovalView:
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.state == "asking", timeout=20_000)
    return view


def held_back_over(qtbot: QtBot, window: MainWindow, view: ApprovalView) -> None:
    """The window in front and the input delay over: only the code can hold Allow back now."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.waitUntil(lambda: not view._held.isActive(), timeout=5000)


def codes_of(view: ApprovalView) -> list[str]:
    return [b.text() for b in view.code_buttons]


def test_the_right_code_approves(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, emu: RunningEmulator
) -> None:
    window.refresh_screen()
    thread, result = ask(agent.path, 47)
    view = shown(qtbot, window)
    request = view.request
    assert request is not None
    assert len(request.codes) == 3
    assert view.code_box.isVisibleTo(view)
    assert view.code_question.text() == "Which code does the program's terminal show?"
    assert "it is its claim" in view.code_note.text()  # the code is the program's word
    assert sorted(codes_of(view)) == sorted(f"{c:02d}" for c in request.codes)
    assert "47" in codes_of(view)
    held_back_over(qtbot, window, view)
    assert not view.approve_button.isEnabled()  # no pick yet
    button = view.code_buttons[request.codes.index(47)]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert view.code == 47
    assert button.text() == "✓ 47"
    assert button.accessibleName() == "Code 47 (picked)"
    assert view.approve_button.isEnabled()
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    thread.join(60)
    (answer,) = result
    assert isinstance(answer, TokenAnswer)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert view.banner.kind == "ok"


def test_a_wrong_code_denies_and_says_it_was_journalled(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer
) -> None:
    window.refresh_screen()
    thread, result = ask(agent.path, 21)
    view = shown(qtbot, window)
    request = view.request
    assert request is not None
    wrong = next(c for c in request.codes if c != 21)
    qtbot.mouseClick(view.code_buttons[request.codes.index(wrong)], Qt.MouseButton.LeftButton)
    held_back_over(qtbot, window, view)
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    thread.join(60)
    assert isinstance(result[0], UserCancelled)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert view.banner.kind == "error"
    assert view.banner.text() == (
        f"Denied: {wrong:02d} is not the code the requester shows, so this was not the request "
        "you expected. It was journalled as suspicious."
    )
    denied = next(e for e in core.journal_entries() if e.kind == "request.denied")
    assert denied.fields["suspicious"] is True
    assert denied.fields["picked"] == wrong


def test_the_codes_by_tab_and_by_their_digits(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer
) -> None:
    window.refresh_screen()
    thread, _ = ask(agent.path, 58)
    view = shown(qtbot, window)
    request = view.request
    assert request is not None
    held_back_over(qtbot, window, view)
    # Tab: each code is a stop, in order, then the period
    view.code_buttons[0].setFocus(Qt.FocusReason.TabFocusReason)
    walked: list[QWidget | None] = []
    for _ in range(3):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        walked.append(QApplication.focusWidget())
    assert walked == [*view.code_buttons[1:], view.period.focus_target()]
    assert view.code is None  # walking picks nothing
    # Space on a focused code picks it
    view.code_buttons[1].setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(view.code_buttons[1], Qt.Key.Key_Space)
    assert view.code == request.codes[1]
    # typing the digits picks that code, wherever the focus is in the view
    view.period.focus_target().setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClicks(QApplication.focusWidget(), "58")
    assert view.code == 58
    assert QApplication.focusWidget() is view.code_buttons[request.codes.index(58)]
    assert view.approve_button.isEnabled()
    assert view.state == "asking"  # a pick never answers
    assert request.id in core.inbox
    # a digit that starts no code does nothing
    other = next(c for c in request.codes if c != 58)
    qtbot.keyClicks(QApplication.focusWidget(), "0")
    assert view.code == 58
    qtbot.keyClicks(QApplication.focusWidget(), f"{other:02d}")
    assert view.code == other
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # Alt+D: deny
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    thread.join(60)


def test_a_code_in_a_requesters_note(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    """The Manager page shows its code and says it in its note: the page's claim."""
    paired(core, requester)
    session = requester.request_access(
        "logger:get", note=f"code:63 on the Manager page {MIXED[:90]}"
    )
    rid = bring_in(qtbot, core, session)
    window.show_request(rid)
    view = shown(qtbot, window)
    assert view.code_box.isVisibleTo(view)
    assert view.code_question.text() == "Which code does the page that asked show?"
    assert "requester's note" in view.code_note.text()
    assert "63" in codes_of(view)
    for button in view.code_buttons:  # the note's words never reach the buttons
        assert isinstance(button, QPushButton)
        assert button.text().isdigit()
    assert view.code_question.textFormat() == Qt.TextFormat.PlainText
    qtbot.keyClicks(view, "63")
    held_back_over(qtbot, window, view)
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    assert outcome(qtbot, session).state == "approved"


def test_without_code_matching_nothing_is_asked(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    core.update_settings(code_matching="off")
    paired(core, requester)
    session = requester.request_access("logger:get", note="code:63")
    window.show_request(bring_in(qtbot, core, session))
    view = shown(qtbot, window)
    assert not view.code_box.isVisibleTo(view)
    held_back_over(qtbot, window, view)
    assert view.approve_button.isEnabled()

"""The keyboard alone: one mnemonic per action, arrows for the period, Tab in reading order, and
a focus outline a person can see on every stop — with QTest key presses on the real window.

The old hazard: Alt+N was both "Show the next request" and "Deny — I didn't ask for this", so a
person pressing it twice denied, reported and muted the next request unseen. Now every letter of
the requests page (and of the approval view in every state) is used once.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import UserCancelled
from authenticator.gui.theme import apply_theme, colors
from authenticator.gui.windows.main import MainWindow
from authenticator.gui.windows.unpair import UnpairDialog
from authenticator.protocol.periods import Period
from tests.gui.conftest import bring_in, outcome, paired
from tests.support_emulator import HEM_PASSPHRASE

_MNEMONIC = re.compile(r"&([^&\s])")


def mnemonics(widgets: Iterable[QWidget]) -> list[str]:
    """The Alt+letter of each button, and of each label that has a buddy."""
    letters = []
    for widget in widgets:
        if isinstance(widget, QAbstractButton) or (
            isinstance(widget, QLabel) and widget.buddy() is not None
        ):
            found = _MNEMONIC.search(widget.text().replace("&&", ""))
            if found:
                letters.append(found.group(1).lower())
    return letters


def visible_mnemonics(root: QWidget) -> list[str]:
    return mnemonics(w for w in root.findChildren(QWidget) if w.isVisible())


def show(qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, scope: str) -> str:
    session = requester.request_access(scope)
    rid = bring_in(qtbot, core, session)
    window.show_request(rid)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == rid)
    return rid


def active(qtbot: QtBot, window: MainWindow) -> None:
    """The window in front and Allow ready (it waits a moment after the window comes up)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.waitUntil(window.requests.view.approve_button.isEnabled, timeout=5000)


def test_every_mnemonic_of_the_requests_page_is_used_once(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    show(qtbot, window, core, requester, "storage:disk0")
    page, view = window.requests, window.requests.view
    # every state's buttons at once: asking, ended (next), a pasted request's token
    every = mnemonics(page.findChildren(QWidget))
    assert len(every) == len(set(every)), every
    assert set(every) >= {"a", "d", "r", "w", "i", "n", "c", "p", "h"}
    letters = dict(
        zip(
            ("allow", "deny", "report", "next"),
            mnemonics(
                [view.approve_button, view.deny_button, view.report_button, view.next_button]
            ),
            strict=True,
        )
    )
    assert letters == {"allow": "a", "deny": "d", "report": "r", "next": "n"}
    visible = visible_mnemonics(window)
    assert len(visible) == len(set(visible)), visible


@pytest.mark.parametrize("page", ["hems", "history"])
def test_every_visible_mnemonic_of_a_page_is_used_once(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, page: str
) -> None:
    paired(core, requester)
    window.show_page(page)
    window.hems.reload()
    visible = visible_mnemonics(window)
    assert visible, "the page has mnemonics"
    assert len(visible) == len(set(visible)), visible


def test_every_mnemonic_of_the_unpair_dialog_is_used_once(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    dialog = UnpairDialog(window.ctx, core.hems()[0], window)
    qtbot.addWidget(dialog)
    every = mnemonics(dialog.findChildren(QWidget))
    assert len(every) == len(set(every)), every


def test_pressing_alt_n_twice_never_answers_the_next_request(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    first = requester.request_access("keymgmt:list")
    second = requester.request_access("system:shutdown")
    bring_in(qtbot, core, first)
    bring_in(qtbot, core, second)
    page, view = window.requests, window.requests.view
    window.show_request(first.event_id)
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == first.event_id)
    first.cancel()
    core.refresh()
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert view.next_button.isVisible()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == second.event_id)
    assert view.state == "asking"
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)  # the same key again
    QApplication.processEvents()
    assert view.state == "asking"
    assert second.event_id in core.inbox
    assert second.poll().state == "pending"
    assert core.hems()[0].muted_until is None
    # Alt+R is the report, on purpose
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    assert outcome(qtbot, second).state == "denied"
    qtbot.waitUntil(lambda: core.hems()[0].muted_until is not None, timeout=10_000)
    qtbot.waitUntil(lambda: page.count == 0)  # the bridge's signal is queued to the GUI thread


def test_arrow_keys_choose_the_period(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    show(qtbot, window, core, requester, "storage:disk0")
    view = window.requests.view
    active(qtbot, window)
    view.period.focus_target().setFocus(Qt.FocusReason.TabFocusReason)
    steps = [
        (Qt.Key.Key_Right, Period.H1),
        (Qt.Key.Key_Down, Period.H8),
        (Qt.Key.Key_Right, Period.H24),
        (Qt.Key.Key_Right, Period.MIN15),  # round, as a radio group does
        (Qt.Key.Key_Left, Period.H24),
        (Qt.Key.Key_Up, Period.H8),
        (Qt.Key.Key_Home, Period.MIN15),
        (Qt.Key.Key_End, Period.H24),
    ]
    for key, expected in steps:
        qtbot.keyClick(QApplication.focusWidget(), key)
        assert view.period.period() is expected, (key, view.period.period())
        assert QApplication.focusWidget() is view.period.buttons[expected]
        assert view.approve_button.text() == f"&Allow read-only for {expected.label}"
    assert view.state == "asking"


@pytest.mark.parametrize("scope", ["storage:disk0", "keymgmt:list"])
def test_tab_follows_the_reading_order(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, scope: str
) -> None:
    paired(core, requester)
    show(qtbot, window, core, requester, scope)
    view = window.requests.view
    view.period.set_period(Period.H8)  # Tab lands on the chosen period, wherever it is
    active(qtbot, window)
    start = view.period.focus_target()
    start.setFocus(Qt.FocusReason.TabFocusReason)
    expected: list[QWidget] = [view.write] if view.write.isVisible() else []
    expected += [view.approve_button, view.deny_button, view.report_button, view.details_toggle]
    walked = []
    for _ in expected:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        walked.append(QApplication.focusWidget())
    assert walked == expected
    back = []
    for _ in expected:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab)
        back.append(QApplication.focusWidget())
    assert back == [*reversed(expected[:-1]), start]
    assert view.state == "asking"  # walking answers nothing


def _near(image: QImage, color: QColor, tolerance: int = 18) -> int:
    """How many pixels of ``image`` have about ``color``."""
    count = 0
    r0, g0, b0 = color.red(), color.green(), color.blue()
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if abs(c.red() - r0) + abs(c.green() - g0) + abs(c.blue() - b0) <= tolerance:
                count += 1
    return count


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_stop_shows_where_the_focus_is(
    qtbot: QtBot,
    window: MainWindow,
    *,
    core: Core,
    requester: Requester,
    qapp: QApplication,
    theme: str,
) -> None:
    apply_theme(qapp, theme)  # type: ignore[arg-type]
    focus = QColor(colors(theme == "dark")["focus"])
    paired(core, requester)
    bring_in(qtbot, core, requester.request_access("keymgmt:list"))  # a queue: a stop too
    show(qtbot, window, core, requester, "storage:disk0")
    page, view = window.requests, window.requests.view
    active(qtbot, window)
    stops: list[QWidget] = [
        view.period.focus_target(),
        view.write,
        view.approve_button,
        view.deny_button,
        view.report_button,
        view.details_toggle,
        page.paste_button,
        page.check_button,
    ]
    window.nav.setFocus(Qt.FocusReason.TabFocusReason)
    for stop in stops:
        assert stop.isVisible(), stop
        before = _near(stop.grab().toImage(), focus)
        stop.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(stop.hasFocus)
        after = _near(stop.grab().toImage(), focus)
        # an outline round the whole control: at least its width and its height over again
        assert after - before >= stop.width() + stop.height(), (stop.objectName(), before, after)
        window.nav.setFocus(Qt.FocusReason.TabFocusReason)
    # the rows of a list: the queue's current row, the sidebar's current section
    for listing in (page.list, window.nav):
        listing.clearFocus()
        other: QWidget = page.check_button
        other.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(other.hasFocus)
        before = _near(listing.viewport().grab().toImage(), focus)
        listing.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(listing.hasFocus)
        row = listing.visualItemRect(listing.currentItem())
        after = _near(listing.viewport().grab().toImage(), focus)
        assert after - before >= row.width() + row.height(), (listing.accessibleName(), after)
    apply_theme(qapp, "light")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- programs' prompts


@pytest.fixture
def agent(core: Core, emu: RunningEmulator) -> Iterator[AgentServer]:
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    directory = Path(f"/tmp/eda-gk-{os.getpid()}")
    directory.mkdir(mode=0o700, exist_ok=True)
    server = AgentServer(core, directory / "agent.sock")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def walk(qtbot: QtBot, start: QWidget, steps: int) -> list[QWidget | None]:
    start.setFocus(Qt.FocusReason.TabFocusReason)
    walked: list[QWidget | None] = []
    for _ in range(steps):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        walked.append(QApplication.focusWidget())
    return walked


def test_tab_through_the_codes_and_each_scopes_write_access(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer
) -> None:
    core.update_settings(code_matching="always")
    window.refresh_screen()

    def program() -> None:
        with contextlib.suppress(UserCancelled):  # denied at the end
            AgentClient(agent.path).tokens(
                ["storage:disk0", "keymgmt:list", "storage:disk1"], write=True, code=35, timeout=60
            )

    asker = threading.Thread(target=program)
    asker.start()
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.state == "asking", timeout=20_000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QApplication.processEvents()
    writes = list(view.part_writes.values())
    expected: list[QWidget | None] = [
        *view.code_buttons[1:],
        view.period.focus_target(),
        *writes,
        view.approve_button,  # enabled only once a code is picked: Tab skips it until then
        view.deny_button,
    ]
    qtbot.keyClicks(view, "35")  # pick the code first, so Allow is a stop
    assert view.code == 35
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)  # the input delay
    assert walk(qtbot, view.code_buttons[0], len(expected)) == expected
    letters = visible_mnemonics(window)
    assert len(letters) == len(set(letters)), letters
    for request in core.pending():
        core.deny(request.id)
    asker.join(60)


def test_tab_reaches_the_rules_a_program_may_be_given(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, tmp_path: Path
) -> None:
    from tests.gui.test_approval_renewal import SCRIPT, Run, prompt

    script = tmp_path / "tunnel.py"
    script.write_text(SCRIPT, encoding="utf-8")
    core.update_settings(agent_remember_program=True, code_matching="off")
    window.refresh_screen()
    run = Run(script, agent, "15m", "keymgmt:list")
    view = prompt(qtbot, window)
    active(qtbot, window)
    expected: list[QWidget | None] = [view.remember_box, view.renew_box, view.approve_button]
    assert walk(qtbot, view.period.focus_target(), 3) == expected
    letters = dict(
        zip(("remember", "renew"), mnemonics([view.remember_box, view.renew_box]), strict=True)
    )
    assert letters == {"remember": "g", "renew": "u"}
    qtbot.keyClick(window, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(view.renew_box.isChecked)  # a mnemonic clicks after a short animation
    assert view.state == "asking"  # a rule never answers
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)
    assert run.result(qtbot)["how"] == "clicked"
    assert [r.kind for r in core.rules()] == ["renew"]

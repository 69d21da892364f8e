"""The Access in use page, with the real core: tokens handed out through the agent socket and at
the broker, the live countdown (the main window's status tick), how each was approved, the
remembered rules with Forget, and the honest note that the HEM cannot revoke a token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from authenticator.core.agent.server import AgentServer
from authenticator.core.app import Core
from authenticator.core.grants import REVOCATION_NOTE
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui import fmt
from authenticator.gui.windows.grants import GrantsPage, expires_in
from authenticator.gui.windows.main import MainWindow
from authenticator.protocol.periods import Period
from tests.gui.conftest import MovableClock, agent_for, paired
from tests.gui.test_approval_renewal import SCRIPT, Run, allow, prompt, tick
from tests.gui.test_layout import clipped, settle
from tests.hostile import MARK, MIXED
from tests.support_emulator import PASSPHRASE, ask


@pytest.fixture
def agent(core: Core, emu: RunningEmulator) -> Iterator[AgentServer]:
    with agent_for(core, emu, "gg", name="desk-hem") as server:
        yield server


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "tunnel.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def cells(page: GrantsPage, row: int) -> list[str]:
    table = page.tokens
    return [table.item(row, col).text() for col in range(table.columnCount())]


def rule_cells(page: GrantsPage, row: int) -> list[str]:
    table = page.rules_table
    return [table.item(row, col).text() for col in range(table.columnCount() - 1)]


def open_page(window: MainWindow) -> GrantsPage:
    window.show_page("grants")
    QApplication.processEvents()
    assert window.pages.currentWidget() is window.grants
    return window.grants


def test_tokens_in_use_with_a_live_countdown_until_they_expire(
    qtbot: QtBot,
    *,
    window: MainWindow,
    core: Core,
    agent: AgentServer,
    script: Path,
    clock: MovableClock,
) -> None:
    window.refresh_screen()
    page = open_page(window)
    note = page.findChild(QLabel, "revocation-note")
    assert note is not None
    assert note.text() == REVOCATION_NOTE
    assert note.isVisible()
    assert page.tokens_empty.isVisible()
    assert not page.tokens.isVisible()
    assert page.rules_empty.isVisible()

    run = Run(script, agent, "1h", "keymgmt:list,logger:get")
    view = prompt(qtbot, window)
    tick(qtbot, view.renew_box)
    allow(qtbot, view)
    assert run.result(qtbot)["how"] == "clicked"
    open_page(window)
    qtbot.waitUntil(lambda: page.tokens.rowCount() == 2, timeout=10_000)  # grantsChanged
    rows = sorted((cells(page, r) for r in range(2)), key=lambda c: c[1])
    for row in rows:
        assert row[0].startswith(("python", "tunnel"))
        assert "(pid " in row[0]
        assert row[2] == "desk-hem"
        assert row[4] == "Clicked"
    assert [r[1] for r in rows] == ["List the keys", "Read the log"]
    grants = core.grants()
    assert {g.exp - g.issued_at for g in grants} == {3600}

    def shown_now() -> bool:
        """Each row says what is left now (a second may pass between the tick and the check)."""
        now = core.clock.now()
        texts = {cells(page, r)[3] for r in range(2)}
        return any(texts == {expires_in(g.seconds_left(t)) for g in grants} for t in (now - 1, now))

    window.tick_status()
    assert shown_now()
    tip = page.tokens.item(0, 1).toolTip()
    assert "desk-hem" in tip  # the scope in words: "list the keys on desk-hem"
    # the countdown moves with the main window's one-second tick: ten minutes on, ten less
    clock.offset += 600
    window.tick_status()
    assert shown_now()
    # the renewal rules, with Forget
    assert page.rules_table.rowCount() == 2
    rules = core.rules()
    for r in range(2):
        _program, kind, ends, access = rule_cells(page, r)
        assert kind == "Renew without asking"
        assert ends.endswith(fmt.date_time(rules[r].until)[-5:])  # its time of day
        assert access.endswith(" · desk-hem")
    assert page.rules_note.text() == "Every rule also ends when the app locks."
    # renewed without asking: listed as such
    assert Run(script, agent, "1h", "keymgmt:list").result(qtbot)["how"] == "renewed"
    qtbot.waitUntil(lambda: page.tokens.rowCount() == 3, timeout=10_000)
    hows = sorted(cells(page, r)[4] for r in range(3))
    assert hows == ["Clicked", "Clicked", "Renewed"]
    # a token outlives a lock (the HEM cannot revoke it): hidden while locked, back after
    core.lock()
    qtbot.waitUntil(lambda: page.tokens.rowCount() == 0)
    core.unlock(PASSPHRASE)
    window.enter_unlocked()
    open_page(window)
    assert page.tokens.rowCount() == 3
    assert page.rules_table.rowCount() == 0  # rules are forgotten on lock
    # expired: the row goes at the next tick
    clock.offset += 3600
    window.tick_status()
    assert page.tokens.rowCount() == 0
    assert page.tokens_empty.isVisible()


def test_forget_a_rule(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, script: Path
) -> None:
    window.refresh_screen()
    run = Run(script, agent, "15m", "keymgmt:list")
    view = prompt(qtbot, window)
    tick(qtbot, view.renew_box)
    allow(qtbot, view)
    run.result(qtbot)
    page = open_page(window)
    qtbot.waitUntil(lambda: page.rules_table.rowCount() == 1, timeout=10_000)
    (rule,) = core.rules()
    button = page.forget_buttons[rule.id]
    assert button.text() == "Forget"
    assert button.isVisible()
    assert button.accessibleName().startswith("Forget: Renew without asking for ")
    # Tab from the table reaches the button (the table does not keep Tab for its cells)
    page.rules_table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(page.rules_table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is button
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.rules_table.rowCount() == 0, timeout=10_000)
    assert core.rules() == []
    qtbot.waitUntil(  # the forget task's own answer (grantsChanged may come first)
        lambda: page.banner.text().startswith("Forgotten: renew without asking for "),
        timeout=10_000,
    )
    assert core.journal_entries()[0].kind == "remember.forgotten"
    assert page.rules_empty.isVisible()
    # asked again next time, and the prompt says it renews
    again = Run(script, agent, "15m", "keymgmt:list")
    view = prompt(qtbot, window)
    assert view.request is not None
    assert view.request.is_renewal
    qtbot.mouseClick(view.deny_button, Qt.MouseButton.LeftButton)
    again.result(qtbot)


def test_a_broker_approval_names_the_requester_as_plain_text(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    paired(core, requester)
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location(MIXED[:120], "PL")
    asked = ask(core, requester, "keymgmt:list")
    core.approve(asked.request_id, Period.H8)
    page = open_page(window)
    qtbot.waitUntil(lambda: page.tokens.rowCount() == 1, timeout=10_000)
    who = page.tokens.item(0, 0).text()
    assert who.startswith("Someone at ")
    assert "\x1b" not in who
    assert "\n" not in who
    assert cells(page, 0)[4] == "Clicked"
    tip = page.tokens.item(0, 0).toolTip()
    assert "<h1>" not in tip or "&lt;h1&gt;" in tip  # shown as written, never as markup
    assert MARK not in page.note.text()


@pytest.mark.parametrize("size", ["default", "minimum"])
def test_the_page_fits_and_never_scrolls_sideways(
    qtbot: QtBot,
    *,
    window: MainWindow,
    core: Core,
    agent: AgentServer,
    script: Path,
    size: str,
) -> None:
    long_name = "a very long name for the HEM on the desk by the window"
    core.rename_hem("desk-hem", long_name)
    core.update_settings(agent_remember_program=True)
    window.refresh_screen()
    run = Run(script, agent, "8h", "keymgmt:list,system:config,logger:get,keymgmt:search")
    view = prompt(qtbot, window)
    tick(qtbot, view.renew_box)
    tick(qtbot, view.remember_box)
    allow(qtbot, view)
    run.result(qtbot)
    page = open_page(window)
    qtbot.waitUntil(lambda: page.rules_table.rowCount() == 8, timeout=10_000)
    settle(qtbot, window, window.size() if size == "default" else window.minimumSize())
    QApplication.processEvents()
    for table in (page.tokens, page.rules_table):
        assert table.horizontalScrollBar().maximum() == 0
        assert table.verticalScrollBar().maximum() == 0  # every row shown: the page scrolls
        header = table.horizontalHeader()
        for col in range(table.columnCount()):
            assert header.sectionSize(col) >= header.sectionSizeHint(col)
    assert clipped(page) == []
    for button in page.forget_buttons.values():
        assert button.height() >= button.sizeHint().height()

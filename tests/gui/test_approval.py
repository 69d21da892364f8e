"""The approval view through its real widgets: the HEM then mints exactly what the button said."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.core.model import Program
from authenticator.core.netfactory import NetFactory
from authenticator.emulator.requester import AccessSession, Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui.windows.main import MainWindow
from authenticator.protocol.periods import Period
from tests.gui.conftest import MovableClock, bring_in, outcome, paired


def shown(qtbot: QtBot, window: MainWindow, request_id: str) -> None:
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == request_id)
    assert view.state == "asking"


def ask_and_show(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, scope: str
) -> AccessSession:
    """The Manager asks for ``scope``; the window shows the request (its id: ``event_id``)."""
    session = requester.request_access(scope)
    shown(qtbot, window, bring_in(qtbot, core, session))
    return session


@pytest.mark.parametrize("period", list(Period), ids=lambda p: p.flag)
def test_approve_with_each_period(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, period: Period
) -> None:
    paired(core, requester)
    window.refresh_screen()
    session = ask_and_show(qtbot, window, core, requester, "keymgmt:list")
    view = window.requests.view
    assert view.title.text() == "List the keys"
    assert "wants to list the keys on" in view.sentence.text()
    assert view.period.period() is Period.MIN15  # the default
    assert not view.write.isVisibleTo(view)  # no write access for this scope
    qtbot.mouseClick(view.period.buttons[period], Qt.MouseButton.LeftButton)
    assert view.approve_button.text() == f"&Allow for {period.label}"
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    result = outcome(qtbot, session)
    assert result.state == "approved"
    assert result.claims["scope"] == "keymgmt:list"
    assert result.claims["exp"] - result.claims["iat"] in (int(period), int(period) - 1)
    assert "allow for" in view.banner.text().lower()
    qtbot.waitUntil(lambda: window.requests.count == 0)
    assert core.journal_entries()[0].fields["period"] == period.flag


def test_write_toggle_grants_read_and_write(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "storage:disk0")
    view = window.requests.view
    assert view.write.isVisibleTo(view)
    assert not view.write.isChecked()  # off by default
    assert view.approve_button.text() == "&Allow read-only for 15 min"
    qtbot.mouseClick(view.period.buttons[Period.H1], Qt.MouseButton.LeftButton)
    view.write.click()
    assert view.approve_button.text() == "&Allow read and write for 1 h"
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    assert outcome(qtbot, session).claims["scope"] == "storage:disk0:rw"


def test_write_requested_but_not_ticked_grants_read_only(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "storage:disk1:rw")
    view = window.requests.view
    assert view.write_hint.isVisibleTo(view)  # "the requester asked for write access"
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    assert outcome(qtbot, session).claims["scope"] == "storage:disk1"


def test_key_use_shows_the_key(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    kid = requester.find_key("PGP main")
    ask_and_show(qtbot, window, core, requester, f"keymgmt:use:{kid}")
    view = window.requests.view
    assert view.title.text() == "Use a key"
    assert "PGP main" not in view.sentence.text()  # stated by the request: a labelled row only
    assert kid[:12] in view.sentence.text()
    texts = [
        view.form.itemAt(i).widget().text()
        for i in range(view.form.count())
        if view.form.itemAt(i).widget() is not None
    ]
    assert "Key id" in texts
    assert "Key name — as the request states it" in texts
    assert "PGP main" in texts
    assert not view.raw.isVisibleTo(view)
    view.details_toggle.click()
    assert view.raw.isVisibleTo(view)
    assert f"keymgmt:use:{kid}" in view.raw.text()


def test_deny(qtbot: QtBot, window: MainWindow, core: Core, requester: Requester) -> None:
    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "system:config")
    qtbot.mouseClick(window.requests.view.deny_button, Qt.MouseButton.LeftButton)
    assert outcome(qtbot, session).state == "denied"
    qtbot.waitUntil(lambda: window.requests.view.state == "done")
    assert core.journal_entries()[0].kind == "request.denied"
    # the words of the core, the journal and an answer given from a notification
    assert window.requests.view.banner.text() == core.journal_entries()[0].text
    assert window.requests.view.banner.text().startswith("Denied: change the settings of ")


def test_report_denies_and_mutes(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    hem = paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "system:shutdown")
    qtbot.mouseClick(window.requests.view.report_button, Qt.MouseButton.LeftButton)
    assert outcome(qtbot, session).state == "denied"
    qtbot.waitUntil(lambda: window.requests.view.state == "done")
    assert core.journal_entries()[0].kind == "request.reported"
    assert core.hems()[0].muted_until is not None
    assert f"Requests from {hem.name} are muted" in window.requests.view.banner.text()


def test_countdown_expiry_closes_the_request(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, clock: MovableClock
) -> None:
    paired(core, requester)
    rid = ask_and_show(qtbot, window, core, requester, "keymgmt:list").event_id
    view = window.requests.view
    window.requests.tick()
    assert view.countdown.text().startswith("Expires in ")
    request = core.inbox.get(rid)
    clock.offset = request.expires_at - clock.now() + 2  # the request's time is up
    window.requests.tick()
    qtbot.waitUntil(lambda: view.state == "done", timeout=5000)
    assert "expired" in view.banner.text().lower()
    assert window.requests.count == 0
    assert core.journal_entries()[0].kind == "request.expired", [
        (e.kind, e.text) for e in core.journal_entries()[:4]
    ]


def test_cancelled_while_open(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "keymgmt:list")
    session.cancel()
    core.refresh()
    view = window.requests.view
    qtbot.waitUntil(lambda: view.state == "done")
    assert "withdrawn" in view.banner.text().lower()
    assert not view.answer.isVisibleTo(view)  # nothing left to click
    assert window.requests.count == 0


def test_cancelled_during_the_click_says_so(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "keymgmt:list")
    session.cancel()  # the app has not noticed yet
    view = window.requests.view
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert "withdrawn" in view.banner.text().lower()


def test_several_requests_queue_and_none_is_answered(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    sessions = [
        requester.request_access(s) for s in ("keymgmt:list", "system:config", "logger:get")
    ]
    for s in sessions:
        bring_in(qtbot, core, s)
    page = window.requests
    qtbot.waitUntil(lambda: page.count == 3)
    assert page.list.isVisibleTo(page)
    assert page.list.count() == 3
    assert all("Expires in" in page.list.item(i).text() for i in range(3))
    assert page.view.request is not None
    first = page.view.request.id
    page.list.setCurrentRow(1)
    assert page.view.request.id != first
    assert all(s.poll().state == "pending" for s in sessions)  # nothing answered by default
    assert window.nav.item(0).text() == "Requests (3)"
    # Answering one leaves the others waiting, and offers the next.
    qtbot.mouseClick(page.view.deny_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.count == 2)
    qtbot.waitUntil(lambda: page.view.state == "done")
    assert page.view.next_button.isVisibleTo(page.view)
    page.view.next_button.click()
    assert page.view.state == "asking"


def test_keyboard_only_approve(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "keymgmt:list")
    view = window.requests.view
    window.activateWindow()
    view.period.buttons[Period.MIN15].setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)  # arrows move in the group
    assert view.period.period() is Period.H1
    for _ in range(10):
        if QApplication.focusWidget() is view.approve_button:
            break
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view.approve_button
    assert view.approve_button.text() == "&Allow for 1 h"
    # Enter never approves (no default button) …
    qtbot.keyClick(view.approve_button, Qt.Key.Key_Return)
    qtbot.keyClick(view.approve_button, Qt.Key.Key_Enter)
    assert view.state == "asking"
    # … Space on the focused button does.
    qtbot.keyClick(view.approve_button, Qt.Key.Key_Space)
    result = outcome(qtbot, session)
    assert result.state == "approved"
    assert result.claims["exp"] - result.claims["iat"] in (3600, 3599)


def test_the_gui_thread_never_blocks(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    core.session.net = NetFactory(hem_timeout=10.0, broker_timeout=10.0)  # slow, not failing
    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "keymgmt:list")
    emu.emulator.faults.add("/notify", latency_s=3)
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(tick)
    timer.start()
    view = window.requests.view
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    assert view.state == "busy"
    assert view.banner.text() == "Approving…"
    qtbot.waitUntil(lambda: view.state == "done", timeout=15_000)
    timer.stop()
    emu.emulator.faults.clear()
    assert ticks >= 20  # the event loop kept running during the 3 s call
    assert outcome(qtbot, session).state == "approved"


def test_local_program_token_is_handed_over(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    entry = core.ask_hem(
        "keymgmt:list",
        program=Program("backup.sh", pid=4242, path="/usr/local/bin/backup.sh", user="alice"),
        reason="nightly backup",
        period=Period.H8,
    )
    rid = entry.request.id
    shown(qtbot, window, rid)
    view = window.requests.view
    texts = " ".join(
        w.text()
        for i in range(view.form.count())
        if (w := view.form.itemAt(i).widget()) is not None
    )
    assert "backup.sh" in texts
    assert "/usr/local/bin/backup.sh" in texts
    assert "pid 4242" in texts
    assert "Reason — claimed by the program nightly backup" in texts
    assert view.period.period() is Period.H8  # the program's asked period is the default
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert "Token handed to backup.sh" in view.banner.text()
    assert entry.decision.grant is not None
    assert entry.decision.grant.token
    assert entry.decision.grant.token not in view.banner.text()


def test_pasted_request_shows_the_token_with_copy(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    authreq, _ = requester.direct_authreq("keymgmt:list")
    window.requests.open_text(authreq)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.state == "asking", timeout=10_000)
    assert "a pasted request" in " ".join(
        w.text()
        for i in range(view.form.count())
        if (w := view.form.itemAt(i).widget()) is not None
    )
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.token_row.isVisibleTo(view), timeout=10_000)
    token = view.token_field.text()
    assert token.count(".") == 2
    assert view.token_field.echoMode() == view.token_field.EchoMode.Password
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    clipboard = QApplication.clipboard()
    assert clipboard.text() == token
    window.ctx.clipboard.clear()  # what the 30 s timer does
    assert clipboard.text() == ""


def test_clipboard_is_left_alone_when_it_changed(qtbot: QtBot, window: MainWindow) -> None:
    guard = window.ctx.clipboard
    guard.copy("secret-token")
    QApplication.clipboard().setText("something else")
    guard.clear()
    assert QApplication.clipboard().text() == "something else"


def test_mnemonics_are_unique_while_asking(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    """Two buttons sharing Alt+letter would make the shortcut only move the focus."""
    import re

    from PySide6.QtWidgets import QAbstractButton

    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "storage:disk0")
    letters = []
    for button in window.findChildren(QAbstractButton):
        if button.isVisible():
            m = re.search(r"&(\w)", button.text())
            if m:
                letters.append(m.group(1).lower())
    assert len(letters) == len(set(letters)), letters
    assert {"a", "d", "r", "w"} <= set(letters)
    qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # Alt+D: Deny
    assert outcome(qtbot, session).state == "denied"

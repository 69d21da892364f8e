"""The approval view through its real widgets: the HEM then mints exactly what the button said."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QFormLayout, QLabel, QStyleOptionViewItem, QWidget
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.core.model import Program
from authenticator.core.netfactory import NetFactory
from authenticator.emulator.requester import AccessSession, Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui import fmt
from authenticator.gui.windows.approval import ApprovalView
from authenticator.gui.windows.main import MainWindow
from authenticator.gui.windows.requests import QUEUE_MIN_WIDTH
from authenticator.protocol.periods import Period
from tests.gui.conftest import MovableClock, bring_in, outcome, paired
from tests.hostile import MARK
from tests.support_emulator import PASSPHRASE, make_core, pair_by_qr


def click_allow(qtbot: QtBot, view: ApprovalView) -> None:
    """Click Allow as a person does: once it can be clicked (it waits a moment after a request
    appears or the window comes up, so input meant for something else never lands on it)."""
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)


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
    click_allow(qtbot, view)
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
    click_allow(qtbot, view)
    assert outcome(qtbot, session).claims["scope"] == "storage:disk0:rw"


def test_write_requested_but_not_ticked_grants_read_only(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    session = ask_and_show(qtbot, window, core, requester, "storage:disk1:rw")
    view = window.requests.view
    assert view.write_hint.isVisibleTo(view)  # "the requester asked for write access"
    click_allow(qtbot, view)
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
    # The mute shows where requests are looked for, with its own Unmute.
    bar = window.requests.mute_bar
    qtbot.waitUntil(bar.isVisible)
    until = fmt.until_text(core.hems()[0].muted_until, core.clock.now())
    assert bar.line.text() == (
        f"Requests from {hem.name} are muted {until}: they are denied without asking you."
    )
    assert window.hems.table.item(0, 6).text() == until
    qtbot.mouseClick(bar.unmute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=10_000)
    assert core.hems()[0].muted_until is None
    # no stale "muted" line: the ended request says its HEM's requests are shown again
    assert window.requests.view.banner.text() == (
        f"Denied and reported: shut down {hem.name}. Requests from {hem.name} are shown again."
    )
    assert window.hems.table.item(0, 6).text() == "no"


def test_a_mute_that_runs_out_leaves_every_page(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, clock: MovableClock
) -> None:
    hem = paired(core, requester)
    core.session.update_pairing(hem.name, muted_until=core.clock.now() + 600)
    bar = window.requests.mute_bar
    qtbot.waitUntil(bar.isVisible)
    assert bar.line.text().startswith(f"Requests from {hem.name} are muted until ")
    assert window.hems.table.item(0, 6).text().startswith("until ")
    clock.offset += 601
    window.requests.tick()
    assert not bar.isVisible()
    assert window.hems.table.item(0, 6).text() == "no"


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
    click_allow(qtbot, view)
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
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
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
    click_allow(qtbot, view)
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
    click_allow(qtbot, view)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert "Token handed to backup.sh" in view.banner.text()
    assert entry.decision.grant is not None
    assert entry.decision.grant.token
    assert entry.decision.grant.token not in view.banner.text()


def test_pasted_request_shows_the_token_with_copy(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    authreq, _ = requester.direct_authreq("keymgmt:list", note="for the audit, <b>urgent</b>")
    window.requests.open_text(authreq)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.state == "asking", timeout=10_000)
    rows = form_rows(view)
    assert ("Asked by", "a pasted request") in rows
    assert ("Their note — not verified", "for the audit, <b>urgent</b>") in rows
    click_allow(qtbot, view)
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


# ---------------------------------------------------------------------------- who claims what


def _key_use(kid: str, label: str) -> str:
    """A key-use scope whose ``#meta`` states a label of the requester's choosing."""
    from authenticator.protocol.b64 import b64encode

    meta = b64encode(f'{{"t":"AC16","l":"{label}"}}'.encode())
    return f"keymgmt:use:{kid}#{meta}"


def form_rows(view: ApprovalView) -> list[tuple[str, str]]:
    """The form's rows as (name, value), top to bottom."""
    rows = []
    for row in range(view.form.rowCount()):
        name = view.form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
        value = view.form.itemAt(row, QFormLayout.ItemRole.FieldRole).widget()
        assert isinstance(name, QLabel)
        assert isinstance(value, QLabel)
        assert name.textFormat() == value.textFormat() == Qt.TextFormat.PlainText
        rows.append((name.text(), value.text()))
    return rows


def test_the_sentence_is_the_truth_and_each_claim_says_whose_it_is(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    hem = paired(core, requester)
    # The owner once let a program list the keys: the app learns the HEM's own key names.
    listed = core.ask_hem("keymgmt:list")
    assert core.approve(listed.request.id).token
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location(f"<b>Verified</b> {MARK}", "PL")
    kid = requester.find_key("PGP main")
    assert kid is not None
    session = requester.request_access(_key_use(kid, "Backup signing key"))
    rid = bring_in(qtbot, core, session)
    # (the key list ended on screen as "approved"; the new request waits until it is picked)
    window.show_request(rid)
    shown(qtbot, window, rid)
    view = window.requests.view
    request = view.request
    assert request is not None
    # the title and the sentence: the verified scope, the HEM's name, nothing an outsider said
    assert view.title.text() == request.title == "Use a key"
    assert view.sentence.text() == request.text
    assert view.sentence.text() == f"Someone wants to use the key {kid[:12]}… on {hem.name}."
    for words in (MARK, "Verified", "Backup", "PGP"):
        assert words not in view.title.text() + view.sentence.text()
    # the rows: the HEM, the verified key id, then exactly the core's claims, once each
    rows = form_rows(view)
    claims = request.claims()
    assert [name for name, _ in rows] == ["HEM", "Key id", *(row for row, _ in claims)]
    assert rows[1] == ("Key id", kid)
    assert rows[2:] == [(row, value.text) for row, value in claims]
    names = [name for name, _ in rows]
    assert "Location — reported by the broker" in names
    assert ("Key name — as the request states it", "Backup signing key") in rows
    assert ("Key name — as the HEM reports it", "PGP main") in rows
    assert len(names) == len(set(names))
    # whose claim it is, in a tooltip too
    location = view.form.itemAt(names.index("Location — reported by the broker"),
                                QFormLayout.ItemRole.FieldRole).widget()  # fmt: skip
    assert "broker" in location.toolTip()
    # the app's own warning, loud, right above the buttons
    (warning,) = request.warnings
    assert view.warning.isVisible()
    assert view.warning.kind == "alert"
    assert warning in view.warning.text()
    assert view.warning.textFormat() == Qt.TextFormat.PlainText

    def top(widget: QWidget) -> int:
        return widget.mapTo(view.card, QPoint(0, 0)).y()

    assert top(view.period) < top(view.warning) < top(view.approve_button)
    assert top(view.warning) < top(view.deny_button)
    # the queue row and its tooltip: the title and the verified sentence
    page = window.requests
    text = page.item_text(request.id)
    assert text is not None
    assert text.splitlines()[0] == "Use a key"
    tip = page._items[request.id].toolTip()
    assert request.text.replace("…", "") in tip.replace("…", "")


def test_a_local_program_shows_its_parents_and_an_ssh_session(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    program = Program(
        "backup.sh",
        pid=4242,
        path="/usr/local/bin/backup.sh",
        user="alice",
        chain=("backup.sh", "bash", "sshd"),
        remote=True,
    )
    entry = core.ask_hem("keymgmt:list", program=program, reason="nightly backup")
    shown(qtbot, window, entry.request.id)
    view = window.requests.view
    rows = form_rows(view)
    names = [name for name, _ in rows]
    assert len(names) == len(set(names))  # each once
    assert ("Started by — claimed by the program", "backup.sh ← bash ← sshd") in rows
    assert ("Process", "pid 4242 · user alice") in rows  # the kernel's facts
    assert ("Program — claimed by the program", "backup.sh (pid 4242)") in rows
    assert ("Reason — claimed by the program", "nightly backup") in rows
    assert view.warning.isVisible()
    assert view.warning.kind == "alert"
    assert "remote (SSH) session" in view.warning.text()
    assert view.warning.text().count("SSH") == 1
    assert view.sentence.text() == "A program on this computer wants to list the keys on " + (
        f"{entry.request.hem}."
    )
    text = window.requests.item_text(entry.request.id)
    assert text is not None
    assert text.splitlines()[1] == "backup.sh (pid 4242) over SSH · just now"
    view.deny()
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)


# ---------------------------------------------------------------------------- never swap


def _second_authenticator(tmp_path: Path, requester: Requester) -> Core:
    """Another computer paired with the same HEM (its own home and core)."""
    other = make_core(tmp_path / "other")
    other.create_store(passphrase=PASSPHRASE)
    pair_by_qr(other, requester)
    return other


@pytest.mark.parametrize(
    "ending", ["withdrawn", "expired", "answered elsewhere", "answered from a notification"]
)
def test_a_request_that_ends_on_screen_stays_there(
    qtbot: QtBot,
    window: MainWindow,
    *,
    core: Core,
    requester: Requester,
    emu: RunningEmulator,
    tmp_path: Path,
    ending: str,
) -> None:
    paired(core, requester)
    other = _second_authenticator(tmp_path, requester) if ending == "answered elsewhere" else None
    a = requester.request_access("keymgmt:list")
    b = requester.request_access("system:config")
    bring_in(qtbot, core, a)
    bring_in(qtbot, core, b)
    page, view = window.requests, window.requests.view
    window.show_request(a.event_id)
    shown(qtbot, window, a.event_id)
    request = view.request
    assert request is not None
    if ending == "withdrawn":
        a.cancel()
        core.refresh()
        heading = "Ended: withdrawn by the requester."
    elif ending == "expired":
        assert emu.emulator.broker is not None
        emu.emulator.broker.expire_event(a.event_id)  # its time ran out at the broker
        core.refresh()
        heading = "Ended: expired unanswered."
    elif ending == "answered elsewhere":
        assert other is not None
        qtbot.waitUntil(lambda: a.event_id in [r.id for r in other.refresh()], timeout=10_000)
        other.deny(a.event_id)
        core.refresh()
        heading = "Ended: answered on another device."
    else:
        core.deny(a.event_id)  # what Deny in the request's notification does
        heading = "Ended: denied."
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    if other is not None:
        other.close()
    # the same request, in place, saying how it ended, with nothing left to click
    assert view.request is request
    assert view.title.text() == request.title
    assert view.banner.text().startswith(heading), view.banner.text()
    assert view.banner.text().count("\n") == 1  # the core's own sentence below
    assert view.countdown.text() == "Ended"
    for button in (view.approve_button, view.deny_button, view.report_button):
        assert not button.isVisible()
    # the rest waits in the queue, nothing selected; moving on is the person's click
    assert page.list.isVisible()
    assert [page.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(page.list.count())] == [
        b.event_id
    ]
    assert page.list.currentItem() is None
    assert view.next_button.isVisible()
    assert view.next_button.text() == "Show the &next request"
    # a new request joins the queue, visibly, and still does not take the place
    c = requester.request_access("logger:get")
    bring_in(qtbot, core, c)
    qtbot.waitUntil(lambda: page.list.count() == 2)
    assert view.request is request
    assert view.state == "done"
    qtbot.mouseClick(view.next_button, Qt.MouseButton.LeftButton)
    assert view.request is not None
    assert view.request.id == b.event_id
    assert view.state == "asking"
    assert b.poll().state == "pending"  # showing is not answering


def test_a_new_or_ending_request_never_moves_the_one_being_read(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, clock: MovableClock
) -> None:
    paired(core, requester)
    a = requester.request_access("keymgmt:list")
    shown(qtbot, window, bring_in(qtbot, core, a))
    page, view = window.requests, window.requests.view
    b = requester.request_access("system:config")
    bring_in(qtbot, core, b)
    qtbot.waitUntil(lambda: page.count == 2)
    assert view.request is not None
    assert view.request.id == a.event_id  # still reading the first
    assert page.list.isVisible()  # the newcomer is visible in the queue
    assert page.list.currentItem().data(Qt.ItemDataRole.UserRole) == a.event_id
    # the other request ends: the one being read, and its row, stay
    b.cancel()
    core.refresh()
    qtbot.waitUntil(lambda: page.count == 1)
    assert view.request.id == a.event_id
    assert view.state == "asking"
    assert not page.list.isVisible()  # nothing else waits
    # a row the person picks is shown
    c = requester.request_access("logger:get")
    bring_in(qtbot, core, c)
    qtbot.waitUntil(lambda: page.list.count() == 2)
    row = page.list.visualItemRect(page._items[c.event_id])
    qtbot.mouseClick(page.list.viewport(), Qt.MouseButton.LeftButton, pos=row.center())
    assert view.request.id == c.event_id


def test_queue_rows_say_who_from_where_how_long_ago_and_keep_the_countdown_whole(
    qtbot: QtBot,
    window: MainWindow,
    *,
    core: Core,
    requester: Requester,
    emu: RunningEmulator,
    clock: MovableClock,
) -> None:
    paired(core, requester)
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location("Warsaw " * 40, "PL")
    first = requester.request_access("keymgmt:list")
    shown(qtbot, window, bring_in(qtbot, core, first))
    second = requester.request_access("system:config")
    bring_in(qtbot, core, second)
    page = window.requests
    qtbot.waitUntil(page.list.isVisible)
    page.split.setSizes([QUEUE_MIN_WIDTH, 2000])  # the queue as narrow as it gets
    QApplication.processEvents()
    request = core.inbox.get(second.event_id)
    text = page.item_text(second.event_id)
    assert text is not None
    title, who, countdown = text.split("\n")
    assert title == "Change the settings"
    assert who.startswith("Someone at Warsaw")
    assert who.endswith(" · just now")
    assert countdown.startswith("Expires in ")
    assert countdown.endswith(f" · {request.hem}")
    clock.offset += 150
    assert page.item_text(second.event_id).split("\n")[1].endswith(" · 2 min ago")  # type: ignore[union-attr]
    # painted: each line fits the row, the countdown whole at the start of its line
    item = page._items[second.event_id]
    option = QStyleOptionViewItem()
    option.rect = page.list.visualItemRect(item)  # type: ignore[attr-defined]
    delegate = page.list.itemDelegate()
    delegate.initStyleOption(option, page.list.indexFromItem(item))
    lines = option.text.split("\u2028")  # type: ignore[attr-defined]
    width = delegate.text_width(option)  # type: ignore[attr-defined]
    metrics = page.list.fontMetrics()
    assert 0 < width < metrics.horizontalAdvance(who)  # too narrow for the whole location
    assert all(metrics.horizontalAdvance(line) <= width for line in lines), lines
    expires = fmt.countdown(request.seconds_left(clock.now()))
    assert lines[2].startswith(expires)
    assert lines[1].endswith(" · 2 min ago")
    assert "…" in lines[1]

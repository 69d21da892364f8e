"""Several scopes, one prompt: a program asks through the real agent socket for a bundle; the
approval view lists every scope in plain words, one line each, with one period and one Allow for
all, write access per scope, and — after the click — each scope's own result in place."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel
from pytestqt.qtbot import QtBot

from authenticator.core.agent.protocol import BundleAnswer
from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import UserCancelled
from authenticator.gui.windows.approval import ApprovalView
from authenticator.gui.windows.main import MainWindow
from authenticator.protocol.periods import Period
from tests.gui.conftest import agent_for
from tests.hostile import MARK, MIXED


@pytest.fixture
def agent(core: Core, emu: RunningEmulator) -> Iterator[AgentServer]:
    with agent_for(core, emu, "gb") as server:
        yield server


def ask(path: Path, scopes: list[str], **kw: object) -> tuple[threading.Thread, list[object]]:
    """A program asking for ``scopes`` in one request; it waits for the person's answer."""
    result: list[object] = []

    def run() -> None:
        try:
            result.append(AgentClient(path).tokens(scopes, timeout=60, **kw))  # type: ignore[arg-type]
        except Exception as exc:  # the test inspects it
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def shown(qtbot: QtBot, window: MainWindow, count: int) -> ApprovalView:
    """The request of ``count`` scopes on screen (picked from the queue when another request
    ended on screen before: the view never swaps by itself)."""
    view = window.requests.view
    core = window.ctx.core

    def on_screen() -> bool:
        if view.state == "done":  # the person picks the waiting request once the queue shows it
            waiting = [r.id for r in core.pending() if len(r.parts) == count]
            if waiting and window.requests.row_lines(waiting[0], 0) is not None:
                window.show_request(waiting[0])
        return (
            view.request is not None and view.state == "asking" and len(view.request.parts) == count
        )

    qtbot.waitUntil(on_screen, timeout=20_000)
    QApplication.processEvents()  # new rows are shown by their layout
    return view


def click_allow(qtbot: QtBot, view: ApprovalView) -> None:
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)


def tick(qtbot: QtBot, box: QCheckBox) -> None:
    """Click a check box on its indicator, as a person does."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(10, box.height() // 2))


def answer_of(thread: threading.Thread, result: list[object]) -> BundleAnswer:
    thread.join(60)
    (answer,) = result
    assert isinstance(answer, BundleAnswer), answer
    return answer


def at_hem(emu: RunningEmulator, token: str, path: str) -> int:
    return httpx.get(
        f"{emu.urls.hems[0]}{path}", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def lines(view: ApprovalView) -> list[str]:
    return [row.line.text() for row in view.part_rows]


def test_one_prompt_lists_every_scope_and_one_click_gives_every_token(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, emu: RunningEmulator
) -> None:
    window.refresh_screen()
    scopes = ["keymgmt:list", "system:config", "logger:get"]
    thread, result = ask(agent.path, scopes, period=Period.H1, reason="provision " + MIXED)
    view = shown(qtbot, window, 3)
    hem = core.hems()[0].name
    assert view.request is not None
    assert view.request.title == "3 accesses: List the keys, Change the settings, Read the log"
    assert view.title.text() == "3 accesses at once"  # each is named on its own line below
    assert view.sentence.text() == f"A program on this computer wants these 3 accesses to {hem}:"
    assert lines(view) == [
        f"• List the keys — list the keys on {hem}",
        f"• Change the settings — change the settings of {hem}",
        f"• Read the log — read the audit log of {hem}",
    ]
    for row in view.part_rows:  # verified words only: the program's reason is elsewhere
        assert MARK not in row.line.text()
        assert row.line.textFormat() == Qt.TextFormat.PlainText
        assert not row.result.isVisible()
    assert view.period.period() is Period.H1  # one period for all
    assert view.approve_button.text() == "&Allow all 3 for 1 h"
    assert not view.write.isVisibleTo(view)
    assert not view.write_parts.isVisibleTo(view)  # no scope here can write
    assert view.raw.text().startswith("Scope: keymgmt:list, system:config, logger:get\n")
    qtbot.mouseClick(view.period.buttons[Period.H8], Qt.MouseButton.LeftButton)
    assert view.approve_button.text() == "&Allow all 3 for 8 h"
    click_allow(qtbot, view)
    answer = answer_of(thread, result)
    assert answer.ok
    assert [r.scope for r in answer.results] == scopes
    assert at_hem(emu, answer.tokens()["keymgmt:list"], "/api/keymgmt/list") == 200
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert [row.result.text() for row in view.part_rows] == ["✓ Granted"] * 3
    assert all(row.result.isVisible() for row in view.part_rows)
    assert view.banner.text().startswith("Approved (allow all 3 for 8 h, until ")
    assert view.banner.text().endswith(". Tokens handed to " + view.request.program.name + ".")  # type: ignore[union-attr]
    approved = next(e for e in core.journal_entries() if e.kind == "request.approved")
    assert approved.fields["period"] == "8h"


def test_write_access_per_scope_off_at_first(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer
) -> None:
    window.refresh_screen()
    thread, result = ask(agent.path, ["storage:disk0", "keymgmt:list", "storage:disk1"], write=True)
    view = shown(qtbot, window, 3)
    boxes = view.part_writes
    assert list(boxes) == ["storage:disk0", "storage:disk1"]  # only where writing applies
    assert [b.text() for b in boxes.values()] == [
        "Also allow writing to disk0",
        "Also allow writing to disk1",
    ]
    assert not any(b.isChecked() for b in boxes.values())
    assert all(b.isVisibleTo(view) for b in boxes.values())
    assert view.write_hint.isVisibleTo(view)  # the program asked for write access
    assert view.approve_button.text() == "&Allow all 3 for 15 min, read-only"
    tick(qtbot, boxes["storage:disk1"])
    assert boxes["storage:disk1"].isChecked()
    assert view.approve_button.text() == (
        "&Allow all 3 for 15 min, with write access to storage:disk1"
    )
    click_allow(qtbot, view)
    answer = answer_of(thread, result)
    granted = {r.scope: r.granted for r in answer.results}
    assert granted == {
        "storage:disk0": "storage:disk0",
        "keymgmt:list": "keymgmt:list",
        "storage:disk1": "storage:disk1:rw",
    }
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert [row.result.text() for row in view.part_rows] == [
        "✓ Granted",
        "✓ Granted",
        "✓ Granted with write access",
    ]


def test_a_scope_that_fails_at_the_hem_is_named_in_place(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, emu: RunningEmulator
) -> None:
    window.refresh_screen()
    thread, result = ask(agent.path, ["keymgmt:list", "system:config", "logger:get"])
    view = shown(qtbot, window, 3)
    emu.emulator.faults.add("/api/auth/ext/token", status=406, times=1)  # one redeem refused
    click_allow(qtbot, view)
    answer = answer_of(thread, result)
    assert len(answer.tokens()) == 2
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    texts = [row.result.text() for row in view.part_rows]
    assert sorted(texts) == ["✓ Granted", "✓ Granted", "✗ Not granted: the HEM refused it"]
    failed = next(row for row in view.part_rows if row.result.text().startswith("✗"))
    assert failed.result.font().bold()
    assert view.banner.kind == "warn"
    assert "2 of 3 granted, each marked above." in view.banner.text()


def test_deny_answers_the_whole_bundle_in_the_cores_words(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer
) -> None:
    window.refresh_screen()
    thread, result = ask(agent.path, ["keymgmt:list", "logger:get"])
    view = shown(qtbot, window, 2)
    hem = core.hems()[0].name
    qtbot.mouseClick(view.deny_button, Qt.MouseButton.LeftButton)
    thread.join(60)
    assert isinstance(result[0], UserCancelled)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    expected = f"Denied: list the keys on {hem} and read the audit log of {hem}."
    assert view.banner.text() == expected
    assert core.journal_entries()[0].text.startswith(expected[:-1])


def test_a_key_name_the_hem_reports_is_under_its_scope_once(
    qtbot: QtBot,
    window: MainWindow,
    core: Core,
    agent: AgentServer,
    requester: Requester,
) -> None:
    window.refresh_screen()
    # A first approval of "list the keys" teaches the app the HEM's own key names.
    thread, result = ask(agent.path, ["keymgmt:list", "logger:get"])
    click_allow(qtbot, shown(qtbot, window, 2))
    answer_of(thread, result)
    kid = requester.find_key("PGP main")
    assert kid is not None
    thread, result = ask(agent.path, [f"keymgmt:use:{kid}", "logger:get"])
    view = shown(qtbot, window, 2)
    first = view.part_rows[0]
    assert first.line.text() == f"• Use a key — use the key {kid[:12]}… on {core.hems()[0].name}"
    assert first.key_name is not None
    assert first.key_name.text() == "Key name — as the HEM reports it: PGP main"
    assert view.part_rows[1].key_name is None
    everywhere = [w.text() for w in view.findChildren(QLabel) if w.isVisibleTo(view)]
    # the HEM's word is shown once, under its scope, not again among the claims
    assert len([t for t in everywhere if "as the HEM reports it" in t]) == 1
    qtbot.mouseClick(view.deny_button, Qt.MouseButton.LeftButton)
    thread.join(60)


def test_the_queue_row_says_how_many_scopes(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer
) -> None:
    window.refresh_screen()
    first = ask(agent.path, ["keymgmt:list"])
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None, timeout=20_000)
    second = ask(agent.path, ["keymgmt:search", "system:config", "logger:get", "keymgmt:get"])
    page = window.requests
    qtbot.waitUntil(lambda: page.count == 2, timeout=20_000)
    bundle = next(r for r in core.pending() if r.is_bundle)
    row = page.row_lines(bundle.id, 0)
    assert row is not None
    assert (
        row[0] == "4 scopes: Search the keys, Change the settings, Read the log, Read a public key"
    )
    assert page.list.isVisible()
    # narrow, the count still leads the row
    narrow = page.row_lines(bundle.id, 120)
    assert narrow is not None
    assert narrow[0].startswith("4 scopes")
    for thread, _ in (first, second):
        for request in core.pending():
            core.deny(request.id)
        thread.join(60)


def test_eight_scopes_fit_the_minimum_window(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer
) -> None:
    """At the window's minimum size the eight lines wrap, never clip; the view scrolls down to
    Allow (the figure is printed for docs/gui.md)."""
    from tests.gui.test_layout import clipped, settle

    window.refresh_screen()
    scopes = [f"storage:disk{i}" for i in range(4)]
    scopes += ["keymgmt:list", "system:config", "logger:get", "keymgmt:search"]
    thread, _ = ask(agent.path, scopes, write=True)
    view = shown(qtbot, window, 8)
    settle(qtbot, window, window.minimumSize())
    for box in view.part_writes.values():
        box.setChecked(True)
    QApplication.processEvents()
    assert clipped(window) == []
    assert all(isinstance(b, QCheckBox) for b in view.part_writes.values())
    assert view.scroller.horizontalScrollBar().maximum() == 0
    print(
        f"\n8-scope prompt at {window.width()}x{window.height()}: content "
        f"{view.content.height()} px tall in a {view.scroller.viewport().height()} px view"
    )
    for request in core.pending():
        core.deny(request.id)
    thread.join(60)

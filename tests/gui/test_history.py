"""History: the journal with filters, and a tampered journal shows the banner after Verify."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.gui.theme import colors
from authenticator.gui.windows.main import MainWindow
from tests.gui.conftest import bring_in, paired
from tests.support_emulator import PASSPHRASE


def loaded(qtbot: QtBot, window: MainWindow) -> None:
    page = window.history
    page.reload()
    qtbot.waitUntil(lambda: not page._loading and bool(page.entries), timeout=10_000)


def test_filters(qtbot: QtBot, window: MainWindow, core: Core, requester: Requester) -> None:
    hem = paired(core, requester)
    a = requester.request_access("keymgmt:list")
    bring_in(qtbot, core, a)
    core.deny(a.event_id)
    b = requester.request_access("system:config")
    bring_in(qtbot, core, b)
    core.approve(b.event_id)
    page = window.history
    window.show_page("history")
    loaded(qtbot, window)
    total = page.table.rowCount()
    assert total == len(page.entries) >= 5
    # newest first
    assert page.entries[0].ts >= page.entries[-1].ts
    page.kind.setCurrentIndex(page.kind.findData("request.denied"))
    assert page.table.rowCount() == 1
    assert page.table.item(0, 2).text() == "Denied"
    page.kind.setCurrentIndex(0)
    page.outcome.setCurrentIndex(page.outcome.findData("approved"))
    assert page.table.rowCount() == 1
    page.outcome.setCurrentIndex(0)
    page.hem.setCurrentIndex(page.hem.findData(hem.name))
    assert 0 < page.table.rowCount() < total
    page.hem.setCurrentIndex(0)
    page.search.setText("change the settings")
    assert page.table.rowCount() >= 1
    assert all(
        "change the settings" in page.table.item(r, 4).text().lower()
        or "system:config" in str(page.entries)
        for r in range(page.table.rowCount())
    )
    page.search.setText("no such words anywhere")
    assert page.table.rowCount() == 0
    assert page.count.text().startswith("0 of ")


def test_refreshes_when_the_core_journals(qtbot: QtBot, window: MainWindow, core: Core) -> None:
    window.show()
    window.show_page("history")
    loaded(qtbot, window)
    before = len(window.history.entries)
    core.update_settings(poll_interval_s=7)
    qtbot.waitUntil(lambda: len(window.history.entries) > before, timeout=10_000)
    # While another page is shown, changes only mark it stale; showing it reloads.
    window.show_page("settings")
    shown = len(window.history.entries)
    core.update_settings(poll_interval_s=8)
    core.update_settings(poll_interval_s=9)
    qtbot.waitUntil(lambda: window.history._stale)  # noted, not reloaded
    assert len(window.history.entries) == shown
    window.show_page("history")
    qtbot.waitUntil(lambda: len(window.history.entries) == shown + 2, timeout=10_000)


def test_verify_ok_then_tampered_banner(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    core.update_settings(poll_interval_s=9)
    page = window.history
    loaded(qtbot, window)
    qtbot.mouseClick(page.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.banner.kind == "ok", timeout=10_000)
    assert "intact" in page.banner.text()
    # Someone edits an old entry's text in the file.
    path = core.paths.journal
    lines = path.read_bytes().splitlines()
    entry = json.loads(lines[1])
    entry["text"] = "nothing happened here"
    lines[1] = json.dumps(entry, separators=(",", ":")).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    qtbot.mouseClick(page.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.banner.kind == "error", timeout=10_000)
    assert "tampered" in page.banner.text()
    assert f"entry #{entry['seq']}" in page.banner.text()


def _tamper(core: Core, index: int = 1) -> int:
    """Edit an old entry's text in the file, as someone with access to the disk would."""
    path = core.paths.journal
    lines = path.read_bytes().splitlines()
    entry = json.loads(lines[index])
    entry["text"] = "nothing happened here"
    lines[index] = json.dumps(entry, separators=(",", ":")).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    return int(entry["seq"])


def test_a_tampered_journal_is_found_when_the_store_opens(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    core.update_settings(poll_interval_s=9)
    page = window.history
    qtbot.waitUntil(lambda: page.report is not None, timeout=10_000)  # checked at start…
    assert page.report is not None
    assert page.report.ok
    assert not page.banner.isVisibleTo(page)  # …quietly, when intact
    # Locked, someone edits an old entry; the owner unlocks.
    core.lock()
    window.refresh_screen()
    seq = _tamper(core)
    core.unlock(PASSPHRASE)
    window.enter_unlocked()
    # Nobody pressed Verify: the page says so, marks the row, and so does the section's name.
    qtbot.waitUntil(lambda: page.banner.kind == "error", timeout=10_000)
    assert "tampered" in page.banner.text()
    assert f"entry #{seq}" in page.banner.text()
    assert window.nav.item(2).text() == "History ⚠"
    qtbot.waitUntil(lambda: page.broken_row() is not None, timeout=10_000)
    row = page.broken_row()
    assert row is not None
    marked = page.table.item(row, 0)
    assert marked.text().startswith("⚠ ")
    assert "chain breaks here" in marked.toolTip()
    assert marked.background().color().name() == colors(False)["err_bg"]
    assert page.table.item(row, 4).text() == "nothing happened here"
    others = [r for r in range(page.table.rowCount()) if r != row]
    assert all(not page.table.item(r, 0).text().startswith("⚠") for r in others)
    # The filters keep the mark on the row wherever it goes.
    page.search.setText("nothing happened")
    assert page.table.rowCount() == 1
    assert page.broken_row() == 0

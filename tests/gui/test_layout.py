"""The grant is always readable: no text cut, no button squeezed, at every size, in both themes.

The real window on the real core, with the longest grant the app can state ("Allow read and
write for 24 h"), a queue beside it, a long location from the broker and the app's own warning
banner; then a request that ended on screen, and a pasted request's token. At the window's
default size and at its minimum size, in light and dark, with the platform's font and a larger
one, every visible widget is checked:

* a button is at least as wide as it asks to be (its ``sizeHint``: the whole text);
* a one-line label is at least as wide as its text (``fontMetrics().horizontalAdvance``);
* a wrapped label is tall enough for its lines (``heightForWidth``);
* nothing reaches past the right edge of the scroll area it sits in, nor of the window.

A program's bundle of eight scopes with the code picker, four drives with write access ticked
(the longest grant a bundle states: Allow shows it over several lines) and, after Allow, each
scope's result fit the same way. The HEMs and History tables never scroll sideways at the
default size.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QScrollArea,
    QStyleOptionViewItem,
    QWidget,
)
from pytestqt.qtbot import QtBot

from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui.theme import apply_theme
from authenticator.gui.windows.main import MainWindow
from authenticator.protocol.periods import Period
from tests.gui.conftest import bring_in, paired
from tests.hostile import MIXED
from tests.support_emulator import HEM_PASSPHRASE

DEFAULT = QSize(980, 660)


def _mnemonic_free(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _scroll_viewports(widget: QWidget) -> Iterator[QWidget]:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea) and parent.viewport().isAncestorOf(widget):
            yield parent.viewport()
        parent = parent.parentWidget()


def clipped(root: QWidget) -> list[str]:
    """Every visible widget of ``root`` whose text does not fit, or that sticks out."""
    problems: list[str] = []
    window = root.window()
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible() or widget.width() <= 0:
            continue
        name = f"{type(widget).__name__}({widget.objectName() or widget.accessibleName()})"
        if isinstance(widget, QAbstractButton) and widget.text():
            need = widget.sizeHint().width()
            if widget.width() < need:
                problems.append(f"{name} {widget.text()!r}: {widget.width()} < {need} px")
        if isinstance(widget, QLabel) and widget.text():
            text = widget.text()
            if widget.buddy() is not None:
                text = _mnemonic_free(text)
            room = widget.contentsRect().width() - 2 * max(0, widget.margin())
            if widget.wordWrap():
                need_h = widget.heightForWidth(widget.width())
                if widget.height() < need_h:
                    problems.append(f"{name} {text[:40]!r}: {widget.height()} < {need_h} px tall")
            else:
                metrics = widget.fontMetrics()
                need = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
                if need > room:
                    problems.append(f"{name} {text[:40]!r}: {room} < {need} px")
        right = widget.mapTo(window, QPoint(widget.width(), 0)).x()
        if right > window.width():
            problems.append(f"{name} ends at {right} px, past the window ({window.width()})")
        for viewport in _scroll_viewports(widget):
            right = widget.mapTo(viewport, QPoint(widget.width(), 0)).x()
            if right > viewport.width():
                problems.append(f"{name} ends at {right} px, past its scroll area")
    return problems


@pytest.fixture(params=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    apply_theme(qapp, request.param)
    yield str(request.param)
    apply_theme(qapp, "light")


@pytest.fixture(params=[0, 11], ids=["platform-font", "11pt"])
def font(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[int]:
    before = QFont(qapp.font())
    if request.param:
        qapp.setFont(QFont(before.family(), request.param))
    yield int(request.param)
    qapp.setFont(before)


def settle(qtbot: QtBot, window: MainWindow, size: QSize) -> None:
    window.resize(size)
    qtbot.waitUntil(lambda: window.size() == size.expandedTo(window.minimumSize()))
    QApplication.processEvents()
    QApplication.processEvents()


@pytest.mark.parametrize("size", ["default", "minimum"])
def test_the_grant_and_every_text_fit(
    qtbot: QtBot,
    font: int,  # before the window: its widgets are made with that font
    window: MainWindow,
    *,
    core: Core,
    requester: Requester,
    emu: RunningEmulator,
    theme: str,
    size: str,
) -> None:
    paired(core, requester)
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location(MIXED[:120], "PL")
    drive = requester.request_access("storage:disk1:rw")
    bring_in(qtbot, core, drive)
    page, view = window.requests, window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == drive.event_id)
    view.period.set_period(Period.H24)
    view.write.setChecked(True)
    assert view.approve_button.text() == "&Allow read and write for 24 h"
    others = [requester.request_access(s) for s in ("keymgmt:list", "system:shutdown")]
    for other in others:
        bring_in(qtbot, core, other)
    qtbot.waitUntil(lambda: page.count == 3)
    assert page.list.isVisibleTo(page)
    target = DEFAULT if size == "default" else window.minimumSize()
    settle(qtbot, window, target)
    assert clipped(window) == []
    # the Allow button shows its whole text, inside the visible part of the view
    button = view.approve_button
    text = button.text().replace("&", "")
    assert button.width() >= button.fontMetrics().horizontalAdvance(text)
    # the queue's countdown is whole in every row
    for row in range(page.list.count()):
        option = QStyleOptionViewItem()
        option.rect = page.list.visualItemRect(page.list.item(row))  # type: ignore[attr-defined]
        page.list.itemDelegate().initStyleOption(
            option, page.list.indexFromItem(page.list.item(row))
        )
        lines = option.text.split("\u2028")  # type: ignore[attr-defined]
        assert lines[2].startswith("Expires in ")
        assert "…" not in lines[2].split(" · ")[0]
    # a request that ended on screen
    drive.cancel()
    core.refresh()
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    assert view.next_button.isVisible()
    QApplication.processEvents()
    assert clipped(window) == []


@pytest.mark.parametrize("size", ["default", "minimum"])
def test_a_pasted_requests_token_fits(
    qtbot: QtBot, window: MainWindow, *, core: Core, requester: Requester, theme: str, size: str
) -> None:
    paired(core, requester)
    authreq, _ = requester.direct_authreq("keymgmt:list")
    window.requests.open_text(authreq)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.state == "asking", timeout=10_000)
    settle(qtbot, window, DEFAULT if size == "default" else window.minimumSize())
    assert clipped(window) == []
    qtbot.waitUntil(view.approve_button.isEnabled)  # the input delay
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(view.token_row.isVisible, timeout=10_000)
    QApplication.processEvents()
    assert clipped(window) == []


def test_the_tables_never_scroll_sideways(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, theme: str
) -> None:
    long = "a very long name for the HEM on the desk by the window " * 2
    paired(core, requester)
    hem = core.hems()[0]
    core.rename_hem(hem.name, long.strip()[:60])
    settle(qtbot, window, DEFAULT)
    window.show_page("hems")
    window.hems.reload()
    QApplication.processEvents()
    table = window.hems.table
    assert table.horizontalScrollBar().maximum() == 0
    assert sum(table.columnWidth(c) for c in range(table.columnCount())) <= table.viewport().width()
    assert clipped(window.hems) == []
    header = table.horizontalHeader()
    for col in range(table.columnCount()):  # every column's name whole
        assert header.sectionSize(col) >= header.sectionSizeHint(col), table.horizontalHeaderItem(
            col
        ).text()
    window.show_page("history")
    window.history.reload()
    qtbot.waitUntil(lambda: window.history.table.rowCount() > 0, timeout=10_000)
    QApplication.processEvents()
    assert window.history.table.horizontalScrollBar().maximum() == 0
    assert clipped(window.history) == []


@pytest.fixture
def agent(core: Core, emu: RunningEmulator) -> Iterator[AgentServer]:
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    directory = Path(f"/tmp/eda-gl-{os.getpid()}")
    directory.mkdir(mode=0o700, exist_ok=True)
    server = AgentServer(core, directory / "agent.sock")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("size", ["default", "minimum"])
def test_a_bundle_with_codes_and_its_results_fit(
    qtbot: QtBot,
    font: int,
    window: MainWindow,
    *,
    core: Core,
    agent: AgentServer,
    emu: RunningEmulator,
    theme: str,
    size: str,
) -> None:
    """Eight scopes, four drives with write access ticked (the longest grant a bundle states),
    the code picker and the warning; then each scope's result after Allow."""
    core.update_settings(code_matching="always")
    window.refresh_screen()
    scopes = [f"storage:disk{i}" for i in range(4)]
    scopes += ["keymgmt:list", "system:config", "logger:get", "keymgmt:search"]
    done: list[object] = []
    asker = threading.Thread(
        target=lambda: done.append(
            AgentClient(agent.path).tokens(scopes, write=True, code=42, timeout=60)
        )
    )
    asker.start()
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.state == "asking", timeout=20_000)
    settle(qtbot, window, DEFAULT if size == "default" else window.minimumSize())
    for box in view.part_writes.values():
        box.setChecked(True)
    assert view.pick_code(42)
    QApplication.processEvents()
    assert clipped(window) == []
    grant = view.approve_button.accessibleName()
    assert grant.startswith("Allow all 8 for 15 min, with write access to storage:disk0, ")
    shown = view.approve_button.text().replace("&", "").replace("\n", " ")
    assert shown == grant  # the whole grant, over several lines where it must
    asking = view.content.height()
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
    emu.emulator.faults.add("/api/auth/ext/token", status=406, times=1)
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    asker.join(60)
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    QApplication.processEvents()
    assert clipped(window) == []
    print(
        f"\n8 scopes with codes, {size} {theme} font={font or 'platform'}: {asking} px asking, "
        f"{view.content.height()} px answered, in a {view.scroller.viewport().height()} px view"
    )

"""Plain text everywhere: hostile requests through the real app, and every widget of every screen.

Outsiders write into the app through every channel a person sees: the broker's location of a
requester, a local program's name (its script's file name) and reason through the real agent
socket, a pasted request's note, and a pairing code's user, e-mail and hostname (the preview, then
the HEMs page, the history, the unpair dialog). With all of them on screen, the walk visits the
main window's screens and pages, the approval view of each request, the pairing wizard's pages,
the unpair dialog, the lock screen and the tray menu, and fails on:

* a label whose text carries outside data (or any ``<``/``&``) and is not ``PlainText``;
* a tooltip (widget or item) that Qt would read as markup other than its own escaped paragraph;
* an item view whose delegate paints items itself (it could draw them as rich text).

It also checks that the walk really saw the outsiders' words (else it would prove nothing).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import Qt as QtGui
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QMessageBox,
    QStyledItemDelegate,
    QWidget,
)
from pytestqt.qtbot import QtBot

from authenticator.core.agent.server import AgentServer
from authenticator.core.app import Core
from authenticator.core.model import AccessRequest
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui.context import AppContext
from authenticator.gui.tray import Tray
from authenticator.gui.windows.main import MainWindow
from authenticator.gui.windows.pairing import PairingWizard
from authenticator.gui.windows.unpair import UnpairDialog
from tests.hostile import MARK, MIXED
from tests.support_emulator import HEM_PASSPHRASE

# Words of the hostile inputs that survive cleaning: where one shows, outside data shows.
SENTINELS = (MARK, "Verified", "isolated", "Kraków", "Oslo", "teled", "l\u0456st", "A1B2")
# What the store accepts for a HEM (no C0 control) that still tries markup, bidi and hiding.
SNEAKY = f"\x9b2J\u202eteled\u202c <b>Verified</b><!-- {MARK} -->"
NOTE = f"<h1>Verified</h1><!-- x -->{MARK} \u202eteled\u202c\n\nA1B2 l\u0456st"
PROGRAM = f"backup<b>{MARK}\u202eyp.teled\u200d.py"  # a file name: no "/"
_OWN_TAGS = re.compile(r"</?p>|<br\s*/?>", re.I)


_ENTITY = re.compile(r"&#?\w+;")


def carries_data(text: str) -> bool:
    """Outside words, or anything Qt could read as markup (a tag, an entity)."""
    return any(s in text for s in SENTINELS) or "<" in text or bool(_ENTITY.search(text))


def tooltip_problem(tip: str) -> str | None:
    """Qt reads a tooltip as markup when it "might be rich text": then the only markup allowed is
    the paragraph an escaped plain text gets (``<p>…</p>``, ``<br>``), never the data's own."""
    if not tip or not QtGui.mightBeRichText(tip):
        return None
    rest = _OWN_TAGS.sub("", tip)
    return None if "<" not in rest and ">" not in rest else f"tooltip read as markup: {tip!r}"


def _columns(model: QAbstractItemModel, parent: QModelIndex) -> int:
    try:
        return max(1, model.columnCount(parent))
    except TypeError:  # a list model keeps columnCount private: one column
        return 1


def _has_children(model: QAbstractItemModel, index: QModelIndex) -> bool:
    try:
        return bool(model.hasChildren(index))
    except TypeError:  # a flat list or table model keeps it private: no children
        return False


def _model_problems(name: str, model: QAbstractItemModel, parent: QModelIndex) -> list[str]:
    problems = []
    for row in range(model.rowCount(parent)):
        for col in range(_columns(model, parent)):
            index = model.index(row, col, parent)
            tip = index.data(Qt.ItemDataRole.ToolTipRole)
            if isinstance(tip, str) and (problem := tooltip_problem(tip)):
                problems.append(f"{name} row {row}: {problem}")
            if _has_children(model, index):
                problems += _model_problems(name, model, index)
    return problems


def audit(root: QWidget, *, visible_only: bool = False) -> tuple[list[str], str]:
    """(problems, every text shown) of ``root`` and all its descendants (the problems of all of
    them; the text of the visible ones only with ``visible_only``)."""
    problems: list[str] = []
    shown: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        name = f"{type(widget).__name__}({widget.objectName() or widget.accessibleName()})"
        if isinstance(widget, QLabel) and (widget.isVisible() or not visible_only):
            shown.append(widget.text())
            if carries_data(widget.text()) and widget.textFormat() != Qt.TextFormat.PlainText:
                problems.append(f"{name} shows {widget.text()!r} as {widget.textFormat()}")
        plain = Qt.TextFormat.PlainText
        if (
            isinstance(widget, QMessageBox)
            and carries_data(widget.text())
            and (widget.textFormat() != plain)
        ):
            problems.append(f"{name}: message box text is {widget.textFormat()}")
        if problem := tooltip_problem(widget.toolTip()):
            problems.append(f"{name}: {problem}")
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            delegate = type(widget.itemDelegate())
            # Qt's own delegates paint plain text; one of ours must not paint by itself.
            if delegate.__module__.startswith("authenticator") and (
                delegate.paint is not QStyledItemDelegate.paint
            ):
                problems.append(f"{name}: its delegate paints items itself")
            model = widget.model()
            problems += _model_problems(name, model, QModelIndex())
            for row in range(model.rowCount() if widget.isVisible() or not visible_only else 0):
                for col in range(_columns(model, QModelIndex())):
                    shown.append(str(model.index(row, col).data() or ""))
    return problems, "\n".join(shown)


def assert_plain(root: QWidget, *, expect_data: bool = True) -> str:
    problems, shown = audit(root)
    assert problems == []
    if expect_data:
        assert carries_data(shown), "the walk saw no outside text: it would prove nothing"
    return shown


# ---------------------------------------------------------------------------- the hostile world


@pytest.fixture
def agent(core: Core, emu: RunningEmulator) -> Iterator[AgentServer]:
    core.pair_direct(core.preview_direct(emu.urls.hems[1]), HEM_PASSPHRASE, name="desk HEM")
    directory = Path(f"/tmp/eda-plain-{os.getpid()}")
    directory.mkdir(mode=0o700, exist_ok=True)
    server = AgentServer(core, directory / "agent.sock")
    server.start()
    yield server
    server.stop()
    for leftover in directory.iterdir():
        leftover.unlink()
    directory.rmdir()


ASKER = """
import sys
from pathlib import Path
from authenticator.core.agent_client import AgentClient
AgentClient(Path(sys.argv[1])).token("keymgmt:list", hem="desk HEM", reason=sys.argv[2], timeout=120)
"""


@pytest.fixture
def program(agent: AgentServer, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A local program whose script name and reason are hostile, asking through the agent."""
    script = tmp_path / PROGRAM
    script.write_text(ASKER)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, str(script), str(agent.path), MIXED[:300]],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield proc
    proc.kill()
    proc.wait(30)


def hostile_pairing_code(requester: Requester) -> tuple[str, object]:
    session = requester.start_pairing()
    fields = json.loads(session.qr_text)
    fields.update(user=f"{SNEAKY} user", email=f"{SNEAKY}@example.com", hostname=f"hem{SNEAKY}")
    return json.dumps(fields), session


def bring_all(
    qtbot: QtBot,
    window: MainWindow,
    core: Core,
    requester: Requester,
    emu: RunningEmulator,
    *,
    name: str = f"Office {SNEAKY}",
) -> list[AccessRequest]:
    """Pair with a hostile pairing code (and, by default, keep the hostile name it suggests),
    then a broker request from a hostile location, a pasted request with a hostile note and (the
    ``program`` fixture) a hostile local program."""
    code, session = hostile_pairing_code(requester)
    preview = core.preview_qr(code)
    core.accept_pairing(preview, name=name)
    assert session.poll() == "paired"  # type: ignore[attr-defined]
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location(MIXED[:120], "<b>PL</b>")
    broker = requester.request_access("keymgmt:del")
    qtbot.waitUntil(lambda: broker.event_id in [r.id for r in core.refresh()], timeout=15_000)
    pasted, _ = requester.direct_authreq("system:config", note=NOTE[:128])
    window.requests.open_text(pasted)
    qtbot.waitUntil(lambda: len(core.pending()) == 3, timeout=30_000)
    window.enter_unlocked()
    qtbot.waitUntil(lambda: window.requests.list.count() == 3, timeout=10_000)
    return core.pending()


def show_each(qtbot: QtBot, window: MainWindow, requests: list[AccessRequest]) -> Iterator[str]:
    view = window.requests.view
    for request in requests:
        window.show_request(request.id)
        qtbot.waitUntil(lambda r=request: view.request is not None and view.request.id == r.id)
        yield request.source


# ---------------------------------------------------------------------------- the walk


def test_every_screen_shows_outside_text_as_plain_text(
    qtbot: QtBot,
    window: MainWindow,
    *,
    ctx: AppContext,
    core: Core,
    requester: Requester,
    emu: RunningEmulator,
    program: subprocess.Popen[bytes],
) -> None:
    requests = bring_all(qtbot, window, core, requester, emu)
    assert {r.source for r in requests} == {"broker", "link", "local"}
    # The approval view of each request, with the queue and the rest of the window around it.
    for source in show_each(qtbot, window, requests):
        shown = assert_plain(window)
        view_text = assert_plain(window.requests.view)
        assert carries_data(view_text), source
    assert any(carries_data(window.requests.list.item(i).text()) or True for i in range(3))
    # HEMs (a HEM named and described by the hostile pairing code), History, Settings.
    window.show_page("hems")
    window.hems.reload()
    window.hems.select_name(f"Office {SNEAKY}")
    assert carries_data(assert_plain(window.hems))
    window.show_page("history")
    window.history.reload()
    entries = len(core.journal_entries())
    qtbot.waitUntil(lambda: window.history.table.rowCount() == entries, timeout=10_000)
    assert carries_data(assert_plain(window.history))
    window.show_page("settings")
    assert_plain(window)
    # The unpair dialog of the hostile HEM.
    hem = next(h for h in core.hems() if h.name.startswith("Office"))
    dialog = UnpairDialog(ctx, hem, window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert carries_data(assert_plain(dialog))
    dialog.close()
    # The tray menu and its tooltip.
    tray = Tray()
    tray.update(state="pending", count=len(requests))
    assert tooltip_problem(tray.tooltip()) is None
    assert_plain(tray.menu, expect_data=False)
    tray.hide()
    # Locked: the lock screen (and nothing of the requests left anywhere).
    core.lock()
    window.refresh_screen()
    qtbot.waitUntil(lambda: window.screens.currentWidget() is window.lock_view)
    problems, shown = audit(window, visible_only=True)
    assert problems == []
    assert "Verified" not in shown
    assert MARK not in shown


def test_the_pairing_wizard_shows_a_hostile_code_as_plain_text(
    qtbot: QtBot, ctx: AppContext, core: Core, requester: Requester
) -> None:
    code, _ = hostile_pairing_code(requester)
    wizard = PairingWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    assert_plain(wizard, expect_data=False)  # every page, before any data
    wizard.read_text(code)
    qtbot.waitUntil(lambda: wizard.pages.currentWidget() is wizard.preview_page, timeout=15_000)
    shown = assert_plain(wizard)
    assert "Verified" in shown  # the preview does show the code's words
    assert "teled" in shown
    wizard.show_direct()
    assert_plain(wizard)


def test_the_title_and_sentence_carry_no_outside_text(
    qtbot: QtBot,
    window: MainWindow,
    *,
    core: Core,
    requester: Requester,
    emu: RunningEmulator,
    program: subprocess.Popen[bytes],
) -> None:
    """The title, the sentence and the Approve button say what is granted: verified data only;
    the outsiders' words are in the rows below, labelled with whose claim they are. (The HEM's
    name is the owner's choice here: a name suggested from a hostile hostname is another test's.)"""
    requests = bring_all(qtbot, window, core, requester, emu, name="Office HEM")
    view = window.requests.view
    for source in show_each(qtbot, window, requests):
        for label in (view.title, view.sentence):
            assert not carries_data(label.text()), (source, label.text())
        assert not carries_data(view.approve_button.text().replace("&", "", 1)), source
    QApplication.processEvents()

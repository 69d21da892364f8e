"""Renewal in the window: a script (a real program, through the agent's socket) asks again for
access it still holds; the prompt says "Renew" and until when it holds it, and the owner may tick
"Renew without asking until I lock" (and, with the setting on, "Don't ask again")."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QCheckBox
from pytestqt.qtbot import QtBot

from authenticator.core.agent.server import AgentServer
from authenticator.core.app import Core
from authenticator.emulator.server import RunningEmulator
from authenticator.gui import fmt
from authenticator.gui.windows.approval import ApprovalView
from authenticator.gui.windows.main import MainWindow
from tests.gui.conftest import agent_for
from tests.support_emulator import PASSPHRASE

SCRIPT = """
import json, sys
from pathlib import Path
from authenticator.core.agent_client import AgentClient
from authenticator.protocol.periods import Period
code = int(sys.argv[4]) if len(sys.argv) > 4 else None
a = AgentClient(Path(sys.argv[1])).tokens(
    sys.argv[3].split(","), period=Period.parse(sys.argv[2]), code=code, timeout=60
)
print(json.dumps({"how": a.how, "renewed_until": a.renewed_until, "scopes": list(a.tokens())}))
"""


@pytest.fixture
def agent(core: Core, emu: RunningEmulator) -> Iterator[AgentServer]:
    with agent_for(core, emu, "gr") as server:
        yield server


@pytest.fixture
def script(tmp_path: Path) -> Path:
    """The same program each time: uid + interpreter + this script file."""
    path = tmp_path / "tunnel.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


class Run:
    """The script (a file, or ``None``: the same code given with ``python -c``), run in the
    background: it waits for the owner's answer."""

    def __init__(
        self, script: Path | None, agent: AgentServer, period: str, scopes: str, *extra: str
    ) -> None:
        self.out: list[Any] = []
        program = [str(script)] if script is not None else ["-c", SCRIPT]
        argv = [sys.executable, *program, str(agent.path), period, scopes, *extra]
        self.thread = threading.Thread(target=self._run, args=(argv,))
        self.thread.start()

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        self.out.append(json.loads(done.stdout) if done.returncode == 0 else done.stderr)

    def result(self, qtbot: QtBot) -> Any:
        qtbot.waitUntil(lambda: bool(self.out), timeout=60_000)
        self.thread.join()
        return self.out[0]


def prompt(qtbot: QtBot, window: MainWindow) -> ApprovalView:
    """The newest request on screen, ready to be answered."""
    view = window.requests.view
    core = window.ctx.core
    qtbot.waitUntil(lambda: bool(core.pending()), timeout=30_000)
    qtbot.waitUntil(lambda: view.state != "busy", timeout=20_000)
    rid = core.pending()[-1].id

    def on_screen() -> bool:
        window.show_request(rid)  # the Requests page, on that request (once the page has it)
        return view.request is not None and view.request.id == rid

    qtbot.waitUntil(on_screen)
    QApplication.processEvents()
    return view


def tick(qtbot: QtBot, box: QCheckBox) -> None:
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(10, box.height() // 2))
    assert box.isChecked()


def allow(qtbot: QtBot, view: ApprovalView) -> None:
    qtbot.waitUntil(view.approve_button.isEnabled, timeout=5000)
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)


def test_renew_without_asking_until_i_lock(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, script: Path
) -> None:
    window.refresh_screen()
    first = Run(script, agent, "1h", "keymgmt:list,system:config")
    view = prompt(qtbot, window)
    assert view.request is not None
    assert not view.request.is_renewal
    assert not view.renewal.isVisibleTo(view)
    box = view.renew_box
    assert box.isVisibleTo(view)
    assert not box.isChecked()  # opt-in
    assert box.text() == "Renew without asking &until I lock"
    for words in ("24 h", "wider", "locks"):
        assert words in box.toolTip()
    assert not view.remember_box.isVisibleTo(view)  # "don't ask again" is off in the settings
    tick(qtbot, box)
    allow(qtbot, view)
    assert first.result(qtbot)["how"] == "clicked"
    rules = core.rules()
    assert sorted((r.kind, r.scope) for r in rules) == [
        ("renew", "keymgmt:list"),
        ("renew", "system:config"),
    ]

    # the same again: renewed at once, nobody asked
    again = Run(script, agent, "1h", "keymgmt:list,system:config").result(qtbot)
    assert again["how"] == "renewed"
    assert core.pending() == []

    # longer than approved: asked, and the prompt says it renews, and until when
    longer = Run(script, agent, "8h", "system:config,keymgmt:list")
    view = prompt(qtbot, window)
    request = view.request
    assert request is not None
    assert request.renews_until is not None
    assert view.title.text() == "Renew: 2 accesses at once"
    hem = core.hems()[0].name
    assert view.sentence.text() == (
        f"A program on this computer asks to renew these 2 accesses to {hem}:"
    )
    assert view.renewal.isVisibleTo(view)
    assert view.renewal.text() == (
        f"Renewal: it already holds this access until {fmt.date_time(request.renews_until)} "
        "(the HEM cannot revoke it). Renew gives it new tokens for the period you choose."
    )
    assert view.approve_button.text() == "&Renew all 2 for 8 h"
    row = window.requests.row_lines(request.id, 0)
    assert row is not None
    assert row[0].startswith("Renew: 2 scopes: Change the settings")
    allow(qtbot, view)
    assert longer.result(qtbot)["how"] == "clicked"

    # forgotten on lock: after the unlock the program is asked again
    core.lock()
    qtbot.waitUntil(lambda: window.requests.count == 0)
    assert core.rules() == []
    core.unlock(PASSPHRASE)
    window.enter_unlocked()
    later = Run(script, agent, "15m", "keymgmt:list")
    view = prompt(qtbot, window)
    request = view.request
    assert request is not None
    assert request.is_renewal
    assert view.title.text() == "Renew: List the keys"
    assert view.sentence.text().startswith("A program on this computer asks to renew its access")
    assert "a new token" in view.renewal.text()
    assert view.approve_button.text() == "&Renew for 15 min"
    qtbot.mouseClick(view.deny_button, Qt.MouseButton.LeftButton)
    assert "denied" in later.result(qtbot).lower()


def test_dont_ask_again_when_the_setting_allows_it(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, script: Path
) -> None:
    core.update_settings(agent_remember_program=True)
    window.refresh_screen()
    first = Run(script, agent, "1h", "logger:get")
    view = prompt(qtbot, window)
    box = view.remember_box
    assert box.isVisibleTo(view)
    assert not box.isChecked()
    assert box.text() == "Don't ask a&gain until it expires"
    tick(qtbot, box)
    allow(qtbot, view)
    assert first.result(qtbot)["how"] == "clicked"
    (rule,) = core.rules()
    assert (rule.kind, rule.scope) == ("until_expiry", "logger:get")
    # within what was approved (the token approved runs an hour): given without asking
    assert Run(script, agent, "15m", "logger:get").result(qtbot)["how"] == "remembered"


def test_neither_rule_is_offered_where_it_cannot_apply(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, script: Path
) -> None:
    core.update_settings(agent_remember_program=True, code_matching="always")
    window.refresh_screen()
    # code matching: never answered without the owner
    matched = Run(script, agent, "15m", "logger:get", "47")
    view = prompt(qtbot, window)
    assert view.code_box.isVisibleTo(view)
    assert not view.renew_box.isVisibleTo(view)
    assert not view.remember_box.isVisibleTo(view)
    qtbot.mouseClick(view.deny_button, Qt.MouseButton.LeftButton)
    matched.result(qtbot)
    # code on an interpreter's command line: every such use would look the same, never kept
    core.update_settings(code_matching="off")
    one_liner = Run(None, agent, "15m", "logger:get")
    view = prompt(qtbot, window)
    assert view.request is not None
    assert view.request.program is not None
    assert view.request.program.script is None
    assert not view.renew_box.isVisibleTo(view)
    assert not view.remember_box.isVisibleTo(view)
    allow(qtbot, view)
    assert one_liner.result(qtbot)["how"] == "clicked"
    assert core.rules() == []

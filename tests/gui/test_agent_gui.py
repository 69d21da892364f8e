"""Click-to-approve with the window: a local program asks through the agent's real socket, the
approval view names the program, one click, and the program holds a token the HEM accepts."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from authenticator.core.agent.protocol import TokenAnswer
from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import UserCancelled
from authenticator.gui.windows.main import MainWindow
from authenticator.protocol.periods import Period
from tests.support_emulator import HEM_PASSPHRASE


@pytest.fixture
def agent(core: Core, emu: RunningEmulator) -> Iterator[AgentServer]:
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    directory = Path(f"/tmp/eda-gui-{os.getpid()}")
    directory.mkdir(mode=0o700, exist_ok=True)
    server = AgentServer(core, directory / "agent.sock")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


def ask_in_background(path: Path, **kw: object) -> tuple[threading.Thread, list[object]]:
    """A program asking for a token; it blocks until the person answers in the window."""
    result: list[object] = []

    def run() -> None:
        try:
            result.append(AgentClient(path).token("keymgmt:list", timeout=60, **kw))  # type: ignore[arg-type]
        except Exception as exc:  # the test inspects it
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_a_program_gets_its_token_after_one_click(
    qtbot: QtBot, window: MainWindow, core: Core, agent: AgentServer, emu: RunningEmulator
) -> None:
    window.refresh_screen()
    thread, result = ask_in_background(agent.path, period=Period.H1, reason="nightly backup")
    view = window.requests.view
    qtbot.waitUntil(
        lambda: view.request is not None and view.request.source == "local", timeout=20_000
    )
    request = view.request
    assert request is not None
    assert request.program is not None
    assert request.program.pid == os.getpid()
    assert request.program.path == os.path.realpath(sys.executable)
    texts = " ".join(label.text() for label in view.findChildren(type(view.title)))
    assert "nightly backup" in texts
    assert "Reason — claimed by the program" in texts
    assert view.period.period() is Period.H1  # the program's wish is the default choice
    qtbot.waitUntil(view.approve_button.isEnabled)  # the input delay
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    thread.join(60)
    (answer,) = result
    assert isinstance(answer, TokenAnswer)
    status = httpx.get(
        f"{emu.urls.hems[0]}/api/keymgmt/list", headers={"Authorization": f"Bearer {answer.token}"}
    ).status_code
    assert status == 200
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)


def test_deny_in_the_window_refuses_the_program(
    qtbot: QtBot, window: MainWindow, agent: AgentServer
) -> None:
    window.refresh_screen()
    thread, result = ask_in_background(agent.path)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.state == "asking", timeout=20_000)
    qtbot.mouseClick(view.deny_button, Qt.MouseButton.LeftButton)
    thread.join(60)
    assert isinstance(result[0], UserCancelled)

"""The running app: tray menu, notification actions, links from a second launch, single instance,
closing to the tray, and the start-up choices (set-up, lock screen, demo)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from authenticator.core.agent.server import AgentServer
from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.gui import app as gui_app
from authenticator.gui.context import AppContext
from authenticator.gui.controller import AppController
from authenticator.protocol.periods import Period
from authenticator.store.paths import AppPaths
from tests.gui.conftest import bring_in, outcome, paired
from tests.support_emulator import PASSPHRASE, make_core


@pytest.fixture
def controller(qtbot: QtBot, ctx: AppContext, qapp: QApplication) -> Iterator[AppController]:
    c = AppController(qapp, ctx, watch_session=False, open_browser=False)
    qtbot.addWidget(c.window)
    c.start(show=True)
    qtbot.waitUntil(lambda: "keychain_available" in ctx.flags)
    c.window.enter_unlocked()
    yield c
    c.shutdown()


def test_tray_menu_actions(
    qtbot: QtBot, controller: AppController, core: Core, requester: Requester
) -> None:
    tray, window = controller.tray, controller.window
    assert [a.text() for a in tray.menu.actions() if a.text() and a.isVisible()] == [
        "&Open", "&Check now", "&Pair a HEM…", "&Lock", "&Settings…", "&Quit",
    ]  # fmt: skip
    assert not tray.actions["demo"].isVisible()  # "Open the demo page": in demo mode only
    window.hide()
    tray.actions["open"].trigger()
    assert window.isVisible()
    tray.actions["settings"].trigger()
    assert window.pages.currentWidget() is window.settings
    tray.actions["pair"].trigger()
    assert controller.wizard is not None
    assert controller.wizard.isVisible()
    controller.wizard.reject()
    qtbot.waitUntil(lambda: controller.wizard is None)
    tray.actions["check"].trigger()  # no poller in tests: nothing to wait for, nothing breaks
    paired(core, requester)
    session = requester.request_access("keymgmt:list")
    bring_in(qtbot, core, session)
    qtbot.waitUntil(lambda: tray.state == "pending")
    assert tray.tooltip() == "1 request waiting"
    with qtbot.waitSignal(controller.ctx.bridge.lockChanged, timeout=10_000):
        tray.actions["lock"].trigger()
    assert core.locked
    qtbot.waitUntil(lambda: tray.state == "locked")
    assert window.screens.currentWidget() is window.lock_view
    assert "request" not in tray.tooltip()
    tray.actions["quit"].trigger()
    assert controller._stopped


def test_notification_actions_pass_the_lock_check(
    qtbot: QtBot, controller: AppController, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    a = requester.request_access("keymgmt:list")
    b = requester.request_access("system:config")
    bring_in(qtbot, core, a)
    bring_in(qtbot, core, b)
    qtbot.waitUntil(lambda: controller.window.requests.count == 2)
    controller.notifications.on_action(a.event_id, "approve")
    result = outcome(qtbot, a)
    assert result.state == "approved"
    assert result.claims["exp"] - result.claims["iat"] in (int(Period.MIN15), int(Period.MIN15) - 1)
    qtbot.waitUntil(lambda: controller.window.requests.count == 1, timeout=10_000)
    # Locked: a click on Deny in a stale bubble does nothing but show the lock screen.
    with qtbot.waitSignal(controller.ctx.bridge.lockChanged, timeout=10_000):
        controller.lock()
    controller.notifications.on_action(b.event_id, "deny")
    assert b.poll().state == "pending"
    assert controller.window.screens.currentWidget() is controller.window.lock_view


def test_notification_open_and_deny(
    qtbot: QtBot, controller: AppController, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    a = requester.request_access("keymgmt:list")
    bring_in(qtbot, core, a)
    qtbot.waitUntil(lambda: controller.window.requests.count == 1)
    controller.window.hide()
    controller.notifications.on_action(a.event_id, "open")
    assert controller.window.isVisible()
    assert controller.window.requests.view.request.id == a.event_id
    controller.notifications.on_action(a.event_id, "deny")
    assert outcome(qtbot, a).state == "denied"


def test_a_link_from_a_second_launch_opens_the_pairing_preview(
    qtbot: QtBot, controller: AppController, requester: Requester
) -> None:
    session = requester.start_pairing()
    controller.ctx.bridge.open_links([session.pair_link])
    qtbot.waitUntil(lambda: controller.wizard is not None)
    wizard = controller.wizard
    qtbot.waitUntil(lambda: wizard.pages.currentWidget() is wizard.preview_page, timeout=10_000)
    assert wizard.p_host.text() == session.qr.hostname
    wizard.reject()


def test_closing_the_window_keeps_the_app_in_the_tray(
    qtbot: QtBot, controller: AppController, core: Core
) -> None:
    window = controller.window
    window.close()
    assert not window.isVisible() or window.isMinimized()
    assert not controller._stopped
    note = core.paths.config_dir / "gui-state.json"
    if controller.tray.available():
        assert "tray_note_shown" in note.read_text()


def test_single_instance_forwards_links(tmp_path: Path, qapp: QApplication) -> None:
    home = tmp_path / "home"
    first = make_core(home)
    received: list[list[str]] = []
    server = AgentServer(first, first.paths.agent_socket, on_open=received.append)
    server.start()
    try:
        args = argparse.Namespace(home=str(home), demo=False, links=["encedo-auth:pair?x=1"])
        assert gui_app.run(args) == 0
        assert received == [["encedo-auth:pair?x=1"]]
    finally:
        server.stop()
        first.close()


def test_first_run_without_keychain_asks_for_a_passphrase(
    qtbot: QtBot, tmp_path: Path, qapp: QApplication, emu: object
) -> None:
    from authenticator.gui.bridge import Bridge
    from authenticator.gui.clipboard import ClipboardGuard
    from authenticator.gui.tasks import TaskRunner

    core = make_core(tmp_path / "fresh")
    bridge = Bridge()
    core.add_listener(bridge)
    ctx = AppContext(core=core, tasks=TaskRunner(), bridge=bridge, clipboard=ClipboardGuard())
    c = AppController(qapp, ctx, watch_session=False, open_browser=False)
    qtbot.addWidget(c.window)
    try:
        c.start()
        qtbot.waitUntil(lambda: "keychain_available" in ctx.flags)
        setup = c.window.setup
        assert c.window.screens.currentWidget() is setup
        setup.first.setText("short")
        setup.create_store()
        assert setup.banner.kind == "error"
        setup.first.setText(PASSPHRASE)
        setup.second.setText(PASSPHRASE + "x")
        setup.create_store()
        assert "differ" in setup.banner.text()
        setup.first.setText(PASSPHRASE)
        setup.second.setText(PASSPHRASE)
        with qtbot.waitSignal(setup.created, timeout=20_000):
            setup.create_store()
        assert core.store_mode() == "passphrase"
        qtbot.waitUntil(lambda: c.window.screens.currentWidget() is c.window.welcome)
    finally:
        c.shutdown()


def test_passphrase_store_starts_on_the_lock_screen(
    qtbot: QtBot, tmp_path: Path, qapp: QApplication, emu: object
) -> None:
    from authenticator.gui.bridge import Bridge
    from authenticator.gui.clipboard import ClipboardGuard
    from authenticator.gui.tasks import TaskRunner

    home = tmp_path / "h"
    make_core(home).create_store(passphrase=PASSPHRASE)
    core = make_core(home)
    bridge = Bridge()
    core.add_listener(bridge)
    ctx = AppContext(core=core, tasks=TaskRunner(), bridge=bridge, clipboard=ClipboardGuard())
    c = AppController(qapp, ctx, watch_session=False, open_browser=False)
    qtbot.addWidget(c.window)
    try:
        c.start()
        assert c.window.screens.currentWidget() is c.window.lock_view
        assert c.tray.state == "locked"
        c.window.lock_view.passphrase.setText(PASSPHRASE)
        with qtbot.waitSignal(bridge.lockChanged, timeout=20_000):
            c.window.lock_view.unlock()
        qtbot.waitUntil(lambda: c.window.screens.currentWidget() is c.window.welcome)
        assert c.tray.state == "normal"
    finally:
        c.shutdown()


def test_demo_home_is_separate(tmp_path: Path) -> None:
    real = AppPaths.for_home(tmp_path / "real")
    demo = gui_app.demo_paths(real)
    assert demo.data_dir == real.data_dir / "demo"
    assert demo.vault != real.vault
    assert demo.agent_socket != real.agent_socket


def test_offline_state_in_the_status_line_and_the_tray(
    qtbot: QtBot, controller: AppController
) -> None:
    from authenticator.core.model import ConnectionState

    controller.ctx.bridge.connection_changed(
        ConnectionState(False, "The broker did not answer in time.", 8.0)
    )
    window = controller.window
    assert window.status.text().startswith("Offline: The broker did not answer in time.")
    assert "retrying in 8 s" in window.status.text()
    assert controller.tray.state == "offline"
    assert "offline" in controller.tray.tooltip()
    controller.ctx.bridge.connection_changed(ConnectionState(True))
    assert window.status.text().startswith("Online")
    assert controller.tray.state == "normal"


def test_demo_runs_in_its_own_home_and_quits_cleanly(
    tmp_path: Path, qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``authenticator --demo`` through the command line's wiring, with the test hook."""
    from authenticator.cli.commands.misc import start_app

    monkeypatch.setenv(gui_app.QUIT_AFTER_ENV, "1.5")
    home = tmp_path / "real"
    args = argparse.Namespace(home=str(home), demo=True, links=[])
    assert start_app(args) == 0
    demo = gui_app.demo_paths(AppPaths.for_home(home))
    assert demo.vault.exists()  # the demo store, created with the demo passphrase
    assert not AppPaths.for_home(home).vault.exists()  # nothing in the real home
    settings = json.loads(demo.settings.read_text())
    assert settings["default_broker_url"].startswith("http://127.0.0.1:")
    assert not demo.agent_socket.exists()  # the agent stopped with the app


def test_selftest_hook_quits_a_fresh_app(
    tmp_path: Path, qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(gui_app.SELFTEST_ENV, "1")
    args = argparse.Namespace(home=str(tmp_path / "fresh"), demo=False, links=[])
    assert gui_app.run(args) == 0


def test_a_new_request_never_replaces_the_one_being_read(
    qtbot: QtBot, controller: AppController, core: Core, requester: Requester
) -> None:
    from authenticator.gui.notify import WindowNotifier

    if not isinstance(controller.notifications.notifier, WindowNotifier):
        pytest.skip("this desktop has a notification server; the window fallback is not in use")
    paired(core, requester)
    page = controller.window.requests
    a = requester.request_access("keymgmt:list")
    bring_in(qtbot, core, a)
    qtbot.waitUntil(lambda: page.view.request is not None and page.view.request.id == a.event_id)
    b = requester.request_access("system:config")
    bring_in(qtbot, core, b)
    qtbot.waitUntil(lambda: page.count == 2)
    qtbot.waitUntil(lambda: b.event_id in controller.notifications._shown)  # told the window
    assert page.view.request is not None
    assert page.view.request.id == a.event_id  # still reading the first one
    # Its row in the queue counts down, drawn live from the request's expiry.
    text = page.item_text(b.event_id)
    assert text is not None
    assert "Change the settings" in text
    assert ":" in text.splitlines()[-1]
    # The row is painted on two lines: the title, then the HEM and the countdown.
    index = page.list.indexFromItem(page._items[b.event_id])
    option = QStyleOptionViewItem()
    page.list.itemDelegate().initStyleOption(option, index)
    painted = option.text  # type: ignore[attr-defined]
    assert "\n" not in painted  # Qt would draw it as nothing, running the lines together
    title, who, countdown = painted.split("\u2028")
    assert title == "Change the settings"
    assert who.endswith("just now")
    assert countdown.startswith("Expires in ")


def test_a_demo_that_cannot_start_is_said_and_the_app_stays(
    qtbot: QtBot, controller: AppController, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PySide6's startDetached answers (ok, pid): a failed start must not quit the app."""
    from PySide6.QtWidgets import QMessageBox

    from authenticator.gui import controller as controller_module

    said: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    )
    monkeypatch.setattr(
        QMessageBox, "warning", staticmethod(lambda _parent, _title, text: said.append(text))
    )
    monkeypatch.setattr(
        controller_module, "demo_command", lambda _home: ("/nonexistent/authenticator", [])
    )
    quit_calls: list[bool] = []
    monkeypatch.setattr(controller, "quit", lambda: quit_calls.append(True))
    controller.try_demo()
    assert said == ["The demo could not be started."]
    assert quit_calls == []

"""The HEMs and Settings pages: rename, unmute, unpair with the local-only fallback, settings."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui.windows.main import MainWindow
from authenticator.gui.windows.unpair import UnpairDialog
from tests.gui.conftest import paired
from tests.support_emulator import HEM_PASSPHRASE


def test_hems_table_and_rename(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    hem = paired(core, requester)
    page = window.hems
    qtbot.waitUntil(lambda: page.table.rowCount() == 1)
    assert page.table.item(0, 0).text() == hem.name
    assert page.table.item(0, 5).text() == "broker"
    assert page.selected() is not None
    core_rename = core.rename_hem
    window.ctx.tasks.run(lambda: core_rename(hem.name, "desk HEM"))
    qtbot.waitUntil(lambda: page.table.item(0, 0).text() == "desk HEM", timeout=10_000)


def test_unmute(qtbot: QtBot, window: MainWindow, core: Core, requester: Requester) -> None:
    hem = paired(core, requester)
    core.vault.update_pairing(hem.name, muted_until=core.clock.now() + 600)
    page = window.hems
    page.reload()
    assert page.unmute_button.isEnabled()
    assert page.table.item(0, 6).text().startswith("until ")
    qtbot.mouseClick(page.unmute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.item(0, 6).text() == "no", timeout=10_000)


def test_unpair_failure_offers_forget_here(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    hem = paired(core, requester)
    dialog = UnpairDialog(window.ctx, core.hems()[0], window)
    qtbot.addWidget(dialog)
    dialog.show()
    emu.emulator.faults.add("/notify", status=503, times=5)
    qtbot.mouseClick(dialog.unpair_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.banner.kind == "error", timeout=10_000)
    assert "still paired" in dialog.banner.text()
    assert dialog.forget_button.isVisibleTo(dialog)
    assert [h.name for h in core.hems()] == [hem.name]
    emu.emulator.faults.clear()
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.mouseClick(dialog.forget_button, Qt.MouseButton.LeftButton)
    assert core.hems() == []
    qtbot.waitUntil(lambda: window.hems.table.rowCount() == 0)


def test_unpair(qtbot: QtBot, window: MainWindow, core: Core, requester: Requester) -> None:
    paired(core, requester)
    dialog = UnpairDialog(window.ctx, core.hems()[0], window)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.mouseClick(dialog.unpair_button, Qt.MouseButton.LeftButton)
    assert core.hems() == []
    assert dialog.result_ is not None
    assert dialog.result_.broker == "done"


def test_settings_are_saved_and_refusals_explained(
    qtbot: QtBot, window: MainWindow, core: Core
) -> None:
    page = window.settings
    page.reload()
    assert page.poll.value() == core.settings.poll_interval_s
    with qtbot.waitSignal(page.settingsChanged, timeout=10_000):
        page.idle.setValue(12)
        page.idle.editingFinished.emit()
    assert core.settings.idle_lock_min == 12
    with qtbot.waitSignal(page.settingsChanged, timeout=10_000):
        page.theme.setCurrentIndex(page.theme.findData("dark"))
    assert core.settings.theme == "dark"
    page.broker.setText("ftp://example.com")
    page.broker.editingFinished.emit()
    qtbot.waitUntil(lambda: page.banner.kind == "error", timeout=10_000)
    assert "https" in page.banner.text()
    assert page.broker.text() == core.settings.default_broker_url  # back to the saved value
    assert page.change_button.isVisibleTo(page)  # passphrase mode


def test_unpairing_a_direct_pairing_asks_for_the_hem_passphrase(
    qtbot: QtBot, window: MainWindow, core: Core, emu: RunningEmulator
) -> None:
    core.pair_direct(core.preview_direct(emu.urls.hems[1]), HEM_PASSPHRASE, name="desk HEM")
    hem = core.hems()[0]
    assert hem.source == "direct"
    dialog = UnpairDialog(window.ctx, hem, window)
    qtbot.addWidget(dialog)
    dialog.show()
    words = " ".join(label.text() for label in dialog.findChildren(QLabel) if label.isVisible())
    assert "broker" not in words.lower()  # a direct pairing has none
    assert "optional" not in words.lower()
    assert "HEM passphrase" in words
    assert "only its owner" in words  # and why
    assert "(needed)" in dialog.passphrase.placeholderText()
    assert not dialog.forget_button.isVisible()  # only once a remote step failed
    assert not dialog.unpair_button.isEnabled()  # nothing to try without it
    qtbot.keyClicks(dialog.passphrase, "not the passphrase")
    assert dialog.unpair_button.isEnabled()
    qtbot.mouseClick(dialog.unpair_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.banner.kind == "error", timeout=10_000)
    assert [h.name for h in core.hems()] == ["desk HEM"]  # kept
    assert dialog.forget_button.isVisible()
    assert not dialog.unpair_button.isEnabled()  # the passphrase is gone: type it again
    qtbot.keyClicks(dialog.passphrase, HEM_PASSPHRASE)
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.mouseClick(dialog.unpair_button, Qt.MouseButton.LeftButton)
    assert core.hems() == []
    assert dialog.result_ is not None
    assert dialog.result_.hem == "done"
    assert dialog.result_.broker == "not needed"


def test_a_broker_pairing_keeps_the_passphrase_optional(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    dialog = UnpairDialog(window.ctx, core.hems()[0], window)
    qtbot.addWidget(dialog)
    dialog.show()
    words = " ".join(label.text() for label in dialog.findChildren(QLabel) if label.isVisible())
    assert "broker" in words
    assert "(optional)" in dialog.passphrase.placeholderText()
    assert dialog.unpair_button.isEnabled()


def test_code_matching_private_notifications_and_dont_ask_again_settings(
    qtbot: QtBot, window: MainWindow, core: Core
) -> None:
    from tests.gui.test_keyboard import visible_mnemonics

    window.show_page("settings")
    page = window.settings
    page.reload()
    combo = page.code_matching
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Off",
        "For programs started from a remote (SSH) session",
        "Always",
    ]
    assert combo.currentData() == "remote"  # the default
    assert not page.private_notifications.isChecked()
    assert page.private_notifications.text() == (
        "Notifications &say only that a request is waiting"
    )
    assert not page.remember.isChecked()
    assert "claim" in page.code_hint.text()
    with qtbot.waitSignal(page.settingsChanged, timeout=10_000):
        combo.setCurrentIndex(combo.findData("always"))
    assert core.settings.code_matching == "always"
    with qtbot.waitSignal(page.settingsChanged, timeout=10_000):
        page.private_notifications.click()
    assert core.settings.private_notifications is True
    with qtbot.waitSignal(page.settingsChanged, timeout=10_000):
        page.remember.click()
    assert core.settings.agent_remember_program is True
    # the page shows what is saved
    core.update_settings(code_matching="off", private_notifications=False)
    page.reload()
    assert combo.currentData() == "off"
    assert not page.private_notifications.isChecked()
    letters = visible_mnemonics(window)
    assert len(letters) == len(set(letters)), letters


def test_the_sidebar_has_access_in_use(qtbot: QtBot, window: MainWindow) -> None:
    labels = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert labels == ["Requests", "HEMs", "History", "Access in use", "Settings"]
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.grants
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.settings

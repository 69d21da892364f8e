"""The Settings page: how often to check, when to lock, notifications (and private ones), theme,
start at login, programs on this computer (code matching, "don't ask again"), the default broker
(advanced), how the store is protected, and "This desktop" (what the desktop
offers the app, with the fix for what is missing: ``gui.desktop.DesktopSection``).

Every change is saved at once (no Apply button), on the ``TaskRunner``: the core validates it,
writes the file atomically and journals it. A refused value is explained in place and the field
goes back to the saved value. Protection changes run a KDF or the keychain, so they also run off
the GUI thread.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from authenticator.gui.context import AppContext
from authenticator.gui.desktop import DesktopSection
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.passphrase import PassphraseField, strength_hint
from authenticator.gui.widgets.plain import PlainLabel
from authenticator.store.settings import Settings

__all__ = ["PassphraseDialog", "SettingsPage"]

THEMES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))
CODE_MATCHING = (
    ("off", "Off"),
    ("remote", "For programs started from a remote (SSH) session"),
    ("always", "Always"),
)


def _autostart() -> ModuleType | None:
    try:
        return importlib.import_module("authenticator.core.autostart")
    except ImportError:
        return None


class PassphraseDialog(QDialog):
    """Asks for the current and/or a new passphrase (typed twice)."""

    def __init__(
        self, title: str, *, current: bool, new: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.current = PassphraseField(self.tr("Current passphrase"), self)
        self.new = PassphraseField(self.tr("New passphrase"), self)
        self.repeat = PassphraseField(self.tr("Repeat the new passphrase"), self)
        if current:
            form.addRow(self.tr("C&urrent"), self.current)
        if new:
            form.addRow(self.tr("&New"), self.new)
            form.addRow(self.tr("&Repeat"), self.repeat)
        layout.addLayout(form)
        self.hint = PlainLabel(self)
        self.hint.setProperty("role", "muted")
        self.hint.setVisible(new)
        self.new.textChanged.connect(lambda t: self.hint.setText(strength_hint(t)[1]))
        layout.addWidget(self.hint)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._new_needed = new

    def _check(self) -> None:
        if self._new_needed:
            if len(self.new.text()) < 8:
                self.banner.show_message(self.tr("Use at least 8 characters."))
                return
            if self.new.text() != self.repeat.text():
                self.banner.show_message(self.tr("The two new passphrases differ."))
                return
        self.accept()


class SettingsPage(QWidget):
    settingsChanged = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 16, 20, 16)
        title = PlainLabel(self.tr("Settings"), self)
        title.setProperty("role", "title")
        outer.addWidget(title)
        self.banner = Banner(self)
        outer.addWidget(self.banner)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer.addWidget(scroll, 1)
        body = QWidget(scroll)
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 8, 0)
        layout.setSpacing(14)

        general = QGroupBox(self.tr("General"), body)
        form = QFormLayout(general)
        self.notifications = QCheckBox(self.tr("Show a &notification for each request"), general)
        self.private_notifications = QCheckBox(
            self.tr("Notifications &say only that a request is waiting"), general
        )
        self.private_notifications.setToolTip(
            self.tr(
                "No scope, HEM or location in the bubble: open the app to see the request. "
                "While the desktop's screen is locked, notifications are always private."
            )
        )
        self.start_at_login = QCheckBox(self.tr("Start at &login (in the tray)"), general)
        self.theme = QComboBox(general)
        self.theme.setAccessibleName(self.tr("Theme"))
        for value, label in THEMES:
            self.theme.addItem(self.tr(label), value)
        self.poll = QSpinBox(general)
        self.poll.setRange(1, 300)
        self.poll.setSuffix(self.tr(" s"))
        self.poll.setAccessibleName(self.tr("Check for requests every (seconds)"))
        self.theme.setMinimumWidth(220)
        self.theme.setMaximumWidth(280)
        for spin in (self.poll,):
            spin.setMinimumWidth(110)
            spin.setMaximumWidth(140)
        form.addRow(self.notifications)
        form.addRow(self.private_notifications)
        form.addRow(self.start_at_login)
        form.addRow(self.tr("&Theme"), self.theme)
        form.addRow(self.tr("&Check for requests every"), self.poll)
        layout.addWidget(general)

        security = QGroupBox(self.tr("Locking"), body)
        form = QFormLayout(security)
        self.idle = QSpinBox(security)
        self.idle.setRange(0, 1440)
        self.idle.setSuffix(self.tr(" min"))
        self.idle.setSpecialValueText(self.tr("Never"))
        self.idle.setAccessibleName(self.tr("Lock after this many idle minutes (0: never)"))
        self.session_lock = QCheckBox(self.tr("Lock when the &desktop session locks"), security)
        self.mute = QSpinBox(security)
        self.mute.setRange(0, 1440)
        self.mute.setSuffix(self.tr(" min"))
        self.mute.setAccessibleName(self.tr("Mute a HEM after a report (minutes)"))
        for spin in (self.idle, self.mute):
            spin.setMinimumWidth(110)
            spin.setMaximumWidth(140)
        form.addRow(self.tr("Lock after &idle"), self.idle)
        form.addRow(self.session_lock)
        form.addRow(self.tr("After “I didn't ask for this”, &mute the HEM for"), self.mute)
        layout.addWidget(security)

        programs = QGroupBox(self.tr("Programs on this computer"), body)
        form = QFormLayout(programs)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.code_matching = QComboBox(programs)
        self.code_matching.setAccessibleName(self.tr("Code matching"))
        for value, label in CODE_MATCHING:
            self.code_matching.addItem(self.tr(label), value)
        self.code_matching.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.code_matching.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.code_matching.setToolTip(
            self.tr(
                "The asking terminal shows a two-digit code and you pick it among three before "
                "Allow: a prompt you did not start cannot be approved by reflex. A wrong pick "
                "denies the request and is journalled as suspicious."
            )
        )
        self.code_hint = PlainLabel(
            self.tr(
                "The program shows the code on its terminal; you pick the same one in the "
                "prompt. The code is the program's claim: it proves the prompt is the one you "
                "started, not who is asking."
            ),
            programs,
        )
        self.code_hint.setProperty("role", "muted")
        self.code_hint.setWordWrap(True)
        self.remember = QCheckBox(self.tr("Offer “Don't ask again” for p&rograms"), programs)
        self.remember.setToolTip(
            self.tr(
                "The prompt of a program the app can recognise next time offers “Don't ask "
                "again until it expires”; every token handed out that way is journalled, and "
                "the rules are forgotten when the app locks."
            )
        )
        form.addRow(self.tr("Code matc&hing"), self.code_matching)
        form.addRow(self.code_hint)
        form.addRow(self.remember)
        layout.addWidget(programs)

        protection = QGroupBox(self.tr("Protection"), body)
        box = QVBoxLayout(protection)
        self.protection = PlainLabel(protection)
        self.protection.setWordWrap(True)
        box.addWidget(self.protection)
        row = QHBoxLayout()
        self.change_button = QPushButton(self.tr("Change &passphrase…"), protection)
        self.keychain_button = QPushButton(self.tr("Use the system &keychain"), protection)
        self.passphrase_button = QPushButton(self.tr("Use a passphrase &instead…"), protection)
        self.change_button.clicked.connect(self.change_passphrase)
        self.keychain_button.clicked.connect(self.use_keychain)
        self.passphrase_button.clicked.connect(self.use_passphrase)
        for button in (self.change_button, self.keychain_button, self.passphrase_button):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        box.addLayout(row)
        layout.addWidget(protection)

        advanced = QGroupBox(self.tr("Advanced"), body)
        form = QFormLayout(advanced)
        self.broker = QLineEdit(advanced)
        self.broker.setAccessibleName(self.tr("Default broker address"))
        self.broker.setToolTip(
            self.tr(
                "Used for new pairings without a broker of their own; each pairing "
                "remembers the broker it came from."
            )
        )
        form.addRow(self.tr("Default &broker"), self.broker)
        layout.addWidget(advanced)
        self.desktop = DesktopSection(
            lambda work, done: ctx.tasks.run(work, done, owner=self, name="desktop_report"), body
        )
        layout.addWidget(self.desktop)
        layout.addStretch(1)

        self._loading = False
        self.notifications.toggled.connect(lambda v: self._save(notifications=v))
        self.private_notifications.toggled.connect(lambda v: self._save(private_notifications=v))
        self.code_matching.currentIndexChanged.connect(
            lambda _: self._save(code_matching=str(self.code_matching.currentData()))
        )
        self.remember.toggled.connect(lambda v: self._save(agent_remember_program=v))
        self.start_at_login.toggled.connect(self._start_at_login)
        self.theme.currentIndexChanged.connect(
            lambda _: self._save(theme=str(self.theme.currentData()))
        )
        self.poll.editingFinished.connect(lambda: self._save(poll_interval_s=self.poll.value()))
        self.idle.editingFinished.connect(lambda: self._save(idle_lock_min=self.idle.value()))
        self.session_lock.toggled.connect(lambda v: self._save(lock_on_session_lock=v))
        self.mute.editingFinished.connect(
            lambda: self._save(mute_minutes_after_report=self.mute.value())
        )
        self.broker.editingFinished.connect(
            lambda: self._save(default_broker_url=self.broker.text().strip())
        )
        if _autostart() is None:
            self.start_at_login.setEnabled(False)
            self.start_at_login.setToolTip(self.tr("Not available in this version."))

    # ------------------------------------------------------------------ showing

    def reload(self) -> None:
        s = self.ctx.core.settings
        self._loading = True
        try:
            self.notifications.setChecked(s.notifications)
            self.private_notifications.setChecked(s.private_notifications)
            self.code_matching.setCurrentIndex(max(0, self.code_matching.findData(s.code_matching)))
            self.remember.setChecked(s.agent_remember_program)
            self.start_at_login.setChecked(s.start_at_login)
            self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
            self.poll.setValue(s.poll_interval_s)
            self.idle.setValue(s.idle_lock_min)
            self.session_lock.setChecked(s.lock_on_session_lock)
            self.mute.setValue(s.mute_minutes_after_report)
            self.broker.setText(s.default_broker_url)
        finally:
            self._loading = False
        self._show_protection()

    def _show_protection(self) -> None:
        core = self.ctx.core
        mode = core.store_mode()
        keychain_ok = (
            self.ctx.flags.get("keychain_available", False) if mode == "passphrase" else True
        )
        if mode == "keychain":
            self.protection.setText(
                self.tr(
                    "The store is protected by the system keychain: it unlocks without a "
                    "passphrase while you are logged in."
                )
            )
        else:
            self.protection.setText(
                self.tr(
                    "The store is protected by your passphrase: you type it when the app "
                    "starts or after it locks."
                )
            )
        self.change_button.setVisible(mode == "passphrase")
        self.keychain_button.setVisible(mode == "passphrase")
        self.keychain_button.setEnabled(keychain_ok)
        if not keychain_ok:
            self.keychain_button.setToolTip(self.tr("No system keychain is available here."))
        self.passphrase_button.setVisible(mode == "keychain")

    # ------------------------------------------------------------------ saving

    def _save(self, **changes: Any) -> None:
        if self._loading:
            return
        current = self.ctx.core.settings.to_json()
        if all(current.get(k) == v for k, v in changes.items()):
            return
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.update_settings(**changes),
            self._saved,
            self._refused,
            owner=self,
            name="settings",
        )

    def _saved(self, settings: Settings) -> None:
        self.banner.clear_message()
        emit(self.settingsChanged, settings)

    def _refused(self, message: str, exc: BaseException) -> None:
        self.banner.show_message(message, "error")
        self.reload()

    def _start_at_login(self, enabled: bool) -> None:
        if self._loading:
            return
        module = _autostart()
        core = self.ctx.core

        def apply() -> Settings:
            if module is not None:
                if enabled:
                    module.enable()
                else:
                    module.disable()
            return core.update_settings(start_at_login=enabled)

        self.ctx.tasks.run(apply, self._saved, self._refused, owner=self, name="autostart")

    # ------------------------------------------------------------------ protection

    def _protect(self, fn: Any, done: str) -> None:
        self.banner.show_message(self.tr("Working…"), "info")
        self.ctx.tasks.run(
            fn,
            lambda _: self._protected(done),
            lambda message, _: self.banner.show_message(message, "error"),
            owner=self,
            name="protection",
        )

    def _protected(self, done: str) -> None:
        self.banner.show_message(done, "ok")
        self._show_protection()

    def change_passphrase(self) -> None:
        dialog = PassphraseDialog(
            self.tr("Change the passphrase"), current=True, new=True, parent=self
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        old, new = dialog.current.take(), dialog.new.take()
        dialog.repeat.clear()
        core = self.ctx.core
        self._protect(lambda: core.change_passphrase(old, new), self.tr("Passphrase changed."))

    def use_keychain(self) -> None:
        core = self.ctx.core
        self._protect(core.use_keychain, self.tr("The store is now protected by the keychain."))

    def use_passphrase(self) -> None:
        dialog = PassphraseDialog(
            self.tr("Protect with a passphrase"), current=False, new=True, parent=self
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        new = dialog.new.take()
        dialog.repeat.clear()
        core = self.ctx.core
        self._protect(
            lambda: core.use_passphrase(new), self.tr("The store is now protected by a passphrase.")
        )

"""The lock screen: nothing else is visible while the app is locked.

Passphrase mode asks for the passphrase; keychain mode unlocks with one click (the keychain
call runs off the GUI thread, as a keychain prompt can take long). The unlock itself (a KDF)
runs on the ``TaskRunner``; a wrong passphrase is said in place and the field is ready again.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QPushButton, QWidget

from authenticator.gui.context import AppContext
from authenticator.gui.icons import state_icon
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.card import centred_card
from authenticator.gui.widgets.passphrase import PassphraseField
from authenticator.gui.widgets.plain import PlainLabel

__all__ = ["LockView"]


class LockView(QWidget):
    unlocked = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setAccessibleName(self.tr("Locked"))
        card, layout = centred_card(self, width=420)
        icon = PlainLabel(card)
        icon.setPixmap(state_icon("locked").pixmap(QSize(64, 64), self.devicePixelRatioF()))
        icon.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(icon)
        title = PlainLabel(self.tr("The authenticator is locked"), card)
        title.setProperty("role", "heading")
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(title)
        self.hint = PlainLabel(card)
        self.hint.setWordWrap(True)
        self.hint.setProperty("role", "muted")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.hint)
        self.passphrase = PassphraseField(self.tr("Passphrase"), card)
        self.passphrase.returnPressed.connect(self.unlock)
        layout.addWidget(self.passphrase)
        self.button = QPushButton(self.tr("&Unlock"), card)
        self.button.setProperty("role", "primary")
        self.button.setAutoDefault(False)
        self.button.setAccessibleName(self.tr("Unlock"))
        self.button.clicked.connect(self.unlock)
        layout.addWidget(self.button)
        self.banner = Banner(card)
        layout.addWidget(self.banner)

    def prepare(self) -> None:
        """Fit the screen to the store's protection; focus where typing starts."""
        keychain = self.ctx.core.store_mode() == "keychain"
        self.passphrase.setVisible(not keychain)
        if keychain:
            self.hint.setText(
                self.tr("Unlock with your system keychain. Requests are not shown while locked.")
            )
        elif self.ctx.demo_passphrase:
            self.hint.setText(
                self.tr("Enter the passphrase to see and answer requests. (Demo: “{p}”.)").format(
                    p=self.ctx.demo_passphrase
                )
            )
        else:
            self.hint.setText(self.tr("Enter your passphrase to see and answer requests."))
        self.button.setEnabled(True)
        if keychain:
            self.button.setFocus()
        else:
            self.passphrase.setFocus()

    def unlock(self) -> None:
        keychain = self.ctx.core.store_mode() == "keychain"
        passphrase = None if keychain else self.passphrase.take()
        if passphrase == "":
            self.banner.show_message(self.tr("Enter your passphrase first."), "error")
            return
        self.button.setEnabled(False)
        self.banner.show_message(self.tr("Unlocking…"), "info")
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.unlock(passphrase),
            lambda _: self._done(),
            self._failed,
            owner=self,
            name="unlock",
        )

    def _done(self) -> None:
        self.banner.clear_message()
        self.button.setEnabled(True)
        emit(self.unlocked)

    def _failed(self, message: str, exc: BaseException) -> None:
        self.button.setEnabled(True)
        self.banner.show_message(message, "error")
        self.passphrase.setFocus()

"""First run without a keychain: choose the passphrase that protects the store.

The passphrase is typed twice, a plain strength hint follows the typing, and the store is created
(Argon2id, a second or so) on the ``TaskRunner`` so the window never freezes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QPushButton,
    QWidget,
)

from authenticator.gui.context import AppContext
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.card import centred_card
from authenticator.gui.widgets.passphrase import PassphraseField, strength_hint
from authenticator.gui.widgets.plain import PlainLabel

__all__ = ["SetupView"]

MIN_LENGTH = 8


class SetupView(QWidget):
    created = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setAccessibleName(self.tr("Protect the authenticator"))
        card, layout = centred_card(self, width=520)
        title = PlainLabel(self.tr("Choose a passphrase"), card)
        title.setProperty("role", "title")
        layout.addWidget(title)
        body = PlainLabel(
            self.tr(
                "No system keychain is available, so a passphrase protects the keys that pair "
                "this computer with your HEMs. You type it when the app starts or after it "
                "locks. It cannot be recovered: keep it somewhere safe."
            ),
            card,
        )
        body.setWordWrap(True)
        layout.addWidget(body)
        form = QFormLayout()
        self.first = PassphraseField(self.tr("New passphrase"), card)
        self.second = PassphraseField(self.tr("Repeat the passphrase"), card)
        form.addRow(self.tr("&Passphrase"), self.first)
        form.addRow(self.tr("&Repeat"), self.second)
        layout.addLayout(form)
        self.strength = PlainLabel(card)
        self.strength.setProperty("role", "muted")
        layout.addWidget(self.strength)
        self.first.textChanged.connect(self._hint)
        self.second.returnPressed.connect(self.create_store)
        self.button = QPushButton(self.tr("&Create"), card)
        self.button.setProperty("role", "primary")
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self.create_store)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignRight)
        self.banner = Banner(card)
        layout.addWidget(self.banner)
        self._hint("")

    def _hint(self, text: str) -> None:
        _, words = strength_hint(text)
        self.strength.setText(words)

    def create_store(self) -> None:
        first, second = self.first.text(), self.second.text()
        if len(first) < MIN_LENGTH:
            self.banner.show_message(
                self.tr("Use at least {n} characters.").format(n=MIN_LENGTH), "error"
            )
            return
        if first != second:
            self.banner.show_message(self.tr("The two passphrases differ; type them again."))
            self.second.clear()
            self.second.setFocus()
            return
        self.first.clear()
        self.second.clear()
        self.button.setEnabled(False)
        self.banner.show_message(self.tr("Creating the store…"), "info")
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.create_store(passphrase=first),
            lambda _: self._done(),
            self._failed,
            owner=self,
            name="create_store",
        )

    def _done(self) -> None:
        self.banner.clear_message()
        emit(self.created)

    def _failed(self, message: str, exc: BaseException) -> None:
        self.button.setEnabled(True)
        self.banner.show_message(message, "error")

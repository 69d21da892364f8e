"""The unpair dialog: remove the pairing at the broker (and, with the HEM passphrase, this
computer's key on the HEM); when a remote step fails, say what failed and offer to forget the
pairing on this computer only."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from authenticator.core.model import HemView
from authenticator.core.unpair import UnpairResult
from authenticator.gui.context import AppContext
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.passphrase import PassphraseField
from authenticator.gui.widgets.plain import PlainLabel

__all__ = ["UnpairDialog"]


class UnpairDialog(QDialog):
    def __init__(self, ctx: AppContext, hem: HemView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.hem = hem
        self.result_: UnpairResult | None = None
        self.setWindowTitle(self.tr("Unpair {name}").format(name=hem.name))
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        text = PlainLabel(
            self.tr(
                "After unpairing, requests to {name} no longer reach this computer. The pairing "
                "is removed at the broker. To also delete this computer's key on the HEM, enter "
                "the HEM passphrase (optional; it is used once and not stored)."
            ).format(name=hem.name),
            self,
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.passphrase = PassphraseField(self.tr("HEM passphrase (optional)"), self)
        layout.addWidget(self.passphrase)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.buttons = QDialogButtonBox(self)
        self.unpair_button = QPushButton(self.tr("&Unpair"), self)
        self.forget_button = QPushButton(self.tr("&Forget on this computer"), self)
        self.forget_button.setToolTip(
            self.tr("Removes the pairing here only; the HEM and the broker may still list it.")
        )
        self.forget_button.hide()
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        for button in (self.unpair_button, self.forget_button, self.cancel_button):
            button.setAutoDefault(False)
        self.buttons.addButton(self.unpair_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.forget_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.unpair_button.clicked.connect(lambda: self.unpair(local_only=False))
        self.forget_button.clicked.connect(lambda: self.unpair(local_only=True))
        self.cancel_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)

    def unpair(self, *, local_only: bool) -> None:
        passphrase = self.passphrase.take() or None
        core, name = self.ctx.core, self.hem.name
        self.unpair_button.setEnabled(False)
        self.forget_button.setEnabled(False)
        self.banner.show_message(self.tr("Unpairing…"), "info")
        self.ctx.tasks.run(
            lambda: core.unpair(name, local_only=local_only, hem_passphrase=passphrase),
            self._done,
            self._failed,
            owner=self,
            name="unpair",
        )

    def _done(self, result: UnpairResult) -> None:
        self.result_ = result
        self.unpair_button.setEnabled(True)
        self.forget_button.setEnabled(True)
        if result.removed:
            self.accept()
            return
        problems = " ".join(result.problems)
        self.banner.show_message(
            self.tr(
                "{name} is still paired. {problems} You can try again, or forget it on this "
                "computer only."
            ).format(name=result.name, problems=problems),
            "error",
        )
        self.forget_button.show()

    def _failed(self, message: str, exc: BaseException) -> None:
        self.unpair_button.setEnabled(True)
        self.forget_button.setEnabled(True)
        self.forget_button.show()
        self.banner.show_message(message, "error")

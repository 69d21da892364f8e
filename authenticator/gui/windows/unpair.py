"""The unpair dialog: remove the pairing where it lives, then on this computer.

A pairing made through the broker (a QR code) is removed at the broker; with the HEM passphrase
(optional) this computer's key on the HEM is deleted too. A direct pairing has no broker: it
lives only on the HEM, so removing it means deleting this computer's key there, and the HEM lets
only its owner do that — the HEM passphrase is needed, the dialog says so, and Unpair waits for
it. When a remote step fails, the dialog says what failed and offers to forget the pairing on
this computer only.
"""

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
        self.direct = hem.source == "direct"
        if self.direct:
            words = self.tr(
                "After unpairing, {name} can no longer send requests to this computer.\n\n"
                "{name} was paired directly, so the pairing lives on the HEM itself: this "
                "computer's key is deleted there. The HEM lets only its owner delete a key, so "
                "enter the HEM passphrase. It is used once and not stored."
            )
            field = self.tr("HEM passphrase (needed)")
        else:
            words = self.tr(
                "After unpairing, requests to {name} no longer reach this computer. The pairing "
                "is removed at the broker. To also delete this computer's key on the HEM, enter "
                "the HEM passphrase (optional; it is used once and not stored)."
            )
            field = self.tr("HEM passphrase (optional)")
        text = PlainLabel(words.format(name=hem.name), self)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.passphrase = PassphraseField(field, self)
        layout.addWidget(self.passphrase)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.buttons = QDialogButtonBox(self)
        self.unpair_button = QPushButton(self.tr("&Unpair"), self)
        self.forget_button = QPushButton(self.tr("&Forget on this computer"), self)
        self.forget_button.setToolTip(
            self.tr("Removes the pairing here only; the HEM may still list it.")
            if self.direct
            else self.tr("Removes the pairing here only; the HEM and the broker may still list it.")
        )
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
        self.forget_button.hide()  # (after the button box, which shows what it is given)
        if self.direct:
            self.passphrase.textChanged.connect(self._update_unpair)
            self._update_unpair()

    def _update_unpair(self) -> None:
        """A direct pairing cannot be removed without the HEM passphrase: Unpair waits for it."""
        self.unpair_button.setEnabled(bool(self.passphrase.text()))

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
        self._idle()
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

    def _idle(self) -> None:
        self.forget_button.setEnabled(True)
        if self.direct:
            self._update_unpair()  # the passphrase was used up: type it again to retry
        else:
            self.unpair_button.setEnabled(True)

    def _failed(self, message: str, exc: BaseException) -> None:
        self._idle()
        self.forget_button.show()
        self.banner.show_message(message, "error")

"""The Requests page's mute line: which HEMs are muted, until when, and Unmute.

After "I didn't ask for this" the app refuses a HEM's requests without asking for a while. That
is shown where requests are looked for, not only on the HEMs page: one warning line ("Requests
from office-hem are muted until 14:05: they are denied without asking you.") with an Unmute
button beside it. The line follows the pairings (``hemsChanged``) and disappears by itself when
the mute runs out; the person's Unmute runs on the ``TaskRunner``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from authenticator.errors import LockedError
from authenticator.gui import fmt
from authenticator.gui.context import AppContext
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.banner import Banner

__all__ = ["MuteBar"]


class MuteBar(QWidget):
    """Hidden while no HEM is muted."""

    changed = Signal(dict)  # {HEM name: muted until} after every change, the run-outs included

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.muted: dict[str, int] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.line = Banner(self)
        self.line.show()
        layout.addWidget(self.line, 1)
        self.unmute_button = QPushButton(self.tr("Un&mute"), self)
        self.unmute_button.setAutoDefault(False)
        self.unmute_button.clicked.connect(self.unmute)
        layout.addWidget(self.unmute_button)
        self.hide()
        ctx.bridge.hemsChanged.connect(self.reload)
        ctx.bridge.lockChanged.connect(lambda _locked: self.reload())

    def reload(self) -> None:
        """Read the mutes from the pairings (they change on report, unmute, unpair, lock)."""
        now = self.ctx.core.clock.now()
        try:
            hems = [] if self.ctx.core.locked else self.ctx.core.hems()
        except LockedError:
            hems = []
        until = {h.name: h.muted_until or 0 for h in hems}
        self._set({name: when for name, when in until.items() if when > now})

    def tick(self, now: int) -> None:
        """A mute that ran out leaves the line (no need to ask the core for it)."""
        if any(until <= now for until in self.muted.values()):
            self._set({name: until for name, until in self.muted.items() if until > now})

    def _set(self, muted: dict[str, int]) -> None:
        if muted != self.muted:
            self.muted = muted
            emit(self.changed, dict(muted))
        self._show()

    def _show(self) -> None:
        if not self.muted:
            self.line.clear_message()
            self.hide()
            return
        now = self.ctx.core.clock.now()
        if len(self.muted) == 1:
            ((name, until),) = self.muted.items()
            text = self.tr(
                "Requests from {hem} are muted {until}: they are denied without asking you."
            ).format(hem=name, until=fmt.until_text(until, now))
            self.unmute_button.setText(self.tr("Un&mute"))
            self.unmute_button.setAccessibleName(self.tr("Unmute {hem}").format(hem=name))
        else:
            names = ", ".join(sorted(self.muted, key=str.lower))
            text = self.tr(
                "Requests from {hems} are muted: they are denied without asking you."
            ).format(hems=names)
            self.unmute_button.setText(self.tr("Un&mute all"))
            self.unmute_button.setAccessibleName(self.tr("Unmute every HEM"))
        self.line.show_message(text, "warn")
        self.unmute_button.setEnabled(True)
        self.show()

    def unmute(self) -> None:
        names = list(self.muted)
        if not names:
            return
        core = self.ctx.core
        self.unmute_button.setEnabled(False)

        def run() -> None:
            for name in names:
                core.unmute(name)

        self.ctx.tasks.run(run, lambda _: self.reload(), self._failed, owner=self, name="unmute")

    def _failed(self, message: str, _exc: BaseException) -> None:
        self.line.show_message(message, "error")
        self.unmute_button.setEnabled(True)

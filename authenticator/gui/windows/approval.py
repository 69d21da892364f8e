"""The approval view: one request, in plain words, and exactly what Approve grants.

What a person needs to decide, top to bottom: the title and the plain sentence (from the scope
catalogue), which HEM, who asks (where from, which program, or "a pasted request") and their
own unverified words, the details of the key or drive, the raw scope on demand, and a live
countdown. Then the answer: the period (the request's default, 15 min for the broker), write
access only where it applies and off by default, and an Approve button whose text is the grant
itself ("Allow read-only for 1 h").

Safety choices: there is no default button (Enter never approves; nothing is answered by
default); the answer runs on the ``TaskRunner`` so the window keeps repainting while the HEM or
the broker is slow; an error is shown in place in one sentence and, when the request is still
pending, the buttons come back so the person can retry.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from authenticator.core.model import AccessRequest, Grant
from authenticator.errors import (
    AlreadyAnsweredError,
    ExpiredError,
    Gone,
    LockedError,
    NoSuchRequestError,
    NotFound,
)
from authenticator.gui import fmt
from authenticator.gui.context import AppContext
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.period import PeriodChooser
from authenticator.gui.widgets.plain import PlainLabel
from authenticator.protocol.periods import Period

__all__ = ["ApprovalView"]

State = Literal["empty", "asking", "busy", "done"]
_GONE = (Gone, NotFound, ExpiredError, NoSuchRequestError, AlreadyAnsweredError)
URGENT_S = 60


def _selectable(label: QLabel) -> QLabel:
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class ApprovalView(QWidget):
    """Shows one :class:`AccessRequest` and answers it through the core."""

    finished = Signal(str)  # request id: the view now shows how it ended
    nextRequested = Signal()  # noqa: N815 - Qt signal naming

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.request: AccessRequest | None = None
        self.state: State = "empty"
        self.grant: Grant | None = None
        self.setAccessibleName(self.tr("Access request"))

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        card = QFrame(self)
        card.setProperty("role", "card")
        outer.addWidget(card)
        outer.addStretch(1)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(22, 18, 22, 18)
        layout.setSpacing(10)

        top = QHBoxLayout()
        self.title = PlainLabel(card)
        self.title.setProperty("role", "title")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.countdown = PlainLabel(card)
        self.countdown.setProperty("role", "countdown")
        self.countdown.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.countdown.setAccessibleName(self.tr("Time left"))
        top.addWidget(self.title, 1)
        top.addWidget(self.countdown, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)

        self.sentence = _selectable(PlainLabel(card))
        self.sentence.setAccessibleName(self.tr("What is asked"))
        font = self.sentence.font()
        font.setPointSizeF(font.pointSizeF() * 1.12)
        self.sentence.setFont(font)
        layout.addWidget(self.sentence)

        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setHorizontalSpacing(18)
        self.form.setVerticalSpacing(6)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(self.form)

        self.details_toggle = QToolButton(card)
        self.details_toggle.setText(self.tr("Show deta&ils"))
        self.details_toggle.setCheckable(True)
        self.details_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.details_toggle.setAutoRaise(True)
        self.details_toggle.setAccessibleName(self.tr("Show the raw request"))
        self.details_toggle.toggled.connect(self._toggle_details)
        layout.addWidget(self.details_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self.raw = _selectable(PlainLabel(card))
        self.raw.setProperty("role", "muted")
        self.raw.setAccessibleName(self.tr("Raw request"))
        self.raw.hide()
        layout.addWidget(self.raw)

        line = QFrame(card)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)

        # ---------------------------------------------------------------- the answer
        self.answer = QWidget(card)
        answer = QVBoxLayout(self.answer)
        answer.setContentsMargins(0, 0, 0, 0)
        answer.setSpacing(10)
        period_row = QHBoxLayout()
        period_label = PlainLabel(self.tr("Allow for:"), self.answer)
        self.period = PeriodChooser(self.answer)
        self.period.changed.connect(self._update_approve_text)
        period_label.setBuddy(self.period.buttons[Period.MIN15])
        period_row.addWidget(period_label)
        period_row.addWidget(self.period, 1)
        answer.addLayout(period_row)
        self.write = QCheckBox(self.tr("Also allow &writing to the drive"), self.answer)
        self.write.setAccessibleName(self.tr("Allow write access"))
        self.write.setAccessibleDescription(
            self.tr("Off grants read-only access; on grants read and write access.")
        )
        self.write.toggled.connect(self._update_approve_text)
        answer.addWidget(self.write)
        self.write_hint = PlainLabel(self.answer)
        self.write_hint.setProperty("role", "muted")
        self.write_hint.setWordWrap(True)
        answer.addWidget(self.write_hint)

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        self.approve_button = QPushButton(self.answer)
        self.approve_button.setProperty("role", "approve")
        self.approve_button.setObjectName("approve")
        self.deny_button = QPushButton(self.tr("&Deny"), self.answer)
        self.deny_button.setObjectName("deny")
        self.deny_button.setAccessibleName(self.tr("Deny"))
        self.report_button = QPushButton(self.tr("Deny — I did&n't ask for this"), self.answer)
        self.report_button.setObjectName("report")
        self.report_button.setProperty("role", "deny")
        self.report_button.setAccessibleName(self.tr("Deny and report: I didn't ask for this"))
        self.report_button.setToolTip(
            self.tr("Denies the request, records a report and mutes this HEM for a while.")
        )
        for button in (self.approve_button, self.deny_button, self.report_button):
            button.setAutoDefault(False)  # Enter must never answer a request
            button.setDefault(False)
        self.approve_button.clicked.connect(self.approve)
        self.deny_button.clicked.connect(lambda: self.deny(report=False))
        self.report_button.clicked.connect(lambda: self.deny(report=True))
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.deny_button)
        buttons.addStretch(1)
        buttons.addWidget(self.report_button)
        answer.addLayout(buttons)
        layout.addWidget(self.answer)

        # ---------------------------------------------------------------- how it ended
        self.banner = Banner(card)
        layout.addWidget(self.banner)
        self.token_row = QWidget(card)
        token = QHBoxLayout(self.token_row)
        token.setContentsMargins(0, 0, 0, 0)
        self.token_field = QLineEdit(self.token_row)
        self.token_field.setReadOnly(True)
        self.token_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_field.setAccessibleName(self.tr("Token (hidden)"))
        self.copy_button = QPushButton(self.tr("&Copy token"), self.token_row)
        self.copy_button.setAutoDefault(False)
        self.copy_button.setToolTip(self.tr("The clipboard is cleared after 30 seconds."))
        self.copy_button.clicked.connect(self._copy_token)
        token.addWidget(self.token_field, 1)
        token.addWidget(self.copy_button)
        self.token_row.hide()
        layout.addWidget(self.token_row)
        self.next_button = QPushButton(self.tr("Show the &next request"), card)
        self.next_button.setAutoDefault(False)
        self.next_button.clicked.connect(self.nextRequested)
        self.next_button.hide()
        layout.addWidget(self.next_button, 0, Qt.AlignmentFlag.AlignLeft)

        self.setTabOrder(self.period.buttons[Period.MIN15], self.write)
        self.setTabOrder(self.write, self.approve_button)
        self.setTabOrder(self.approve_button, self.deny_button)
        self.setTabOrder(self.deny_button, self.report_button)
        self.setTabOrder(self.report_button, self.details_toggle)

    # ------------------------------------------------------------------ showing

    def show_request(self, request: AccessRequest) -> None:
        """Show ``request`` ready to be answered (its default period, write off)."""
        self.request = request
        self.grant = None
        self.state = "asking"
        self.title.setText(request.title)
        self.sentence.setText(request.text)
        self._fill_form(request)
        self.raw.setText(
            self.tr("Scope: {scope}\nRequest id: {id} · source: {source} · expires {when}").format(
                scope=request.scope,
                id=request.id,
                source=request.source,
                when=fmt.date_time(request.expires_at),
            )
        )
        self.details_toggle.setChecked(False)
        self.period.set_period(request.default_period)
        self.write.setChecked(False)
        self.write.setVisible(request.write_possible)
        asked_write = request.info.write_requested or request.default_write
        self.write_hint.setVisible(request.write_possible and asked_write)
        self.write_hint.setText(
            self.tr("The requester asked for write access; it stays off unless you tick it.")
        )
        self.answer.show()
        self._set_enabled(True)
        self.banner.clear_message()
        self.token_row.hide()
        self.token_field.clear()
        self.next_button.hide()
        self._update_approve_text()
        self.tick(self.ctx.core.clock.now())

    def _row(self, label: str, value: str, name: str) -> None:
        field = _selectable(PlainLabel(value))
        field.setAccessibleName(name)
        key = PlainLabel(label)
        key.setProperty("role", "muted")
        self.form.addRow(key, field)

    def _fill_form(self, request: AccessRequest) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        hem = request.hem
        if request.hem_hostname and request.hem_hostname != request.hem:
            hem = f"{request.hem} ({request.hem_hostname})"
        self._row(self.tr("HEM"), hem, self.tr("HEM"))
        if request.program is not None:
            program = request.program
            self._row(self.tr("Program"), program.name, self.tr("Program"))
            if program.path:
                self._row(self.tr("Path"), program.path, self.tr("Program path"))
            process = []
            if program.pid is not None:
                process.append(self.tr("pid {pid}").format(pid=program.pid))
            if program.user:
                process.append(self.tr("user {user}").format(user=program.user))
            if process:
                self._row(self.tr("Process"), ", ".join(process), self.tr("Process"))
        elif request.source == "link":
            self._row(self.tr("Asked by"), self.tr("a pasted request"), self.tr("Asked by"))
        else:
            where = request.location.describe() or self.tr("unknown")
            self._row(
                self.tr("From"),
                self.tr("{where} (as seen by the broker)").format(where=where),
                self.tr("Where the request comes from"),
            )
        if request.reason:
            self._row(
                self.tr("Their note"),
                self.tr("“{reason}” (not verified)").format(reason=request.reason),
                self.tr("The requester's note, not verified"),
            )
        for key, value in request.info.details:
            self._row(self.tr(key), value, self.tr(key))

    def _toggle_details(self, shown: bool) -> None:
        self.raw.setVisible(shown)
        self.details_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self.details_toggle.setText(self.tr("Hide deta&ils") if shown else self.tr("Show deta&ils"))

    def _update_approve_text(self, *_: object) -> None:
        request = self.request
        if request is None:
            return
        text = request.grant_text(self.period.period(), self.write.isChecked())
        self.approve_button.setText("&" + text)
        self.approve_button.setAccessibleName(text)

    def tick(self, now: int) -> None:
        """Refresh the countdown (the requests page calls this every second)."""
        request = self.request
        if request is None or self.state == "done":
            self.countdown.setText("")
            return
        left = request.seconds_left(now)
        self.countdown.setText(fmt.countdown(left))
        role = "countdown-urgent" if left < URGENT_S else "countdown"
        if self.countdown.property("role") != role:
            self.countdown.setProperty("role", role)
            self.countdown.style().unpolish(self.countdown)
            self.countdown.style().polish(self.countdown)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.period,
            self.write,
            self.approve_button,
            self.deny_button,
            self.report_button,
        ):
            widget.setEnabled(enabled)

    # ------------------------------------------------------------------ answering

    def approve(self, *, period: Period | None = None, write: bool | None = None) -> None:
        """Approve with the chosen (or given) period and write flag, off the GUI thread."""
        request = self.request
        if request is None or self.state != "asking":
            return
        chosen = period if period is not None else self.period.period()
        writing = (write if write is not None else self.write.isChecked()) and (
            request.write_possible
        )
        self._busy(self.tr("Approving…"))
        core, rid = self.ctx.core, request.id
        self.ctx.tasks.run(
            lambda: core.approve(rid, chosen, writing),
            self._approved,
            self._failed,
            owner=self,
            name="approve",
        )

    def deny(self, *, report: bool = False) -> None:
        request = self.request
        if request is None or self.state != "asking":
            return
        self._busy(self.tr("Reporting…") if report else self.tr("Denying…"))
        core, rid = self.ctx.core, request.id
        self.ctx.tasks.run(
            lambda: core.deny(rid, report=report),
            lambda _: self._denied(report),
            self._failed,
            owner=self,
            name="deny",
        )

    def _busy(self, text: str) -> None:
        self.state = "busy"
        self._set_enabled(False)
        self.banner.show_message(text, "info")

    def _done(self, text: str, kind: Literal["error", "warn", "ok", "info"]) -> None:
        request = self.request
        self.state = "done"
        self.answer.hide()
        self.countdown.setText("")
        self.banner.show_message(text, kind)
        inbox = self.ctx.core.inbox
        others = len(inbox) - (1 if request is not None and request.id in inbox else 0)
        self.next_button.setVisible(others > 0)
        if request is not None:
            emit(self.finished, request.id)

    def _approved(self, grant: Grant) -> None:
        request = self.request
        if request is None:
            return
        self.grant = grant
        granted = request.grant_text(grant.period, grant.write)
        until = fmt.date_time(grant.exp)
        if request.source == "local" and request.program is not None:
            text = self.tr("Approved ({granted}, until {until}). Token handed to {program}.")
            self._done(
                text.format(granted=granted.lower(), until=until, program=request.program.name),
                "ok",
            )
        elif grant.token:
            self._done(
                self.tr("Approved ({granted}, until {until}). Copy the token below.").format(
                    granted=granted.lower(), until=until
                ),
                "ok",
            )
            self.token_field.setText(grant.token)
            self.token_row.show()
            self.copy_button.setFocus()
        else:
            self._done(
                self.tr("Approved: {granted} (until {until}).").format(
                    granted=granted.lower(), until=until
                ),
                "ok",
            )

    def _denied(self, report: bool) -> None:
        request = self.request
        if report and request is not None:
            minutes = self.ctx.core.settings.mute_minutes_after_report
            self._done(
                self.tr(
                    "Denied and reported. Requests from {hem} are muted for {minutes} min."
                ).format(hem=request.hem, minutes=minutes),
                "warn",
            )
        else:
            self._done(self.tr("Denied."), "info")

    def _failed(self, message: str, exc: BaseException) -> None:
        request = self.request
        if request is None:
            return
        still_pending = request.id in self.ctx.core.inbox
        if isinstance(exc, LockedError) or not still_pending or isinstance(exc, _GONE):
            self._done(message, "error" if isinstance(exc, LockedError) else "warn")
            return
        # The request is still there (e.g. the HEM or broker did not answer): let them retry.
        self.state = "asking"
        self._set_enabled(True)
        self.banner.show_message(message, "error")

    def request_gone(self, request: AccessRequest, message: str) -> None:
        """The core took ``request`` out of the inbox (expired, cancelled, answered elsewhere)."""
        if self.request is None or request.id != self.request.id or self.state != "asking":
            return  # our own answer in flight reports by itself
        self._done(message or self.tr("This request is no longer waiting."), "warn")

    def clear(self) -> None:
        self.request = None
        self.state = "empty"

    def _copy_token(self) -> None:
        token = self.token_field.text()
        if token:
            self.ctx.clipboard.copy(token)
            self.banner.show_message(
                self.tr("Token copied; the clipboard is cleared in {s} seconds.").format(
                    s=self.ctx.clipboard.clear_after_s
                ),
                "ok",
            )

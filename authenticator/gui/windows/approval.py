"""The approval view: one request, in plain words, and exactly what Approve grants.

What a person needs to decide, top to bottom: the title and the sentence — both from the
verified scope alone (``AccessRequest.title`` / ``.text``); the HEM; the app's own facts (a
local program's pid and user, its parent chain; "a pasted request"); then every claim an
outsider makes, each in a row that says whose claim it is (``AccessRequest.claims()``:
"Location — reported by the broker", "Reason — claimed by the program", "Key name — as the
request states it" …); the scope's verified details (key id, drive); the raw scope on demand,
and a live countdown. Then the answer: the period (the request's default, 15 min for the
broker), write access only where it applies and off by default, the app's own warnings in a
loud banner right above the buttons, and an Allow button whose text is the grant itself
("Allow read and write for 8 h").

The view never changes request by itself. When the request on screen ends elsewhere (withdrawn,
expired, answered on another device, answered from a notification) it stays on screen with
its buttons gone and a line saying how it ended; moving on is the person's own click on "Show
the next request".

The grant stays readable at every size: the content scrolls vertically (never sideways), and
below the width the buttons need side by side they stack, full width, one per line; the periods
go to two rows, and the form puts each row's name above its value.

Safety choices: there is no default button (Enter never approves; nothing is answered by
default); Allow is held back for :data:`INPUT_DELAY_MS` (0.6 s) after a request is shown and
after the window becomes active, so keystrokes or a click meant for another window, typed as
this one pops up, never approve; the answer runs on the ``TaskRunner`` so the window keeps
repainting while the HEM or the broker is slow; an error is shown in place in one sentence and,
when the request is still pending, the buttons come back so the person can retry.
"""

from __future__ import annotations

import itertools
from typing import Literal

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpacerItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from authenticator.core.model import AccessRequest, Grant, Outcome
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
from authenticator.gui.widgets.plain import PlainLabel, tooltip
from authenticator.protocol.periods import Period

__all__ = ["ApprovalView", "ended_heading"]

State = Literal["empty", "asking", "busy", "done"]
_GONE = (Gone, NotFound, ExpiredError, NoSuchRequestError, AlreadyAnsweredError)
URGENT_S = 60
MIN_WIDTH = 340
"""The narrowest the view gets (the requests page's splitter keeps it at least this wide)."""
WIDE_FORM = 250
"""A form row keeps its name beside its value while the value gets at least this width."""
MARGINS_WIDE = (22, 18)
MARGINS_NARROW = (10, 12)
NARROW = 480


def ended_heading(request: AccessRequest, outcome: Outcome) -> str:
    """How a request that ended elsewhere ended, in a few words: ``Ended: expired unanswered``."""
    if outcome == Outcome.WITHDRAWN and request.source == "local":
        what = "withdrawn by the program"
    elif outcome == Outcome.WITHDRAWN and request.source == "link":
        what = "the pasted request was closed"
    else:
        what = {
            Outcome.CANCELLED: "withdrawn by the requester",
            Outcome.WITHDRAWN: "withdrawn by the requester",
            Outcome.EXPIRED: "expired unanswered",
            Outcome.HANDLED_ELSEWHERE: "answered on another device",
            Outcome.APPROVED: "approved",
            Outcome.DENIED: "denied",
            Outcome.REPORTED: "denied and reported",
            Outcome.REJECTED: "refused: it failed the app's checks",
            Outcome.LOCKED: "the app was locked",
            Outcome.FAILED: "the answer could not be delivered",
        }.get(outcome, "no longer waiting")
    return f"Ended: {what}"


def _selectable(label: QLabel) -> QLabel:
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class _Width(QObject):
    """Tells the view the width its content really has (the scroll area's viewport)."""

    def __init__(self, view: ApprovalView) -> None:
        super().__init__(view)
        self._view = view

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._view.fit(self._view.scroller.viewport().width())
        return False


INPUT_DELAY_MS = 600
"""How long Allow stays disabled after a request appears or the window becomes active."""


class ApprovalView(QWidget):
    """Shows one :class:`AccessRequest` and answers it through the core."""

    finished = Signal(str)  # request id: the view now shows how it ended
    nextRequested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.request: AccessRequest | None = None
        self.state: State = "empty"
        self.grant: Grant | None = None
        self.ended: Outcome | None = None
        """How the request on screen ended when it ended elsewhere (None otherwise)."""
        self._others = 0
        self.setAccessibleName(self.tr("Access request"))
        self.setMinimumWidth(MIN_WIDTH)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroller = QScrollArea(self)
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroller.viewport().setAutoFillBackground(False)
        outer.addWidget(self.scroller)
        self.content = QWidget(self.scroller)
        self.content.setAutoFillBackground(False)
        self.scroller.setWidget(self.content)
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        card = self.card = QFrame(self.content)
        card.setProperty("role", "card")
        content.addWidget(card)
        content.addStretch(1)
        layout = self.card_layout = QVBoxLayout(card)
        layout.setContentsMargins(*MARGINS_WIDE, *MARGINS_WIDE)
        layout.setSpacing(10)

        top = self.top = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.title = PlainLabel(card)
        self.title.setProperty("role", "title")
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.countdown = PlainLabel(card)
        self.countdown.setProperty("role", "countdown")
        self.countdown.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.countdown.setAccessibleName(self.tr("Time left"))
        top.addWidget(self.title, 1)
        top.addWidget(self.countdown, 0)
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
        self._row_names: list[PlainLabel] = []

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
        self.period_row = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.period_row.setSpacing(10)
        self.period_label = PlainLabel(self.tr("Allow for:"), self.answer)
        self.period = PeriodChooser(self.answer)
        self.period.changed.connect(self._update_approve_text)
        self.period_label.setBuddy(self.period.buttons[Period.MIN15])
        self.period_row.addWidget(self.period_label, 0, Qt.AlignmentFlag.AlignVCenter)
        self.period_row.addWidget(self.period, 1)
        answer.addLayout(self.period_row)
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
        self.warning = Banner(self.answer)
        self.warning.setObjectName("warnings")
        answer.addWidget(self.warning)

        self.buttons = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.buttons.setSpacing(8)
        self.approve_button = QPushButton(self.answer)
        self.approve_button.setProperty("role", "approve")
        self.approve_button.setObjectName("approve")
        self.deny_button = QPushButton(self.tr("&Deny"), self.answer)
        self.deny_button.setObjectName("deny")
        self.deny_button.setAccessibleName(self.tr("Deny"))
        self.report_button = QPushButton(self.tr("Deny — I didn't ask fo&r this"), self.answer)
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
        self.buttons.addWidget(self.approve_button)
        self.buttons.addWidget(self.deny_button)
        self._gap = QSpacerItem(16, 0, QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.buttons.addItem(self._gap)
        self.buttons.addWidget(self.report_button)
        answer.addLayout(self.buttons)
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

        # Tab follows the reading order of the answer: period, write, Allow, Deny, report;
        # then the details, and what comes after an answer.
        chain = [
            self.period.buttons[list(Period)[-1]],
            self.write,
            self.approve_button,
            self.deny_button,
            self.report_button,
            self.details_toggle,
            self.copy_button,
            self.next_button,
        ]
        for first, second in itertools.pairwise(chain):
            self.setTabOrder(first, second)

        self._held = QTimer(self)  # the input delay before Allow (see the module docstring)
        self._held.setSingleShot(True)
        self._held.timeout.connect(self._release)

        self._width = _Width(self)
        self.scroller.viewport().installEventFilter(self._width)
        self.narrow: bool | None = None

    # ------------------------------------------------------------------ fitting the width

    def fit(self, width: int) -> None:
        """Arrange the answer for ``width`` pixels of content: side by side where it fits,
        else stacked, so no text is ever cut."""
        narrow = width < NARROW
        if narrow != self.narrow:
            self.narrow = narrow
            h, v = MARGINS_NARROW if narrow else MARGINS_WIDE
            self.card_layout.setContentsMargins(h, v, h, v)
            # narrow: the countdown goes under the title, so the title keeps the width
            if narrow:
                self.top.setDirection(QBoxLayout.Direction.TopToBottom)
                self.countdown.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            else:
                self.top.setDirection(QBoxLayout.Direction.LeftToRight)
                self.countdown.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        h = (MARGINS_NARROW if narrow else MARGINS_WIDE)[0]
        inner = width - 2 * h - 2  # the card's border
        # the buttons: side by side, or one per line at full width
        buttons = [self.approve_button, self.deny_button, self.report_button]
        side_by_side = sum(b.sizeHint().width() for b in buttons)
        side_by_side += self.buttons.spacing() * 3 + 16
        if inner >= side_by_side:
            self.buttons.setDirection(QBoxLayout.Direction.LeftToRight)
            self._gap.changeSize(16, 0, QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        else:
            self.buttons.setDirection(QBoxLayout.Direction.TopToBottom)
            self._gap.changeSize(0, 0, QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.buttons.invalidate()
        # the periods: after their label, under it, or in two rows
        one_row = self.period.one_row_width()
        label = self.period_label.sizeHint().width() + self.period_row.spacing()
        if inner >= one_row + label:
            self.period_row.setDirection(QBoxLayout.Direction.LeftToRight)
            self.period.set_columns(4)
        else:
            self.period_row.setDirection(QBoxLayout.Direction.TopToBottom)
            self.period.set_columns(4 if inner >= one_row else 2)
        # the form: names beside their values, or above them
        names = max((n.sizeHint().width() for n in self._row_names), default=0)
        beside = inner - names - self.form.horizontalSpacing() >= WIDE_FORM
        policy = (
            QFormLayout.RowWrapPolicy.DontWrapRows
            if beside
            else QFormLayout.RowWrapPolicy.WrapAllRows
        )
        if self.form.rowWrapPolicy() != policy:
            self.form.setRowWrapPolicy(policy)

    def _refit(self) -> None:
        self.fit(self.scroller.viewport().width())

    # ------------------------------------------------------------------ showing

    def show_request(self, request: AccessRequest) -> None:
        """Show ``request`` ready to be answered (its default period, write off)."""
        self.request = request
        self.grant = None
        self.ended = None
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
        warnings = self.warnings_for(request)
        if warnings:
            self.warning.show_message("\n".join(f"⚠ {w}" for w in warnings), "alert")
        else:
            self.warning.clear_message()
        self.approve_button.setVisible(request.info.known)
        self.answer.show()
        self._set_enabled(True)
        self.banner.clear_message()
        self.token_row.hide()
        self.token_field.clear()
        self.next_button.hide()
        self._update_approve_text()
        self._refit()
        self.scroller.verticalScrollBar().setValue(0)
        self.tick(self.ctx.core.clock.now())
        self._hold()

    # ------------------------------------------------------------------ the input delay

    def _hold(self) -> None:
        """Disable Allow for a moment: input already on its way was meant for something else."""
        if self.state != "asking":
            return
        self.approve_button.setEnabled(False)
        self._held.start(INPUT_DELAY_MS)

    def _release(self) -> None:
        if self.state == "asking":
            self.approve_button.setEnabled(True)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.WindowActivate:  # the window came to the front
            self._hold()  # (Qt hands WindowActivate down to the window's visible children)
        return super().event(event)

    def warnings_for(self, request: AccessRequest) -> list[str]:
        """The app's own loud sentences about ``request``: the core's (a key the request names
        differently from the HEM, a program started from a remote (SSH) session …)."""
        warnings = list(request.warnings)
        if not request.info.known:
            warnings.append(
                self.tr("This app does not know what this request asks; it can only be denied.")
            )
        return warnings

    def _row(self, label: str, value: str, name: str, *, why: str | None = None) -> None:
        field = _selectable(PlainLabel(value))
        field.setAccessibleName(name)
        key = PlainLabel(label)
        key.setProperty("role", "muted")
        key.setWordWrap(False)
        if why:
            key.setToolTip(tooltip(why))
            field.setToolTip(tooltip(why))
        self.form.addRow(key, field)
        self._row_names.append(key)

    def _fill_form(self, request: AccessRequest) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._row_names = []
        hem = request.hem
        if request.hem_hostname and request.hem_hostname != request.hem:
            hem = f"{request.hem} ({request.hem_hostname})"
        self._row(self.tr("HEM"), hem, self.tr("HEM"))
        # the app's own facts about who asks
        program = request.program
        if program is not None:
            process = []
            if program.pid is not None:
                process.append(self.tr("pid {pid}").format(pid=program.pid))
            if program.user:
                process.append(self.tr("user {user}").format(user=program.user))
            if process:
                self._row(self.tr("Process"), " · ".join(process), self.tr("Process"))
        elif request.source == "link":
            self._row(self.tr("Asked by"), self.tr("a pasted request"), self.tr("Asked by"))
        # the scope's verified details (those a request only states are among the claims)
        stated = {value.row(name) for name, value in request.info.stated}
        for key, detail in request.info.details:
            if key not in stated:
                self._row(self.tr(key), detail, self.tr(key))
        # what outsiders claim, each row saying whose claim it is
        for row, claim in request.claims():
            self._row(self.tr(row), claim.text, self.tr(row), why=self.tr(claim.origin.explanation))

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
        self._refit()

    def tick(self, now: int) -> None:
        """Refresh the countdown (the requests page calls this every second)."""
        request = self.request
        if request is None or self.state == "done":
            self.countdown.setText(self.tr("Ended") if self.ended is not None else "")
            self._set_role(self.countdown, "muted")
            return
        left = request.seconds_left(now)
        self.countdown.setText(fmt.countdown(left))
        self._set_role(self.countdown, "countdown-urgent" if left < URGENT_S else "countdown")

    @staticmethod
    def _set_role(label: QLabel, role: str) -> None:
        if label.property("role") != role:
            label.setProperty("role", role)
            label.style().unpolish(label)
            label.style().polish(label)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.period,
            self.write,
            self.approve_button,
            self.deny_button,
            self.report_button,
        ):
            widget.setEnabled(enabled)

    def set_others_waiting(self, count: int) -> None:
        """How many other requests wait: once this one has ended, offer to show the next."""
        self._others = count
        self.next_button.setVisible(self.state == "done" and count > 0)

    # ------------------------------------------------------------------ answering

    def approve(self, *, period: Period | None = None, write: bool | None = None) -> None:
        """Approve with the chosen (or given) period and write flag, off the GUI thread."""
        request = self.request
        if request is None or self.state != "asking" or not request.info.known:
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
        self.tick(self.ctx.core.clock.now())
        self.banner.show_message(text, kind)
        inbox = self.ctx.core.inbox
        others = len(inbox) - (1 if request is not None and request.id in inbox else 0)
        self.set_others_waiting(max(0, others))
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
        """Said in the core's words, the ones the journal, the CLI and an answer from a
        notification use: ``Denied: list the keys on office-hem.``"""
        request = self.request
        if request is None:
            return
        what = request.info.phrase_for(request.hem)
        if report:
            minutes = self.ctx.core.settings.mute_minutes_after_report
            self._done(
                self.tr(
                    "Denied and reported: {what}. Requests from {hem} are muted for {minutes} min."
                ).format(what=what, hem=request.hem, minutes=minutes),
                "warn",
            )
        else:
            self._done(self.tr("Denied: {what}.").format(what=what), "info")

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

    def request_gone(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        """The core took ``request`` out of the inbox (expired, withdrawn, answered elsewhere):
        when it is the one on screen, say so in place; the view stays on it."""
        if self.request is None or request.id != self.request.id or self.state != "asking":
            return  # another request, or our own answer in flight reports by itself
        self.ended = outcome
        heading = self.tr(ended_heading(request, outcome))
        text = f"{heading}.\n{message}" if message else f"{heading}."
        self._done(text, "warn")

    def clear(self) -> None:
        self.request = None
        self.ended = None
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

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

Several scopes asked at once (a *bundle*) are one prompt: a lead-in sentence, then one line per
scope from the verified parts (its title and phrase, and the HEM's own name for the key where it
has one), one period and one Allow/Deny for all; write access is a check box per scope where it
applies (off at first). After Allow, each scope's line says whether it was granted or why not.
A *renewal* (the program still holds the access) says so and until when it holds it. When code
matching applies (``request.codes``) the view asks which of three codes the requester shows:
Allow stays disabled until one is picked (a click, Tab and Space, or typing its two digits),
and a wrong pick denies the request (the core journals it as suspicious). A local program's
prompt may offer "Don't ask again" (with the setting on) and "Renew without asking until I
lock", never when code matching applies or the program cannot be recognised next time.

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

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QKeyEvent
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

from authenticator.core.codes import CodeRequiredError, WrongCodeError
from authenticator.core.model import AccessRequest, Grant, Outcome, PartResult, ScopePart, why_not
from authenticator.core.remember import remember_refusal
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


def part_line(part: ScopePart, hem: str) -> str:
    """One scope of a bundle in plain words, from the verified part: ``List the keys — list
    the keys on my-hem``."""
    return f"• {part.title} — {part.phrase_for(hem)}"


def part_result(result: PartResult) -> str:
    """How one scope of an approval ended: ``✓ Granted``, ``✗ Not granted: the HEM refused it``
    (the app's own words for the error, never the peer's)."""
    if result.ok:
        writes = result.granted is not None and ":rw" in result.granted
        return "✓ Granted with write access" if writes else "✓ Granted"
    if result.error is not None:
        return f"✗ Not granted: {why_not(result.error)}"
    return "✗ Not granted"


def write_label(part: ScopePart) -> str:
    """The check box that grants write access to one part: ``Also allow writing to disk0``
    (short: a check box never wraps; its line above says which drive it is)."""
    drive = dict(part.info.details).get("Drive", "").split(" ", 1)[0]
    return f"Also allow writing to {drive}" if drive else f"Also allow writing — {part.title}"


def wrap_words(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` broken into lines at spaces so that no line is wider than ``width`` pixels (a
    word wider than that keeps a line of its own)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and metrics.horizontalAdvance(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def code_text(code: int) -> str:
    return f"{code:02d}"


class _PartRow(QWidget):
    """One scope of a bundle: its line, the HEM's name for its key, and (after Allow) how it
    ended."""

    def __init__(self, part: ScopePart, hem: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.part = part
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        self.line = _selectable(PlainLabel(part_line(part, hem), self))
        self.line.setAccessibleName(part.title)
        layout.addWidget(self.line)
        below = QVBoxLayout()
        below.setContentsMargins(16, 0, 0, 0)
        below.setSpacing(1)
        self.key_name: QLabel | None = None
        if part.key_name:
            name = part.key_name
            label = _selectable(PlainLabel(f"{name.row('Key name')}: {name.text}", self))
            label.setProperty("role", "muted")
            label.setToolTip(tooltip(name.origin.explanation))
            below.addWidget(label)
            self.key_name = label
        self.result = _selectable(PlainLabel(self))
        self.result.setAccessibleName(f"{part.title}: result")
        self.result.hide()
        below.addWidget(self.result)
        layout.addLayout(below)

    def show_result(self, result: PartResult) -> None:
        self.result.setText(part_result(result))
        font = self.result.font()
        font.setBold(not result.ok)
        self.result.setFont(font)
        self.result.show()


class _Width(QObject):
    """Tells the view the width its content really has (the scroll area's viewport), and keeps
    the content's height up to date when the card's own layout changed (a wrapped label shown
    or grown inside a nested box: Qt re-lays the card out but the content's layout keeps its
    cached height-for-width of the card, so the scroll area would squeeze it)."""

    def __init__(self, view: ApprovalView, viewport: QWidget, height_check: QTimer) -> None:
        super().__init__(view)
        self._view = view
        self._viewport = viewport
        self._height_check = height_check

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        try:
            if kind == QEvent.Type.Resize and watched is self._viewport:
                self._view.fit(self._viewport.width())
            elif kind == QEvent.Type.LayoutRequest and watched is not self._viewport:
                self._height_check.start()  # the card or a box in it: once they are laid out
        except RuntimeError:  # the view is being torn down (its C++ side is gone)
            pass
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
        self._grant_line = ""
        """What Allow grants, on one line (the button may show it over several)."""
        self.approved_writes: tuple[bool, frozenset[str] | None] = (False, None)
        """The write access the last Allow asked for (write, write_scopes)."""
        self.ended: Outcome | None = None
        """How the request on screen ended when it ended elsewhere (None otherwise)."""
        self.reported: tuple[str, str] | None = None
        """(what, HEM) when the request on screen was denied and reported (its HEM muted)."""
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
        # its height is the card's height for the width (the scroll area asks), never the
        # layout's looser minimum (a few blank pixels to scroll, with wrapped lines)
        self.content.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
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
        self.renewal = _selectable(PlainLabel(card))
        self.renewal.setAccessibleName(self.tr("Renewal"))
        self.renewal.hide()
        layout.addWidget(self.renewal)
        # a bundle: one line per scope (rebuilt for each request)
        self.parts_box = QWidget(card)
        self.parts_layout = QVBoxLayout(self.parts_box)
        self.parts_layout.setContentsMargins(0, 0, 0, 0)
        self.parts_layout.setSpacing(5)
        self.parts_box.setAccessibleName(self.tr("Every access asked"))
        self.parts_box.hide()
        layout.addWidget(self.parts_box)
        self.part_rows: list[_PartRow] = []

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
        # code matching: which of three codes the requester shows (Allow waits for a pick)
        self.code_box = QWidget(self.answer)
        codes = QVBoxLayout(self.code_box)
        codes.setContentsMargins(0, 0, 0, 2)
        codes.setSpacing(6)
        self.code_question = PlainLabel(self.code_box)
        self.code_question.setWordWrap(True)
        bold = self.code_question.font()
        bold.setBold(True)
        self.code_question.setFont(bold)
        codes.addWidget(self.code_question)
        code_row = QHBoxLayout()
        code_row.setSpacing(10)
        self.code_buttons: list[QPushButton] = []
        for index in range(3):
            button = QPushButton(self.code_box)
            button.setObjectName(f"code-{index}")
            button.setAutoDefault(False)
            button.setDefault(False)
            big = button.font()
            big.setPointSizeF(big.pointSizeF() * 1.3)
            big.setBold(True)
            button.setFont(big)
            button.clicked.connect(lambda _=False, i=index: self.pick_code_at(i))
            code_row.addWidget(button)
            self.code_buttons.append(button)
        code_row.addStretch(1)
        codes.addLayout(code_row)
        self.code_note = PlainLabel(self.code_box)
        self.code_note.setProperty("role", "muted")
        self.code_note.setWordWrap(True)
        codes.addWidget(self.code_note)
        answer.addWidget(self.code_box)
        self.code: int | None = None
        """The code picked (code matching), else None."""
        self._typed = ""

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
        # a bundle: write access per scope where it applies (rebuilt for each request)
        self.write_parts = QWidget(self.answer)
        self.write_parts_layout = QVBoxLayout(self.write_parts)
        self.write_parts_layout.setContentsMargins(0, 0, 0, 0)
        self.write_parts_layout.setSpacing(2)
        self.write_parts.hide()
        answer.addWidget(self.write_parts)
        self.part_writes: dict[str, QCheckBox] = {}
        self.remember_box = QCheckBox(self.tr("Don't ask a&gain until it expires"), self.answer)
        self.remember_box.setObjectName("remember")
        self.remember_box.setAccessibleName(self.tr("Don't ask this program again"))
        self.remember_box.setToolTip(
            self.tr(
                "While the token approved now is valid, this program (the same user, executable "
                "and script) gets the same access again without asking — never for longer nor "
                "with more access. Forgotten when the app locks."
            )
        )
        answer.addWidget(self.remember_box)
        self.renew_box = QCheckBox(self.tr("Renew without asking &until I lock"), self.answer)
        self.renew_box.setObjectName("renew")
        self.renew_box.setAccessibleName(self.tr("Renew without asking until I lock"))
        self.renew_box.setToolTip(
            self.tr(
                "When this program asks again for access it still holds, it gets a new token "
                "without asking — never for longer nor with wider access than approved now, never "
                "beyond 24 h from now, and forgotten as soon as the app locks."
            )
        )
        answer.addWidget(self.renew_box)
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

        self._chain()

        self._held = QTimer(self)  # the input delay before Allow (see the module docstring)
        self._held.setSingleShot(True)
        self._held.timeout.connect(self._release)

        self.height_check = QTimer(self)
        self.height_check.setSingleShot(True)
        self.height_check.setInterval(0)
        self.height_check.timeout.connect(self._check_height)
        self._width = _Width(self, self.scroller.viewport(), self.height_check)
        self.scroller.viewport().installEventFilter(self._width)
        for box in (self.card, self.answer, self.code_box, self.parts_box, self.write_parts):
            box.installEventFilter(self._width)
        self.narrow: bool | None = None

    def _chain(self) -> None:
        """Tab follows the reading order of the answer: the codes, the period, write access,
        the rules, Allow, Deny, report; then the details, and what comes after an answer."""
        chain: list[QWidget] = [
            *self.code_buttons,
            *self.period.buttons.values(),
            self.write,
            *self.part_writes.values(),
            self.remember_box,
            self.renew_box,
            self.approve_button,
            self.deny_button,
            self.report_button,
            self.details_toggle,
            self.copy_button,
            self.next_button,
        ]
        for first, second in itertools.pairwise(chain):
            self.setTabOrder(first, second)

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
        self._fit_grant(inner)
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

    def _fit_grant(self, inner: int) -> None:
        """Allow states the whole grant: on one line where it fits, else over several lines
        (a bundle's grant with write access to several drives is long)."""
        grant = self._grant_line
        button = self.approve_button
        if not grant or inner <= 0:
            return
        metrics = button.fontMetrics()
        shown = button.text().replace("&", "").split("\n")
        chrome = max(0, button.sizeHint().width() - max(map(metrics.horizontalAdvance, shown)))
        room = inner - chrome
        wrapped = (
            grant if metrics.horizontalAdvance(grant) <= room else wrap_words(grant, metrics, room)
        )
        if button.text() != "&" + wrapped:
            button.setText("&" + wrapped)

    def _check_height(self) -> None:
        """The content as tall as the card now is (see ``_Width``)."""
        # inner boxes first: each drops its parent layout's cached height-for-width of it
        for box in (self.code_box, self.parts_box, self.write_parts, self.answer, self.card):
            box.updateGeometry()
        QCoreApplication.sendEvent(self.scroller, QEvent(QEvent.Type.LayoutRequest))

    def _refit(self) -> None:
        self.fit(self.scroller.viewport().width())

    # ------------------------------------------------------------------ showing

    def show_request(self, request: AccessRequest) -> None:
        """Show ``request`` ready to be answered (its default period, write off, no code)."""
        self.request = request
        self.grant = None
        self.ended = None
        self.reported = None
        self.state = "asking"
        self.code = None
        self._typed = ""
        self.title.setText(self.heading(request))
        self.sentence.setText(self.lead(request) if request.is_bundle else request.text)
        self._fill_renewal(request)
        self._fill_parts(request)
        self._fill_form(request)
        self.raw.setText(
            self.tr("Scope: {scope}\nRequest id: {id} · source: {source} · expires {when}").format(
                scope=", ".join(request.scopes),
                id=request.id,
                source=request.source,
                when=fmt.date_time(request.expires_at),
            )
        )
        self.details_toggle.setChecked(False)
        self._fill_codes(request)
        self.period.set_period(request.default_period)
        self.write.setChecked(False)
        self.write.setVisible(request.write_possible and not request.is_bundle)
        self._fill_write_parts(request)
        asked_write = (
            request.default_write
            or request.info.write_requested
            or any(p.info.write_requested for p in request.parts)
        )
        self.write_hint.setVisible(request.write_possible and asked_write)
        self.write_hint.setText(
            self.tr("The requester asked for write access; it stays off unless you tick it.")
        )
        program = request.program
        recognisable = (
            program is not None
            and remember_refusal(program) is None
            and not request.codes
            and request.info.known
        )
        self.remember_box.setChecked(False)
        self.renew_box.setChecked(False)
        self.remember_box.setVisible(recognisable and self.ctx.core.settings.agent_remember_program)
        self.renew_box.setVisible(recognisable)
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
        self._chain()
        self._update_approve_text()
        self._refit()
        self.scroller.verticalScrollBar().setValue(0)
        self.tick(self.ctx.core.clock.now())
        self._hold()

    def heading(self, request: AccessRequest) -> str:
        """The title: the core's (``List the keys``, ``Renew: List the keys``); for a bundle
        only how many (``3 accesses at once``) — its lines below name each one, and the core's
        title naming them all would take the large font over several lines."""
        if not request.is_bundle:
            return request.title
        text = self.tr("{n} accesses at once").format(n=len(request.parts))
        return self.tr("Renew: {what}").format(what=text) if request.is_renewal else text

    def lead(self, request: AccessRequest) -> str:
        """A bundle's sentence above its list, from verified facts only: ``A program on this
        computer wants these 3 accesses to my-hem:``."""
        if request.is_renewal:
            text = self.tr("{who} asks to renew these {n} accesses to {hem}:")
        else:
            text = self.tr("{who} wants these {n} accesses to {hem}:")
        return text.format(who=request.asker, n=len(request.parts), hem=request.hem)

    def _fill_renewal(self, request: AccessRequest) -> None:
        until = request.renews_until
        if until is None:
            self.renewal.hide()
            return
        tokens = self.tr("new tokens") if request.is_bundle else self.tr("a new token")
        self.renewal.setText(
            self.tr(
                "Renewal: it already holds this access until {until} (the HEM cannot revoke "
                "it). Renew gives it {tokens} for the period you choose."
            ).format(until=fmt.date_time(until), tokens=tokens)
        )
        self.renewal.show()

    def _fill_parts(self, request: AccessRequest) -> None:
        for row in self.part_rows:
            self.parts_layout.removeWidget(row)
            row.hide()  # at once: it is deleted only when the event loop comes round
            row.deleteLater()
        self.part_rows = []
        if request.is_bundle:
            for part in request.parts:
                row = _PartRow(part, request.hem, self.parts_box)
                self.parts_layout.addWidget(row)
                self.part_rows.append(row)
        self.parts_box.setVisible(request.is_bundle)

    def _fill_write_parts(self, request: AccessRequest) -> None:
        for box in self.part_writes.values():
            self.write_parts_layout.removeWidget(box)
            box.hide()
            box.deleteLater()
        self.part_writes = {}
        if request.is_bundle:
            for part in request.parts:
                if not part.write_possible:
                    continue
                box = QCheckBox(write_label(part), self.write_parts)
                box.setObjectName(f"write-{part.scope}")
                box.setAccessibleName(
                    self.tr("Allow write access: {title}").format(title=part.title)
                )
                box.setAccessibleDescription(
                    self.tr("Off grants read-only access; on grants read and write access.")
                )
                box.toggled.connect(self._update_approve_text)
                self.write_parts_layout.addWidget(box)
                self.part_writes[part.scope] = box
        self.write_parts.setVisible(bool(self.part_writes))

    def _fill_codes(self, request: AccessRequest) -> None:
        codes = request.codes
        self.code_box.setVisible(bool(codes))
        if not codes:
            return
        if request.source == "local":
            self.code_question.setText(self.tr("Which code does the program's terminal show?"))
            whose = self.tr("The code comes from the program that asks: it is its claim.")
        else:
            self.code_question.setText(self.tr("Which code does the page that asked show?"))
            whose = self.tr("The code comes from the requester's note: it is its claim.")
        self.code_note.setText(
            whose
            + " "
            + self.tr(
                "Matching it shows this prompt is the one you started, not who is asking. "
                "Pick it with a click or type its two digits; a wrong pick denies the request."
            )
        )
        for button, code in zip(self.code_buttons, codes, strict=False):
            # wide enough for its picked look ("✓ 47", bolder padding) so nothing moves
            button.setText(f"✓ {code_text(code)}")
            self._set_role(button, "primary")
            button.setMinimumWidth(button.sizeHint().width())
            self._show_code(button, code, picked=False)

    def _show_code(self, button: QPushButton, code: int, *, picked: bool) -> None:
        button.setText(f"✓ {code_text(code)}" if picked else code_text(code))
        self._set_role(button, "primary" if picked else "code")
        name = self.tr("Code {code}").format(code=code_text(code))
        button.setAccessibleName(name + (self.tr(" (picked)") if picked else ""))

    # ------------------------------------------------------------------ code matching

    def pick_code_at(self, index: int) -> None:
        """The person picked the ``index``-th code offered (it approves nothing by itself)."""
        request = self.request
        if request is None or self.state != "asking" or not 0 <= index < len(request.codes):
            return
        self.code = request.codes[index]
        for i, (button, code) in enumerate(zip(self.code_buttons, request.codes, strict=False)):
            self._show_code(button, code, picked=i == index)
        self._allow_if_ready()

    def pick_code(self, code: int) -> bool:
        """Pick ``code`` when it is among those offered."""
        request = self.request
        if request is None or code not in request.codes:
            return False
        self.pick_code_at(request.codes.index(code))
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Typing a code's two digits picks it (wherever the focus is in the view)."""
        request = self.request
        digit = event.text()
        plain_key = not event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier
            | Qt.KeyboardModifier.AltModifier
            | Qt.KeyboardModifier.MetaModifier
        )
        if (
            request is not None
            and request.codes
            and self.state == "asking"
            and plain_key
            and len(digit) == 1
            and digit in "0123456789"
        ):
            self._type_digit(request, digit)
            event.accept()
            return
        super().keyPressEvent(event)

    def _type_digit(self, request: AccessRequest, digit: str) -> None:
        codes = [code_text(c) for c in request.codes]
        typed = self._typed + digit
        if not any(c.startswith(typed) for c in codes):
            typed = digit if any(c.startswith(digit) for c in codes) else ""
        if typed in codes:
            index = codes.index(typed)
            self.pick_code_at(index)
            self.code_buttons[index].setFocus(Qt.FocusReason.ShortcutFocusReason)
            typed = ""
        self._typed = typed

    def _code_ok(self) -> bool:
        request = self.request
        return request is None or not request.codes or self.code is not None

    def _allow_if_ready(self) -> None:
        """Allow is enabled while asking, after the input delay, once a code is picked (when
        one must be)."""
        self.approve_button.setEnabled(
            self.state == "asking" and not self._held.isActive() and self._code_ok()
        )

    # ------------------------------------------------------------------ the input delay

    def _hold(self) -> None:
        """Disable Allow for a moment: input already on its way was meant for something else."""
        if self.state != "asking":
            return
        self.approve_button.setEnabled(False)
        self._held.start(INPUT_DELAY_MS)

    def _release(self) -> None:
        if self.state == "asking":
            self._allow_if_ready()

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
        # the scope's verified details (those a request only states are among the claims); a
        # bundle's scopes say theirs in their own lines
        if not request.is_bundle:
            stated = {value.row(name) for name, value in request.info.stated}
            for key, detail in request.info.details:
                if key not in stated:
                    self._row(self.tr(key), detail, self.tr(key))
        # what outsiders claim, each row saying whose claim it is (a bundle's key names, as the
        # HEM reports them, are under their scope's line: shown once)
        under_parts = {
            part.key_name.row(
                f"Key name ({part.info.key.short_kid})" if part.info.key else "Key name"
            )
            for part in request.parts
            if request.is_bundle and part.key_name
        }
        for row, claim in request.claims():
            if row in under_parts:
                continue
            self._row(self.tr(row), claim.text, self.tr(row), why=self.tr(claim.origin.explanation))

    def _toggle_details(self, shown: bool) -> None:
        self.raw.setVisible(shown)
        self.details_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self.details_toggle.setText(self.tr("Hide deta&ils") if shown else self.tr("Show deta&ils"))

    def _writes(self) -> tuple[bool, frozenset[str] | None]:
        """The write access chosen: (write, write_scopes) as ``Core.approve`` takes them."""
        request = self.request
        if request is None:
            return False, None
        if request.is_bundle:
            chosen = frozenset(s for s, box in self.part_writes.items() if box.isChecked())
            return bool(chosen), chosen
        return self.write.isChecked() and request.write_possible, None

    def _update_approve_text(self, *_: object) -> None:
        request = self.request
        if request is None:
            return
        write, write_scopes = self._writes()
        text = request.grant_text(self.period.period(), write, write_scopes)
        self._grant_line = text
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
    def _set_role(widget: QWidget, role: str) -> None:
        if widget.property("role") != role:
            widget.setProperty("role", role)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.period,
            self.write,
            self.write_parts,
            self.code_box,
            self.remember_box,
            self.renew_box,
            self.deny_button,
            self.report_button,
        ):
            widget.setEnabled(enabled)
        self.approve_button.setEnabled(enabled and self._code_ok())

    def set_others_waiting(self, count: int) -> None:
        """How many other requests wait: once this one has ended, offer to show the next."""
        self._others = count
        self.next_button.setVisible(self.state == "done" and count > 0)

    # ------------------------------------------------------------------ answering

    def approve(self, *, period: Period | None = None, write: bool | None = None) -> None:
        """Approve with the chosen (or given) period, write access, code and rules, off the GUI
        thread."""
        request = self.request
        if request is None or self.state != "asking" or not request.info.known:
            return
        if not self._code_ok():
            self.banner.show_message(self.tr("Pick the code the requester shows first."), "error")
            return
        chosen = period if period is not None else self.period.period()
        writing, write_scopes = self._writes()
        if write is not None:
            writing, write_scopes = write and request.write_possible, None
        self.approved_writes = (writing, write_scopes)
        remember = self.remember_box.isChecked() and not self.remember_box.isHidden()
        renew = self.renew_box.isChecked() and not self.renew_box.isHidden()
        code = self.code
        self._busy(self.tr("Approving…"))
        core, rid = self.ctx.core, request.id
        self.ctx.tasks.run(
            lambda: core.approve(
                rid,
                chosen,
                writing,
                remember=remember,
                renew=renew,
                code=code,
                write_scopes=write_scopes,
            ),
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
        writing, write_scopes = self.approved_writes
        granted = request.grant_text(grant.period, writing, write_scopes)
        until = fmt.date_time(grant.exp)
        results = grant.results
        for row, result in zip(self.part_rows, results, strict=False):
            row.show_result(result)
        ok = sum(1 for r in results if r.ok)
        if request.is_bundle and ok < len(results):
            text = self.tr(
                "Approved ({granted}, until {until}): {ok} of {n} granted, each marked above."
            ).format(granted=granted.lower(), until=until, ok=ok, n=len(results))
            if request.program is not None:
                text += " " + self.tr("Tokens handed to {program}.").format(
                    program=request.program.name
                )
            self._done(text, "warn")
        elif request.source == "local" and request.program is not None:
            text = (
                self.tr("Approved ({granted}, until {until}). Tokens handed to {program}.")
                if request.is_bundle
                else self.tr("Approved ({granted}, until {until}). Token handed to {program}.")
            )
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
        what = request.phrase
        if report:
            minutes = self.ctx.core.settings.mute_minutes_after_report
            self.reported = (what, request.hem)
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
        if isinstance(exc, WrongCodeError):
            picked = code_text(self.code) if self.code is not None else "?"
            self._done(
                self.tr(
                    "Denied: {code} is not the code the requester shows, so this was not the "
                    "request you expected. It was journalled as suspicious."
                ).format(code=picked),
                "error",
            )
            return
        if isinstance(exc, CodeRequiredError) and still_pending:
            self.state = "asking"
            self._set_enabled(True)
            self.banner.show_message(message, "error")
            return
        if isinstance(exc, LockedError) or not still_pending or isinstance(exc, _GONE):
            self._done(message, "error" if isinstance(exc, LockedError) else "warn")
            return
        # The request is still there (e.g. the HEM or broker did not answer): let them retry.
        self.state = "asking"
        self._set_enabled(True)
        self.banner.show_message(message, "error")

    def mutes_changed(self, muted: dict[str, int]) -> None:
        """The reported request's sentence follows its HEM's mute (never a stale "muted")."""
        if self.reported is None or self.state != "done":
            return
        what, hem = self.reported
        if hem not in muted:
            self.banner.show_message(
                self.tr("Denied and reported: {what}. Requests from {hem} are shown again.").format(
                    what=what, hem=hem
                ),
                "info",
            )

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
        self.reported = None
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

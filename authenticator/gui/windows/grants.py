"""The Access in use page: every token this app handed out that has not expired, and every
remembered rule ("don't ask again", "renew without asking until I lock") with Forget.

A HEM token cannot be revoked: it stays valid until it expires, whatever the app does. So the
page says so in the app's own sentence (``core.grants.REVOCATION_NOTE``), always visible, and
lists the access that is still out there — who got it (the program as it connected, the remote
requester, the pasted request), the scope in words, the HEM, how long it still runs (a live
countdown, ticked by the main window's one-second status tick) and how it was approved (clicked,
remembered, renewed). The registry lives in the core, in memory (``Core.grants()``, no tokens in
it); the page reads it again on ``Bridge.grantsChanged`` and when a row runs out. Forgetting a
rule is journalled, so it runs on the ``TaskRunner``.

Both tables never scroll sideways (``widgets/table.py``): who asks and the access share the
width and end in "…", whole in the tooltip. Everything shown is plain text.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from authenticator.core.grants import REVOCATION_NOTE, GrantView
from authenticator.core.remember import Rule
from authenticator.errors import LockedError
from authenticator.gui import fmt
from authenticator.gui.context import AppContext
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.plain import PlainLabel, tooltip
from authenticator.gui.widgets.table import RowTable, row_table

__all__ = ["GrantsPage", "expires_in", "how_text"]

HEM_COLUMN_MAX = 160
FORGET_COLUMN_MAX = 200
PROGRAM_COLUMN_MAX = 160
CELL_SLACK = 8
FORGET_COLUMN = 4

_HOW = {
    "clicked": ("Clicked", "You clicked Allow."),
    "remembered": ("Remembered", "Given without asking: you ticked “Don't ask again”."),
    "renewed": ("Renewed", "Renewed without asking: you ticked “Renew without asking”."),
}


def how_text(how: str) -> tuple[str, str]:
    """How an approval was given, in a word and in a sentence (its tooltip)."""
    return _HOW.get(how, (how, how))


def expires_in(seconds: int) -> str:
    """``14:52``, ``1:02:03``; ``expired`` at zero."""
    return fmt.clock_text(seconds) if seconds > 0 else "expired"


def _item(text: str, tip: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tooltip(tip if tip is not None else text))
    return item


class GrantsPage(QWidget):
    """Access in use: the tokens still valid and the remembered rules (see the module doc)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.grants: list[GrantView] = []
        self.rules: list[Rule] = []
        self.forget_buttons: dict[str, QPushButton] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        title = PlainLabel(self.tr("Access in use"), self)
        title.setProperty("role", "title")
        layout.addWidget(title)
        self.note = PlainLabel(self.tr(REVOCATION_NOTE), self)
        self.note.setObjectName("revocation-note")
        self.note.setProperty("role", "banner-info")
        self.note.setWordWrap(True)
        self.note.setContentsMargins(10, 7, 10, 7)
        self.note.setAccessibleName(self.tr(REVOCATION_NOTE))
        layout.addWidget(self.note)
        self.banner = Banner(self)
        layout.addWidget(self.banner)
        # both lists in one vertical scroll: each table as tall as its rows
        self.scroller = QScrollArea(self)
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.scroller, 1)
        body = QWidget(self.scroller)
        self.scroller.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)

        self.tokens_heading = PlainLabel(self.tr("Tokens handed out"), body)
        self.tokens_heading.setProperty("role", "heading")
        layout.addWidget(self.tokens_heading)
        self.tokens = row_table(
            body,
            [
                self.tr("Who got it"),
                self.tr("Access"),
                self.tr("HEM"),
                self.tr("Expires in"),
                self.tr("How"),
            ],
            self.tr("Tokens handed out that have not expired"),
            ["stretch", "stretch", HEM_COLUMN_MAX, "content", "content"],
        )
        self.tokens.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tokens.setTabKeyNavigation(False)
        layout.addWidget(self.tokens)
        self.tokens_empty = PlainLabel(
            self.tr("No token this app handed out is still valid."), body
        )
        self.tokens_empty.setProperty("role", "muted")
        self.tokens_empty.setWordWrap(True)
        layout.addWidget(self.tokens_empty)

        self.rules_heading = PlainLabel(self.tr("Remembered"), body)
        self.rules_heading.setProperty("role", "heading")
        layout.addWidget(self.rules_heading)
        self.rules_note = PlainLabel(self.tr("Every rule also ends when the app locks."), body)
        self.rules_note.setProperty("role", "muted")
        self.rules_note.setWordWrap(True)
        layout.addWidget(self.rules_note)
        self.rules_table = row_table(
            body,
            [
                self.tr("Program"),
                self.tr("Rule"),
                self.tr("Until"),
                self.tr("Access"),
                "",
            ],
            self.tr("Remembered rules"),
            [PROGRAM_COLUMN_MAX, "content", "content", "stretch", FORGET_COLUMN_MAX],
        )
        self.rules_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rules_table.setTabKeyNavigation(False)  # Tab reaches each Forget button
        layout.addWidget(self.rules_table)
        self.rules_empty = PlainLabel(
            self.tr(
                "Nothing is remembered: every request is asked. Rules are kept only until "
                "the app locks."
            ),
            body,
        )
        self.rules_empty.setProperty("role", "muted")
        self.rules_empty.setWordWrap(True)
        layout.addWidget(self.rules_empty)
        layout.addStretch(1)
        for table in (self.tokens, self.rules_table):  # the page scrolls, not the tables
            table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        ctx.bridge.grantsChanged.connect(self.reload)
        ctx.bridge.lockChanged.connect(self._lock_changed)

    # ------------------------------------------------------------------ showing

    def reload(self) -> None:
        """Read the access in use and the rules again (both in the core's memory)."""
        core = self.ctx.core
        if core.locked:
            self.clear()
            return
        try:
            self.grants = core.grants()
            self.rules = core.rules()
        except LockedError:
            self.clear()
            return
        self._fill_tokens()
        self._fill_rules()

    def _lock_changed(self, locked: bool) -> None:
        if locked:
            self.clear()
        else:
            self.reload()

    def clear(self) -> None:
        """Nothing is shown while locked."""
        self.grants, self.rules = [], []
        self._fill_tokens()
        self._fill_rules()
        self.banner.clear_message()

    def _fill_tokens(self) -> None:
        now = self.ctx.core.clock.now()
        table = self.tokens
        table.setRowCount(len(self.grants))
        for row, grant in enumerate(self.grants):
            who = grant.who
            if grant.source == "local" and grant.remote:
                who = self.tr("{who} over SSH").format(who=who)
            if grant.holders > 1:
                who = self.tr("{who} · {n} clients").format(who=who, n=grant.holders)
            access = grant.title + (self.tr(" · read and write") if grant.write else "")
            how, why = how_text(grant.how)
            values = [
                _item(who),
                _item(access, f"{grant.title}: {grant.text} ({grant.scope})"),
                _item(grant.hem),
                _item(expires_in(grant.seconds_left(now)), fmt.date_time(grant.exp)),
                _item(self.tr(how), self.tr(why)),
            ]
            for col, item in enumerate(values):
                table.setItem(row, col, item)
        table.fit()
        self._show_table(table, self.tokens_empty, bool(self.grants))

    def _fill_rules(self) -> None:
        now = self.ctx.core.clock.now()
        table = self.rules_table
        table.clearContents()
        self.forget_buttons = {}
        table.setRowCount(len(self.rules))
        forget_width = 0
        for row, rule in enumerate(self.rules):
            program = "\n".join(p for p in (rule.program, rule.path, rule.script) if p)
            until = fmt.until_text(rule.until, now).removeprefix("until ")
            if rule.kind == "renew":
                kind = self.tr("Renew without asking")
                ends = until
                why = self.tr(
                    "Renewals of this access are granted without asking — never for longer nor "
                    "wider than approved — until {when} or until the app locks."
                ).format(when=fmt.date_time(rule.until))
            else:
                kind = self.tr("Don't ask again")
                ends = until
                why = self.tr(
                    "This access is given again without asking while the approved token is "
                    "valid (until {when}), or until the app locks."
                ).format(when=fmt.date_time(rule.until))
            access = rule.title + (self.tr(" · read and write") if rule.write else "")
            access += f" · {rule.hem}"
            values = [
                _item(rule.program, program),
                _item(kind, why),
                _item(ends, why),
                _item(access, f"{rule.title} ({rule.scope}) on {rule.hem}"),
            ]
            for col, item in enumerate(values):
                table.setItem(row, col, item)
            button = QPushButton(self.tr("Forget"), table)
            button.setObjectName(f"forget-{rule.id}")
            button.setAutoDefault(False)
            button.setAccessibleName(
                self.tr("Forget: {kind} for {program}").format(kind=kind, program=rule.program)
            )
            button.setToolTip(
                tooltip(
                    self.tr("{program} will be asked again next time.").format(program=rule.program)
                )
            )
            button.clicked.connect(lambda _=False, rid=rule.id: self.forget(rid))
            cell = QWidget(table)
            box = QHBoxLayout(cell)
            box.setContentsMargins(4, 1, 4, 1)
            box.addWidget(button)
            table.setCellWidget(row, FORGET_COLUMN, cell)
            button.ensurePolished()  # the style sheet's padding counts in its size
            height = cell.sizeHint().height() + CELL_SLACK
            table.setRowHeight(row, max(table.rowHeight(row), height))
            forget_width = max(forget_width, cell.sizeHint().width())
            self.forget_buttons[rule.id] = button
        table.fit()
        if forget_width:  # the buttons' column: whole buttons (the cell's grid line and the
            # item's transparent focus border take a few pixels of the column)
            table.setColumnWidth(FORGET_COLUMN, forget_width + CELL_SLACK)
        self._show_table(table, self.rules_empty, bool(self.rules))
        self.rules_note.setVisible(bool(self.rules))

    @staticmethod
    def _show_table(table: RowTable, empty: PlainLabel, rows: bool) -> None:
        table.setVisible(rows)
        empty.setVisible(not rows)
        # as tall as its rows (the page scrolls, not the table)
        height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
        height += sum(table.rowHeight(row) for row in range(table.rowCount()))
        table.setFixedHeight(height + 1)

    def tick(self) -> None:
        """The countdowns, every second (the main window's status tick); a row that ran out
        leaves the list."""
        if not self.grants:
            return
        now = self.ctx.core.clock.now()
        if any(g.seconds_left(now) <= 0 for g in self.grants):
            self.reload()
            return
        for row, grant in enumerate(self.grants):
            item = self.tokens.item(row, 3)
            if item is not None:
                item.setText(expires_in(grant.seconds_left(now)))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.reload()

    # ------------------------------------------------------------------ forget

    def forget(self, rule_id: str) -> None:
        """Forget one remembered rule (journalled, so off the GUI thread)."""
        button = self.forget_buttons.get(rule_id)
        if button is not None:
            button.setEnabled(False)
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.forget_rule(rule_id),
            self._forgotten,
            self._failed,
            owner=self,
            name="forget_rule",
        )

    def _forgotten(self, rule: Rule | None) -> None:
        if rule is not None:
            kind = (
                self.tr("renew without asking")
                if rule.kind == "renew"
                else self.tr("don't ask again")
            )
            self.banner.show_message(
                self.tr("Forgotten: {kind} for {program} ({title}).").format(
                    kind=kind, program=rule.program, title=rule.title
                ),
                "ok",
            )
        self.reload()

    def _failed(self, message: str, exc: BaseException) -> None:
        self.banner.show_message(message, "error")
        self.reload()

    @property
    def count(self) -> int:
        return len(self.grants)

"""The History page: the journal, newest first, with filters and a chain check.

Entries are read on the ``TaskRunner`` (the file may be long) and refreshed whenever the core
journals something. Filters (HEM, kind, outcome, free text) work on what was read. The HMAC
chain is checked once by itself each time the store opens (in the background: a long journal
never holds the window up) and again on "Verify"; a broken chain shows a red banner naming the
first broken entry, that entry's row is marked ("⚠", the error colours, a tooltip saying why),
and :attr:`HistoryPage.tampered` tells the window so the History section says so too — the
journal was edited, reordered or cut, and the person should know without having to look.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from authenticator.gui import fmt
from authenticator.gui.context import AppContext
from authenticator.gui.qtfix import emit
from authenticator.gui.theme import colors
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.plain import PlainLabel, tooltip
from authenticator.gui.widgets.table import row_table
from authenticator.store.journal import JournalEntry, VerifyReport

__all__ = ["HistoryPage"]

LIMIT = 2000
RELOAD_DELAY_MS = 1000
_ALL = ""

KIND_LABELS = {
    "pair.paired": "Paired",
    "pair.refused": "Pairing refused",
    "pair.failed": "Pairing failed",
    "request.shown": "Request shown",
    "request.approved": "Approved",
    "request.denied": "Denied",
    "request.reported": "Reported",
    "request.expired": "Expired",
    "request.cancelled": "Withdrawn by the requester",
    "request.handled_elsewhere": "Answered elsewhere",
    "request.rejected": "Rejected (failed checks)",
    "request.withdrawn": "Withdrawn by the program",
    "request.failed": "Failed",
    "token.issued": "Token handed out",
    "unpair.done": "Unpaired",
    "unpair.local": "Forgotten here",
    "unpair.failed": "Unpair failed",
    "hem.renamed": "Renamed",
    "app.locked": "Locked",
    "app.unlocked": "Unlocked",
    "app.store_created": "Store created",
    "app.protection_changed": "Protection changed",
    "settings.changed": "Setting changed",
}
"""How each journal kind reads in the table and the filter (the raw kind stays searchable)."""


BROKEN_MARK = "⚠ "
HEM_COLUMN_MAX = 180


class HistoryPage(QWidget):
    tampered = Signal(bool)
    """Whether the last check found the journal's chain broken (after every check)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.entries: list[JournalEntry] = []
        self._loading = False
        self._again = False
        self.report: VerifyReport | None = None
        """The last chain check's result (None until one ran since the store opened)."""
        self._checked = False
        self._verifying = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        header = QHBoxLayout()
        title = PlainLabel(self.tr("History"), self)
        title.setProperty("role", "title")
        header.addWidget(title)
        header.addStretch(1)
        self.verify_button = QPushButton(self.tr("&Verify the journal"), self)
        self.verify_button.setAutoDefault(False)
        self.verify_button.setToolTip(
            self.tr("Checks that no entry was edited, removed or reordered.")
        )
        self.verify_button.clicked.connect(self.verify)
        header.addWidget(self.verify_button)
        layout.addLayout(header)
        self.banner = Banner(self)
        layout.addWidget(self.banner)

        filters = QHBoxLayout()
        self.hem = QComboBox(self)
        self.hem.setAccessibleName(self.tr("Filter by HEM"))
        self.kind = QComboBox(self)
        self.kind.setAccessibleName(self.tr("Filter by kind"))
        self.outcome = QComboBox(self)
        self.outcome.setAccessibleName(self.tr("Filter by outcome"))
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(self.tr("Search…"))
        self.search.setAccessibleName(self.tr("Search the history"))
        self.search.setClearButtonEnabled(True)
        for combo in (self.hem, self.kind, self.outcome):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(self.apply_filters)
            filters.addWidget(combo)
        self.search.textChanged.connect(self.apply_filters)
        filters.addWidget(self.search, 1)
        layout.addLayout(filters)

        columns = [
            self.tr("When"),
            self.tr("HEM"),
            self.tr("What"),
            self.tr("Outcome"),
            self.tr("Details"),
        ]
        self.table = row_table(
            self,
            columns,
            self.tr("Journal entries"),
            ["content", HEM_COLUMN_MAX, "content", "content", "stretch"],
        )
        # size columns from the newest rows, not all 2 000
        self.table.horizontalHeader().setResizeContentsPrecision(200)
        layout.addWidget(self.table, 1)
        self.count = PlainLabel(self)
        self.count.setProperty("role", "muted")
        layout.addWidget(self.count)
        self._fill_combos()
        # A busy minute can add hundreds of entries: reload at most every second, and only while
        # the page is on screen (showing it reloads).
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(RELOAD_DELAY_MS)
        self._soon.timeout.connect(self.reload)
        self._stale = False
        ctx.bridge.journalChanged.connect(self._journal_changed)

    def _journal_changed(self) -> None:
        if self.isVisible():
            if not self._soon.isActive():
                self._soon.start()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.reload()

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        if self.ctx.core.locked:
            return
        if not self._checked:
            self._checked = True
            self.verify(quiet=True)  # once per opening of the store, by itself
        if self._loading:
            self._again = True
            return
        self._loading = True
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.journal_entries(limit=LIMIT),
            self._loaded,
            self._load_failed,
            owner=self,
            name="journal",
        )

    def _loaded(self, entries: list[JournalEntry]) -> None:
        self._loading = False
        self.entries = entries
        self._fill_combos()
        self.apply_filters()
        if self._again:
            self._again = False
            self.reload()

    def _load_failed(self, message: str, exc: BaseException) -> None:
        self._loading = False
        self.banner.show_message(message, "error")

    def clear(self) -> None:
        """Forget what was shown (the app locked): the next opening checks the chain again."""
        self.entries = []
        self.table.setRowCount(0)
        self.banner.clear_message()
        self.report = None
        self._checked = False

    def _fill_combos(self) -> None:
        def refill(combo: QComboBox, everything: str, values: list[str]) -> None:
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, _ALL)
            for value in values:
                combo.addItem(self.kind_label(value) if combo is self.kind else value, value)
            index = combo.findData(current)
            combo.setCurrentIndex(max(0, index))
            combo.blockSignals(False)

        refill(self.hem, self.tr("All HEMs"), sorted({e.hem for e in self.entries if e.hem}))
        refill(self.kind, self.tr("All kinds"), sorted({e.kind for e in self.entries}))
        refill(
            self.outcome,
            self.tr("All outcomes"),
            sorted({e.outcome for e in self.entries if e.outcome}),
        )

    # ------------------------------------------------------------------ filtering

    def visible_entries(self) -> list[JournalEntry]:
        hem, kind, outcome = (
            self.hem.currentData(),
            self.kind.currentData(),
            self.outcome.currentData(),
        )
        needle = self.search.text().strip().lower()
        shown = []
        for entry in self.entries:
            if hem and entry.hem != hem:
                continue
            if kind and entry.kind != kind:
                continue
            if outcome and entry.outcome != outcome:
                continue
            if needle and needle not in self._haystack(entry):
                continue
            shown.append(entry)
        return shown

    @staticmethod
    def _haystack(entry: JournalEntry) -> str:
        parts = [entry.kind, KIND_LABELS.get(entry.kind, ""), entry.hem or "", entry.outcome or ""]
        parts.append(entry.text)
        parts += [str(v) for v in entry.fields.values() if v is not None]
        return " ".join(parts).lower()

    def kind_label(self, kind: str) -> str:
        label = KIND_LABELS.get(kind)
        return self.tr(label) if label else kind

    def apply_filters(self) -> None:
        shown = self.visible_entries()
        self.table.setUpdatesEnabled(False)
        try:
            self._fill_rows(shown)
            self.table.fit()
        finally:
            self.table.setUpdatesEnabled(True)
        self.count.setText(
            self.tr("{shown} of {total} entries").format(shown=len(shown), total=len(self.entries))
        )

    @property
    def broken_seq(self) -> int | None:
        """The sequence number of the first broken entry, when the last check found one."""
        report = self.report
        return None if report is None or report.ok else report.first_broken

    def _fill_rows(self, shown: list[JournalEntry]) -> None:
        broken = self.broken_seq
        app = QCoreApplication.instance()
        c = colors(bool(app.property("encedo_dark")) if app is not None else False)
        self.table.setRowCount(len(shown))
        for row, entry in enumerate(shown):
            values = [
                fmt.date_time(entry.ts),
                entry.hem or "",
                self.kind_label(entry.kind),
                entry.outcome or "",
                entry.text,
            ]
            mark = broken is not None and entry.seq == broken
            if mark:
                values[0] = BROKEN_MARK + values[0]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if mark:
                    item.setToolTip(
                        tooltip(
                            self.tr(
                                "The journal's chain breaks here: this entry, or the one before "
                                "it, was edited, removed or moved.\n{value}"
                            ).format(value=value)
                        )
                    )
                    item.setBackground(QBrush(QColor(c["err_bg"])))
                    item.setForeground(QBrush(QColor(c["err_fg"])))
                else:
                    item.setToolTip(tooltip(value))
                item.setData(Qt.ItemDataRole.UserRole, entry.seq)
                self.table.setItem(row, col, item)

    def broken_row(self) -> int | None:
        """The table row of the first broken entry, when it is shown."""
        broken = self.broken_seq
        if broken is None:
            return None
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == broken:
                return row
        return None

    # ------------------------------------------------------------------ verify

    def verify(self, *, quiet: bool = False) -> None:
        """Check the journal's chain off the GUI thread. ``quiet`` (the check at start): say
        nothing while checking, nor when the chain is intact."""
        if self._verifying:
            return
        self._verifying = True
        self.verify_button.setEnabled(False)
        if not quiet:
            self.banner.show_message(self.tr("Checking the journal…"), "info")
        core = self.ctx.core
        self.ctx.tasks.run(
            core.verify_journal,
            lambda report: self._verified(report, quiet=quiet),
            self._verify_failed,
            owner=self,
            name="verify",
        )

    def _verified(self, report: VerifyReport, *, quiet: bool = False) -> None:
        self._verifying = False
        self.verify_button.setEnabled(True)
        if self.ctx.core.locked:
            return  # locked meanwhile: nothing of the journal is shown
        self.report = report
        self.apply_filters()
        emit(self.tampered, not report.ok)
        if report.ok:
            if not quiet:
                self.banner.show_message(
                    self.tr("The journal is intact: {n} entries, none altered.").format(
                        n=report.entries
                    ),
                    "ok",
                )
            return
        where = (
            self.tr("entry #{seq}").format(seq=report.first_broken)
            if report.first_broken is not None
            else self.tr("its end")
        )
        reason = report.reason.strip().rstrip(".")
        reason = reason[:1].upper() + reason[1:]
        self.banner.show_message(
            self.tr(
                "The journal was tampered with: the chain breaks at {where}. {reason}. Entries "
                "from there on cannot be trusted."
            ).format(where=where, reason=reason),
            "error",
        )

    def _verify_failed(self, message: str, exc: BaseException) -> None:
        self._verifying = False
        self.verify_button.setEnabled(True)
        self.banner.show_message(message, "error")

"""The HEMs page: every paired HEM, and what can be done with a pairing.

Rename (what this app calls it), set its address (for the direct path), unmute (after "I didn't
ask for this"), unpair. Every change runs on the ``TaskRunner`` (the vault is re-encrypted and
written atomically) and the table refreshes on ``hems_changed``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from authenticator.core.model import HemView
from authenticator.errors import LockedError
from authenticator.gui import fmt
from authenticator.gui.context import AppContext
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.plain import PlainLabel, tooltip
from authenticator.gui.widgets.table import ColumnWidth, row_table
from authenticator.gui.windows.unpair import UnpairDialog

__all__ = ["HemsPage"]

LABEL_COLUMN_MAX = 220
HOST_COLUMN_MAX = 200


class HemsPage(QWidget):
    pairRequested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.hems: list[HemView] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        header = QHBoxLayout()
        title = PlainLabel(self.tr("HEMs"), self)
        title.setProperty("role", "title")
        header.addWidget(title)
        header.addStretch(1)
        self.pair_button = QPushButton(self.tr("&Pair a HEM…"), self)
        self.pair_button.setProperty("role", "primary")
        self.pair_button.clicked.connect(self.pairRequested)
        header.addWidget(self.pair_button)
        layout.addLayout(header)
        self.banner = Banner(self)
        layout.addWidget(self.banner)

        columns = [
            self.tr("Name"),
            self.tr("This computer on the HEM"),
            self.tr("Hostname"),
            self.tr("Paired"),
            self.tr("Last used"),
            self.tr("Via"),
            self.tr("Muted"),
        ]
        # the name takes the rest of the width (shortened with "…", whole in the tooltip); this
        # computer's label and the hostname take their width up to a cap; the rest are short
        short: list[ColumnWidth] = ["content"] * 4
        self.table = row_table(
            self,
            columns,
            self.tr("Paired HEMs"),
            ["stretch", LABEL_COLUMN_MAX, HOST_COLUMN_MAX, *short],
        )
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)

        actions = QHBoxLayout()
        self.rename_button = QPushButton(self.tr("&Rename…"), self)
        self.address_button = QPushButton(self.tr("Set &address…"), self)
        self.unmute_button = QPushButton(self.tr("Un&mute"), self)
        self.unpair_button = QPushButton(self.tr("&Unpair…"), self)
        self.unpair_button.setProperty("role", "deny")
        self.rename_button.clicked.connect(self.rename)
        self.address_button.clicked.connect(self.set_address)
        self.unmute_button.clicked.connect(self.unmute)
        self.unpair_button.clicked.connect(self.unpair)
        for button in (self.rename_button, self.address_button, self.unmute_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.unpair_button)
        for button in (
            self.pair_button,
            self.rename_button,
            self.address_button,
            self.unmute_button,
            self.unpair_button,
        ):
            button.setAutoDefault(False)
        layout.addLayout(actions)
        self.detail = PlainLabel(self)
        self.detail.setProperty("role", "muted")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail)
        ctx.bridge.hemsChanged.connect(self.reload)
        self._update_buttons()

    def reload(self) -> None:
        selected = self.selected()
        try:
            self.hems = self.ctx.core.hems()
        except LockedError:
            self.hems = []
        now = self.ctx.core.clock.now()
        self.table.setRowCount(len(self.hems))
        for row, hem in enumerate(self.hems):
            muted = fmt.until_text(hem.muted_until, now)
            via = self.tr("broker") if hem.source == "broker" else self.tr("direct")
            values = [
                hem.name,
                hem.label,
                hem.hostname,
                fmt.date_time(hem.paired_at),
                fmt.relative(hem.last_used, now),
                via,
                muted if muted != "—" else self.tr("no"),
            ]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(tooltip(value))
                self.table.setItem(row, col, item)
            if selected is not None and hem.name == selected.name:
                self.table.selectRow(row)
        self.table.fit()
        if self.hems and not self.table.selectedItems():
            self.table.selectRow(0)
        self._update_buttons()

    def selected(self) -> HemView | None:
        rows = {i.row() for i in self.table.selectedItems()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self.hems[row] if 0 <= row < len(self.hems) else None

    def select_name(self, name: str) -> None:
        for row, hem in enumerate(self.hems):
            if hem.name == name:
                self.table.selectRow(row)

    def _update_buttons(self) -> None:
        hem = self.selected()
        for button in (self.rename_button, self.address_button, self.unpair_button):
            button.setEnabled(hem is not None)
        now = self.ctx.core.clock.now()
        self.unmute_button.setEnabled(
            hem is not None and hem.muted_until is not None and hem.muted_until > now
        )
        if hem is None:
            self.detail.setText(self.tr("No HEM is paired yet.") if not self.hems else "")
            return
        lines = [
            self.tr("User: {user}").format(user=hem.user or "—")
            + (f" <{hem.email}>" if hem.email else ""),
            self.tr("Broker: {url}").format(url=hem.broker_url or self.tr("none (direct)")),
            self.tr("Address: {url}").format(
                url=hem.hem_url or (f"https://{hem.hostname}" if hem.hostname else "—")
            ),
        ]
        if hem.cert_sha256:
            lines.append(self.tr("Pinned certificate SHA-256: {fp}").format(fp=hem.cert_sha256))
        self.detail.setText("\n".join(lines))

    # ------------------------------------------------------------------ actions

    def _run(self, fn: object, done_text: str) -> None:
        self.banner.clear_message()
        self.ctx.tasks.run(
            fn,  # type: ignore[arg-type]
            lambda _: self.banner.show_message(done_text, "ok"),
            lambda message, _: self.banner.show_message(message, "error"),
            owner=self,
        )

    def rename(self) -> None:
        hem = self.selected()
        if hem is None:
            return
        name, ok = QInputDialog.getText(
            self,
            self.tr("Rename {name}").format(name=hem.name),
            self.tr("What this app calls the HEM:"),
            QLineEdit.EchoMode.Normal,
            hem.name,
        )
        if ok and name.strip() and name.strip() != hem.name:
            core, old, new = self.ctx.core, hem.name, name.strip()
            self._run(lambda: core.rename_hem(old, new), self.tr("Renamed."))

    def set_address(self) -> None:
        hem = self.selected()
        if hem is None:
            return
        url, ok = QInputDialog.getText(
            self,
            self.tr("Address of {name}").format(name=hem.name),
            self.tr("The HEM's address for direct requests (empty: https://<hostname>):"),
            QLineEdit.EchoMode.Normal,
            hem.hem_url or "",
        )
        if ok:
            core, name, value = self.ctx.core, hem.name, url.strip() or None
            self._run(lambda: core.set_hem_url(name, value), self.tr("Address saved."))

    def unmute(self) -> None:
        hem = self.selected()
        if hem is not None:
            core, name = self.ctx.core, hem.name
            self._run(
                lambda: core.unmute(name),
                self.tr("Requests from {n} are shown again.").format(n=name),
            )

    def unpair(self) -> None:
        hem = self.selected()
        if hem is None:
            return
        dialog = UnpairDialog(self.ctx, hem, self)
        dialog.open()

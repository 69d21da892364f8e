"""The Requests page: the queue of pending requests and the approval view of the selected one.

Several requests queue visibly (title, HEM, countdown); selecting one shows it; none is ever
answered by default and none is selected away from under the person while they read it. A
one-second timer repaints every countdown; the core's own expiry clock closes a request when its
time is up (journalled as expired, told through the bridge), so it leaves the list like any
other ending.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from authenticator.core.model import AccessRequest, Outcome, PairingPreview
from authenticator.gui import fmt
from authenticator.gui.context import AppContext
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.plain import PlainLabel, tooltip
from authenticator.gui.windows.approval import ApprovalView

__all__ = ["RequestsPage"]

_ID = Qt.ItemDataRole.UserRole


class _CountdownDelegate(QStyledItemDelegate):
    """Draws a queue row with its countdown computed at paint time, so a tick only repaints."""

    def __init__(self, page: RequestsPage) -> None:
        super().__init__(page)
        self._page = page

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # noqa: N802 - Qt's name
        super().initStyleOption(option, index)
        text = self._page.item_text(str(index.data(_ID)))
        if text is not None:
            # Qt turns "\n" into a line break only for text it reads from the model itself
            option.text = text.replace("\n", "\u2028")  # type: ignore[attr-defined]


class RequestsPage(QWidget):
    countChanged = Signal(int)  # noqa: N815 - Qt signal naming
    pairingOpened = Signal(object)  # noqa: N815 - Qt signal naming (PairingPreview from a pasted pairing code)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._requests: dict[str, AccessRequest] = {}
        self._items: dict[str, QListWidgetItem] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        header = QHBoxLayout()
        heading = PlainLabel(self.tr("Requests"), self)
        heading.setProperty("role", "title")
        header.addWidget(heading)
        header.addStretch(1)
        self.paste_button = QPushButton(self.tr("Open a &pasted request…"), self)
        self.paste_button.setAccessibleName(self.tr("Open a pasted request or link"))
        self.paste_button.clicked.connect(self.ask_paste)
        self.check_button = QPushButton(self.tr("C&heck now"), self)
        self.check_button.setAccessibleName(self.tr("Check for new requests now"))
        self.check_button.clicked.connect(self.check_now)
        for button in (self.paste_button, self.check_button):
            button.setAutoDefault(False)
            header.addWidget(button)
        layout.addLayout(header)
        self.banner = Banner(self)
        layout.addWidget(self.banner)

        self.split = QSplitter(Qt.Orientation.Horizontal, self)
        self.split.setChildrenCollapsible(False)
        self.list = QListWidget(self.split)
        self.list.setAccessibleName(self.tr("Waiting requests"))
        self.list.setProperty("role", "queue")
        self.list.setMinimumWidth(210)
        # two lines per row, each cut with "…" when the list is narrow (the tooltip has it all)
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setSpacing(2)
        self.list.currentItemChanged.connect(self._selected)
        self.stack = QStackedWidget(self.split)
        self.empty = PlainLabel(
            self.tr(
                "No requests are waiting.\n\nWhen something asks your HEM for access, it "
                "appears here and in a notification."
            ),
            self.stack,
        )
        self.empty.setProperty("role", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.view = ApprovalView(ctx, self.stack)
        self.view.nextRequested.connect(self.select_first)
        self.view.finished.connect(lambda _: self.list.clearSelection())
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)
        self.split.addWidget(self.list)
        self.split.addWidget(self.stack)
        self.split.setStretchFactor(0, 0)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([250, 630])
        layout.addWidget(self.split, 1)
        self.list.hide()

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

        ctx.bridge.requestAdded.connect(self.add)
        ctx.bridge.requestRemoved.connect(self.remove)
        self.list.setItemDelegate(_CountdownDelegate(self))
        # Every row has the same two lines: Qt then measures one row, not all of them, whenever
        # the queue changes (with a thousand rows waiting, measuring all stalls the window).
        self.list.setUniformItemSizes(True)

    # ------------------------------------------------------------------ the queue

    def reload(self) -> None:
        """Show what the inbox holds now (after unlock or at start)."""
        for request in self.ctx.core.pending():
            self.add(request)
        self._update_visibility()

    def add(self, request: AccessRequest) -> None:
        if request.id in self._requests:
            return
        self._requests[request.id] = request
        item = QListWidgetItem(self._item_text(request, self.ctx.core.clock.now()))
        item.setData(_ID, request.id)
        item.setToolTip(tooltip(request.text))
        self.list.addItem(item)
        self._items[request.id] = item
        if self.view.state == "empty":
            self.list.setCurrentItem(item)
        elif self.view.state == "done":
            self.view.next_button.show()
        self._update_visibility()
        emit(self.countChanged, len(self._requests))

    def remove(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self._requests.pop(request.id, None)
        item = self._items.pop(request.id, None)
        if item is not None:
            self.list.takeItem(self.list.row(item))
        self.view.request_gone(request, message)
        self._update_visibility()
        emit(self.countChanged, len(self._requests))

    def clear(self) -> None:
        """Forget everything shown (the app locked)."""
        self._requests.clear()
        self._items.clear()
        self.list.clear()
        self.view.clear()
        self.stack.setCurrentWidget(self.empty)
        self.banner.clear_message()
        self._update_visibility()
        emit(self.countChanged, 0)

    def _item(self, request_id: str) -> QListWidgetItem | None:
        return self._items.get(request_id)

    def item_text(self, request_id: str) -> str | None:
        """A queue row's text right now (the delegate paints it; None for a stale row)."""
        request = self._requests.get(request_id)
        if request is None:
            return None
        return self._item_text(request, self.ctx.core.clock.now())

    def _item_text(self, request: AccessRequest, now: int) -> str:
        return f"{request.title}\n{request.hem} · {fmt.countdown(request.seconds_left(now))}"

    def _selected(self, current: QListWidgetItem | None, previous: object) -> None:
        if current is None:
            return
        request = self._requests.get(str(current.data(_ID)))
        if request is None:
            return
        if self.view.state == "busy" and self.view.request is not None:
            return  # an answer is on its way; the result will show in place
        self.view.show_request(request)
        self.stack.setCurrentWidget(self.view)

    def select(self, request_id: str) -> bool:
        item = self._item(request_id)
        if item is None:
            return False
        self.list.setCurrentItem(item)
        if self.view.request is None or self.view.request.id != request_id:
            self._selected(item, None)
        return True

    def select_first(self) -> None:
        if self.list.count():
            self.list.setCurrentRow(0)
            self._selected(self.list.item(0), None)
        else:
            self.view.clear()
            self.stack.setCurrentWidget(self.empty)

    def _update_visibility(self) -> None:
        self.list.setVisible(len(self._requests) > 1)
        if not self._requests and self.view.state not in ("done", "busy"):
            self.view.clear()
            self.stack.setCurrentWidget(self.empty)
        elif self._requests and self.view.state == "empty":
            self.select_first()

    @property
    def count(self) -> int:
        return len(self._requests)

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        now = self.ctx.core.clock.now()
        if self.list.isVisible():
            # The countdowns are drawn by the delegate at paint time: repainting the viewport
            # redraws only the rows on screen, however many requests wait.
            self.list.viewport().update()
        self.view.tick(now)

    # ------------------------------------------------------------------ actions

    def check_now(self) -> None:
        self.banner.show_message(self.tr("Checking for requests…"), "info")
        core = self.ctx.core
        self.ctx.tasks.run(
            core.refresh,
            lambda _: self.banner.clear_message(),
            lambda message, _: self.banner.show_message(message, "error"),
            owner=self,
            name="refresh",
        )

    def ask_paste(self) -> None:
        text, ok = QInputDialog.getMultiLineText(
            self,
            self.tr("Open a pasted request"),
            self.tr("Paste an access request or an encedo-auth: link:"),
        )
        if ok and text.strip():
            self.open_text(text.strip())

    def open_text(self, text: str) -> None:
        """Open a pasted ``authreq``, an ``encedo-auth:`` link or a pairing code."""
        core = self.ctx.core
        self.banner.show_message(self.tr("Opening the request…"), "info")
        self.ctx.tasks.run(
            lambda: core.open_pasted(text),
            self._opened,
            lambda message, _: self.banner.show_message(message, "error"),
            owner=self,
            name="open_pasted",
        )

    def _opened(self, result: AccessRequest | PairingPreview) -> None:
        self.banner.clear_message()
        if isinstance(result, PairingPreview):
            emit(self.pairingOpened, result)
            return
        self.add(result)
        self.select(result.id)

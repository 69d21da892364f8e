"""The Requests page: the queue of pending requests and the approval view of the selected one.

Several requests queue visibly. Each row says what is asked (the title from the verified
scope; for several scopes at once how many and which, "3 scopes: …"), who asks, from where
and how long ago, and the countdown: three lines drawn as plain text by Qt's own delegate, each
shortened with "…" to the row's width — the who and the HEM's name give way, never the
countdown (it leads its line). The tooltip has the whole of it and the verified sentence.

Selecting a row shows it; nothing else ever changes what the view shows. A new request joins
the queue (the queue appears as soon as one waits that is not on screen); a request that ends
while on screen stays there, saying how it ended, until the person clicks "Show the next
request" or a row; rows that leave the queue never move the selection onto another request.
None is answered by default. A one-second timer repaints the countdowns; the core's own expiry
clock closes a request when its time is up (journalled as expired, told through the bridge), so
it leaves the queue like any other ending.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from authenticator.core.model import AccessRequest, Outcome, PairingPreview
from authenticator.errors import DecodeError
from authenticator.gui import fmt
from authenticator.gui.context import AppContext
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.plain import PlainLabel, tooltip
from authenticator.gui.windows.approval import ApprovalView
from authenticator.gui.windows.mutebar import MuteBar

__all__ = ["QUEUE_MIN_WIDTH", "RequestsPage", "fit_row", "row_title", "who_and_where"]

_ID = Qt.ItemDataRole.UserRole
QUEUE_MIN_WIDTH = 180
SEP = " · "


def who_and_where(request: AccessRequest) -> str:
    """Who asks and from where, in a few words: ``Someone at Warsaw, PL · 203.0.113.7``,
    ``backup.sh (pid 4242) on this computer``, ``A pasted request``."""
    if request.program is not None:
        where = "over SSH" if request.program.remote else "on this computer"
        return f"{request.program.describe()} {where}"
    return request.requester


def row_title(request: AccessRequest) -> str:
    """A queue row's first line: the title, or for a bundle how many scopes it asks and which
    (``3 scopes: List the keys, Read the log, …``; ``Renew: 2 scopes: …``)."""
    if not request.is_bundle:
        return request.title
    titles = ", ".join(p.title for p in request.parts)
    text = f"{len(request.parts)} scopes: {titles}"
    return f"Renew: {text}" if request.is_renewal else text


def fit_row(
    title: str, who: str, ago: str, countdown: str, hem: str, *, metrics: QFontMetrics, width: int
) -> list[str]:
    """A queue row's three lines, each at most ``width`` pixels: the title; who asks, from
    where, and how long ago; the countdown and the HEM. What gives way is the title's end, the
    who and the HEM's name — never "how long ago" nor the countdown."""
    if width <= 0:
        return [title, f"{who}{SEP}{ago}", f"{countdown}{SEP}{hem}"]
    elide = Qt.TextElideMode.ElideRight

    def fit(text: str, room: int) -> str:
        return metrics.elidedText(text, elide, max(0, room))

    def advance(text: str) -> int:
        return metrics.horizontalAdvance(text)

    least = advance("Mmmm…")  # shorter than this, a name tells nothing: leave it out
    first = fit(title, width)
    tail = f"{SEP}{ago}"
    room = width - advance(tail)
    second = f"{fit(who, room)}{tail}" if room >= least else fit(ago, width)
    room = width - advance(f"{countdown}{SEP}")
    third = f"{countdown}{SEP}{fit(hem, room)}" if room >= least else countdown
    return [first, second, third]


class _QueueDelegate(QStyledItemDelegate):
    """Qt's own plain-text painting; only the row's text is computed at paint time (so a tick
    only repaints) and fitted to the row's width."""

    def __init__(self, page: RequestsPage) -> None:
        super().__init__(page)
        self._page = page

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        lines = self._page.row_lines(str(index.data(_ID)), self.text_width(option))
        if lines is not None:
            # Qt turns "\n" into a line break only for text it reads from the model itself
            option.text = "\u2028".join(lines)

    @staticmethod
    def text_width(option: QStyleOptionViewItem) -> int:
        """The width Qt draws a row's text in (the row, less its padding and text margins)."""
        rect = option.rect
        if rect.width() <= 0:
            return 0
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        text = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        return text.width() - 2 * margin - 2


class RequestsPage(QWidget):
    countChanged = Signal(int)
    pairingOpened = Signal(object)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._requests: dict[str, AccessRequest] = {}
        self._items: dict[str, QListWidgetItem] = {}
        self._quiet = False

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
        self.mute_bar = MuteBar(ctx, self)
        layout.addWidget(self.mute_bar)

        self.split = QSplitter(Qt.Orientation.Horizontal, self)
        self.split.setChildrenCollapsible(False)
        self.list = QListWidget(self.split)
        self.list.setAccessibleName(self.tr("Waiting requests"))
        self.list.setProperty("role", "queue")
        self.list.setMinimumWidth(QUEUE_MIN_WIDTH)
        # three lines per row, each fitted to the width by the delegate (the tooltip has it all)
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setSpacing(1)
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
        self.view.nextRequested.connect(self.show_next)
        self.mute_bar.changed.connect(self.view.mutes_changed)
        self.view.finished.connect(lambda _: self._sync_selection())
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.view)
        self.split.addWidget(self.list)
        self.split.addWidget(self.stack)
        self.split.setStretchFactor(0, 0)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([260, 620])
        layout.addWidget(self.split, 1)
        self.list.hide()
        self.setTabOrder(self.check_button, self.list)

        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

        ctx.bridge.requestAdded.connect(self.add)
        ctx.bridge.requestRemoved.connect(self.remove)
        self.list.setItemDelegate(_QueueDelegate(self))
        # Every row has the same three lines: Qt then measures one row, not all of them,
        # whenever the queue changes (with a thousand rows waiting, measuring all stalls).
        self.list.setUniformItemSizes(True)

    # ------------------------------------------------------------------ the queue

    def reload(self) -> None:
        """Show what the inbox holds now (after unlock or at start)."""
        for request in self.ctx.core.pending():
            self.add(request)
        self._update_visibility()
        self.mute_bar.reload()

    @contextmanager
    def _programmatic(self) -> Iterator[None]:
        """List changes made here, not by the person: they never change the request shown."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def add(self, request: AccessRequest) -> None:
        if request.id in self._requests:
            return
        self._requests[request.id] = request
        now = self.ctx.core.clock.now()
        item = QListWidgetItem("\n".join(self._lines(request, now)))
        item.setData(_ID, request.id)
        item.setToolTip(tooltip(self._tooltip(request)))
        with self._programmatic():
            self.list.addItem(item)
        self._items[request.id] = item
        if self.view.state == "empty":
            self.select(request.id)
        self._update_visibility()
        emit(self.countChanged, len(self._requests))

    def remove(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        # The view first: if it shows this request it says so in place (and stays on it).
        self.view.request_gone(request, outcome, message)
        self._requests.pop(request.id, None)
        item = self._items.pop(request.id, None)
        if item is not None:
            with self._programmatic():
                self.list.takeItem(self.list.row(item))
        self._sync_selection()
        self._update_visibility()
        emit(self.countChanged, len(self._requests))

    def clear(self) -> None:
        """Forget everything shown (the app locked)."""
        self._requests.clear()
        self._items.clear()
        with self._programmatic():
            self.list.clear()
        self.view.clear()
        self.stack.setCurrentWidget(self.empty)
        self.banner.clear_message()
        self._update_visibility()
        emit(self.countChanged, 0)

    def _sync_selection(self) -> None:
        """The highlighted row is the request on screen, or none (it ended, or none is shown)."""
        shown = self.view.request.id if self.view.request is not None else None
        item = self._items.get(shown) if shown is not None else None
        with self._programmatic():
            if item is not None and self.view.state != "done":
                self.list.setCurrentItem(item)
            else:
                self.list.setCurrentRow(-1)
                self.list.clearSelection()

    def _lines(self, request: AccessRequest, now: int, width: int = 0) -> list[str]:
        metrics = QFontMetrics(self.list.font())
        return fit_row(
            row_title(request),
            who_and_where(request),
            fmt.relative(request.created, now),
            fmt.countdown(request.seconds_left(now)),
            request.hem,
            metrics=metrics,
            width=width,
        )

    def row_lines(self, request_id: str, width: int) -> list[str] | None:
        """A queue row's lines right now, fitted to ``width`` (None for a stale row)."""
        request = self._requests.get(request_id)
        if request is None:
            return None
        return self._lines(request, self.ctx.core.clock.now(), width)

    def item_text(self, request_id: str) -> str | None:
        """A queue row's whole text right now (None for a stale row)."""
        lines = self.row_lines(request_id, 0)
        return None if lines is None else "\n".join(lines)

    def _tooltip(self, request: AccessRequest) -> str:
        when = fmt.date_time(request.expires_at)
        return "\n".join(
            (
                request.title,
                request.text,
                who_and_where(request),
                self.tr("Expires {when}").format(when=when),
            )
        )

    def _selected(self, current: QListWidgetItem | None, previous: object) -> None:
        if current is None or self._quiet:
            return
        request = self._requests.get(str(current.data(_ID)))
        if request is None:
            return
        if self.view.state == "busy" and self.view.request is not None:
            self._sync_selection()
            return  # an answer is on its way; the result will show in place
        self._show(request)

    def _show(self, request: AccessRequest) -> None:
        self.view.show_request(request)
        self.stack.setCurrentWidget(self.view)
        self._sync_selection()
        self._update_visibility()

    def select(self, request_id: str) -> bool:
        """Show ``request_id`` (the person asked for it: a row, a notification, a link)."""
        request = self._requests.get(request_id)
        if request is None:
            return False
        if self.view.state == "busy" and self.view.request is not None:
            return False
        if self.view.request is None or self.view.request.id != request_id:
            self._show(request)
        else:
            self._sync_selection()
        return True

    def show_next(self) -> None:
        """ "Show the next request": the oldest one waiting, with the focus on its period."""
        if self.list.count():
            self.select(str(self.list.item(0).data(_ID)))
            self.view.period.focus_target().setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.view.clear()
            self.stack.setCurrentWidget(self.empty)
            self._update_visibility()

    def select_first(self) -> None:
        self.show_next()

    def _waiting_elsewhere(self) -> int:
        """How many waiting requests are not the one on screen."""
        shown = self.view.request.id if self.view.request is not None else None
        return len(self._requests) - (1 if shown in self._requests else 0)

    def _update_visibility(self) -> None:
        if not self._requests and self.view.state not in ("done", "busy"):
            self.view.clear()
            self.stack.setCurrentWidget(self.empty)
        elif self._requests and self.view.state == "empty":
            self.show_next()
            return
        self.list.setVisible(self._waiting_elsewhere() > 0)
        self.view.set_others_waiting(self._waiting_elsewhere())

    @property
    def count(self) -> int:
        return len(self._requests)

    # ------------------------------------------------------------------ time

    def tick(self) -> None:
        now = self.ctx.core.clock.now()
        if self.list.isVisible():
            # The rows are drawn by the delegate at paint time: repainting the viewport
            # redraws only the rows on screen, however many requests wait.
            self.list.viewport().update()
        self.view.tick(now)
        self.mute_bar.tick(now)

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
            self._open_failed,
            owner=self,
            name="open_pasted",
        )

    def _open_failed(self, message: str, exc: BaseException) -> None:
        if isinstance(exc, DecodeError):
            # the decoder's words ("the header is not valid JSON") help nobody here
            message = self.tr(
                "This is not an access request, a link or a pairing code this app can read. "
                "Copy it again, whole, from where it came from."
            )
        self.banner.show_message(message, "error")

    def _opened(self, result: AccessRequest | PairingPreview) -> None:
        self.banner.clear_message()
        if isinstance(result, PairingPreview):
            emit(self.pairingOpened, result)
            return
        self.add(result)
        self.select(result.id)

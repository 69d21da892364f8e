"""The main window: a sidebar (Requests, HEMs, History, Access in use, Settings), the page, a
status line.

Above the pages sits one more choice, made from the core's state: the first-run set-up (no
store), the lock screen (locked: nothing else is visible), the welcome (no HEM yet) or the app
itself. Closing the window keeps the app running in the tray; the first time, a note says so.
Without a tray host (``tray_available()`` false) closing minimises the window instead, so the
app is never left running with no way back to it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from authenticator import APP_NAME
from authenticator.core.model import ConnectionState
from authenticator.errors import LockedError
from authenticator.gui.context import AppContext
from authenticator.gui.icons import app_icon
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.plain import PlainLabel
from authenticator.gui.windows.grants import GrantsPage
from authenticator.gui.windows.hems import HemsPage
from authenticator.gui.windows.history import HistoryPage
from authenticator.gui.windows.lock import LockView
from authenticator.gui.windows.requests import RequestsPage
from authenticator.gui.windows.settings import SettingsPage
from authenticator.gui.windows.setup import SetupView
from authenticator.gui.windows.welcome import WelcomeView

__all__ = ["MainWindow"]

PAGES = ("requests", "hems", "history", "grants", "settings")


class MainWindow(QMainWindow):
    pairRequested = Signal()
    demoRequested = Signal()
    closedToTray = Signal()
    storeReady = Signal()

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(APP_NAME + (self.tr(" — demo") if ctx.demo else ""))
        self.setWindowIcon(app_icon())
        self.setMinimumSize(QSize(760, 520))
        self.resize(980, 660)
        self.quitting = False
        self.tray_available: Callable[[], bool] = lambda: True  # the app sets the real check
        self.connection = ConnectionState(True)
        self._retry_at: int | None = None

        self.screens = QStackedWidget(self)
        self.setCentralWidget(self.screens)
        self.setup = SetupView(ctx, self)
        self.lock_view = LockView(ctx, self)
        self.welcome = WelcomeView(demo_mode=ctx.demo is not None, parent=self)
        self.app_view = QWidget(self)
        for widget in (self.setup, self.lock_view, self.welcome, self.app_view):
            self.screens.addWidget(widget)
        self.setup.created.connect(self.storeReady)
        self.lock_view.unlocked.connect(self.storeReady)
        self.welcome.pairRequested.connect(self.pairRequested)
        self.welcome.demoRequested.connect(self.demoRequested)

        row = QHBoxLayout(self.app_view)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        side = QWidget(self.app_view)
        side.setProperty("role", "sidebar")
        side.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        side.setFixedWidth(190)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 14, 0, 10)
        brand = QHBoxLayout()
        brand.setContentsMargins(16, 0, 12, 10)
        logo = PlainLabel(side)
        logo.setPixmap(app_icon().pixmap(QSize(28, 28), self.devicePixelRatioF()))
        name = PlainLabel(self.tr("Encedo\nAuthenticator"), side)
        name.setProperty("role", "brand")
        brand.addWidget(logo)
        brand.addWidget(name, 1)
        side_layout.addLayout(brand)
        self.nav = QListWidget(side)
        self.nav.setProperty("role", "nav")
        self.nav.setAccessibleName(self.tr("Sections"))
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        labels = {
            "requests": self.tr("Requests"),
            "hems": self.tr("HEMs"),
            "history": self.tr("History"),
            "grants": self.tr("Access in use"),
            "settings": self.tr("Settings"),
        }
        for key in PAGES:
            item = QListWidgetItem(labels[key])
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.nav.addItem(item)
        side_layout.addWidget(self.nav, 1)
        if ctx.demo is not None:
            demo = PlainLabel(self.tr("Demo mode: a built-in HEM and broker"), side)
            demo.setProperty("role", "muted")
            demo.setWordWrap(True)
            demo.setContentsMargins(16, 0, 12, 0)
            side_layout.addWidget(demo)
        row.addWidget(side)

        self.pages = QStackedWidget(self.app_view)
        self.requests = RequestsPage(ctx, self.pages)
        self.hems = HemsPage(ctx, self.pages)
        # a mute that runs out leaves the HEMs table too (the mute line watches the clock)
        self.requests.mute_bar.changed.connect(lambda _muted: self.hems.reload())
        self.history = HistoryPage(ctx, self.pages)
        self.grants = GrantsPage(ctx, self.pages)
        self.settings = SettingsPage(ctx, self.pages)
        for page in (self.requests, self.hems, self.history, self.grants, self.settings):
            self.pages.addWidget(page)
        row.addWidget(self.pages, 1)
        self.nav.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.nav.setCurrentRow(0)
        self.requests.countChanged.connect(self._count_changed)
        self.history.tampered.connect(self._journal_checked)
        self.hems.pairRequested.connect(self.pairRequested)

        self.status = PlainLabel(self)
        self.status.setAccessibleName(self.tr("Connection status"))
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().setSizeGripEnabled(False)

        for index, key in enumerate(PAGES):
            shortcut = QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self)
            shortcut.activated.connect(lambda k=key: self.show_page(k))
        QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self, self.close)
        ctx.bridge.connectionChanged.connect(self.set_connection)
        ctx.bridge.hemsChanged.connect(self.refresh_screen)

    # ------------------------------------------------------------------ screens

    def refresh_screen(self) -> None:
        """Pick set-up, lock, welcome or the app from the core's state."""
        core = self.ctx.core
        if not core.has_store():
            self.screens.setCurrentWidget(self.setup)
            self.setup.first.setFocus()
            self._status_text()
            return
        if core.locked:
            self.requests.clear()
            self.history.clear()
            self.grants.clear()
            self.lock_view.prepare()
            self.screens.setCurrentWidget(self.lock_view)
            self._status_text()
            return
        try:
            has_hems = bool(core.hems())
        except LockedError:
            has_hems = False
        if not has_hems and not core.pending():
            self.screens.setCurrentWidget(self.welcome)
        else:
            self.screens.setCurrentWidget(self.app_view)
        self._status_text()

    def enter_unlocked(self) -> None:
        """Fill every page after an unlock (or at start)."""
        self.requests.reload()
        self.hems.reload()
        self.history.reload()
        self.grants.reload()
        self.settings.reload()
        self.refresh_screen()

    def show_page(self, key: str) -> None:
        if key in PAGES:
            self.nav.setCurrentRow(PAGES.index(key))
        if self.screens.currentWidget() is self.welcome and key != "requests":
            self.screens.setCurrentWidget(self.app_view)

    def show_request(self, request_id: str | None = None) -> None:
        """Bring the Requests page up (on a given request)."""
        if self.ctx.core.locked:
            self.refresh_screen()
            return
        self.screens.setCurrentWidget(self.app_view)
        self.show_page("requests")
        if request_id is not None:
            self.requests.select(request_id)

    def _count_changed(self, count: int) -> None:
        item = self.nav.item(0)
        item.setText(self.tr("Requests ({n})").format(n=count) if count else self.tr("Requests"))
        if count and self.screens.currentWidget() is self.welcome:
            self.screens.setCurrentWidget(self.app_view)
            self.show_page("requests")
        self._status_text()

    def _journal_checked(self, broken: bool) -> None:
        """The History section says so when the journal's chain is broken."""
        item = self.nav.item(PAGES.index("history"))
        item.setText(self.tr("History ⚠") if broken else self.tr("History"))
        item.setToolTip(self.tr("The journal was tampered with: see History.") if broken else "")

    # ------------------------------------------------------------------ status line

    def set_connection(self, state: ConnectionState) -> None:
        self.connection = state
        now = self.ctx.core.clock.now()
        self._retry_at = now + int(state.retry_in) if not state.online and state.retry_in else None
        self._status_text()

    def tick_status(self) -> None:
        """Every second (the app's status timer): the retry countdown, and the access in use."""
        if self._retry_at is not None:
            self._status_text()
        if self.grants.isVisible():
            self.grants.tick()

    def _status_text(self) -> None:
        core = self.ctx.core
        if not core.has_store():
            text = self.tr("Not set up yet")
        elif core.locked:
            text = self.tr("Locked — requests are not shown until you unlock")
        elif self.connection.online:
            count = self.requests.count
            text = self.tr("Online") + (self.tr(" · {n} waiting").format(n=count) if count else "")
        else:
            text = self.tr("Offline: {why}").format(why=self.connection.message or "—")
            if self._retry_at is not None:
                left = self._retry_at - core.clock.now()
                if left > 0:
                    text += self.tr(" · retrying in {s} s").format(s=left)
                else:
                    text += self.tr(" · retrying…")
        if self.ctx.demo is not None:
            text += self.tr(" · demo")
        self.status.setText(text)

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.quitting:
            event.accept()
            return
        event.ignore()
        if self.tray_available():
            self.hide()
        else:
            self.showMinimized()  # no tray to come back from: stay reachable
        emit(self.closedToTray)

    def bring_up(self) -> None:
        self.show()
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

"""The running app: ties the core, the window, the tray, notifications and locking together.

``AppController`` is what ``gui.app.run`` builds once the single-instance check passed. It
decides the first screen from the store (set-up, keychain unlock, lock screen), turns core
events into tray states and notifications, answers notification actions (which pass the lock
check and use the request's default period), opens ``encedo-auth:`` links forwarded by a second
instance, locks on idle and on the session's lock, and shuts everything down in order on Quit.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QProcess, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QMessageBox

from authenticator import APP_NAME
from authenticator.core.model import AccessRequest, ConnectionState, HemView, Outcome
from authenticator.gui.context import AppContext
from authenticator.gui.desktop import Live, tray_install_hint
from authenticator.gui.icons import TrayState
from authenticator.gui.idle import IdleWatcher
from authenticator.gui.notify import WindowNotifier
from authenticator.gui.notify.glue import NotificationRouter
from authenticator.gui.sessionlock import SessionLockWatcher
from authenticator.gui.theme import apply_theme
from authenticator.gui.tray import Tray
from authenticator.gui.windows.main import MainWindow
from authenticator.gui.windows.pairing import PairingWizard
from authenticator.store.atomic import write_private_atomic
from authenticator.store.settings import Settings

__all__ = ["AppController", "make_router"]

log = logging.getLogger(__name__)

UI_STATE_FILE = "gui-state.json"
STATUS_TICK_MS = 1000


def make_router(
    ctx: AppContext,
    tray: Tray,
    raise_window: Callable[[str], None],
    attention: Callable[[str], None],
) -> NotificationRouter:
    """Notifications through the best backend this desktop offers (``gui.notify``), hearing the
    core through the app's bridge and answering on its task runner; the window as the last
    resort should a backend fail to start."""
    try:
        return NotificationRouter(
            ctx.core,
            raise_window,
            tray=tray.icon,
            attention=attention,
            bridge=ctx.bridge,
            tasks=ctx.tasks,
        )
    except Exception:  # a broken backend must never stop the app
        log.exception("no notification backend; falling back to the window")
        return NotificationRouter(
            ctx.core,
            raise_window,
            notifier_factory=lambda _on_action: WindowNotifier(attention),
            bridge=ctx.bridge,
            tasks=ctx.tasks,
        )


class AppController(QObject):
    """Owns the window, the tray and the app-level behaviour around one core."""

    def __init__(
        self,
        app: QApplication,
        ctx: AppContext,
        *,
        watch_session: bool = True,
        open_browser: bool = True,
    ) -> None:
        super().__init__()
        self.app = app
        self.ctx = ctx
        self.core = ctx.core
        self._open_browser = open_browser
        self._stopped = False
        self._on_quit: list[Callable[[], None]] = []
        self.wizard: PairingWizard | None = None
        self.connection = ConnectionState(True)

        apply_theme(app, self.core.settings.theme)
        hints = app.styleHints()
        hints.colorSchemeChanged.connect(lambda _: self._theme_changed())

        self.window = MainWindow(ctx)
        self.tray = Tray(self)
        self.window.tray_available = self.tray.available  # no tray host: minimise, never hide
        # Approve / Deny / Open from a notification: the router answers (15 min, read-only,
        # after the lock check) and reports failures; the window follows the core's events.
        self.notifications = make_router(ctx, self.tray, self.raise_for, self.attention)
        self.notifications.failed.connect(self._notification_failed)
        self.notifications.set_enabled(self.core.settings.notifications)
        self.screen_locked = False  # the desktop session says its screen is locked
        self.notifications.set_private(self.core.settings.private_notifications)
        self.idle = IdleWatcher(lambda: self.core.settings.idle_lock_min, self)
        self.session_lock = SessionLockWatcher(self) if watch_session else None

        bridge = ctx.bridge
        bridge.requestAdded.connect(self._request_added)
        bridge.requestRemoved.connect(self._request_removed)
        bridge.lockChanged.connect(self._lock_changed)
        bridge.connectionChanged.connect(self._connection_changed)
        bridge.lockedWaiting.connect(lambda _count: self._update_tray())
        bridge.openRequested.connect(self.open_args)
        self.tray.openRequested.connect(self.show_window)
        self.tray.checkNowRequested.connect(self.check_now)
        self.tray.pairRequested.connect(self.pair)
        self.tray.lockRequested.connect(lambda: self.lock("Locked from the tray."))
        self.tray.settingsRequested.connect(lambda: self.show_window("settings"))
        self.tray.quitRequested.connect(self.quit)
        self.tray.demoPageRequested.connect(self.open_demo_page)
        self.tray.actions["demo"].setVisible(ctx.demo is not None)
        self.window.welcome.demoPageRequested.connect(self.open_demo_page)
        self.window.pairRequested.connect(self.pair)
        self.window.demoRequested.connect(self.try_demo)
        self.window.closedToTray.connect(self._closed_to_tray)
        self.window.storeReady.connect(self.store_ready)
        self.window.settings.settingsChanged.connect(self._settings_changed)
        self.window.settings.desktop.set_live(
            self.desktop_live, lambda: self.ctx.flags.get("keychain_available")
        )
        self.window.requests.pairingOpened.connect(self.pair_preview)
        QShortcut(QKeySequence.StandardKey.Quit, self.window, self.quit)
        QShortcut(QKeySequence("Ctrl+L"), self.window, lambda: self.lock("Locked from the window."))
        self.idle.idle.connect(lambda: self.lock("Locked after being idle."))
        if self.session_lock is not None:
            self.session_lock.locked.connect(self._session_locked)
            self.session_lock.unlocked.connect(self._session_unlocked)
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(STATUS_TICK_MS)
        self.status_timer.timeout.connect(self.window.tick_status)

    # ================================================================== start

    def start(self, *, show: bool = True) -> None:
        """Pick the first screen, start the watchers, show the window (the core runs its own
        background work: ``gui.app.run`` started it)."""
        self.app.installEventFilter(self.idle)
        self.idle.start()
        self.status_timer.start()
        if self.session_lock is not None:
            self.session_lock.start()
        self._update_tray()
        self.notifications.start()
        core = self.core
        self.ctx.tasks.run(
            core.keychain_available,
            self._keychain_known,
            lambda *_: self._keychain_known(False),
            owner=self,
            name="keychain_available",
        )
        mode = core.store_mode()
        if mode is None:
            if self.ctx.demo_passphrase:
                self._create_store(self.ctx.demo_passphrase)
            # else: wait for the keychain check (it decides keychain vs. the set-up screen)
        elif mode == "keychain":
            self.window.lock_view.prepare()
            self.window.screens.setCurrentWidget(self.window.lock_view)
            self.window.lock_view.unlock()  # off the GUI thread; shows the error in place
        self.window.refresh_screen()
        if show:
            self.window.bring_up()
        if self.ctx.demo is not None and self._open_browser:
            self.open_demo_page()

    def open_demo_page(self) -> None:
        """The running demo's page in the browser (tray menu, welcome screen, demo start)."""
        if self.ctx.demo is not None:
            QDesktopServices.openUrl(QUrl(self.ctx.demo.demo_url))

    def _keychain_known(self, available: object) -> None:
        self.ctx.flags["keychain_available"] = bool(available)
        if self.core.has_store() or self.ctx.demo_passphrase:
            self.window.settings.reload() if not self.core.locked else None
            return
        if available:
            self._create_store(None)
        else:
            self.window.refresh_screen()

    def _create_store(self, passphrase: str | None) -> None:
        core = self.core
        self.ctx.tasks.run(
            lambda: core.create_store(passphrase=passphrase),
            lambda _: self.store_ready(),
            lambda message, _: self._store_failed(message),
            owner=self,
            name="create_store",
        )

    def _store_failed(self, message: str) -> None:
        self.window.refresh_screen()
        self.window.setup.banner.show_message(message, "error")

    def store_ready(self) -> None:
        """The store is open: fill the window."""
        self.window.enter_unlocked()
        self.idle.touch()
        self._update_tray()
        self.core.check_now()

    # ================================================================== core events

    def _request_added(self, request: AccessRequest) -> None:
        self._update_tray()

    def _request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self._update_tray()

    def _notification_failed(self, request_id: str, message: str) -> None:
        """An answer given in a notification did not go through: say so where the request is."""
        self.window.requests.banner.show_message(message, "error")

    def _lock_changed(self, locked: bool) -> None:
        if locked:
            self.ctx.clipboard.clear()
            self.window.refresh_screen()
            for wizard in [self.wizard] if self.wizard is not None else []:
                wizard.reject()
        else:
            self.store_ready()
        self._update_tray()

    def _connection_changed(self, state: ConnectionState) -> None:
        self.connection = state
        self._update_tray()

    def _update_tray(self) -> None:
        locked = self.core.locked
        count = self.core.waiting_while_locked if locked else len(self.core.inbox)
        state: TrayState
        if locked:
            state = "locked"
        elif not self.connection.online:
            state = "offline"
        elif count:
            state = "pending"
        else:
            state = "normal"
        self.tray.update(state=state, count=count, offline_reason=self.connection.message)

    # ================================================================== notification actions

    def attention(self, request_id: str) -> None:
        """A new request while no notification server and no tray can tell: bring the window up,
        but never take the person away from a request they are reading."""
        page = self.window.requests
        if page.view.state in ("asking", "busy") and not self.core.locked:
            self.window.bring_up()
            return
        self.raise_for(request_id)

    def raise_for(self, request_id: str) -> None:
        self.window.show_request(request_id)
        self.window.bring_up()

    # ================================================================== actions

    def show_window(self, page: str | None = None) -> None:
        if page is not None and not self.core.locked:
            self.window.show_page(page)
        self.window.bring_up()

    def check_now(self) -> None:
        if self.core.locked:
            self.show_window()
            return
        self.core.check_now()

    def lock(self, reason: str = "") -> None:
        core = self.core
        if core.locked:
            return
        self.ctx.clipboard.clear()
        self.ctx.tasks.run(lambda: core.lock(reason), owner=self, name="lock")

    def _session_unlocked(self, source: str) -> None:
        self.screen_locked = False
        self._update_privacy()

    def _update_privacy(self) -> None:
        """Bubbles say nothing but "a request is waiting" while the screen is locked (anyone
        passing by can read them), or always when the owner chose private notifications."""
        self.notifications.set_private(
            self.screen_locked or self.core.settings.private_notifications
        )

    def _session_locked(self, source: str) -> None:
        if source != "resume":
            self.screen_locked = True
            self._update_privacy()
        if not self.core.settings.lock_on_session_lock:
            return
        if source == "sleep":
            self.lock("Locked because the computer went to sleep.")
        elif source == "resume":
            self.lock("Locked because the computer woke up from sleep.")
        else:
            self.lock(f"Locked because the desktop session locked ({source}).")

    def pair(self) -> None:
        if self.core.locked or not self.core.has_store():
            self.show_window()
            return
        if self.wizard is not None:
            self.wizard.show()
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        wizard = PairingWizard(self.ctx, self.window)
        wizard.paired.connect(self._paired)
        wizard.requestOpened.connect(self._request_opened)
        wizard.finished.connect(lambda _: self._wizard_closed(wizard))
        self.wizard = wizard
        self.window.bring_up()
        wizard.show()
        wizard.raise_()

    def pair_preview(self, preview: object) -> None:
        self.pair()
        if self.wizard is not None:
            self.wizard.show_preview(preview)  # type: ignore[arg-type]

    def _wizard_closed(self, wizard: PairingWizard) -> None:
        if self.wizard is wizard:
            self.wizard = None
        wizard.deleteLater()

    def _paired(self, hem: HemView) -> None:
        self.window.hems.reload()
        self.window.refresh_screen()
        self.core.check_now()

    def _request_opened(self, request: AccessRequest) -> None:
        self.window.requests.add(request)
        self.raise_for(request.id)

    def open_args(self, args: list[str]) -> None:
        """Arguments from a second launch: ``encedo-auth:`` links; always raise the window."""
        self.window.bring_up()
        for arg in args:
            text = arg.strip()
            if not text.lower().startswith("encedo-auth:"):
                continue
            if self.core.locked:
                self.window.lock_view.banner.show_message(
                    self.tr("Unlock first, then open the link again."), "info"
                )
                continue
            if text.lower().startswith("encedo-auth:pair"):
                self.pair()
                if self.wizard is not None:
                    self.wizard.read_text(text)
            else:
                self.window.show_request()
                self.window.requests.open_text(text)

    def try_demo(self) -> None:
        answer = QMessageBox.question(
            self.window,
            self.tr("Try the demo"),
            self.tr(
                "The demo runs a built-in HEM and broker in a separate demo home and opens the "
                "demo page in your browser. Nothing is mixed with your real data.\n\n"
                "The app restarts in demo mode. Continue?"
            ),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        program, arguments = demo_command(self.core.paths.data_dir)
        started, _pid = QProcess.startDetached(program, arguments)  # (ok, pid) in PySide6
        if started:
            self.quit()
        else:
            QMessageBox.warning(self.window, APP_NAME, self.tr("The demo could not be started."))

    # ================================================================== settings and theme

    def _settings_changed(self, settings: Settings) -> None:
        apply_theme(self.app, settings.theme)
        self.notifications.set_enabled(settings.notifications)
        self._update_privacy()
        self.core.check_now()

    def _theme_changed(self) -> None:
        if self.core.settings.theme == "system":
            apply_theme(self.app, "system")

    # ================================================================== closing

    def _closed_to_tray(self) -> None:
        if not self.tray.available():  # the window minimised itself: say once what would help
            state = self._ui_state()
            if not state.get("no_tray_note_shown"):
                state["no_tray_note_shown"] = True
                self._save_ui_state(state)
                self._no_tray_note()
            return
        state = self._ui_state()
        if not state.get("tray_note_shown"):
            self.tray.message(
                APP_NAME,
                self.tr(
                    "The authenticator keeps running in the tray, so requests still reach "
                    "you. Quit from the tray's menu."
                ),
            )
            state["tray_note_shown"] = True
            self._save_ui_state(state)

    def desktop_live(self) -> Live:
        """What this running app found on the desktop (Settings → This desktop)."""
        notifier = self.notifications.notifier
        return Live(
            notifier=notifier.name,
            notifier_reason=str(getattr(notifier, "reason", "")),
            tray=self.tray.available(),
            idle_source=self.idle.source_name,
            lock=self.session_lock.status if self.session_lock is not None else {},
            keychain=self.ctx.flags.get("keychain_available"),
        )

    def _no_tray_note(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            APP_NAME,
            self.tr(
                "This desktop shows no tray, so the window was minimised instead of hidden: "
                "the app keeps running and requests still reach you.\n\n{hint}\n\n"
                "Settings → This desktop shows what else this desktop offers."
            ).format(hint=tray_install_hint(os.environ.get("XDG_CURRENT_DESKTOP", ""))),
            QMessageBox.StandardButton.Ok,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.no_tray_note = box
        box.open()

    def _ui_state(self) -> dict[str, Any]:
        path = self.core.paths.config_dir / UI_STATE_FILE
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return obj if isinstance(obj, dict) else {}

    def _save_ui_state(self, state: dict[str, Any]) -> None:
        path = self.core.paths.config_dir / UI_STATE_FILE
        try:
            write_private_atomic(path, json.dumps(state).encode("utf-8"))
        except OSError:
            log.info("could not remember the tray note")

    def on_quit(self, fn: Callable[[], None]) -> None:
        self._on_quit.append(fn)

    def quit(self) -> None:
        self.shutdown()
        self.app.quit()

    def shutdown(self) -> None:
        """Stop everything, in order; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.status_timer.stop()
        self.idle.stop()
        self.app.removeEventFilter(self.idle)
        self.ctx.clipboard.clear()
        self.core.stop()
        if self.session_lock is not None:
            self.session_lock.stop()
        try:
            self.notifications.close()
        except Exception:
            log.exception("closing the notifications failed")
        for fn in self._on_quit:
            try:
                fn()
            except Exception:
                log.exception("stopping %s failed", fn)
        self.ctx.tasks.close()
        self.tray.hide()
        self.window.quitting = True
        self.window.close()
        self.core.close()


def demo_command(home: os.PathLike[str] | str) -> tuple[str, list[str]]:
    """How to start this same app in demo mode (a venv, a bundle, an installed script)."""
    if getattr(sys, "frozen", False):
        return sys.executable, ["--home", str(home), "--demo"]
    return sys.executable, ["-m", "authenticator", "--home", str(home), "--demo"]

"""``NotificationRouter``: the core's requests as notifications, the person's clicks as answers.

Usage (on the GUI thread, with the ``QApplication`` and the tray icon created)::

    router = NotificationRouter(core, raise_window=show_request, tray=tray_icon)
    router.start()                     # listens to the core; shows what is already pending
    router.answered.connect(...)       # (request_id, "approved" | "denied"), GUI thread
    router.failed.connect(...)         # (request_id, message a person can act on), GUI thread
    router.set_enabled(settings.notifications)
    ...
    router.close()                     # at quit: stops listening, withdraws every bubble

What it does:

- ``request_added`` → ``notifier.show``; ``request_removed`` (answered, expired, cancelled,
  handled elsewhere, locked) → ``notifier.withdraw``; locking withdraws everything. The core
  calls its listeners on worker threads; the router hops to the GUI thread with queued signals
  before it touches the notifier (the tray balloon is a widget call).
- Actions (always on the GUI thread): **open** → ``raise_window(request_id)``; **approve** →
  ``core.approve(request_id, Period.MIN15, write=False)`` — the default period, never write
  access, since the bubble showed no choice — and **deny** → ``core.deny(request_id)``, both
  run off the GUI thread. While the core is locked neither runs: the window is raised instead
  (it shows the lock screen). A failure (network, expired meanwhile…) is reported on
  ``failed`` and, if the request is still pending, the window is raised so the person can try
  again there.

``raise_window(request_id)`` is the app's: show the approval window with that request (or the
lock screen when locked). ``run_in_background(fn)`` runs ``fn`` off the GUI thread (default: a
daemon thread per answer; pass the app's task runner to share its pool).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from authenticator.core.app import Core
from authenticator.core.model import AccessRequest, ConnectionState, Outcome
from authenticator.errors import AuthenticatorError, LockedError
from authenticator.gui.notify import make_notifier
from authenticator.gui.notify.base import Action, ActionCallback, Notifier
from authenticator.protocol.periods import Period

__all__ = ["NotificationRouter", "NotifierFactory"]

log = logging.getLogger(__name__)

NotifierFactory = Callable[[ActionCallback], Notifier]
"""Makes the notifier, given the router's ``on_action`` (default: :func:`make_notifier`)."""


def _in_a_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="notification-answer", daemon=True).start()


class NotificationRouter(QObject):
    """Connects the core, a notifier and the app's approval window (see the module docstring).

    It is a :class:`~authenticator.core.listener.CoreListener`. Create, start and close it on
    the GUI thread.
    """

    answered = Signal(str, str)
    """(request id, ``"approved"`` or ``"denied"``): an answer given from a notification."""
    failed = Signal(str, str)
    """(request id, message): an answer from a notification did not go through."""

    _added = Signal(object)
    _removed = Signal(str)
    _lock_changed = Signal(bool)
    _finished = Signal(str, str, str)  # request id, action, error message ("" when it worked)

    def __init__(
        self,
        core: Core,
        raise_window: Callable[[str], None],
        *,
        tray: QSystemTrayIcon | None = None,
        prefer: str | None = None,
        notifier_factory: NotifierFactory | None = None,
        run_in_background: Callable[[Callable[[], None]], None] = _in_a_thread,
        attention: Callable[[str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._raise_window = raise_window
        self._run = run_in_background
        self._enabled = True
        self._started = False
        self._shown: set[str] = set()
        self._busy: set[str] = set()  # answers on their way (a second click is ignored)
        queued = Qt.ConnectionType.QueuedConnection
        self._added.connect(self._on_added, queued)
        self._removed.connect(self._on_removed, queued)
        self._lock_changed.connect(self._on_lock_changed, queued)
        self._finished.connect(self._on_finished, queued)
        if notifier_factory is None:
            self.notifier = make_notifier(
                tray, self.on_action, raise_window, prefer=prefer, attention=attention
            )
        else:
            self.notifier = notifier_factory(self.on_action)

    # ------------------------------------------------------------ life cycle (GUI thread)

    def start(self) -> None:
        """Listen to the core and show the requests already waiting."""
        if self._started:
            return
        self._started = True
        self._core.add_listener(self)
        if not self._core.locked:
            for request in self._core.pending():
                self._show(request)

    def close(self) -> None:
        """Stop listening and withdraw every bubble (the notifier is closed)."""
        if self._started:
            self._core.remove_listener(self)
            self._started = False
        self._shown.clear()
        self.notifier.close()

    @property
    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        """The "notifications" setting: when off, nothing is shown and what is shown goes."""
        self._enabled = enabled
        if not enabled:
            self._withdraw_all()
        elif self._started and not self._core.locked:
            for request in self._core.pending():
                self._show(request)

    # ------------------------------------------------------------ CoreListener (any thread)

    def request_added(self, request: AccessRequest) -> None:
        self._added.emit(request)

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self._removed.emit(request.id)

    def lock_changed(self, locked: bool) -> None:
        self._lock_changed.emit(locked)

    def connection_changed(self, state: ConnectionState) -> None:
        """Not a notification matter (the tray shows it)."""

    def hems_changed(self) -> None:
        """Not a notification matter."""

    def journal_changed(self) -> None:
        """Not a notification matter."""

    # ------------------------------------------------------------ the GUI thread

    @Slot(object)
    def _on_added(self, request: AccessRequest) -> None:
        if self._started:
            self._show(request)

    @Slot(str)
    def _on_removed(self, request_id: str) -> None:
        if request_id in self._shown:
            self._shown.discard(request_id)
            self.notifier.withdraw(request_id)

    @Slot(bool)
    def _on_lock_changed(self, locked: bool) -> None:
        if locked:
            self._withdraw_all()
        elif self._started and self._enabled:
            for request in self._core.pending():
                self._show(request)

    def _show(self, request: AccessRequest) -> None:
        if not self._enabled or self._core.locked or request.id in self._shown:
            return
        self._shown.add(request.id)
        self.notifier.show(request)

    def _withdraw_all(self) -> None:
        for request_id in sorted(self._shown):
            self.notifier.withdraw(request_id)
        self._shown.clear()

    def on_action(self, request_id: str, action: Action) -> None:
        """The person chose ``action`` in the notification of ``request_id`` (GUI thread)."""
        if request_id in self._shown:  # that bubble is done (the backend closed it)
            self._shown.discard(request_id)
            self.notifier.withdraw(request_id)
        if action == "open":
            self._raise_window(request_id)
            return
        if action not in ("approve", "deny"):
            log.warning("Ignoring the unknown notification action %r", action)
            return
        if self._core.locked:  # approving from a bubble still passes the lock check
            log.info("A notification was answered while locked; showing the window instead.")
            self._raise_window(request_id)
            return
        if request_id in self._busy:
            return
        self._busy.add(request_id)

        def work() -> None:
            error = ""
            try:
                if action == "approve":
                    self._core.approve(request_id, Period.MIN15, False)
                else:
                    self._core.deny(request_id)
            except LockedError:
                error = "locked"
            except AuthenticatorError as exc:
                error = str(exc) or type(exc).__name__
            except Exception as exc:
                log.exception("Answering %s from a notification failed", request_id)
                error = f"Something went wrong ({type(exc).__name__})."
            self._finished.emit(request_id, action, error)

        self._run(work)

    @Slot(str, str, str)
    def _on_finished(self, request_id: str, action: str, error: str) -> None:
        self._busy.discard(request_id)
        if not error:
            self.answered.emit(request_id, "approved" if action == "approve" else "denied")
            return
        if error == "locked":
            self._raise_window(request_id)
            return
        log.info("Answering %s from a notification failed: %s", request_id, error)
        self.failed.emit(request_id, error)
        if request_id in self._core.inbox:
            self._raise_window(request_id)

"""``NotificationRouter``: the core's requests as notifications, the person's clicks as answers.

Usage (on the GUI thread, with the ``QApplication`` and the tray icon created)::

    router = NotificationRouter(core, raise_window=show_request, tray=tray_icon,
                                bridge=ctx.bridge, tasks=ctx.tasks)
    router.start()                     # follows the bridge; shows what is already pending
    router.answered.connect(...)       # (request_id, "approved" | "denied"), GUI thread
    router.failed.connect(...)         # (request_id, message a person can act on), GUI thread
    router.set_enabled(settings.notifications)
    ...
    router.close()                     # at quit: stops following, withdraws every bubble

What it does:

- It hears the core through the app's one :class:`~authenticator.gui.bridge.Bridge` (its
  signals arrive on the GUI thread): a request added → ``notifier.show``; a request removed
  (answered, expired, cancelled, handled elsewhere, locked) → ``notifier.withdraw``; locking
  withdraws everything.
- Actions (always on the GUI thread): **open** → ``raise_window(request_id)``; **approve** →
  ``core.approve(request_id, Period.MIN15, write=False)`` — the default period, never write
  access, since the bubble showed no choice — and **deny** → ``core.deny(request_id)``, both
  run on the app's :class:`~authenticator.gui.tasks.TaskRunner` (the shutdown waits for them).
  While the core is locked neither runs: the window is raised instead (it shows the lock
  screen). A failure (network, expired meanwhile…) is reported on ``failed`` in the runner's
  words and, if the request is still pending, the window is raised so the person can try again.

Without ``bridge`` or ``tasks`` (tests of the router alone) it makes its own of each — the same
classes the app uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from authenticator.core.app import Core
from authenticator.core.model import AccessRequest, Outcome
from authenticator.errors import LockedError
from authenticator.gui.bridge import Bridge
from authenticator.gui.notify import make_notifier
from authenticator.gui.notify.base import Action, ActionCallback, Notifier
from authenticator.gui.qtfix import emit
from authenticator.gui.tasks import TaskRunner
from authenticator.protocol.periods import Period

__all__ = ["NotificationRouter", "NotifierFactory"]

log = logging.getLogger(__name__)

NotifierFactory = Callable[[ActionCallback], Notifier]
"""Makes the notifier, given the router's ``on_action`` (default: :func:`make_notifier`)."""


class NotificationRouter(QObject):
    """Connects the core, a notifier and the app's approval window (see the module docstring).

    Create, start and close it on the GUI thread.
    """

    answered = Signal(str, str)
    """(request id, ``"approved"`` or ``"denied"``): an answer given from a notification."""
    failed = Signal(str, str)
    """(request id, message): an answer from a notification did not go through."""

    def __init__(
        self,
        core: Core,
        raise_window: Callable[[str], None],
        *,
        tray: QSystemTrayIcon | None = None,
        prefer: str | None = None,
        notifier_factory: NotifierFactory | None = None,
        bridge: Bridge | None = None,
        tasks: TaskRunner | None = None,
        attention: Callable[[str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._raise_window = raise_window
        self._own_bridge = bridge is None
        self._bridge = bridge if bridge is not None else Bridge(self)
        self._own_tasks = tasks is None
        self._tasks = tasks if tasks is not None else TaskRunner(self)
        self._enabled = True
        self._started = False
        self._shown: set[str] = set()
        self._busy: set[str] = set()  # answers on their way (a second click is ignored)
        if notifier_factory is None:
            self.notifier = make_notifier(
                tray, self.on_action, raise_window, prefer=prefer, attention=attention
            )
        else:
            self.notifier = notifier_factory(self.on_action)

    # ------------------------------------------------------------ life cycle (GUI thread)

    def start(self) -> None:
        """Follow the core's events and show the requests already waiting."""
        if self._started:
            return
        self._started = True
        if self._own_bridge:
            self._core.add_listener(self._bridge)
        self._bridge.requestAdded.connect(self._on_added)
        self._bridge.requestRemoved.connect(self._on_removed)
        self._bridge.lockChanged.connect(self._on_lock_changed)
        if not self._core.locked:
            for request in self._core.pending():
                self._show(request)

    def close(self) -> None:
        """Stop following, wait for answers on their way, withdraw every bubble."""
        if self._started:
            self._started = False
            self._bridge.requestAdded.disconnect(self._on_added)
            self._bridge.requestRemoved.disconnect(self._on_removed)
            self._bridge.lockChanged.disconnect(self._on_lock_changed)
            if self._own_bridge:
                self._core.remove_listener(self._bridge)
        if self._own_tasks:
            self._tasks.close()
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

    # ------------------------------------------------------------ the bridge (GUI thread)

    def _on_added(self, request: AccessRequest) -> None:
        if self._started:
            self._show(request)

    def _on_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        if request.id in self._shown:
            self._shown.discard(request.id)
            self.notifier.withdraw(request.id)

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
        core = self._core

        def work() -> None:
            if action == "approve":
                core.approve(request_id, Period.MIN15, False)
            else:
                core.deny(request_id)

        self._tasks.run(
            work,
            lambda _: self._done(request_id, action),
            lambda message, exc: self._failed(request_id, message, exc),
            owner=self,
            name=f"notification-{action}",
        )

    def _done(self, request_id: str, action: str) -> None:
        self._busy.discard(request_id)
        emit(self.answered, request_id, "approved" if action == "approve" else "denied")

    def _failed(self, request_id: str, message: str, exc: BaseException) -> None:
        self._busy.discard(request_id)
        if isinstance(exc, LockedError):
            self._raise_window(request_id)
            return
        log.info("Answering %s from a notification failed: %s", request_id, message)
        emit(self.failed, request_id, message)
        if request_id in self._core.inbox:
            self._raise_window(request_id)

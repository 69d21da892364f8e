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
  screen). A request with code matching (``request.codes``) is never approved from a bubble —
  approving needs the code the requester shows — so its Approve opens the window instead. A
  failure (network, expired meanwhile…) is reported on ``failed`` in the runner's words and, if
  the request is still pending, the window is raised so the person can try again.

Without ``bridge`` or ``tasks`` (tests of the router alone) it makes its own of each — the same
classes the app uses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from authenticator import APP_NAME
from authenticator.core.app import Core
from authenticator.core.model import AccessRequest, Outcome
from authenticator.errors import LockedError
from authenticator.gui.bridge import Bridge
from authenticator.gui.notify import make_notifier
from authenticator.gui.notify.base import Action, ActionCallback, Notifier
from authenticator.gui.notify.text import hem_name
from authenticator.gui.qtfix import emit
from authenticator.gui.tasks import TaskRunner
from authenticator.protocol.periods import Period

__all__ = ["NotificationRouter", "NotifierFactory"]

log = logging.getLogger(__name__)

LOCKED_KEY = "notice:locked"
GROUP_KEY = "notice:group"
PRIVATE_KEY = "notice:private"
NOTICE_KEY = "notice:core:"

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
        self._notices: set[str] = set()  # shown notices (see ``Notifier.show_notice``)
        self._notice_count = 0
        self._private = False
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
        for signal, slot in self._connections():
            signal.connect(slot)
        if self._core.locked:
            self._on_locked_waiting(self._core.waiting_while_locked)
        else:
            self._show_pending()

    def _connections(self) -> list[tuple[Any, Callable[..., None]]]:
        bridge = self._bridge
        return [
            (bridge.requestAdded, self._on_added),
            (bridge.requestRemoved, self._on_removed),
            (bridge.lockChanged, self._on_lock_changed),
            (bridge.lockedWaiting, self._on_locked_waiting),
            (bridge.noticed, self._on_notice),
        ]

    def close(self) -> None:
        """Stop following, wait for answers on their way, withdraw every bubble."""
        if self._started:
            self._started = False
            for signal, slot in self._connections():
                signal.disconnect(slot)
            if self._own_bridge:
                self._core.remove_listener(self._bridge)
        if self._own_tasks:
            self._tasks.close()
        self._shown.clear()
        self._notices.clear()
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
            self._show_pending()

    @property
    def private(self) -> bool:
        return self._private

    def set_private(self, private: bool) -> None:
        """Private notifications (the screen is locked, or the owner chose so): bubbles say only
        that an access request is waiting — no scope, HEM or location."""
        if private == self._private:
            return
        self._private = private
        if not self._started or self._core.locked:
            return
        self._withdraw_all()
        self._show_pending()

    # ------------------------------------------------------------ the bridge (GUI thread)

    def _on_added(self, request: AccessRequest) -> None:
        if self._started:
            self._show(request)

    def _on_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        if request.id in self._shown:
            self._shown.discard(request.id)
            self.notifier.withdraw(request.id)
        if not self._core.pending():
            self._withdraw_notice(GROUP_KEY)
            self._withdraw_notice(PRIVATE_KEY)
        elif PRIVATE_KEY in self._notices:
            self._private_notice()

    def _on_lock_changed(self, locked: bool) -> None:
        if locked:
            self._withdraw_all()
        elif self._started:
            self._withdraw_notice(LOCKED_KEY)
            if self._enabled:
                self._show_pending()

    def _on_locked_waiting(self, count: int) -> None:
        """Locked, with ``count`` requests waiting: one bubble with no details, to unlock."""
        if not self._started or not self._enabled or not self._core.locked or count <= 0:
            self._withdraw_notice(LOCKED_KEY)
            return
        body = (
            "An access request is waiting; unlock Encedo Authenticator to see it."
            if count == 1
            else f"{count} access requests are waiting; unlock Encedo Authenticator to see them."
        )
        self._notice(LOCKED_KEY, "A request is waiting — Unlock", body)

    def _on_notice(self, message: str) -> None:
        if self._started and self._enabled:
            self._notice_count += 1
            self._notice(f"{NOTICE_KEY}{self._notice_count}", APP_NAME, message)

    def _show_pending(self) -> None:
        """After unlocking, after privacy ends, at start: one bubble for one request, one
        grouped bubble for several (never a burst)."""
        pending = self._core.pending()
        if len(pending) == 1 or (pending and self._private):
            self._show(pending[0])
            return
        if not pending or not self._enabled:
            return
        lines = [f"{r.title} — {hem_name(r)}" for r in pending[:6]]
        if len(pending) > 6:
            lines.append(f"… and {len(pending) - 6} more")
        self._notice(GROUP_KEY, f"{len(pending)} access requests are waiting", "\n".join(lines))

    def _show(self, request: AccessRequest) -> None:
        if not self._enabled or self._core.locked or request.id in self._shown:
            return
        if self._private:
            self._private_notice()
            return
        self._shown.add(request.id)
        self.notifier.show(request)

    def _private_notice(self) -> None:
        count = len(self._core.pending())
        body = (
            "Open Encedo Authenticator to see it."
            if count <= 1
            else f"{count} are waiting; open Encedo Authenticator to see them."
        )
        self._notice(PRIVATE_KEY, "An access request is waiting", body)

    def _notice(self, key: str, title: str, body: str) -> None:
        self._notices.add(key)
        self.notifier.show_notice(key, title, body)

    def _withdraw_notice(self, key: str) -> None:
        if key in self._notices:
            self._notices.discard(key)
            self.notifier.withdraw(key)

    def _withdraw_all(self) -> None:
        for request_id in sorted(self._shown):
            self.notifier.withdraw(request_id)
        self._shown.clear()
        for key in sorted(self._notices):
            self.notifier.withdraw(key)
        self._notices.clear()

    def on_action(self, request_id: str, action: Action) -> None:
        """The person chose ``action`` in the notification of ``request_id`` (GUI thread)."""
        if request_id in self._notices:  # a notice only ever opens the app
            self._withdraw_notice(request_id)
            pending = self._core.pending()
            self._raise_window(pending[0].id if pending and not self._core.locked else "")
            return
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
        if action == "approve" and self._needs_code(request_id):
            log.info("Approving %s needs its code: showing the window instead.", request_id)
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

    def _needs_code(self, request_id: str) -> bool:
        """Whether approving ``request_id`` needs a code picked in the window."""
        return any(r.id == request_id and r.codes for r in self._core.pending())

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

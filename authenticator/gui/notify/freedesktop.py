"""Notifications with Approve / Deny / Open through org.freedesktop.Notifications (Linux, BSD).

Why jeepney and not QtDBus: PySide6's QtDBus sends Python ints as int32, so ``Notify`` goes out
as ``(sisssasa{sv}i)`` and every server rejects it. Why a worker thread: a D-Bus call waits for
its reply, and a hung notification server blocked a caller for 5 s when measured; the GUI
thread only puts commands on a queue. Why a *threading router* with filters: the blocking API
silently drops signals that arrive while it waits for a reply, and ``ActionInvoked`` /
``NotificationClosed`` are sent only to the connection that called ``Notify``.

One worker thread owns the connection and everything about it: it opens the connection, asks the
server who it is (``GetServerInformation``) and what it can do (``GetCapabilities``), then runs
commands (``Notify``, ``CloseNotification``) and handles the signals the router's receiver thread
puts on the *same* queue, in arrival order. So the request ↔ notification map needs no lock for
correctness (a small one guards the read-only snapshots tests and diagnostics take). Every call
carries a timeout. The person's choice is handed to ``on_action`` on the GUI thread through a
queued Qt signal, then the bubble is closed (dunst leaves it open after an action; the
``resident`` hint asks every server to do the same, so the behaviour is one everywhere).

Only signals from the current owner of ``org.freedesktop.Notifications`` count: another program
on the session bus cannot approve a request by broadcasting a forged ``ActionInvoked``.

Raising the window after a click on Wayland: a compositor lets a window take the focus only with
an xdg-activation token, and a notification server (spec 1.2) hands one over in the
``ActivationToken`` signal just before ``ActionInvoked``. The token is kept for its bubble and,
while the app handles that action on the GUI thread, put in ``XDG_ACTIVATION_TOKEN``, which
Qt's Wayland plugin uses (and clears) in the next ``QWindow.requestActivate()``.

:data:`BUTTONLESS` names servers that take actions but draw no buttons, where a click on the
bubble does not reach the app by default (dunst closes the bubble on a left click): the app
brings its window forward for them too (``gui.notify.make_notifier``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import InvalidStateError
from typing import Any

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, message_bus, new_method_call
from jeepney.io.common import RouterClosed
from jeepney.io.threading import DBusConnection, DBusRouter, open_dbus_connection
from jeepney.wrappers import DBusErrorResponse, unwrap_msg
from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

from authenticator import APP_ID, APP_NAME
from authenticator.core.model import AccessRequest
from authenticator.errors import StateError
from authenticator.gui.notify.base import Action, ActionCallback
from authenticator.gui.notify.text import action_line, claim_lines, escape_markup
from authenticator.protocol.periods import Period

__all__ = ["BUTTONLESS", "NOTIFICATION_ACTIONS", "FreedesktopNotifier", "notification_body"]

log = logging.getLogger(__name__)

NOTIFICATIONS = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
CATEGORY = "x-encedo.request"
URGENCY_CRITICAL = 2  # stays until answered (or withdrawn)
INT32_MAX = 2**31 - 1
NOTIFICATION_ACTIONS: dict[str, Action] = {
    "approve": "approve",
    "deny": "deny",
    "open": "open",
    "default": "open",  # a click on the bubble itself
}
ACTIVATION_ENV = "XDG_ACTIVATION_TOKEN"
BUTTONLESS: dict[str, str] = {
    # server name (GetServerInformation) → where its actions are, in words
    "dunst": "dunst draws no buttons: Approve and Deny are in its context menu (Ctrl+Shift+.), "
    "and a click closes the bubble",
}
_STOP = object()
_LOST = object()

_TARGET = DBusAddress(PATH, bus_name=NOTIFICATIONS, interface=NOTIFICATIONS)


def _default_icon() -> str:
    """The app icon as a file path (every server takes one), else its icon-theme name."""
    try:
        from authenticator.resources import icon_path

        return str(icon_path(size=64))
    except (StateError, OSError):
        return APP_ID


def notification_body(request: AccessRequest, *, markup: bool) -> str:
    """What the bubble says below its title, a line each: the verified action first (from the
    scope alone), what Approve grants, the expiry, and only then the outsiders' words, cleaned
    and labelled with whose claim they are (:mod:`authenticator.gui.notify.text`).

    Approve in a bubble always grants the default (15 min, read-only); saying so keeps the
    one-click answer honest. A request with code matching has no Approve in its bubble (the
    code is picked in the window): the body says so instead. With ``markup`` (the server's
    ``body-markup`` capability) the body is escaped for the markup subset (``&``, ``<``, ``>``
    and quotes).
    """
    lines = [action_line(request)]
    if request.codes:
        lines.append("Open it to pick the code the requester shows, then approve.")
    elif request.info.known:
        grant = request.grant_text(Period.MIN15, False)
        lines.append(f"Approve: {grant[0].lower()}{grant[1:]}.")
    lines.append(f"Expires at {time.strftime('%H:%M', time.localtime(request.expires_at))}.")
    lines += claim_lines(request)
    body = "\n".join(lines)
    return escape_markup(body) if markup else body


class _Relay(QObject):
    """Carries an action from the worker thread to the GUI thread (a queued connection)."""

    fired = Signal(str, str, str)  # request id, action, activation token ("" when none)

    def __init__(self, deliver: Callable[[str, str, str], None]) -> None:
        super().__init__()
        self._deliver_to = deliver
        app = QCoreApplication.instance()
        if app is None:
            raise StateError("Desktop notifications need the running Qt application.")
        if self.thread() is not app.thread():
            self.moveToThread(app.thread())
        # Explicitly queued: the slot runs in this object's (the GUI) thread's event loop,
        # whichever thread emits.
        self.fired.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(str, str, str)
    def _deliver(self, request_id: str, action: str, token: str) -> None:
        self._deliver_to(request_id, action, token)


class _Router(DBusRouter):  # type: ignore[misc]  # jeepney has no type hints
    """jeepney's threading router, whose receiver thread ends quietly when the bus goes away.

    The stock receiver lets the connection error escape its thread (a traceback on stderr);
    here it is logged once and the worker is told, so it stops using the connection.
    """

    def __init__(self, connection: DBusConnection, lost: Callable[[], None]) -> None:
        self._lost = lost
        super().__init__(connection)

    def _dispatch(self, message: Message) -> None:
        try:
            super()._dispatch(message)
        except InvalidStateError:
            # A second answer to one call, arriving before the caller took the first: mako 1.7
            # (Debian 12) answers GetCapabilities with its list *and* an UnknownMethod error.
            # jeepney would let this end the receiver thread; the first answer counts.
            log.debug("A duplicate D-Bus reply was ignored.")

    def _receiver(self) -> None:
        try:
            super()._receiver()
        except Exception as exc:  # noqa: BLE001 - the bus closed the connection, sent garbage,
            # or jeepney's clean-up tripped over a reply that had just arrived: either way the
            # connection is done for, and waiting callers time out.
            log.info("The session bus connection was lost: %s", exc or type(exc).__name__)
            self._lost()


class FreedesktopNotifier:
    """The :class:`~authenticator.gui.notify.base.Notifier` for org.freedesktop.Notifications.

    Create it on the GUI thread (a ``QCoreApplication`` must exist); it connects at once on its
    own worker thread. :meth:`wait_ready` tells whether the server answered; until then (and if
    it never does) :meth:`show` and :meth:`withdraw` only queue, so nothing ever blocks.

    ``bus`` is ``"SESSION"`` or a D-Bus address; ``call_timeout`` bounds every D-Bus call;
    ``icon`` is the bubble's icon (a file path or an icon-theme name).
    """

    name = "freedesktop"

    def __init__(
        self,
        on_action: ActionCallback,
        *,
        bus: str = "SESSION",
        icon: str | None = None,
        call_timeout: float = 2.0,
    ) -> None:
        self._on_action = on_action
        self._bus = bus
        self._icon = icon if icon is not None else _default_icon()
        self._timeout = call_timeout
        self.supports_actions = False
        self.server: tuple[str, str, str, str] | None = None
        """(name, vendor, version, spec version) as the server reported it."""
        self.capabilities: frozenset[str] = frozenset()
        self.failure: str | None = None
        """Why the notifier is unusable (connection or probe failure), else ``None``."""

        self._queue: queue.Queue[object] = queue.Queue()
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._closed = False
        self._owner = ""  # unique name of the server's connection: the only trusted sender
        self._router: DBusRouter | None = None
        self._notification_of: dict[str, int] = {}  # request id → notification id
        self._request_of: dict[int, str] = {}  # notification id → request id
        self._tokens: dict[int, str] = {}  # notification id → its xdg-activation token
        self._map_lock = threading.Lock()
        self._relay = _Relay(self._deliver)
        self._worker = threading.Thread(target=self._run, name="freedesktop-notifier", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------ the GUI thread's side

    def wait_ready(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the connection and the server's answers; True if usable."""
        return self._ready.wait(timeout) and self.failure is None

    @property
    def server_name(self) -> str:
        """The server's own name (``dunst``, ``mako``, ``gnome-shell``…), "" before it answered."""
        return self.server[0] if self.server else ""

    @property
    def draws_buttons(self) -> bool:
        """Whether the person sees Approve / Deny on the bubble itself (see :data:`BUTTONLESS`)."""
        return self.supports_actions and self.server_name not in BUTTONLESS

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.failure is None

    def show(self, request: AccessRequest) -> None:
        """Queue a bubble for ``request`` (an already shown request's bubble is replaced)."""
        if not self._closed and not self._stopped.is_set():
            self._queue.put(lambda: self._notify(request))

    def show_notice(self, key: str, title: str, body: str) -> None:
        """Queue a bubble that only opens the app (see ``Notifier.show_notice``)."""
        if not self._closed and not self._stopped.is_set():
            self._queue.put(lambda: self._notify_notice(key, title, body))

    def withdraw(self, request_id: str) -> None:
        """Queue closing the bubble of ``request_id`` (nothing if it has none)."""
        if not self._closed and not self._stopped.is_set():
            self._queue.put(lambda: self._close_request(request_id))

    def close(self, wait: float = 1.0) -> None:
        """Close every bubble and the connection.

        Waits at most ``wait`` seconds (at quit, so the bubbles of requests nobody can answer
        any more do not outlive the app); the worker finishes on its own if it takes longer.
        """
        if self._closed:
            return
        self._closed = True
        self._queue.put(self._close_all)
        self._queue.put(_STOP)
        if wait > 0:
            self._stopped.wait(wait)

    def notification_id(self, request_id: str) -> int | None:
        """The server's id of the bubble showing ``request_id``, if one is shown (diagnostics)."""
        with self._map_lock:
            return self._notification_of.get(request_id)

    def shown(self) -> dict[str, int]:
        """A snapshot: request id → notification id of every bubble on screen."""
        with self._map_lock:
            return dict(self._notification_of)

    def _deliver(self, request_id: str, action: str, token: str) -> None:
        """On the GUI thread: hand the person's choice to the app.

        With the click's activation token in the environment while the app handles it, so a
        window it raises may take the focus on Wayland (Qt clears the variable when it uses it).
        """
        if self._closed or action not in ("approve", "deny", "open"):
            return
        if token:
            os.environ[ACTIVATION_ENV] = token
        try:
            self._on_action(request_id, action)  # type: ignore[arg-type]
        finally:
            if token:
                os.environ.pop(ACTIVATION_ENV, None)  # unused: it is good for one click only

    # ------------------------------------------------------------ the worker thread

    def _run(self) -> None:
        try:
            self._start()
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            self.failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.info("Desktop notifications are not available: %s", self.failure)
            self._teardown()
            self._ready.set()
            self._stopped.set()
            return
        self._ready.set()
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                if item is _LOST:
                    self.failure = "The session bus connection was lost."
                    with self._map_lock:
                        self._notification_of.clear()
                        self._request_of.clear()
                    break
                try:
                    if isinstance(item, Message):
                        self._on_signal(item)
                    elif callable(item):
                        item()
                except (TimeoutError, DBusErrorResponse, RouterClosed, OSError) as exc:
                    log.warning("A desktop notification call failed: %s", exc)
                except Exception:
                    log.exception("Desktop notification handling failed")
        finally:
            self._teardown()
            self._stopped.set()

    def _start(self) -> None:
        """Connect, listen for the server's signals, ask it who it is and what it can do."""
        connection = open_dbus_connection(bus=self._bus, auth_timeout=self._timeout)
        try:
            self._router = _Router(connection, lambda: self._queue.put(_LOST))
        except Exception:
            connection.close()
            raise
        router = self._router
        # Local filters (the router checks them on its receiver thread): the header's sender is
        # the server's unique name, so these rules match on interface/path and _on_signal checks
        # the sender. The bus-side rules name the well-known name; the daemon resolves it.
        signals = MatchRule(type="signal", interface=NOTIFICATIONS, path=PATH)
        router.filter(signals, queue=self._queue)
        owner_rule = MatchRule(
            type="signal",
            sender=message_bus.bus_name,
            interface=message_bus.interface,
            member="NameOwnerChanged",
            path=message_bus.object_path,
        )
        owner_rule.add_arg_condition(0, NOTIFICATIONS)
        router.filter(owner_rule, queue=self._queue)
        self._call(message_bus.AddMatch(owner_rule))
        for member in ("ActionInvoked", "NotificationClosed", "ActivationToken"):
            rule = MatchRule(
                type="signal",
                sender=NOTIFICATIONS,
                interface=NOTIFICATIONS,
                member=member,
                path=PATH,
            )
            self._call(message_bus.AddMatch(rule))

        if not self._call(message_bus.NameHasOwner(NOTIFICATIONS))[0]:
            activatable = self._call(message_bus.ListActivatableNames())[0]
            if NOTIFICATIONS not in activatable:
                raise StateError("No notification server is running.")
        # May start an activatable server (as notify-send would); bounded by the timeout.
        name, vendor, version, spec = self._call(new_method_call(_TARGET, "GetServerInformation"))
        self.server = (name, vendor, version, spec)
        self.capabilities = frozenset(self._call(new_method_call(_TARGET, "GetCapabilities"))[0])
        self.supports_actions = "actions" in self.capabilities
        self._owner = self._call(message_bus.GetNameOwner(NOTIFICATIONS))[0]
        log.info(
            "Desktop notifications by %s (actions: %s)",
            self.server[0] if self.server else "?",
            "yes" if self.supports_actions else "no",
        )

    def _call(self, message: Message) -> tuple[Any, ...]:
        router = self._router
        if router is None:
            raise RouterClosed("not connected")
        reply = router.send_and_get_reply(message, timeout=self._timeout)
        return tuple(unwrap_msg(reply))

    def _notify(self, request: AccessRequest) -> None:
        remaining_ms = int((request.expires_at - time.time()) * 1000)
        if remaining_ms <= 0:
            log.debug("Not showing request %s: it has expired.", request.id)
            return
        actions: list[str] = []
        if self.supports_actions:
            # an unknown scope is never approvable; one with code matching only in the window
            if request.info.known and not request.codes:
                actions += ["approve", "Approve"]
            actions += ["deny", "Deny", "open", "Open", "default", "Open"]
        hints = {
            "urgency": ("y", URGENCY_CRITICAL),
            "category": ("s", CATEGORY),
            "desktop-entry": ("s", APP_ID),
            "resident": ("b", True),
        }
        replaces = self.notification_id(request.id) or 0
        body = notification_body(request, markup="body-markup" in self.capabilities)
        message = new_method_call(
            _TARGET,
            "Notify",
            "susssasa{sv}i",
            (
                APP_NAME,
                replaces,
                self._icon,
                f"{request.title} — {request.hem}",
                body,
                actions,
                hints,
                min(remaining_ms, INT32_MAX),
            ),
        )
        (notification,) = self._call(message)
        with self._map_lock:
            self._notification_of[request.id] = notification
            self._request_of[notification] = request.id

    def _notify_notice(self, key: str, title: str, body: str) -> None:
        markup = "body-markup" in self.capabilities
        actions = ["open", "Open", "default", "Open"] if self.supports_actions else []
        hints = {
            "urgency": ("y", URGENCY_CRITICAL),
            "category": ("s", CATEGORY),
            "desktop-entry": ("s", APP_ID),
            "resident": ("b", True),
        }
        message = new_method_call(
            _TARGET,
            "Notify",
            "susssasa{sv}i",
            (
                APP_NAME,
                self.notification_id(key) or 0,
                self._icon,
                title,
                escape_markup(body) if markup else body,
                actions,
                hints,
                -1,
            ),
        )
        (notification,) = self._call(message)
        with self._map_lock:
            self._notification_of[key] = notification
            self._request_of[notification] = key

    def _close_request(self, request_id: str) -> None:
        with self._map_lock:
            notification = self._notification_of.pop(request_id, None)
            if notification is not None:
                self._request_of.pop(notification, None)
        if notification is not None:
            self._close_notification(notification)

    def _close_notification(self, notification: int) -> None:
        self._call(new_method_call(_TARGET, "CloseNotification", "u", (notification,)))

    def _close_all(self) -> None:
        with self._map_lock:
            notifications = list(self._request_of)
            self._notification_of.clear()
            self._request_of.clear()
        for notification in notifications:
            with contextlib.suppress(TimeoutError, DBusErrorResponse, RouterClosed, OSError):
                self._close_notification(notification)

    def _on_signal(self, message: Message) -> None:
        fields = message.header.fields
        member = fields.get(HeaderFields.member)
        if member == "NameOwnerChanged":
            _name, _old, new = message.body
            self._owner = new
            self._tokens.clear()
            with self._map_lock:  # a new (or no) server: our bubbles are gone
                self._notification_of.clear()
                self._request_of.clear()
            return
        if not self._owner or fields.get(HeaderFields.sender) != self._owner:
            return  # only the notification server may speak for the person
        if member == "ActionInvoked":
            notification, key = message.body
            action = NOTIFICATION_ACTIONS.get(key)
            if action is None:
                return  # not one of ours (e.g. a server's own inline reply)
            with self._map_lock:
                request_id = self._request_of.pop(notification, None)
                if request_id is not None:
                    self._notification_of.pop(request_id, None)
            token = self._tokens.pop(notification, "")
            if request_id is None:
                return
            self._relay.fired.emit(request_id, action, token)
            self._close_notification(notification)  # servers like dunst leave it open
        elif member == "ActivationToken":
            notification, token = message.body
            if notification in self._request_of and isinstance(token, str):
                self._tokens[notification] = token
        elif member == "NotificationClosed":
            notification = message.body[0]
            self._tokens.pop(notification, None)
            with self._map_lock:
                request_id = self._request_of.pop(notification, None)
                if request_id is not None:
                    self._notification_of.pop(request_id, None)

    def _teardown(self) -> None:
        router, self._router = self._router, None
        if router is not None:
            with contextlib.suppress(Exception):
                router.close()
            with contextlib.suppress(Exception):
                router.conn.close()

"""Notification backends and the choice between them.

``make_notifier(tray, on_action, raise_window)`` returns the best
:class:`~authenticator.gui.notify.base.Notifier` this desktop offers:

1. ``freedesktop`` — org.freedesktop.Notifications through jeepney, with Approve / Deny / Open
   (Linux and the BSDs), when a session bus is set, a notification server runs there (or can be
   started by the bus) and it answers within ``probe_timeout`` (1 s). When that server cannot
   show the buttons (no ``actions`` capability, or one that draws none, see
   ``freedesktop.BUTTONLESS``), the bubble only tells and the window comes forward to answer:
   ``freedesktop+window`` (:class:`~authenticator.gui.notify.window.BubbleAndWindowNotifier`);
2. ``tray`` — the tray icon's balloon (no buttons: a click means Open), when a system tray is there;
3. ``window`` — raise the approval window.

``prefer`` names the backend to try first (``"freedesktop"``, ``"tray"`` or ``"window"``); the
others follow in the order above. The probe runs on the notifier's own worker thread; the GUI
thread waits at most ``probe_timeout`` for its answer, once, at start-up.

:class:`~authenticator.gui.notify.glue.NotificationRouter` wires a notifier to the core (what
each action does, the lock check, the default period); see its module.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from PySide6.QtWidgets import QSystemTrayIcon

from authenticator.gui.notify.base import Action, ActionCallback, Notifier
from authenticator.gui.notify.tray import TrayBalloonNotifier
from authenticator.gui.notify.window import BubbleAndWindowNotifier, WindowNotifier

__all__ = [
    "BACKENDS",
    "Action",
    "ActionCallback",
    "BubbleAndWindowNotifier",
    "Notifier",
    "TrayBalloonNotifier",
    "WindowNotifier",
    "make_notifier",
]

log = logging.getLogger(__name__)

BACKENDS = ("freedesktop", "tray", "window")
PROBE_TIMEOUT = 1.0


def _tray_available() -> bool:
    return bool(QSystemTrayIcon.isSystemTrayAvailable())


def _freedesktop(
    on_action: ActionCallback, bus: str | None, timeout: float, attention: Callable[[str], None]
) -> Notifier | None:
    if not (sys.platform.startswith("linux") or "bsd" in sys.platform):
        return None
    address = bus or os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if not address:
        log.info("Desktop notifications: no session bus (DBUS_SESSION_BUS_ADDRESS is not set).")
        return None
    try:
        from authenticator.gui.notify.freedesktop import FreedesktopNotifier
    except ImportError as exc:  # jeepney is missing from this installation
        log.info("Desktop notifications: %s", exc)
        return None
    notifier = FreedesktopNotifier(on_action, bus=address)
    if notifier.wait_ready(timeout):
        if notifier.draws_buttons:
            return notifier
        from authenticator.gui.notify.freedesktop import BUTTONLESS

        reason = BUTTONLESS.get(
            notifier.server_name,
            f"the notification server ({notifier.server_name or 'unnamed'}) shows no actions",
        )
        log.info("Desktop notifications cannot be answered in the bubble: %s", reason)
        return BubbleAndWindowNotifier(notifier, attention, reason=reason)
    log.info(
        "Desktop notifications are not used: %s",
        notifier.failure or f"the notification server did not answer within {timeout:g} s",
    )
    notifier.close(wait=0)
    return None


def make_notifier(
    tray: QSystemTrayIcon | None,
    on_action: ActionCallback,
    raise_window: Callable[[str], None],
    *,
    prefer: str | None = None,
    bus: str | None = None,
    probe_timeout: float = PROBE_TIMEOUT,
    attention: Callable[[str], None] | None = None,
) -> Notifier:
    """The best notifier available here (see the module's docstring); never fails.

    Call it on the GUI thread with the ``QApplication`` created. ``on_action(request_id, action)``
    is then always called on the GUI thread; ``raise_window(request_id)`` brings the approval
    window forward on that request. ``attention(request_id)`` (default: ``raise_window``) is what
    the window fallback calls for a *new* request: the app brings the window up without taking
    the person away from a request they are reading. ``bus`` overrides the session bus address.
    """
    if prefer is not None and prefer not in BACKENDS:
        raise ValueError(f"unknown notification backend {prefer!r}; use one of {BACKENDS}")
    order = [prefer] if prefer else []
    order += [name for name in BACKENDS if name != prefer]
    for name in order:
        if name == "freedesktop":
            notifier = _freedesktop(on_action, bus, probe_timeout, attention or raise_window)
            if notifier is not None:
                return notifier
        elif name == "tray":
            if tray is not None and _tray_available():
                return TrayBalloonNotifier(tray, on_action)
        else:
            return WindowNotifier(attention or raise_window)
    raise AssertionError("unreachable: the window backend is always available")

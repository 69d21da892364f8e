"""The window as the notification: alone (no notification server, no tray), or beside a bubble
that cannot be answered (a server without actions, or one that draws no buttons)."""

from __future__ import annotations

from collections.abc import Callable

from authenticator.core.model import AccessRequest
from authenticator.gui.notify.base import Notifier

__all__ = ["BubbleAndWindowNotifier", "WindowNotifier"]


class WindowNotifier:
    """The :class:`~authenticator.gui.notify.base.Notifier` that raises the approval window.

    ``raise_window(request_id)`` is the app's own (it shows the window with that request
    selected); the window is the notification, so there is nothing to withdraw.
    """

    name = "window"
    supports_actions = False

    def __init__(self, raise_window: Callable[[str], None]) -> None:
        self._raise_window = raise_window

    def show(self, request: AccessRequest) -> None:
        self._raise_window(request.id)

    def withdraw(self, request_id: str) -> None:
        """Nothing to do: the window itself drops requests that left the inbox."""

    def show_notice(self, key: str, title: str, body: str) -> None:
        self._raise_window(key)

    def close(self) -> None:
        """Nothing to release."""


class BubbleAndWindowNotifier:
    """A bubble that says a request came, and the window brought forward to answer it.

    For notification servers that show bubbles but no buttons the person can press (no
    ``actions`` capability, or a server in ``freedesktop.BUTTONLESS``): the bubble still tells
    (and, where the server has a menu, still offers its actions); the window makes sure the
    request can be answered. ``reason`` says why, for diagnostics.
    """

    name = "freedesktop+window"
    supports_actions = False

    def __init__(
        self, bubble: Notifier, raise_window: Callable[[str], None], *, reason: str
    ) -> None:
        self.bubble = bubble
        self.reason = reason
        self._raise_window = raise_window

    def show(self, request: AccessRequest) -> None:
        self.bubble.show(request)
        self._raise_window(request.id)

    def withdraw(self, request_id: str) -> None:
        self.bubble.withdraw(request_id)

    def show_notice(self, key: str, title: str, body: str) -> None:
        self.bubble.show_notice(key, title, body)
        self._raise_window(key)

    def close(self) -> None:
        self.bubble.close()

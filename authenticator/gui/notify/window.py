"""The last resort: no notification server and no tray, so the approval window comes forward."""

from __future__ import annotations

from collections.abc import Callable

from authenticator.core.model import AccessRequest

__all__ = ["WindowNotifier"]


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

    def close(self) -> None:
        """Nothing to release."""

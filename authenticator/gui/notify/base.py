"""The notifier interface: one small seam so each platform can bring its own backend.

The app calls :meth:`Notifier.show` when a request arrives and :meth:`Notifier.withdraw` when it
leaves the inbox (answered, expired, cancelled, handled elsewhere); the backend calls the
``on_action`` callback — always on the GUI thread — when the person picks Approve, Deny or Open
(or clicks the bubble itself, which means Open).

Backends (``authenticator.gui.notify``): org.freedesktop.Notifications through jeepney (Linux,
with action buttons), the tray icon's balloon (no buttons: a click means Open), and the last
resort of raising the approval window. ``make_notifier`` picks the best one available.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from authenticator.core.model import AccessRequest

__all__ = ["Action", "ActionCallback", "Notifier"]

Action = Literal["approve", "deny", "open"]
ActionCallback = Callable[[str, Action], None]
"""``on_action(request_id, action)``, called on the GUI thread."""


class Notifier(Protocol):
    name: str
    """Which backend this is (shown in diagnostics and settings)."""

    supports_actions: bool
    """Whether the bubble itself offers Approve / Deny (else only Open)."""

    def show(self, request: AccessRequest) -> None:
        """Tell the person about ``request`` (never blocks the GUI thread)."""
        ...

    def withdraw(self, request_id: str) -> None:
        """Remove the bubble of a request that left the inbox (no-op if none)."""
        ...

    def show_notice(self, key: str, title: str, body: str) -> None:
        """A bubble that is not a request: no details, only Open (``on_action(key, "open")``).
        Used while the app is locked ("A request is waiting — unlock to see it"), while the
        screen is locked (private), and for a group of requests; ``withdraw(key)`` removes it."""
        ...

    def close(self) -> None:
        """Withdraw everything and release the backend's resources."""
        ...

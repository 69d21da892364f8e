"""The tray icon's balloon: a notification without buttons, for desktops without a server.

``QSystemTrayIcon.showMessage`` draws Qt's own balloon under XEmbed trays (or the platform's on
Windows and macOS). It has no buttons, so a click on it means Open, for the latest request still
pending; Qt cannot take a balloon back, so :meth:`TrayBalloonNotifier.withdraw` only forgets the
request, and a later click opens the next one still waiting.

The balloon says what a bubble says (:mod:`authenticator.gui.notify.text`): the verified action on
its first line, the outsiders' words after it, labelled. Qt hands the text either to its own
plain-text balloon or, under a StatusNotifier host, to the notification server, which may read it
as markup; the text is therefore made :func:`~authenticator.gui.notify.text.neutral` (look-alikes
for ``&<>"'``), which reads the same under both.
"""

from __future__ import annotations

import contextlib

from PySide6.QtWidgets import QSystemTrayIcon

from authenticator.core.model import AccessRequest
from authenticator.gui.notify.base import ActionCallback
from authenticator.gui.notify.text import action_line, claim_lines, hem_name, neutral

__all__ = ["TrayBalloonNotifier", "balloon_text"]

BALLOON_MS = 10_000  # how long Qt shows its balloon (it cannot stay until answered)


def balloon_text(request: AccessRequest) -> tuple[str, str]:
    """(title, message) of the balloon: ``List the keys — my-hem``; the action, then the claims."""
    title = f"{request.title} — {hem_name(request)}"
    message = "\n".join([action_line(request), *claim_lines(request)])
    return neutral(title), neutral(message)


class TrayBalloonNotifier:
    """The :class:`~authenticator.gui.notify.base.Notifier` drawing the tray icon's balloon.

    Used on the GUI thread only (``showMessage`` is a widget call).
    """

    name = "tray"
    supports_actions = False

    def __init__(self, tray: QSystemTrayIcon, on_action: ActionCallback) -> None:
        self._tray = tray
        self._on_action = on_action
        self._pending: list[str] = []  # shown and not withdrawn, oldest first
        tray.messageClicked.connect(self._clicked)
        self._connected = True

    @property
    def latest(self) -> str | None:
        """The request a click on the balloon opens."""
        return self._pending[-1] if self._pending else None

    def show(self, request: AccessRequest) -> None:
        if request.id in self._pending:
            self._pending.remove(request.id)
        self._pending.append(request.id)
        title, message = balloon_text(request)
        self._tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, BALLOON_MS)

    def withdraw(self, request_id: str) -> None:
        if request_id in self._pending:
            self._pending.remove(request_id)

    def show_notice(self, key: str, title: str, body: str) -> None:
        if key in self._pending:
            self._pending.remove(key)
        self._pending.append(key)
        self._tray.showMessage(
            neutral(title), neutral(body), QSystemTrayIcon.MessageIcon.Information, BALLOON_MS
        )

    def close(self) -> None:
        self._pending.clear()
        if self._connected:
            self._connected = False
            with contextlib.suppress(RuntimeError):  # the tray icon is already gone
                self._tray.messageClicked.disconnect(self._clicked)

    def _clicked(self) -> None:
        latest = self.latest
        if latest is not None:
            self._on_action(latest, "open")

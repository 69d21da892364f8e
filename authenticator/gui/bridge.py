"""The one bridge from the core to Qt: every ``CoreListener`` call becomes a typed signal.

The core tells its listeners what happened from whatever thread did the work (the broker poller,
an agent client's thread, a ``TaskRunner`` worker). :class:`Bridge` lives on the GUI thread; a
signal emitted from another thread reaches GUI-thread receivers queued (Qt's automatic
connection), so every slot runs on the GUI thread. Windows connect to these signals and never
register listeners of their own (the Electrum ``QtEventListener`` pattern).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from authenticator.core.model import AccessRequest, ConnectionState, Outcome
from authenticator.gui.qtfix import emit

__all__ = ["Bridge"]


class Bridge(QObject):
    """Implements :class:`~authenticator.core.listener.CoreListener` with Qt signals."""

    requestAdded = Signal(object)
    requestRemoved = Signal(object, object, str)
    connectionChanged = Signal(object)
    lockChanged = Signal(bool)
    hemsChanged = Signal()
    journalChanged = Signal()
    grantsChanged = Signal()  # access in use or a remembered rule changed
    lockedWaiting = Signal(int)
    noticed = Signal(str)  # one sentence the owner should know at once (core ``notice``)
    openRequested = Signal(list)  # arguments forwarded by a second instance (agent "open")

    # ------------------------------------------------------------------ CoreListener

    def request_added(self, request: AccessRequest) -> None:
        emit(self.requestAdded, request)

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        emit(self.requestRemoved, request, outcome, message)

    def connection_changed(self, state: ConnectionState) -> None:
        emit(self.connectionChanged, state)

    def lock_changed(self, locked: bool) -> None:
        emit(self.lockChanged, locked)

    def hems_changed(self) -> None:
        emit(self.hemsChanged)

    def journal_changed(self) -> None:
        emit(self.journalChanged)

    def grants_changed(self) -> None:
        emit(self.grantsChanged)

    def locked_waiting(self, count: int) -> None:
        emit(self.lockedWaiting, count)

    def notice(self, message: str) -> None:
        emit(self.noticed, message)

    # ------------------------------------------------------------------ the agent's "open"

    def open_links(self, args: list[str]) -> None:
        """``AgentServer(on_open=...)``: called on an agent thread; handled on the GUI thread."""
        emit(self.openRequested, list(args))

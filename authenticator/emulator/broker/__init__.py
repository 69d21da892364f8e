"""The emulated Encedo notify service (the broker, spec/protocol.md §9.1–§9.2).

:class:`~authenticator.emulator.broker.service.Broker` holds the state (sessions, pairing
registrations, subscribers, events) in memory behind one lock;
:func:`~authenticator.emulator.broker.routes.broker_routes` serves it at ``/notify/*``.
"""

from __future__ import annotations

from authenticator.emulator.broker.routes import broker_routes
from authenticator.emulator.broker.service import Broker

__all__ = ["Broker", "broker_routes"]

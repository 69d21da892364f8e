"""Where the core gets its HTTP clients: one per broker origin, a fresh one per HEM call.

Tests and benchmarks pass a ``NetFactory`` with other timeouts; nothing else in the core builds
clients, so every network call goes through ``authenticator.net`` and its error mapping.
"""

from __future__ import annotations

import threading

from authenticator.net.broker import BrokerClient
from authenticator.net.hem import HemClient
from authenticator.net.tls import CertificateInfo, fetch_certificate
from authenticator.protocol.urls import origin_of

__all__ = ["NetFactory"]


class NetFactory:
    def __init__(self, *, hem_timeout: float = 10.0, broker_timeout: float = 15.0) -> None:
        self.hem_timeout = hem_timeout
        self.broker_timeout = broker_timeout
        self._brokers: dict[str, BrokerClient] = {}
        self._lock = threading.Lock()

    def broker(self, url: str) -> BrokerClient:
        """The (shared, thread-safe) client of the broker at ``url``'s origin."""
        origin = origin_of(url)
        with self._lock:
            client = self._brokers.get(origin)
            if client is None:
                client = self._brokers[origin] = BrokerClient(origin, timeout=self.broker_timeout)
            return client

    def hem(self, url: str, *, pinned_cert: str | None = None) -> HemClient:
        """A client for one conversation with a HEM (close it, or use ``with``)."""
        return HemClient(url, pinned_cert=pinned_cert, timeout=self.hem_timeout)

    def post_checkin(self, backend_url: str, check: str) -> str:
        """The check-in service's answer to a HEM's challenge (``check`` → ``checked``)."""
        return BrokerClient.post_checkin(backend_url, check, timeout=self.broker_timeout)

    def certificate(self, url: str) -> CertificateInfo:
        return fetch_certificate(url, timeout=min(self.hem_timeout, 10.0))

    def close(self) -> None:
        with self._lock:
            clients, self._brokers = list(self._brokers.values()), {}
        for client in clients:
            client.close()

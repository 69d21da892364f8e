"""Where a running emulator can be reached (shared by the server, the requester and the demo)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EmulatorUrls:
    """The addresses of one running emulator.

    ``hems[0]`` is ``origin`` itself (``/api/*``); ``hems[n]`` is ``origin + "/hem/<n>"``. The
    broker (``/notify/*``) and the check-in backend (``/checkin``) live at ``origin`` too.
    """

    origin: str
    hems: tuple[str, ...]
    broker: str
    backend: str
    demo: str
    admin: str
    cert_sha256: str | None = None

    @classmethod
    def for_origin(
        cls, origin: str, hem_count: int, cert_sha256: str | None = None
    ) -> EmulatorUrls:
        origin = origin.rstrip("/")
        hems = (origin, *(f"{origin}/hem/{n}" for n in range(1, hem_count)))
        return cls(
            origin=origin,
            hems=hems,
            broker=origin,
            backend=origin,
            demo=f"{origin}/demo/",
            admin=f"{origin}/_emulator",
            cert_sha256=cert_sha256,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "origin": self.origin,
            "hem": self.hems[0],
            "hems": list(self.hems),
            "broker": self.broker,
            "backend": self.backend,
            "demo": self.demo,
            "admin": self.admin,
            "cert_sha256": self.cert_sha256,
        }

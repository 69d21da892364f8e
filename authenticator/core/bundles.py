"""Several scopes, one click: the route of a local program's *bundle*.

The HEM issues one token per ``authreq`` and one ``authreq`` per scope, so a program that needs
several scopes would cost the owner one prompt each. The app asks the HEM for one ``authreq`` per
scope (each verified on its own, see ``DirectPath.ask_many``) and shows them as one request; on
approval this route redeems every part's ``authreply`` at the HEM **concurrently** (the HEM
closes each connection, so one after the other would cost a round trip each) and reports each
part's token or error: a scope that fails does not hide the others.

Limits: at most :data:`MAX_SCOPES` scopes in one request, all on one HEM.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from authenticator.core.netfactory import NetFactory
from authenticator.core.pairings import keys_of
from authenticator.core.routes import Delivered, LocalRoute, Source
from authenticator.errors import AuthenticatorError, StateError
from authenticator.protocol.periods import Period
from authenticator.store.records import PairingRecord

__all__ = ["MAX_SCOPES", "BundleRoute"]

MAX_SCOPES = 8
"""Scopes one request may ask for at once (the owner must still read each line)."""


@dataclass(frozen=True, slots=True)
class BundleRoute:
    """The parts of one local program's request, each a :class:`LocalRoute` of its own."""

    parts: tuple[LocalRoute, ...]

    def __post_init__(self) -> None:
        if not 1 < len(self.parts) <= MAX_SCOPES:
            raise StateError(f"A request holds 2 to {MAX_SCOPES} scopes.")

    @property
    def source(self) -> Source:
        return "local"

    @property
    def jti(self) -> str:
        return self.parts[0].jti

    @property
    def lost_answer_possible(self) -> bool:
        return False

    @property
    def mutable(self) -> bool:
        return False

    def done_key(self) -> str:
        return self.parts[0].done_key()

    def grant_base(self, now: int) -> int:
        # One base for every part: they were asked of the same HEM within moments.
        return self.parts[0].grant_base(now)

    def answer(
        self,
        net: NetFactory,
        rec: PairingRecord,
        *,
        granted: Sequence[str],
        period: Period,
        base: int,
    ) -> tuple[Delivered, ...]:
        if len(granted) != len(self.parts):
            raise StateError("Each scope of this request needs its own answer.")

        keys = keys_of(rec)  # derived once for every part (each X25519 costs ~40 µs)

        def redeem(pair: tuple[LocalRoute, str]) -> Delivered:
            part, scope = pair
            try:
                return Delivered(part.redeem(net, rec, scope, period, base, keys=keys))
            except AuthenticatorError as exc:
                return Delivered(error=exc)

        with ThreadPoolExecutor(len(self.parts), thread_name_prefix="redeem") as pool:
            done = tuple(pool.map(redeem, zip(self.parts, granted, strict=True)))
        errors = [d.error for d in done if d.error is not None]
        if len(errors) == len(done):
            raise errors[0]  # nothing delivered: the request fails as a whole
        return done

    def refuse(self, net: NetFactory) -> str:
        return ""  # the HEM has no "deny": each part simply expires there

    def withdrawn(self) -> str:
        return "The program withdrew its request."

    def listed_by(self, broker_origin: str) -> bool:
        return False

    def ask_why_gone(self, net: NetFactory) -> None:
        return None

"""Unpair (design flow 5): the broker side, the HEM side, then this computer.

* Broker side (a pairing made by QR): ``POST /notify/session {aid}`` → a session key →
  ``POST /notify/subscribers/delete`` with a MAC over a fresh nonce.
* HEM side (when the person logs in with the HEM passphrase): delete our ``EXTAID`` key.
* When a remote step fails, the pairing is **kept** (it may still work, and the HEM still trusts
  our key) and the person decides: retry, or "forget on this computer" (``local_only``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from authenticator.core.journal_kinds import Kind
from authenticator.errors import AuthenticatorError, NotFound, Unauthorized, WrongHemPassphraseError
from authenticator.protocol.access import unpair_body
from authenticator.protocol.b64 import b64decode, b64encode

if TYPE_CHECKING:
    from authenticator.core.app import Core
    from authenticator.store.records import PairingRecord

__all__ = ["UnpairResult", "extaid_descr", "unpair"]


@dataclass(frozen=True, slots=True)
class UnpairResult:
    """What happened on each side. ``removed``: the pairing is gone from this computer."""

    name: str
    broker: str  # "done", "failed", "not needed"
    hem: str  # "done", "failed", "skipped", "not needed"
    removed: bool
    problems: tuple[str, ...] = field(default=())


def extaid_descr(pid: str) -> str:
    """The HEM's descriptor of our pairing key: base64 of ``"EXTAID" ‖ pid bytes``."""
    return b64encode(b"EXTAID" + b64decode(pid, what="pairing id"))


def _find_kid(answer: dict[str, Any], descr: str) -> str | None:
    for key in ("list", "keys", "result"):
        items = answer.get(key)
        if isinstance(items, list):
            for item in items:
                if (
                    isinstance(item, dict)
                    and item.get("descr") == descr
                    and isinstance(item.get("kid"), str)
                ):
                    return str(item["kid"])
    return None


def _hem_side(core: Core, rec: PairingRecord, passphrase: str) -> None:
    from authenticator.core.app import hem_url_of
    from authenticator.core.requests import _pem

    with core.net.hem(hem_url_of(rec), pinned_cert=_pem(rec)) as hem:
        key = hem.user_key(passphrase)
        now = core.clock.now()
        try:
            token = hem.login_with_key(key, scope="keymgmt:del", now=now, lifetime=600)
        except Unauthorized as exc:
            raise WrongHemPassphraseError() from exc
        kid = rec.kid
        if kid is None:
            descr = extaid_descr(rec.pid)
            search = hem.login_with_key(key, scope="keymgmt:search", now=now, lifetime=600)
            kid = _find_kid(hem.keymgmt_search("^" + descr, search), descr)
        if kid is None:
            return  # the HEM no longer holds our key: nothing to delete
        try:
            hem.keymgmt_delete(token, kid)
        except NotFound:
            return


def unpair(
    core: Core, name: str, *, local_only: bool = False, hem_passphrase: str | None = None
) -> UnpairResult:
    from authenticator.core.app import keys_of

    rec = core.pairing(name)
    if local_only:
        core.vault.remove_pairing(rec.name)
        core.record(
            Kind.UNPAIRED_LOCAL,
            hem=rec.name,
            outcome="forgotten",
            text=f"{rec.name} was forgotten on this computer only.",
        )
        core.hub.hems_changed()
        return UnpairResult(rec.name, "skipped", "skipped", True)
    problems: list[str] = []
    broker_state = "not needed"
    if rec.broker_url:
        try:
            broker = core.net.broker(rec.broker_url)
            keys = keys_of(rec)
            epk = broker.session_for_aid(rec.aid)
            broker.delete_subscriber(unpair_body(keys, epk, core.rng(32)))
            broker_state = "done"
        except AuthenticatorError as exc:
            broker_state = "failed"
            problems.append(f"The broker did not remove the pairing: {exc}")
    hem_state = "skipped"
    if hem_passphrase is not None:
        try:
            _hem_side(core, rec, hem_passphrase)
            hem_state = "done"
        except AuthenticatorError as exc:
            hem_state = "failed"
            problems.append(f"The HEM did not remove this computer's key: {exc}")
    elif rec.source == "direct":
        hem_state = "failed"
        problems.append("Removing a direct pairing from the HEM needs the HEM passphrase.")
    if problems:
        core.record(
            Kind.UNPAIR_FAILED,
            hem=rec.name,
            outcome="kept",
            text=" ".join(problems),
            broker=broker_state,
            hem_side=hem_state,
        )
        return UnpairResult(rec.name, broker_state, hem_state, False, tuple(problems))
    core.vault.remove_pairing(rec.name)
    core.record(
        Kind.UNPAIRED,
        hem=rec.name,
        outcome="unpaired",
        text=f"{rec.name} was unpaired.",
        broker=broker_state,
        hem_side=hem_state,
    )
    core.hub.hems_changed()
    return UnpairResult(rec.name, broker_state, hem_state, True)

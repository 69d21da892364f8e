"""Unpair (design flow 5): the broker side, the HEM side, then this computer.

* Broker side (a pairing made by QR): ``POST /notify/session {aid}`` → a session key →
  ``POST /notify/subscribers/delete`` with a MAC over a fresh nonce.
* HEM side (when the person logs in with the HEM passphrase): delete our ``EXTAID`` key.
* When a remote step fails, the pairing is **kept** (it may still work, and the HEM still trusts
  our key) and the person decides: retry, or "forget on this computer" (``local_only``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authenticator.core.journal_kinds import Kind, UnpairOutcome, UnpairRecord
from authenticator.core.pairings import hem_url_of, keys_of, pinned_cert_of
from authenticator.core.session import Session
from authenticator.errors import AuthenticatorError, NotFound, Unauthorized, WrongHemPassphraseError
from authenticator.protocol.access import unpair_body
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.store.records import PairingRecord

__all__ = ["UnpairResult", "extaid_descr", "unpair"]


@dataclass(frozen=True, slots=True)
class UnpairResult:
    """What happened on each side. ``removed``: the pairing is gone from this computer."""

    name: str
    broker: str  # "done", "already gone", "failed", "not needed"
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


def _hem_side(session: Session, rec: PairingRecord, passphrase: str) -> None:
    with session.net.hem(hem_url_of(rec), pinned_cert=pinned_cert_of(rec)) as hem:
        key = hem.user_key(passphrase)
        now = session.clock.now()
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
    session: Session, name: str, *, local_only: bool = False, hem_passphrase: str | None = None
) -> UnpairResult:
    rec = session.pairing(name)
    if local_only:
        session.vault.remove_pairing(rec.name)
        session.record(
            UnpairRecord(
                Kind.UNPAIRED_LOCAL,
                rec.name,
                UnpairOutcome.FORGOTTEN,
                f"{rec.name} was forgotten on this computer only.",
            )
        )
        session.pairings_changed()
        return UnpairResult(rec.name, "skipped", "skipped", True)
    problems: list[str] = []
    broker_state = "not needed"
    if rec.broker_url:
        try:
            broker = session.net.broker(rec.broker_url)
            keys = keys_of(rec)
            epk = broker.session_for_aid(rec.aid)
            broker.delete_subscriber(unpair_body(keys, epk, session.rng(32)))
            broker_state = "done"
        except NotFound:  # the broker does not know this pairing (any more): nothing to remove
            broker_state = "already gone"
        except AuthenticatorError as exc:
            broker_state = "failed"
            problems.append(f"The broker did not remove the pairing: {exc}")
    hem_state = "skipped"
    if hem_passphrase is not None:
        try:
            _hem_side(session, rec, hem_passphrase)
            hem_state = "done"
        except AuthenticatorError as exc:
            hem_state = "failed"
            problems.append(f"The HEM did not remove this computer's key: {exc}")
    elif rec.source == "direct":
        hem_state = "failed"
        problems.append("Removing a direct pairing from the HEM needs the HEM passphrase.")
    if problems:
        session.record(
            UnpairRecord(
                Kind.UNPAIR_FAILED,
                rec.name,
                UnpairOutcome.KEPT,
                " ".join(problems),
                {"broker": broker_state, "hem_side": hem_state},
            )
        )
        return UnpairResult(rec.name, broker_state, hem_state, False, tuple(problems))
    session.vault.remove_pairing(rec.name)
    session.record(
        UnpairRecord(
            Kind.UNPAIRED,
            rec.name,
            UnpairOutcome.UNPAIRED,
            f"{rec.name} was unpaired.",
            {"broker": broker_state, "hem_side": hem_state},
        )
    )
    session.pairings_changed()
    return UnpairResult(rec.name, broker_state, hem_state, True)

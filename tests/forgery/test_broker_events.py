"""A malicious broker alters an event: the real core never shows it and never answers it.

The app is paired through the broker with HEM 0 (and a second app too, so the HEM's requests
carry a sealed scope for another pairing); the Manager makes real requests; the broker's answer
to the app's ``GET`` of the event is replaced by an altered copy. For every alteration: the
request is not in the inbox, the broker received no POST or DELETE for it (it stays pending
there), and the journal says ``request.rejected``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from authenticator.core.app import Core
from authenticator.core.pairings import keys_of
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.protocol.b64 import b64decode
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.sealing import event_master, seal_scope
from tests.forgery.support import (
    broker_answers,
    event_path,
    flip_sealed,
    other_flavour,
    sealed_bits,
    serve,
)
from tests.support_emulator import PASSPHRASE, make_core, pair_by_qr


@pytest.fixture
def second(tmp_path: Path, emu: RunningEmulator, requester: Requester) -> Iterator[Core]:
    """Another authenticator paired with the same HEM (after ``core``)."""
    other = make_core(tmp_path / "second")
    other.create_store(passphrase=PASSPHRASE)
    yield other
    other.close()


@pytest.fixture
def paired(core: Core, second: Core, requester: Requester) -> Core:
    pair_by_qr(core, requester)
    pair_by_qr(second, requester)
    return core


def genuine(emu: RunningEmulator, event_id: str, pid: str) -> dict[str, Any]:
    broker = emu.emulator.broker
    assert broker is not None
    return broker.event_get(event_id, pid)


def pending_at_broker(emu: RunningEmulator, event_id: str) -> bool:
    broker = emu.emulator.broker
    assert broker is not None
    return broker.event_check(event_id) is None


def rejected(core: Core, event_id: str) -> str | None:
    """The reason journalled for rejecting ``event_id`` (``None``: not rejected)."""
    for entry in core.journal_entries(limit=20):
        if entry.kind == "request.rejected" and entry.fields.get("request") == event_id:
            return str(entry.fields.get("reason"))
    return None


def offer(core: Core, emu: RunningEmulator, event_id: str, pid: str, body: dict[str, Any]) -> None:
    """The broker serves ``body`` as ``event_id``; the app makes one round."""
    serve(emu, event_path(event_id, pid), body)
    core.refresh()


def assert_never_shown_nor_answered(
    core: Core, emu: RunningEmulator, event_id: str, answers: int
) -> None:
    assert event_id not in [r.id for r in core.pending()]
    assert broker_answers(emu) == answers, "the app answered an altered event"
    assert pending_at_broker(emu, event_id)
    # a later round does not show it either (it is remembered as handled)
    core.refresh()
    assert event_id not in [r.id for r in core.pending()]


def test_every_byte_of_the_sealed_scope_and_tag(
    paired: Core, emu: RunningEmulator, requester: Requester
) -> None:
    pid = paired.vault.pairings[0].pid
    answers = broker_answers(emu)
    probe = requester.request_access("keymgmt:list")
    size = sealed_bits(genuine(emu, probe.event_id, pid)["scope"]) // 8
    assert size == 48  # one AES block and the 32-byte tag
    for byte in range(size):
        session = requester.request_access("keymgmt:list")
        body = genuine(emu, session.event_id, pid)
        body["scope"] = flip_sealed(body["scope"], 8 * byte + byte % 8)
        offer(paired, emu, session.event_id, pid, body)
        assert rejected(paired, session.event_id) == "tampered", f"byte {byte}"
        assert_never_shown_nor_answered(paired, emu, session.event_id, answers)
    # the untouched probe is shown: the harness itself lets genuine events through
    paired.refresh()
    assert probe.event_id in [r.id for r in paired.pending()]


def test_other_jti_swapped_pid_foreign_keys(
    paired: Core, second: Core, emu: RunningEmulator, requester: Requester
) -> None:
    rec, other = paired.vault.pairings[0], second.vault.pairings[0]
    answers = broker_answers(emu)
    hem_key = emu.emulator.hems[0].state.eid
    aid = keys_of(rec).aid.public
    foreign_hem, foreign_app = KeyPair.generate(), KeyPair.generate()
    donor = genuine(emu, requester.request_access("keymgmt:list").event_id, rec.pid)

    def sealed_with(secret: bytes, jti: str) -> str:
        return seal_scope(event_master(secret, b64decode(jti)), "keymgmt:list")

    def alter(name: str, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if name == "another request's jti":
            return {**body, "jti": donor["jti"]}
        if name == "another request's sealed scope":
            return {**body, "scope": donor["scope"]}
        if name == "the other pairing's sealed scope (swapped pid)":
            return {**body, "scope": genuine(emu, event_id, other.pid)["scope"]}
        if name == "sealed by a foreign HEM's key":
            return {**body, "scope": sealed_with(foreign_hem.exchange(aid), body["jti"])}
        assert name == "sealed for a foreign pairing's key"
        return {**body, "scope": sealed_with(hem_key.exchange(foreign_app.public), body["jti"])}

    for name in (
        "another request's jti",
        "another request's sealed scope",
        "the other pairing's sealed scope (swapped pid)",
        "sealed by a foreign HEM's key",
        "sealed for a foreign pairing's key",
    ):
        session = requester.request_access("keymgmt:list")
        forged = alter(name, session.event_id, genuine(emu, session.event_id, rec.pid))
        offer(paired, emu, session.event_id, rec.pid, forged)
        assert rejected(paired, session.event_id) == "tampered", name
        assert_never_shown_nor_answered(paired, emu, session.event_id, answers)


def test_an_expired_event_is_never_shown_nor_approved(
    paired: Core, emu: RunningEmulator, requester: Requester
) -> None:
    pid = paired.vault.pairings[0].pid
    session = requester.request_access("keymgmt:list")
    body = genuine(emu, session.event_id, pid)
    body["exp"] = int(time.time()) - 1  # now > exp by (at least) 1 s
    broker = emu.emulator.broker
    assert broker is not None
    posts = broker.calls.get("POST /notify/event/data/{event_id}/{pidx}", 0)
    offer(paired, emu, session.event_id, pid, body)
    assert session.event_id not in [r.id for r in paired.pending()]
    assert broker.calls.get("POST /notify/event/data/{event_id}/{pidx}", 0) == posts
    # the documented answer to an event that expired before it could be shown is a refusal
    assert paired.journal_entries(limit=1)[0].kind == "request.expired"


@pytest.mark.parametrize("flavour", ["same", "url-safe"])
@pytest.mark.parametrize("first_answer", ["approve", "deny"])
def test_a_replayed_jti_under_a_new_event_id(
    paired: Core, emu: RunningEmulator, requester: Requester, flavour: str, first_answer: str
) -> None:
    """The broker offers an event that was already answered again, under another id (in the
    same or another base64 spelling of its jti): the app must not show it again."""
    pid = paired.vault.pairings[0].pid
    session = requester.request_access("keymgmt:list")
    paired.refresh()
    old = genuine(emu, session.event_id, pid)
    if first_answer == "approve":
        paired.approve(session.event_id)
    else:
        paired.deny(session.event_id)
    answers = broker_answers(emu)
    replay = {**old, "jti": old["jti"] if flavour == "same" else other_flavour(old["jti"])}
    serve(emu, "/notify/event/data/allbypid", {"eventid": {"R3PLY": [pid]}}, method="POST")
    offer(paired, emu, "R3PLY", pid, replay)
    assert "R3PLY" not in [r.id for r in paired.pending()]
    assert broker_answers(emu) == answers
    assert rejected(paired, "R3PLY") == "replayed"


def test_a_duplicate_of_a_pending_event_is_shown_once(
    paired: Core, emu: RunningEmulator, requester: Requester
) -> None:
    pid = paired.vault.pairings[0].pid
    session = requester.request_access("keymgmt:list")
    paired.refresh()
    body = genuine(emu, session.event_id, pid)
    serve(
        emu,
        "/notify/event/data/allbypid",
        {"eventid": {session.event_id: [pid], "D0UBL": [pid]}},
        method="POST",
    )
    offer(paired, emu, "D0UBL", pid, body)
    assert [r.id for r in paired.pending()] == [session.event_id]
    assert rejected(paired, "D0UBL") == "replayed"

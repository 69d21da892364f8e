"""Pairing by QR (through the broker) and directly, against the real emulator."""

from __future__ import annotations

import json

import pytest

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import (
    AlreadyPairedError,
    DecodeError,
    ExpiredError,
    HemFullError,
    IntegrityError,
    WrongHemPassphraseError,
)
from authenticator.protocol.b64 import b64encode
from tests.core.conftest import HEM_PASSPHRASE, pair_by_qr, requester_for


def test_pair_by_qr_stores_the_hem_and_the_manager_finishes(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    session = requester.start_pairing()
    preview = core.preview_qr(session.qr_text)
    assert preview.qr.hostname == requester.hem_info().hostname
    assert preview.has_fingerprint
    assert preview.location.ip == "127.0.0.1"
    hem = core.accept_pairing(preview, label="Test desk (Linux)")
    assert session.poll() == "paired"
    assert hem.source == "broker"
    assert hem.broker_url == emu.urls.broker
    assert hem.hem_url == emu.urls.hems[0]
    assert [h.name for h in core.hems()] == [hem.name]
    # The HEM now holds our key, labelled as we asked.
    labels = [k["label"] for k in requester.list_keys()]
    assert "Test desk (Linux)" in labels
    kinds = [e.kind for e in core.journal_entries()]
    assert "pair.paired" in kinds


def test_pair_from_a_link_or_an_encedo_auth_link(core: Core, requester: Requester) -> None:
    session = requester.start_pairing()
    preview = core.preview_qr(session.pair_link)
    core.accept_pairing(preview)
    assert session.poll() == "paired"


def test_refuse_tells_the_manager(core: Core, requester: Requester) -> None:
    session = requester.start_pairing()
    preview = core.preview_qr(session.qr_text)
    core.refuse_pairing(preview)
    assert session.poll() == "refused"
    assert core.hems() == []
    assert core.journal_entries()[0].kind == "pair.refused"


def test_hash_mismatch_stops_before_anything_is_sent(core: Core, requester: Requester) -> None:
    session = requester.start_pairing()
    qr = json.loads(session.qr_text)
    qr["hash"] = b64encode(bytes(32))
    with pytest.raises(IntegrityError, match="different request"):
        core.preview_qr(json.dumps(qr))
    assert session.poll() == "pending"  # nothing was POSTed


def test_expired_code(core: Core, requester: Requester, emu: RunningEmulator) -> None:
    session = requester.start_pairing()
    assert emu.emulator.broker is not None
    emu.emulator.broker.expire_registration(session.rid)
    with pytest.raises(ExpiredError, match="expired"):
        core.preview_qr(session.qr_text)


def test_already_paired(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    session = requester.start_pairing()
    with pytest.raises(AlreadyPairedError, match="already paired"):
        core.preview_qr(session.qr_text)


def test_not_a_pairing_code(core: Core) -> None:
    with pytest.raises(DecodeError):
        core.preview_qr("hello there")


def test_two_hems_get_distinct_keys(core: Core, requester: Requester, emu: RunningEmulator) -> None:
    a = pair_by_qr(core, requester)
    with requester_for(emu, 1) as second:
        b = pair_by_qr(core, second)
    assert a.name != b.name
    recs = core.vault.pairings
    assert recs[0].aid != recs[1].aid
    assert recs[0].eid != recs[1].eid


def test_direct_pairing(core: Core, emu: RunningEmulator, requester: Requester) -> None:
    preview = core.preview_direct(emu.urls.hems[0])
    assert preview.certificate is None  # plain http to loopback
    assert "Encedo" in preview.firmware
    hem = core.pair_direct(preview, HEM_PASSPHRASE, label="Direct desk (Linux)")
    assert hem.source == "direct"
    assert hem.hem_url == emu.urls.hems[0]
    assert core.vault.pairings[0].kid is not None
    assert "Direct desk (Linux)" in [k["label"] for k in requester.list_keys()]


def test_direct_pairing_wrong_passphrase(core: Core, emu: RunningEmulator) -> None:
    preview = core.preview_direct(emu.urls.hems[0])
    with pytest.raises(WrongHemPassphraseError, match="did not accept"):
        core.pair_direct(preview, "not the passphrase")
    assert core.hems() == []


def test_hem_full(core: Core, emu: RunningEmulator, tmp_path: object) -> None:
    from authenticator.emulator.broker.appsim import SimulatedApp

    with requester_for(emu, 0) as manager:
        for _ in range(8):
            session = manager.start_pairing()
            app = SimulatedApp()
            try:
                app.pair(session.qr_text)
            finally:
                app.close()
            assert session.poll() == "paired"
    preview = core.preview_direct(emu.urls.hems[0])
    with pytest.raises(HemFullError):
        core.pair_direct(preview, HEM_PASSPHRASE)

"""Unpair both sides, keep the pairing when a remote step fails, forget locally."""

from __future__ import annotations

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from tests.core.conftest import HEM_PASSPHRASE, pair_by_qr


def test_unpair_at_the_broker(core: Core, requester: Requester, emu: RunningEmulator) -> None:
    hem = pair_by_qr(core, requester)
    broker = emu.emulator.broker
    assert broker is not None
    assert len(broker.subscriber_pids()) == 1
    result = core.unpair(hem.name)
    assert result.removed
    assert result.broker == "done"
    assert broker.subscriber_pids() == []
    assert core.hems() == []
    assert core.journal_entries()[0].kind == "unpair.done"


def test_unpair_both_sides_with_the_hem_passphrase(core: Core, requester: Requester) -> None:
    hem = pair_by_qr(core, requester, label="Unpair me (Linux)")
    assert "Unpair me (Linux)" in [k["label"] for k in requester.list_keys()]
    result = core.unpair(hem.name, hem_passphrase=HEM_PASSPHRASE)
    assert (result.broker, result.hem, result.removed) == ("done", "done", True)
    assert "Unpair me (Linux)" not in [k["label"] for k in requester.list_keys()]


def test_broker_refusal_keeps_the_pairing_then_forget_locally(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    hem = pair_by_qr(core, requester)
    broker = emu.emulator.broker
    assert broker is not None
    emu.emulator.faults.add("/notify/subscribers/delete", status=401, times=1)  # a refusal
    result = core.unpair(hem.name)
    assert not result.removed
    assert result.broker == "failed"
    assert "did not remove" in result.problems[0]
    assert [h.name for h in core.hems()] == [hem.name]
    assert core.journal_entries()[0].kind == "unpair.failed"
    local = core.unpair(hem.name, local_only=True)
    assert local.removed
    assert core.hems() == []
    assert core.journal_entries()[0].kind == "unpair.local"


def test_direct_pairing_needs_the_passphrase_to_unpair_at_the_hem(
    core: Core, emu: RunningEmulator, requester: Requester
) -> None:
    hem = core.pair_direct(
        core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE, label="Direct (Linux)"
    )
    result = core.unpair(hem.name)
    assert not result.removed
    assert "needs the HEM passphrase" in result.problems[0]
    wrong = core.unpair(hem.name, hem_passphrase="nope")
    assert not wrong.removed
    assert "did not accept" in wrong.problems[0]
    done = core.unpair(hem.name, hem_passphrase=HEM_PASSPHRASE)
    assert done.removed
    assert "Direct (Linux)" not in [k["label"] for k in requester.list_keys()]


def test_a_broker_that_no_longer_knows_the_pairing_is_already_gone(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    """A 404 at the broker means it has nothing to remove (the live service answers 404 to the
    delete today): the pairing is gone there, not a failure that keeps it here."""
    hem = pair_by_qr(core, requester)
    broker = emu.emulator.broker
    assert broker is not None
    broker.subscribers_delete_live_404 = True
    try:
        result = core.unpair(hem.name)
    finally:
        broker.subscribers_delete_live_404 = False
    assert result.removed
    assert result.broker == "already gone"
    assert result.problems == ()
    assert core.hems() == []
    assert core.journal_entries()[0].kind == "unpair.done"

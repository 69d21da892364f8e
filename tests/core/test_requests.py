"""Broker requests end to end: the Manager asks, the core shows and answers, the HEM mints."""

from __future__ import annotations

import time

import pytest

from authenticator.core.app import Core
from authenticator.core.model import Outcome
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import (
    AlreadyAnsweredError,
    Cancelled,
    HandledElsewhere,
    LockedError,
    NoSuchRequestError,
    StateError,
)
from authenticator.protocol.periods import Period
from tests.core.conftest import PASSPHRASE, ask, finished, make_core, pair_by_qr, wait_for


class Recorder:
    """A CoreListener that remembers what it was told."""

    def __init__(self) -> None:
        self.added: list[str] = []
        self.removed: list[tuple[str, Outcome]] = []

    def request_added(self, request: object) -> None:
        self.added.append(request.id)  # type: ignore[attr-defined]

    def request_removed(self, request: object, outcome: Outcome, message: str) -> None:
        self.removed.append((request.id, outcome))  # type: ignore[attr-defined]

    def connection_changed(self, state: object) -> None: ...
    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


def kinds(core: Core) -> list[str]:
    return [e.kind for e in core.journal_entries()]


def test_a_request_is_shown_in_plain_words(core: Core, requester: Requester) -> None:
    hem = pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    (req,) = core.pending()
    assert req.id == a.request_id
    assert req.hem == hem.name
    assert req.source == "broker"
    assert req.title == "List the keys"
    # What is asked, from the verified scope alone; where from is the broker's labelled claim.
    assert req.text == f"Someone wants to list the keys on {hem.name}."
    assert [(row, value.text) for row, value in req.claims()] == [
        ("Location — reported by the broker", "This computer · 127.0.0.1")
    ]
    assert req.expires_at - time.time() > 3000  # a plain scope lives 60 minutes
    assert not req.write_possible
    assert "request.shown" in kinds(core)


@pytest.mark.parametrize("period", list(Period), ids=lambda p: p.flag)
def test_approve_each_period_and_the_hem_mints_the_matching_token(
    core: Core, requester: Requester, period: Period
) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    grant = core.approve(a.request_id, period)
    result = finished(a.session)
    assert result.state == "approved"
    assert result.claims["scope"] == "keymgmt:list"
    assert result.claims["exp"] - result.claims["iat"] in (int(period), int(period) - 1)
    assert result.claims["exp"] == grant.exp
    assert result.claims["kid"] is not None  # sub = base64 of our key id on the HEM
    assert core.pending() == []
    entry = core.journal_entries()[0]
    assert entry.kind == "request.approved"
    assert entry.fields["period"] == period.flag


@pytest.mark.parametrize(
    ("asked", "write", "granted"),
    [
        ("storage:disk0", True, "storage:disk0:rw"),
        ("storage:disk0:rw", False, "storage:disk0"),
        ("storage:disk1:rw", True, "storage:disk1:rw"),
    ],
)
def test_write_access_only_where_it_applies(
    core: Core, requester: Requester, asked: str, write: bool, granted: str
) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, asked)
    req = core.inbox.get(a.request_id)
    assert req.write_possible
    core.approve(a.request_id, Period.H1, write=write)
    assert finished(a.session).claims["scope"] == granted


def test_write_is_refused_for_scopes_without_it(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "system:config")
    with pytest.raises(StateError, match="Write access"):
        core.approve(a.request_id, write=True)
    assert [r.id for r in core.pending()] == [a.request_id]  # still pending, nothing lost


def test_key_use_names_the_key(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    kid = requester.find_key("PGP main")
    assert kid is not None
    a = ask(core, requester, f"keymgmt:use:{kid}")
    req = core.inbox.get(a.request_id)
    assert f"use the key {kid[:12]}… on" in req.text  # the stated label is not in the sentence
    assert ("Key name — as the request states it", "PGP main") in req.info.details
    assert req.expires_at - time.time() <= 900  # key use lives 15 minutes
    core.approve(a.request_id)
    assert finished(a.session).claims["scope"] == f"keymgmt:use:{kid}"


def test_deny(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "system:config")
    core.deny(a.request_id)
    assert finished(a.session).state == "denied"
    assert core.journal_entries()[0].kind == "request.denied"
    # Never shown again, even after a restart.
    assert core.refresh() == []


def test_report_mutes_the_hem(core: Core, requester: Requester) -> None:
    hem = pair_by_qr(core, requester)
    a = ask(core, requester, "system:shutdown")
    core.deny(a.request_id, report=True)
    assert finished(a.session).state == "denied"
    assert core.journal_entries()[0].kind == "request.reported"
    assert core.hems()[0].muted_until is not None
    # A new request from the muted HEM is denied automatically and never shown.
    b = requester.request_access("keymgmt:list")
    assert core.refresh() == []
    assert finished(b).state == "denied"
    entry = core.journal_entries()[0]
    assert entry.kind == "request.denied"
    assert entry.fields["muted"] is True
    core.unmute(hem.name)
    c = ask(core, requester, "keymgmt:list")
    assert core.inbox.get(c.request_id)


def test_reporting_also_refuses_what_that_hem_has_queued(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    """ "I didn't ask for this" mutes the HEM: the other requests its requesters queued go too,
    but a program's own request on this computer stays."""
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    b = ask(core, requester, "keymgmt:del")
    core.update_settings(default_broker_url=emu.urls.broker.rstrip("/"))
    local = core.ask_hem("keymgmt:get")  # the same HEM, asked directly by a program
    core.deny(a.request_id, report=True)
    assert finished(b.session).state == "denied"
    assert [r.id for r in core.pending()] == [local.request.id]
    muted = [e for e in core.journal_entries() if e.fields.get("request") == b.request_id]
    assert muted[0].kind == "request.denied"
    assert muted[0].fields["muted"] is True


def test_a_request_this_app_does_not_understand_is_refused_not_dropped(
    core: Core, requester: Requester
) -> None:
    """Never approvable, never shown as a request, but refused at once (the requester is not
    left waiting an hour) and the owner is told in one sentence."""
    pair_by_qr(core, requester)
    notices: list[str] = []

    class Notices:
        def notice(self, message: str) -> None:
            notices.append(message)

    core.add_listener(Notices())  # type: ignore[arg-type]
    session = requester.request_access("teleport:everything")
    assert core.refresh() == []
    assert finished(session).state == "denied"
    entry = core.journal_entries()[0]
    assert entry.kind == "request.rejected"
    assert entry.fields["reason"] == "unknown_scope"
    assert len(notices) == 1
    assert notices[0].startswith("Refused a request this app does not understand")


def test_answering_twice_is_refused(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    entry = core.inbox.claim(a.request_id)  # another front end is answering it right now
    with pytest.raises(AlreadyAnsweredError):
        core.approve(a.request_id)
    core.inbox.release(entry.request.id)
    core.approve(a.request_id)
    with pytest.raises(NoSuchRequestError):
        core.approve(a.request_id)


def test_cancelled_by_the_requester(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    seen = Recorder()
    core.add_listener(seen)
    a = ask(core, requester, "keymgmt:list")
    a.session.cancel()
    core.refresh()
    assert core.pending() == []
    assert (a.request_id, Outcome.CANCELLED) in seen.removed
    assert core.journal_entries()[0].kind == "request.cancelled"


def test_cancelled_while_approving(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    a.session.cancel()
    with pytest.raises(Cancelled):
        core.approve(a.request_id)
    assert core.pending() == []


def test_handled_elsewhere(
    core: Core, requester: Requester, emu: RunningEmulator, tmp_path: object
) -> None:
    from authenticator.emulator.broker.appsim import SimulatedApp

    pair_by_qr(core, requester)
    with SimulatedApp() as phone:
        session = requester.start_pairing()
        phone.pair(session.qr_text)
        assert session.poll() == "paired"
        a = ask(core, requester, "keymgmt:list")
        (event_id, pairing) = wait_for(phone.pending)[0]  # type: ignore[index]
        phone.approve(event_id, pairing)
    with pytest.raises(HandledElsewhere):
        core.approve(a.request_id)
    assert core.journal_entries()[0].kind == "request.handled_elsewhere"


def test_expired_at_the_broker_while_shown(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    assert emu.emulator.broker is not None
    emu.emulator.broker.expire_event(a.request_id)
    core.refresh()
    assert core.pending() == []
    assert core.journal_entries()[0].kind == "request.expired"


def test_expired_before_it_could_be_shown(
    tmp_path: object, emu: RunningEmulator, requester: Requester
) -> None:
    class Late:
        def now(self) -> int:
            return int(time.time()) + 2 * 3600

    home = tmp_path / "late"  # type: ignore[operator]
    late = make_core(home, clock=Late())
    late.create_store(passphrase=PASSPHRASE)
    try:
        session = requester.start_pairing()
        late.accept_pairing(late.preview_qr(session.qr_text))
        session.poll()
        s = requester.request_access("keymgmt:list")
        assert late.refresh() == []
        assert finished(s).state == "denied"  # refused at the broker on the person's behalf
        assert late.journal_entries()[0].kind == "request.expired"
    finally:
        late.close()


def test_a_tampered_request_is_never_shown_nor_answered(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    pair_by_qr(core, requester)
    s = requester.request_access("keymgmt:list")
    broker = emu.emulator.broker
    assert broker is not None
    with broker._lock:  # a malicious broker alters the sealed scope it relays
        target = next(iter(broker._events[s.event_id].targets.values()))
        target.sealed = (
            target.sealed[:-3] + ("A" if target.sealed[-3] != "A" else "B") + target.sealed[-2:]
        )
    assert core.refresh() == []
    assert s.poll().state == "pending"  # not answered: the requester will time out
    entry = core.journal_entries()[0]
    assert entry.kind == "request.rejected"
    assert entry.fields["reason"] == "tampered"
    assert core.refresh() == []  # and not fetched again


def test_locked_core_refuses(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    core.lock()
    assert core.pending() == []  # nothing is shown while locked
    with pytest.raises(LockedError):
        core.refresh()
    with pytest.raises(LockedError):
        core.approve(a.request_id)
    core.unlock(PASSPHRASE)
    assert [r.id for r in core.refresh()] == [a.request_id]
    assert {"app.locked", "app.unlocked"} <= set(kinds(core))


def test_handled_memory_survives_a_restart(
    core: Core, requester: Requester, tmp_path: object
) -> None:
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    b = ask(core, requester, "system:config")
    core.deny(a.request_id)
    core.close()
    again = make_core(core.paths.data_dir)
    again.unlock(PASSPHRASE)
    try:
        assert [r.id for r in again.refresh()] == [b.request_id]
    finally:
        again.close()


def test_an_answer_whose_reply_was_lost_is_not_blamed_on_another_authenticator(
    tmp_path: object, emu: RunningEmulator, requester: Requester
) -> None:
    from authenticator.core.netfactory import NetFactory
    from authenticator.errors import TransportError
    from authenticator.store.keychain import SystemKeychain
    from authenticator.store.paths import AppPaths
    from authenticator.store.vault import KdfParams

    impatient = Core(
        AppPaths.for_home(tmp_path / "impatient"),  # type: ignore[operator]
        keychain=SystemKeychain(timeout=0.5),
        net=NetFactory(hem_timeout=5, broker_timeout=0.5),
        kdf=KdfParams.minimum(),
    )
    impatient.create_store(passphrase=PASSPHRASE)
    try:
        pair_by_qr(impatient, requester)
        a = ask(impatient, requester, "keymgmt:list")
        # The broker takes the approval but its answer comes too late for this computer.
        emu.emulator.faults.add("/notify/event/data", method="POST", lose_answer=True, times=1)
        with pytest.raises(TransportError, match="interrupted"):
            impatient.approve(a.request_id)
        assert [r.id for r in impatient.pending()] == [a.request_id]  # kept: nothing lost
        wait_for(lambda: a.session.poll().state == "approved")  # …but it did arrive
        with pytest.raises(HandledElsewhere, match="most likely this computer's own"):
            impatient.approve(a.request_id)
    finally:
        impatient.close()


def test_a_broker_requests_code_in_its_note_is_matched(core: Core, requester: Requester) -> None:
    """The Manager page shows a code next to its button and puts it in the request's note; the
    broker forwards the note; the owner must pick that code among three."""
    from authenticator.core.codes import WrongCodeError
    from authenticator.protocol.outside import Origin

    pair_by_qr(core, requester)
    a = ask(
        core, requester, "keymgmt:list", note="Approve code 47 in Encedo Authenticator (code:47)"
    )
    req = core.inbox.get(a.request_id)
    assert req.note is not None
    assert req.note.origin is Origin.REQUESTER
    assert ("Their note — not verified", req.note) in req.claims()
    assert 47 in req.codes
    assert len(set(req.codes)) == 3
    wrong = next(c for c in req.codes if c != 47)
    with pytest.raises(WrongCodeError):
        core.approve(a.request_id, code=wrong)
    assert finished(a.session).state == "denied"
    b = ask(core, requester, "keymgmt:list", note="code:47")
    assert core.approve(b.request_id, code=47)
    assert finished(b.session).state == "approved"

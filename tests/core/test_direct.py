"""The direct path: the core asks the HEM itself; pasted requests and encedo-auth: links."""

from __future__ import annotations

import httpx
import pytest

from authenticator.core.app import Core
from authenticator.core.model import Outcome, Program
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import (
    ConnectError,
    IntegrityError,
    NoSuchHemError,
    Unauthorized,
    UnknownScopeError,
)
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.links import make_authreq_link
from authenticator.protocol.periods import Period
from tests.core.conftest import HEM_PASSPHRASE, pair_by_qr, requester_for


def keymgmt_list(url: str, token: str) -> int:
    r = httpx.get(f"{url}/api/keymgmt/list", headers={"Authorization": f"Bearer {token}"})
    return r.status_code


def direct_core(core: Core, emu: RunningEmulator) -> None:
    # The HEM is checked in through the default broker's origin when its clock is off.
    core.update_settings(default_broker_url=emu.urls.broker.rstrip("/"))
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)


def test_ask_hem_then_approve_gives_a_token_the_hem_accepts(
    core: Core, emu: RunningEmulator
) -> None:
    direct_core(core, emu)
    program = Program(name="backup.sh", pid=4242, path="/usr/local/bin/backup.sh", uid=1000)
    entry = core.ask_hem("keymgmt:list", program=program, reason="nightly backup", period=Period.H1)
    req = entry.request
    assert req.source == "local"
    assert req.id.startswith("L")
    # What is asked comes from the verified scope alone; who asks is the program's claim.
    assert req.text.startswith("A program on this computer wants to list the keys on")
    assert ("Program — claimed by the program", "backup.sh (pid 4242)") in [
        (row, value.text) for row, value in req.claims()
    ]
    assert req.reason == "nightly backup"
    assert req.default_period is Period.H1
    grant = core.approve(req.id, Period.H1)
    assert grant.token is not None
    bearer = Bearer.parse(grant.token)
    assert bearer.scope == "keymgmt:list"
    assert bearer.exp - bearer.iat in (3600, 3599)
    assert bearer.kid == core.vault.pairings[0].kid
    assert keymgmt_list(emu.urls.hems[0], grant.token) == 200
    assert entry.decision.outcome is Outcome.APPROVED
    assert grant.token not in repr(grant)


def test_broker_pairings_can_be_asked_directly_too(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    pair_by_qr(core, requester)  # the QR carried the HEM's address (our "url" extension)
    entry = core.ask_hem("keymgmt:list")
    grant = core.approve(entry.request.id)
    assert grant.token is not None
    assert keymgmt_list(emu.urls.hems[0], grant.token) == 200


def test_deny_settles_the_waiting_program(core: Core, emu: RunningEmulator) -> None:
    direct_core(core, emu)
    entry = core.ask_hem("system:config")
    core.deny(entry.request.id)
    assert entry.decision.outcome is Outcome.DENIED


def test_unknown_scope_and_hem(core: Core, emu: RunningEmulator) -> None:
    direct_core(core, emu)
    with pytest.raises(UnknownScopeError):
        core.ask_hem("wat:ever")
    with pytest.raises(NoSuchHemError):
        core.ask_hem("keymgmt:list", hem="nope")


def test_hem_down(core: Core, emu: RunningEmulator) -> None:
    direct_core(core, emu)
    emu.down()
    try:
        with pytest.raises(ConnectError):
            core.ask_hem("keymgmt:list")
    finally:
        emu.up()


def test_hem_reboot_mid_request_ends_it_with_a_clear_error(
    core: Core, emu: RunningEmulator
) -> None:
    direct_core(core, emu)
    entry = core.ask_hem("keymgmt:list")
    emu.emulator.hems[0].reboot()  # the HEM forgets the authreq it issued
    with pytest.raises(Unauthorized):
        core.approve(entry.request.id)
    assert core.pending() == []
    assert entry.decision.outcome is Outcome.FAILED
    assert core.journal_entries()[0].kind == "request.failed"


def test_hem_unreachable_when_approving_keeps_the_request(core: Core, emu: RunningEmulator) -> None:
    direct_core(core, emu)
    entry = core.ask_hem("keymgmt:list")
    emu.down()
    try:
        with pytest.raises(ConnectError):
            core.approve(entry.request.id)
        assert [r.id for r in core.pending()] == [entry.request.id]  # nothing lost
    finally:
        emu.up()
    grant = core.approve(entry.request.id)
    assert grant.token


def test_pasted_authreq_and_link(core: Core, emu: RunningEmulator, requester: Requester) -> None:
    pair_by_qr(core, requester)
    authreq, _key = requester.direct_authreq("keymgmt:list")
    req = core.open_pasted(authreq)
    assert req.source == "link"  # type: ignore[union-attr]
    grant = core.approve(req.id)  # type: ignore[union-attr]
    assert keymgmt_list(emu.urls.hems[0], grant.token or "") == 200
    authreq2, _ = requester.direct_authreq("system:config")
    req2 = core.open_pasted(make_authreq_link(authreq2, emu.urls.hems[0]))
    assert req2.title == "Change the settings"  # type: ignore[union-attr]


def test_pasted_request_from_an_unpaired_hem(
    core: Core, emu: RunningEmulator, requester: Requester
) -> None:
    pair_by_qr(core, requester)
    with requester_for(emu, 1) as other:
        authreq, _ = other.direct_authreq("keymgmt:list")
    with pytest.raises(NoSuchHemError):
        core.open_pasted(authreq)


def test_pasted_tampered_request(core: Core, emu: RunningEmulator, requester: Requester) -> None:
    import json

    from authenticator.protocol import ejwt
    from authenticator.protocol.access import AuthReq
    from authenticator.protocol.b64 import b64encode

    pair_by_qr(core, requester)
    authreq, _ = requester.direct_authreq("keymgmt:list")
    parsed = AuthReq.parse(authreq)
    payload = json.loads(json.dumps(dict(parsed.jwt.payload)))
    pid = next(iter(payload["scope"]))
    raw = bytearray(__import__("base64").b64decode(payload["scope"][pid][1:]))
    raw[3] ^= 1
    payload["scope"][pid] = "A" + b64encode(bytes(raw))
    forged = ejwt.encode(payload, b"\x00" * 32, header=ejwt.HEM_HEADER)
    with pytest.raises(IntegrityError):
        core.open_pasted(forged)
    assert core.journal_entries()[0].kind == "request.rejected"


def test_a_hem_clock_ahead_is_checked_in_and_gets_the_full_period(
    core: Core, emu: RunningEmulator
) -> None:
    """The HEM's RTC drifts fast between check-ins: the app checks it in before showing."""
    import time

    direct_core(core, emu)
    device = emu.emulator.hems[0]
    device.clock.set_skew(7200)  # two hours ahead of this computer
    entry = core.ask_hem("keymgmt:list")
    assert abs(device.clock.skew) < 5  # healed by a check-in
    assert 3500 < entry.request.expires_at - time.time() <= 3600
    grant = core.approve(entry.request.id, Period.MIN15)
    bearer = Bearer.parse(grant.token or "")
    assert bearer.exp - bearer.iat in (900, 899)
    assert keymgmt_list(emu.urls.hems[0], grant.token or "") == 200


def test_a_hem_clock_ahead_that_cannot_be_checked_in_is_anchored_on(
    core: Core, emu: RunningEmulator
) -> None:
    """No check-in service: a HEM 10 min ahead still gets the full period by its own clock,
    its request's expiry is shown on this computer's clock, and the owner is told once."""
    import time

    direct_core(core, emu)
    emu.emulator.faults.add("/checkin", status=503, times=10)
    emu.emulator.hems[0].clock.set_skew(600)
    entry = core.ask_hem("keymgmt:list")
    assert 3500 < entry.request.expires_at - time.time() <= 3600
    grant = core.approve(entry.request.id, Period.MIN15)
    bearer = Bearer.parse(grant.token or "")
    assert bearer.exp - bearer.iat in (900, 899)
    assert bearer.exp > time.time() + 600 + 850  # 15 minutes on the HEM's own clock
    assert keymgmt_list(emu.urls.hems[0], grant.token or "") == 200
    notes = [e.text for e in core.journal_entries() if e.kind == "hem.clock"]
    assert len(notes) == 1
    assert "could not be checked in" in notes[0]


def test_a_pasted_request_never_stretches_a_grant_with_its_unverified_iat(
    core: Core, emu: RunningEmulator, requester: Requester
) -> None:
    import json
    import time

    from authenticator.protocol import ejwt
    from authenticator.protocol.access import AuthReq

    pair_by_qr(core, requester)
    authreq, _ = requester.direct_authreq("keymgmt:list")
    payload = json.loads(json.dumps(dict(AuthReq.parse(authreq).jwt.payload)))
    payload["iat"] += 30 * 86400  # someone edits the (unverifiable) JWT of a pasted request
    forged = ejwt.encode(payload, b"\x00" * 32, header=ejwt.HEM_HEADER)
    req = core.open_pasted(forged)
    grant = core.approve(req.id, Period.MIN15)  # type: ignore[union-attr]
    assert grant.exp <= time.time() + 905

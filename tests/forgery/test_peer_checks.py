"""The other side's accept paths, in the emulated HEM and broker: the authreply and the login
proof at the HEM, and the broker's MACs (pairing accept/refuse, approval, unpair). Each forgery
is refused with 401/406 and changes nothing: afterwards the genuine message still works once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authenticator.core.app import Core
from authenticator.core.pairings import keys_of
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import ServerError
from authenticator.net.broker import BrokerClient
from authenticator.net.hem import HemClient
from authenticator.protocol.access import (
    AuthReq,
    PairingKeys,
    allow_body,
    authreply_mac,
    build_authreply,
    unpair_body,
)
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.ejwt import encode
from authenticator.protocol.keys import KeyPair, PublicKey
from authenticator.protocol.login import build_login_proof, derive_user_key
from authenticator.protocol.pairing import PairingRequest, answer_pairing
from authenticator.protocol.periods import Period
from tests.forgery.support import (
    altered_claims,
    flip_sealed,
    flip_signature,
    jwt_parts,
    sealed_bits,
    with_payload,
)
from tests.support_emulator import HEM_PASSPHRASE, PASSPHRASE, make_core, pair_by_qr


def refused(call: Callable[[], object], *statuses: int) -> None:
    with pytest.raises(ServerError) as info:
        call()
    assert info.value.status in (statuses or (401, 406)), info.value.status


def flip_b64(value: str, bit: int) -> str:
    raw = bytearray(b64decode(value))
    raw[bit // 8] ^= 1 << (bit % 8)
    return b64encode(bytes(raw))


@pytest.fixture
def apps(
    tmp_path: Path, core: Core, emu: RunningEmulator, requester: Requester
) -> Iterator[list[Core]]:
    """Three authenticators: A and B paired with HEM 0 through the broker, C with HEM 1."""
    b = make_core(tmp_path / "b")
    c = make_core(tmp_path / "c")
    for other in (b, c):
        other.create_store(passphrase=PASSPHRASE)
    pair_by_qr(core, requester)
    pair_by_qr(b, requester)
    c.pair_direct(c.preview_direct(emu.urls.hems[1]), HEM_PASSPHRASE)
    yield [core, b, c]
    b.close()
    c.close()


def keys(app: Core) -> PairingKeys:
    return keys_of(app.vault.pairings[0])


# ---------------------------------------------------------------------------- the HEM


def test_authreply_at_the_hem(apps: list[Core], emu: RunningEmulator) -> None:
    a, b, c = (keys(x) for x in apps)
    device = emu.emulator.hems[0]
    with HemClient(emu.urls.hems[0]) as hem:
        epk = KeyPair.generate()
        authreq = AuthReq.parse(hem.ext_request(epk.public.b64, "keymgmt:list")[0])
        now = device.clock.now()

        def reply(k: PairingKeys = a, **kw: Any) -> str:
            args: dict[str, Any] = {
                "jti": authreq.jti,
                "granted": "keymgmt:list",
                "period": Period.MIN15,
                "now": now,
            }
            return build_authreply(k, **{**args, **kw})

        genuine = reply()
        head, payload, _ = jwt_parts(genuine)
        for bit in range(256):  # every bit of the signature
            refused(lambda bit=bit: hem.ext_token(flip_signature(genuine, bit)))
        claims = list(altered_claims(payload))
        assert len(claims) == len(payload)  # every claim of the authreply is altered in turn
        for _, changed in claims:  # not re-signed
            refused(lambda changed=changed: hem.ext_token(with_payload(genuine, changed)))
        for bit in range(sealed_bits(payload["scope"])):  # every bit of the sealed scope
            forged = {**payload, "scope": flip_sealed(payload["scope"], bit)}
            refused(lambda forged=forged: hem.ext_token(with_payload(genuine, forged)))  # 401
            resigned = encode(forged, a.s1, header=head)  # even signed by the app itself
            refused(lambda resigned=resigned: hem.ext_token(resigned), 406)
        refused(
            lambda: hem.ext_token(reply(PairingKeys(aid=b.aid, eid=b.eid, pid=a.pid))), 406
        )  # swapped pid
        refused(
            lambda: hem.ext_token(reply(PairingKeys(aid=a.aid, eid=c.eid, pid=a.pid))), 401
        )  # foreign HEM's key
        refused(
            lambda: hem.ext_token(reply(PairingKeys(aid=KeyPair.generate(), eid=a.eid, pid=a.pid))),
            406,
        )
        refused(lambda: hem.ext_token(reply(now=now - int(Period.MIN15) - 1)), 401)  # exp = now - 1
        refused(lambda: hem.ext_token(reply(jti=b64encode(bytes(32)))), 401)  # a request never made
        refused(lambda: hem.ext_token(reply(granted="keymgmt:gen")), 406)  # another scope
        # nothing was used up: the genuine approval is redeemed once, and only once
        assert hem.ext_token(genuine)
        refused(lambda: hem.ext_token(genuine), 401)  # replayed jti


def test_login_proof_at_the_hem(emu: RunningEmulator) -> None:
    device = emu.emulator.hems[0]
    with HemClient(emu.urls.hems[0]) as hem, HemClient(emu.urls.hems[1]) as other_hem:
        challenge = hem.login_challenge()
        key = derive_user_key(HEM_PASSPHRASE, challenge.eid)
        now = device.clock.now()
        genuine = build_login_proof(key, challenge, now=now, exp=now + 600, scope="keymgmt:list")
        _, payload, _ = jwt_parts(genuine)
        for bit in range(256):
            refused(lambda bit=bit: hem.post_login(flip_signature(genuine, bit)), 401)
        for _, changed in altered_claims(payload):
            refused(lambda changed=changed: hem.post_login(with_payload(genuine, changed)), 401)
        wrong = derive_user_key("not the passphrase", challenge.eid)
        refused(
            lambda: hem.post_login(build_login_proof(wrong, challenge, now=now, exp=now + 600)), 401
        )
        foreign = other_hem.login_challenge()  # a proof made for another HEM's session key
        refused(
            lambda: hem.post_login(build_login_proof(key, foreign, now=now, exp=now + 600)), 401
        )
        token = hem.post_login(genuine)
        assert token
        refused(lambda: hem.post_login(genuine), 401)  # replayed: the challenge is used up
        fresh = hem.login_challenge()
        refused(lambda: hem.post_login(build_login_proof(key, fresh, now=now, exp=now - 1)), 401)


# ---------------------------------------------------------------------------- the broker


def test_pairing_accept_and_refuse_macs(emu: RunningEmulator, requester: Requester) -> None:
    session = requester.start_pairing()
    with BrokerClient(emu.urls.broker) as broker:
        link = session.qr.link
        request = PairingRequest.parse(broker.get_pairing(link)["request"])
        aid = KeyPair.generate()
        genuine = answer_pairing(request, aid, label="desk (Linux)").body()
        forgeries: list[dict[str, str]] = []
        forgeries += [{**genuine, "mac": flip_b64(genuine["mac"], bit)} for bit in range(256)]
        forgeries.append({**genuine, "fid": genuine["fid"] + "x"})
        forgeries.append({**genuine, "aid": KeyPair.generate().public.b64})
        _, payload, _ = jwt_parts(genuine["reply"])
        forgeries += [
            {**genuine, "reply": with_payload(genuine["reply"], changed)}
            for _, changed in altered_claims(payload)
        ]
        forgeries.append(
            {
                **genuine,
                **answer_pairing(request, KeyPair.generate(), label="x").body(),
                "aid": genuine["aid"],
            }
        )
        for body in forgeries:
            refused(lambda body=body: broker.accept_pairing(link, body), 401)
            refused(lambda body=body: broker.refuse_pairing(link, body), 401)
        assert session.poll() == "pending"  # nothing was accepted or refused
        assert broker.accept_pairing(link, genuine)
        assert session.poll() == "paired"


def test_approval_mac(apps: list[Core], emu: RunningEmulator, requester: Requester) -> None:
    a, b, _ = (keys(x) for x in apps)
    broker_state = emu.emulator.broker
    assert broker_state is not None
    session = requester.request_access("keymgmt:list")
    event = broker_state.event_get(session.event_id, a.pid)
    epk = PublicKey.from_b64(event["epk"])
    now = emu.emulator.hems[0].clock.now()
    authreply = build_authreply(
        a, jti=event["jti"], granted="keymgmt:list", period=Period.MIN15, now=now
    )
    mac = authreply_mac(a.aid, epk, authreply)
    with BrokerClient(emu.urls.broker) as broker:

        def allow(body: dict[str, str], pid: str = a.pid) -> None:
            broker.answer_event(session.event_id, pid, body)

        for bit in range(256):
            refused(lambda bit=bit: allow(allow_body(authreply, flip_b64(mac, bit))), 401)
        other = build_authreply(
            a, jti=event["jti"], granted="keymgmt:list", period=Period.H8, now=now
        )
        refused(lambda: allow(allow_body(other, mac)), 401)  # another authreply under this MAC
        refused(lambda: allow(allow_body(flip_signature(authreply, 3), mac)), 401)
        refused(
            lambda: allow(allow_body(authreply, authreply_mac(KeyPair.generate(), epk, authreply))),
            401,
        )
        refused(lambda: allow(allow_body(authreply, mac), pid=b.pid), 401)  # swapped pid
        refused(lambda: allow(allow_body(authreply, authreply_mac(b.aid, epk, authreply))), 401)
        assert broker_state.event_check(session.event_id) is None  # still pending
        allow(allow_body(authreply, mac))
        assert json.dumps(broker_state.event_check(session.event_id))  # approved now
        refused(lambda: allow(allow_body(authreply, mac)), 410)  # and only once


def test_unpair_mac(apps: list[Core], emu: RunningEmulator) -> None:
    a, b, _ = (keys(x) for x in apps)
    broker_state = emu.emulator.broker
    assert broker_state is not None
    with BrokerClient(emu.urls.broker) as broker:
        epk = broker.session_for_aid(a.aid.public.b64)
        nonce = bytes(range(32))
        genuine = unpair_body(a, epk, nonce)
        forgeries = [{**genuine, "mac": flip_b64(genuine["mac"], bit)} for bit in range(256)]
        forgeries.append({**genuine, "nonce": b64encode(bytes(32))})
        forgeries.append({**genuine, "aid": b.aid.public.b64})  # another pairing's aid
        forgeries.append({**genuine, "pid": b.pid})  # another pairing's pid
        forgeries.append(
            unpair_body(PairingKeys(aid=KeyPair.generate(), eid=a.eid, pid=a.pid), epk, nonce)
        )
        forgeries.append({**unpair_body(b, epk, nonce), "pid": a.pid})  # B's valid MAC, A's pid
        for body in forgeries:
            refused(lambda body=body: broker.delete_subscriber(body), 401)
        assert {a.pid, b.pid} <= set(broker_state.subscriber_pids())
        broker.delete_subscriber(genuine)
        assert a.pid not in broker_state.subscriber_pids()
        assert b.pid in broker_state.subscriber_pids()

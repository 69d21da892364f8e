"""The HEM-side computations, directly: each one against its counterpart in
``authenticator.protocol`` (the app's side), and the ``authreq`` against a real device capture."""

from __future__ import annotations

import pytest

from authenticator.emulator.backend import (
    Check,
    CheckinBackend,
    encode_status,
    make_checked,
    read_check,
)
from authenticator.emulator.hem import crypto
from authenticator.emulator.hem.auth import approved_scope_ok
from authenticator.errors import DecodeError, ExpiredError, IntegrityError
from authenticator.protocol.access import AuthReq, PairingKeys, build_authreply, open_authreq
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.keys import KeyPair, PrivateKey, PublicKey
from authenticator.protocol.pairing import (
    PairingRequest,
    answer_pairing,
    check_pairing_code,
    new_pid,
)
from authenticator.protocol.periods import Period
from tests.emulator.conftest import claims
from tests.protocol.vectors import flip_char, load

HEM_HEAD = "eyJlY2RoIjoieDI1NTE5IiwidHlwIjoiSldUIiwiYWxnIjoiSFMyNTYifQ"
BEARER_HEAD = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"


@pytest.fixture
def eid() -> KeyPair:
    return KeyPair.generate()


def test_authreq_reproduces_a_real_device_capture_byte_for_byte() -> None:
    v = load("hem")["device_authreq"]
    requester = PrivateKey(bytes.fromhex(v["requester_private_hex"]))
    app = PrivateKey(bytes.fromhex(v["app_private_hex"]))
    eid = PublicKey.from_b64(v["eid"])
    # X25519(eid_prv, peer) == X25519(peer_prv, eid): feed the device's secrets from the peers.
    secrets = {requester.public_key: requester.exchange(eid), app.public_key: app.exchange(eid)}
    authreq = crypto.make_authreq(
        secrets.__getitem__,
        eid=eid,
        epk=requester.public_key,
        iat=v["iat"],
        exp=v["exp"],
        jti=b64decode(AuthReq.parse(v["authreq"]).jti),
        scope=v["scope"],
        pairings=[(b64decode(v["pid"]), app.public_key)],
        ctx=v["ctx"],
    )
    assert authreq == v["authreq"]


def test_authreq_opens_with_the_apps_code(eid: KeyPair) -> None:
    aid, epk, other = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    pid, other_pid = new_pid(), new_pid()
    jti = bytes(range(32))
    token = crypto.make_authreq(
        eid.exchange,
        eid=eid.public,
        epk=epk.public,
        iat=1000,
        exp=4600,
        jti=jti,
        scope="keymgmt:list",
        pairings=[(b64decode(pid), aid.public), (b64decode(other_pid), other.public)],
        note="a note",
    )
    assert token.split(".")[0] == HEM_HEAD
    assert list(claims(token)) == ["iss", "aud", "iat", "exp", "jti", "note", "scope"]
    authreq = AuthReq.parse(token)
    authreq.verify_signature(epk)
    assert authreq.note == "a note"
    assert set(authreq.entries) == {pid, other_pid}
    keys = PairingKeys(aid=aid, eid=eid.public, pid=pid)
    assert open_authreq(authreq, keys, now=4600) == "keymgmt:list"
    with pytest.raises(IntegrityError):
        open_authreq(authreq, PairingKeys(aid=aid, eid=eid.public, pid=other_pid), now=1000)


def test_authreq_with_no_pairing_has_an_empty_scope_map(eid: KeyPair) -> None:
    epk = KeyPair.generate()
    token = crypto.make_authreq(eid.exchange, eid=eid.public, epk=epk.public, iat=1, exp=2,
                                jti=b"j" * 32, scope="keymgmt:list", pairings=[])  # fmt: skip
    assert claims(token)["scope"] == {}


def test_pairing_request_reply_and_code(eid: KeyPair) -> None:
    epk, aid = KeyPair.generate(), KeyPair.generate()
    token = crypto.make_pairing_request(
        eid.exchange, eid=eid.public, epk=epk.public, jti=b"\x01" * 32, exp=99
    )
    assert token.split(".")[0] == HEM_HEAD
    assert list(claims(token)) == ["jti", "exp", "aud", "iss"]
    request = PairingRequest.parse(token)
    request.verify_signature(epk)
    answer = answer_pairing(request, aid, label="Desk (Linux)")
    reply = crypto.check_pairing_reply(eid.exchange, answer.reply)
    assert (reply.aid, reply.label, reply.epk, reply.jti) == (
        aid.public,
        "Desk (Linux)",
        epk.public,
        request.jti,
    )
    code = crypto.pairing_code(eid.exchange, reply)
    check_pairing_code(code, reply=answer.reply, epk=epk, eid=eid.public)
    with pytest.raises(IntegrityError):
        crypto.check_pairing_reply(eid.exchange, flip_char(answer.reply, len(answer.reply) - 3))
    with pytest.raises(DecodeError):
        crypto.check_pairing_reply(eid.exchange, "not a jwt")


def test_ext_mac_is_hmac_of_the_nonce(eid: KeyPair) -> None:
    epk = KeyPair.generate()
    nonce = b"n" * 32
    mac = crypto.ext_mac(eid.exchange, epk.public, nonce)
    assert b64decode(mac) == hmac_sha256(epk.exchange(eid.public), nonce)


def test_authreply_verifies_and_opens(eid: KeyPair) -> None:
    aid = KeyPair.generate()
    keys = PairingKeys(aid=aid, eid=eid.public, pid=new_pid())
    jti = b64encode(b"q" * 32)
    token = build_authreply(keys, jti=jti, granted="storage:disk0:rw", period=Period.H1, now=10)
    reply = crypto.AuthReply.parse(token)
    assert (reply.pid, reply.iss, reply.exp, reply.ctx) == (
        b64decode(keys.pid),
        aid.public,
        3610,
        None,
    )
    crypto.verify_authreply(eid.exchange, reply)
    assert crypto.open_authreply(eid.exchange, reply) == "storage:disk0:rw"
    forged = crypto.AuthReply.parse(flip_char(token, len(token) - 2))
    with pytest.raises(IntegrityError):
        crypto.verify_authreply(eid.exchange, forged)


@pytest.mark.parametrize(
    "token",
    [
        "nope",
        "eyJhbGciOiJIUzI1NiJ9.eyJwaWQiOjF9.c2ln",  # pid is a number
        "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJBQT09In0.c2ln",  # no pid, iss, scope, exp
    ],
)
def test_authreply_parse_refuses_malformed(token: str) -> None:
    with pytest.raises(DecodeError):
        crypto.AuthReply.parse(token)


def test_bearer_round_trip_and_refusals() -> None:
    key = b"k" * 32
    token = crypto.mint_bearer(key, scope="keymgmt:list", sub="U", iat=5, exp=10, jti=b"j" * 32,
                               ctx="c")  # fmt: skip
    assert token.split(".")[0] == BEARER_HEAD
    assert list(claims(token)) == ["scope", "sub", "iat", "exp", "jti", "ctx"]
    verified = crypto.verify_bearer(key, token, now=10)
    assert (verified.scope, verified.sub, verified.iat, verified.exp, verified.ctx) == (
        "keymgmt:list",
        "U",
        5,
        10,
        "c",
    )
    parsed = Bearer.parse(token)
    assert (parsed.role, parsed.exp) == ("user", 10)
    with pytest.raises(ExpiredError):
        crypto.verify_bearer(key, token, now=11)
    with pytest.raises(IntegrityError):
        crypto.verify_bearer(b"x" * 32, token, now=6)
    with pytest.raises(DecodeError):
        crypto.verify_bearer(key, "a.b", now=6)


def test_checkin_round_trip_through_the_backend_functions() -> None:
    session, backend = KeyPair.generate(), KeyPair.generate()
    check = crypto.make_checkin_challenge(session, backend=backend.public, jti=b"j" * 32,
                                          qid=b"q" * 32, fws=b"f" * 64, bls=b"b" * 64,
                                          uis=b"u" * 32, csn=b"c" * 16)  # fmt: skip
    assert list(claims(check)) == ["jti", "iss", "qid", "aud", "fws", "bls", "uis", "csn"]
    parsed = read_check(backend, check)
    assert parsed == Check(jti=b64encode(b"j" * 32), spk=session.public)
    checked = make_checked(backend, parsed, iat=1234, status=encode_status("L"))
    answer = crypto.check_checked(session, checked, trusted=backend.public)
    assert (answer.jti, answer.iat, answer.action) == (parsed.jti, 1234, "L")
    with pytest.raises(IntegrityError):
        crypto.check_checked(session, checked, trusted=KeyPair.generate().public)
    with pytest.raises(IntegrityError):
        crypto.check_checked(KeyPair.generate(), checked, trusted=backend.public)
    with pytest.raises(IntegrityError):
        read_check(KeyPair.generate(), check)


@pytest.mark.parametrize("action", ["OK", "L", "W", "R", "B", "U"])
def test_status_encoding_round_trip(action: str) -> None:
    status = encode_status(action)
    assert len(b64decode(status)) == 32
    assert crypto.decode_checkin_status(status) == action


@pytest.mark.parametrize("status", [None, "", "AAAA", b64encode(b"Z" * 32), b64encode(b"O" * 31)])
def test_unknown_status_is_question_marks(status: object) -> None:
    assert crypto.decode_checkin_status(status) == "???"


def test_backend_refuses_unknown_actions() -> None:
    with pytest.raises(DecodeError):
        encode_status("X")
    with pytest.raises(DecodeError):
        CheckinBackend().set_action("X")


@pytest.mark.parametrize(
    ("requested", "approved", "ok"),
    [
        ("keymgmt:list", "keymgmt:list", True),
        ("keymgmt:list", "keymgmt:del", False),
        ("keymgmt:list", "keymgmt:list:rw", False),
        ("storage:disk0", "storage:disk0:rw", True),
        ("storage:disk0:rw", "storage:disk0", True),
        ("storage:disk0:rw", "storage:disk1:rw", False),
        ("keymgmt:use:" + "a" * 32 + "#eyJ0IjoiQjQxNiJ9", "keymgmt:use:" + "a" * 32, True),
        ("keymgmt:use:" + "a" * 32 + "#m", "keymgmt:use:" + "a" * 32 + "#m", True),
        ("keymgmt:use:" + "a" * 32, "keymgmt:use:" + "b" * 32, False),
        ("system:config", "", False),
    ],
)
def test_approved_scope_rule(requested: str, approved: str, ok: bool) -> None:
    assert approved_scope_ok(requested, approved) is ok

"""Access requests and approvals (``/api/auth/ext/request`` and ``/api/auth/ext/token``), done as
the direct path does them: our own epk, the authreq verified and opened with
``authenticator.protocol.access``, an authreply built as the app builds it."""

from __future__ import annotations

import json
import time

import pytest

from authenticator.protocol.access import AuthReq, PairingKeys, build_authreply
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.bearer import Bearer, kid_to_sub
from authenticator.protocol.ejwt import encode
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.pairing import new_pid
from authenticator.protocol.periods import Period
from authenticator.protocol.scopes import describe
from authenticator.protocol.sealing import event_master, seal_scope
from tests.emulator.conftest import Kit, Pairing, claims


@pytest.fixture
def pairing(emu: Kit) -> Pairing:
    return emu.pair()


def test_full_direct_approval(emu: Kit, pairing: Pairing) -> None:
    req = emu.open("keymgmt:list", pairing)
    assert req.scope == "keymgmt:list"
    authreply = emu.authreply(req, pairing, period=Period.H1)
    r = emu.redeem(authreply)
    assert r.status_code == 200
    assert list(r.json()) == ["token"]
    token = r.json()["token"]
    bearer = Bearer.parse(token)
    assert (bearer.scope, bearer.sub, bearer.kid) == (
        "keymgmt:list",
        kid_to_sub(pairing.kid),
        pairing.kid,
    )
    assert bearer.exp == claims(authreply)["exp"]
    assert list(claims(token)) == ["scope", "sub", "iat", "exp", "jti"]
    listing = emu.get("/api/keymgmt/list", token)
    assert listing.status_code == 200
    assert listing.json()["total"] == 4  # the three demo keys and the pairing


def test_authreq_shape(emu: Kit, pairing: Pairing) -> None:
    second = emu.pair(label="Second")
    r, epk = emu.request("keymgmt:list", ctx="job-42", note="nightly backup", exp=1)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["authreq", "epk"]
    assert body["epk"] == epk.public.b64
    token = body["authreq"]
    assert token.startswith("eyJlY2RoIjoieDI1NTE5IiwidHlwIjoiSldUIiwiYWxnIjoiSFMyNTYifQ.")
    c = claims(token)
    assert list(c) == ["iss", "aud", "iat", "exp", "jti", "ctx", "note", "scope"]
    assert (c["iss"], c["aud"], c["ctx"], c["note"]) == (
        emu.device.eid.b64,
        epk.public.b64,
        "job-42",
        "nightly backup",
    )
    assert c["exp"] - c["iat"] == 3600  # the body's exp is ignored
    authreq = AuthReq.parse(token)
    authreq.verify_signature(epk)
    assert set(authreq.entries) == {pairing.keys.pid, second.keys.pid}
    for entry in authreq.entries.values():
        assert len(b64decode(entry[1:])) == 48  # one block + the tag: scope ≤ 15 bytes


@pytest.mark.parametrize(
    ("extra", "present"),
    [
        ({"ctx": "", "note": ""}, []),
        ({"ctx": "c" * 65, "note": "n" * 129}, []),
        ({"ctx": "c" * 64, "note": "n" * 128}, ["ctx", "note"]),
        ({"ctx": 5, "note": ["x"]}, []),
    ],
)
def test_ctx_and_note_out_of_range_are_dropped(
    emu: Kit, extra: dict[str, object], present: list[str]
) -> None:
    r, _ = emu.request("keymgmt:list", **extra)
    assert r.status_code == 200
    c = claims(r.json()["authreq"])
    assert [k for k in ("ctx", "note") if k in c] == present


def test_no_pairing_still_answers_with_an_empty_map(emu: Kit) -> None:
    r, _ = emu.request("keymgmt:list")
    assert r.status_code == 200
    assert claims(r.json()["authreq"])["scope"] == {}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"scope": "keymgmt:list"}, 400),
        ({"epk": "AAAA", "scope": "keymgmt:list"}, 400),
        ({"epk": KeyPair.generate().public.b64}, 400),
        ({"epk": KeyPair.generate().public.b64, "scope": ""}, 400),
        ({"epk": KeyPair.generate().public.b64, "scope": "s" * 1024}, 400),
        ({"epk": KeyPair.generate().public.b64, "scope": "s" * 1023}, 200),
    ],
)
def test_request_validation(emu: Kit, body: dict[str, object], status: int) -> None:
    assert emu.post("/api/auth/ext/request", body).status_code == status


def test_key_use_scopes_name_the_key(emu: Kit, pairing: Pairing) -> None:
    pgp = next(k for k in emu.device.state.keys if k.label == "PGP main")
    req = emu.open(f"keymgmt:use:{pgp.kid}", pairing)
    c = claims(req.authreq.token)
    assert c["exp"] - c["iat"] == 900
    scope, meta = req.scope.split("#")
    assert scope == f"keymgmt:use:{pgp.kid}"
    assert json.loads(b64decode(meta)) == {"t": "B416", "l": "PGP main"}
    info = describe(req.scope)
    assert info.key is not None
    assert (info.key.stated_label.text, info.key.algorithm, info.key.private) == (
        "PGP main",
        "ED25519",
        True,
    )
    token = emu.redeem(emu.authreply(req, pairing))
    assert Bearer.parse(token.json()["token"]).scope == f"keymgmt:use:{pgp.kid}"


def test_post_quantum_keys_are_named_by_their_type_text(emu: Kit, pairing: Pairing) -> None:
    pq = next(k for k in emu.device.state.keys if k.label == "Post-quantum signing")
    req = emu.open(f"keymgmt:use:{pq.kid}", pairing)
    meta = json.loads(b64decode(req.scope.split("#")[1]))
    assert meta == {"t": "PKEY,PQC,MLDSA65", "l": "Post-quantum signing"}
    info = describe(req.scope)
    assert info.key is not None
    assert info.key.algorithm == "MLDSA65"


def test_key_use_of_an_unknown_key_is_not_rewritten(emu: Kit, pairing: Pairing) -> None:
    req = emu.open("keymgmt:use:" + "0" * 32, pairing)
    assert req.scope == "keymgmt:use:" + "0" * 32
    c = claims(req.authreq.token)
    assert c["exp"] - c["iat"] == 900


def test_an_approval_is_single_use(emu: Kit, pairing: Pairing) -> None:
    req = emu.open("keymgmt:list", pairing)
    authreply = emu.authreply(req, pairing)
    assert emu.redeem(authreply).status_code == 200
    assert emu.redeem(authreply).status_code == 401


def test_a_tampered_signature_is_401(emu: Kit, pairing: Pairing) -> None:
    authreply = emu.authreply(emu.open("keymgmt:list", pairing), pairing)
    head, body, sig = authreply.split(".")
    forged = f"{head}.{body}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}"
    assert emu.redeem(forged).status_code == 401
    assert emu.redeem("not-a-jwt").status_code == 401
    assert emu.post("/api/auth/ext/token", {}).status_code == 400


def reply_with(pairing: Pairing, jti: str, **payload: object) -> str:
    """An authreply with chosen claims, signed with the pairing's S1 (as the app would)."""
    base: dict[str, object] = {
        "aud": pairing.keys.eid.b64,
        "jti": jti,
        "exp": 4_000_000_000,
        "iat": 1,
        "pid": pairing.keys.pid,
        "iss": pairing.aid.public.b64,
    }
    return encode({**base, **payload}, pairing.keys.s1)


def test_a_tampered_scope_is_406(emu: Kit, pairing: Pairing) -> None:
    req = emu.open("keymgmt:list", pairing)
    sealed = seal_scope(pairing.keys.master(req.authreq.jti), "keymgmt:list")
    raw = bytearray(b64decode(sealed[1:]))
    raw[3] ^= 1
    assert (
        emu.redeem(
            reply_with(pairing, req.authreq.jti, scope="A" + b64encode(bytes(raw)))
        ).status_code
        == 406
    )
    assert (
        emu.redeem(reply_with(pairing, req.authreq.jti, scope="B" + sealed[1:])).status_code == 406
    )
    # sealed under another request's key
    other = seal_scope(event_master(pairing.keys.s1, b"x" * 32), "keymgmt:list")
    assert emu.redeem(reply_with(pairing, req.authreq.jti, scope=other)).status_code == 406
    # the untouched request can still be redeemed
    assert emu.redeem(reply_with(pairing, req.authreq.jti, scope=sealed)).status_code == 200


@pytest.mark.parametrize(
    "case",
    [
        ("keymgmt:list", "keymgmt:del", 406, None),
        ("keymgmt:list", "keymgmt:list:rw", 406, None),
        ("storage:disk0", "storage:disk0:rw", 200, "storage:disk0:rw"),
        ("storage:disk0:rw", "storage:disk0", 200, "storage:disk0"),
        ("storage:disk0:rw", "storage:disk1:rw", 406, None),
    ],
    ids=lambda c: f"{c[0]}->{c[1]}",
)
def test_what_may_be_approved(
    emu: Kit, pairing: Pairing, case: tuple[str, str, int, str | None]
) -> None:
    requested, granted, status, scope = case
    req = emu.open(requested, pairing)
    r = emu.redeem(emu.authreply(req, pairing, granted=granted))
    assert r.status_code == status
    if scope is not None:
        assert Bearer.parse(r.json()["token"]).scope == scope


def test_expiry_and_ctx_come_from_the_authreply(emu: Kit, pairing: Pairing) -> None:
    req = emu.open("keymgmt:list", pairing)
    sealed = seal_scope(pairing.keys.master(req.authreq.jti), "keymgmt:list")
    past = emu.device.clock.now() - 10
    assert (
        emu.redeem(reply_with(pairing, req.authreq.jti, scope=sealed, exp=past)).status_code == 401
    )
    r = emu.redeem(reply_with(pairing, req.authreq.jti, scope=sealed, exp=0, ctx="from-app"))
    assert r.status_code == 200
    bearer = Bearer.parse(r.json()["token"])
    assert (bearer.exp - bearer.iat, bearer.ctx) == (8 * 3600, "from-app")


def test_the_pairing_and_its_key_must_match(emu: Kit, pairing: Pairing) -> None:
    other = emu.pair(label="Other")
    req = emu.open("keymgmt:list", pairing)
    sealed = seal_scope(pairing.keys.master(req.authreq.jti), "keymgmt:list")
    # unknown pid
    assert (
        emu.redeem(reply_with(pairing, req.authreq.jti, scope=sealed, pid=new_pid())).status_code
        == 406
    )
    # the other pairing's pid with this pairing's key
    r = emu.redeem(reply_with(pairing, req.authreq.jti, scope=sealed, pid=other.keys.pid))
    assert r.status_code == 406
    # a correct approval by the other pairing, of a request it was never sent
    lonely = emu.open("keymgmt:list", pairing)
    stranger = Pairing(keys=PairingKeys(aid=KeyPair.generate(), eid=pairing.keys.eid,
                                        pid=new_pid()), kid="", code="", reply="")  # fmt: skip
    assert emu.redeem(emu.authreply(lonely, stranger)).status_code == 406


def test_a_request_issued_before_a_pairing_cannot_be_redeemed_by_it(
    emu: Kit, pairing: Pairing
) -> None:
    req = emu.open("keymgmt:list", pairing)
    late = emu.pair(label="Late")
    authreply = build_authreply(late.keys, jti=req.authreq.jti, granted="keymgmt:list",
                                period=Period.MIN15, now=emu.device.clock.now())  # fmt: skip
    assert emu.redeem(authreply).status_code == 401


def test_a_request_expires(emu: Kit, pairing: Pairing) -> None:
    req = emu.open("keymgmt:list", pairing)
    authreply = emu.authreply(req, pairing, period=Period.H24)
    emu.device.clock.set_skew(3601)
    assert emu.redeem(authreply).status_code == 401


def test_reboot_forgets_pending_requests(emu: Kit, pairing: Pairing) -> None:
    req = emu.open("keymgmt:list", pairing)
    emu.device.reboot()
    assert emu.redeem(emu.authreply(req, pairing)).status_code == 401


def test_rtc_is_checked_before_state(emu: Kit, pairing: Pairing) -> None:
    emu.device.set_rtc(False)
    emu.device.fls_state = 0x01
    r, _ = emu.request("keymgmt:list")
    assert r.status_code == 403
    assert emu.post("/api/auth/ext/token", {"authreply": "x"}).status_code == 403
    emu.device.set_rtc(True)
    assert emu.request("keymgmt:list")[0].status_code == 409
    assert emu.post("/api/auth/ext/token", {"authreply": "x"}).status_code == 409


def test_skew_moves_the_authreq_times(emu: Kit, pairing: Pairing) -> None:
    emu.device.clock.set_skew(-3 * 3600)
    c = claims(emu.open("keymgmt:list", pairing).authreq.token)
    assert isinstance(c["iat"], int)
    assert abs(c["iat"] - (emu.device.clock.now())) <= 1
    assert c["iat"] < time.time() - 3 * 3600 + 5

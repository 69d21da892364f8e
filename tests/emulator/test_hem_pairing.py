"""Pairing with the emulated HEM (``/api/auth/ext/init|validate|mac``), done as the desktop app
does a direct pairing: passphrase login, our own ephemeral key, reply, validate, code check."""

from __future__ import annotations

import hashlib

import pytest

from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.bearer import Bearer, kid_to_sub
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.ejwt import encode
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.pairing import answer_pairing, new_pid
from tests.emulator.conftest import Kit, claims


def test_direct_pairing(emu: Kit) -> None:
    pairing = emu.pair(label="Desk (Linux)")
    # the key id is material-derived, as for an imported key: SHA-1 of the public key, 16 bytes
    assert pairing.kid == hashlib.sha1(pairing.aid.public.raw).hexdigest()[:32]  # noqa: S324
    stored = emu.device.key(pairing.kid)
    assert stored is not None
    assert (stored.label, stored.pid) == ("Desk (Linux)", b64decode(pairing.keys.pid))
    assert emu.emulator.summary()["hems"][0]["pairings"] == 1


def test_pairing_request_claims(emu: Kit) -> None:
    token = emu.login("auth:ext:pair")
    epk = KeyPair.generate()
    r = emu.post("/api/auth/ext/init", {"epk": epk.public.b64}, token)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["request", "eid"]
    request = body["request"]
    assert request.startswith("eyJlY2RoIjoieDI1NTE5IiwidHlwIjoiSldUIiwiYWxnIjoiSFMyNTYifQ.")
    c = claims(request)
    assert list(c) == ["jti", "exp", "aud", "iss"]
    assert (c["aud"], c["iss"], body["eid"]) == (epk.public.b64, emu.device.eid.b64, c["iss"])
    assert isinstance(c["exp"], int)
    assert c["exp"] - emu.device.clock.now() in (86399, 86400)
    assert len(b64decode(c["jti"])) == 32


def test_system_config_scope_may_pair_too(emu: Kit) -> None:
    assert emu.pair(token=emu.login("system:config")).kid


@pytest.mark.parametrize(
    ("sub", "scope", "status"),
    [
        ("M", "auth:ext:pair", 403),
        ("U", "keymgmt:list", 403),
        ("U", "auth:ext:pairing-too", 200),
    ],
)
def test_pairing_endpoints_need_a_user_token_with_the_pairing_scope(
    emu: Kit, sub: str, scope: str, status: int
) -> None:
    token = emu.device.issue_token(scope, sub=sub)
    epk = KeyPair.generate().public.b64
    assert emu.post("/api/auth/ext/init", {"epk": epk}, token).status_code == status
    assert emu.post("/api/auth/ext/mac", {"epk": epk}, token).status_code == status
    want = 403 if status == 403 else 401  # a reply that answers nothing
    body = {"pid": new_pid(), "reply": "x.y.z"}
    assert emu.post("/api/auth/ext/validate", body, token).status_code == want


def test_an_approval_token_cannot_pair(emu: Kit) -> None:
    pairing = emu.pair()
    token = emu.approve("auth:ext:pair", pairing)
    assert Bearer.parse(token).sub == kid_to_sub(pairing.kid)
    epk = KeyPair.generate().public.b64
    assert emu.post("/api/auth/ext/init", {"epk": epk}, token).status_code == 403
    assert emu.post("/api/auth/ext/init", {"epk": epk}).status_code == 401


@pytest.mark.parametrize("epk", ["", "AAAA", b64encode(b"x" * 31), 42, None])
def test_epk_must_be_a_32_byte_key(emu: Kit, epk: object) -> None:
    token = emu.login("auth:ext:pair")
    assert emu.post("/api/auth/ext/init", {"epk": epk}, token).status_code == 400
    assert emu.post("/api/auth/ext/mac", {"epk": epk}, token).status_code == 400


def test_a_reply_is_single_use(emu: Kit) -> None:
    token = emu.login("auth:ext:pair")
    epk = KeyPair.generate()
    request = emu.pairing_request(token, epk)
    answer = answer_pairing(request, KeyPair.generate(), label="One")
    body = {"pid": new_pid(), "reply": answer.reply}
    assert emu.post("/api/auth/ext/validate", body, token).status_code == 200
    assert emu.post("/api/auth/ext/validate", body, token).status_code == 401


def test_a_reply_to_a_forgotten_request_is_refused(emu: Kit) -> None:
    token = emu.login("auth:ext:pair")
    request = emu.pairing_request(token, KeyPair.generate())
    answer = answer_pairing(request, KeyPair.generate(), label="Late")
    emu.device.reboot()
    token = emu.login("auth:ext:pair")
    r = emu.post("/api/auth/ext/validate", {"pid": new_pid(), "reply": answer.reply}, token)
    assert r.status_code == 401


def test_a_tampered_reply_is_refused(emu: Kit) -> None:
    token = emu.login("auth:ext:pair")
    request = emu.pairing_request(token, KeyPair.generate())
    reply = answer_pairing(request, KeyPair.generate(), label="x").reply
    head, body, sig = reply.split(".")
    forged = f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    r = emu.post("/api/auth/ext/validate", {"pid": new_pid(), "reply": forged}, token)
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"reply": "x.y.z"}, 400),
        ({"pid": "!!", "reply": "x.y.z"}, 400),
        ({"pid": "", "reply": "x.y.z"}, 400),
        ({"pid": b64encode(b"p" * 59), "reply": "x.y.z"}, 400),
        ({"pid": b64encode(b"p" * 32)}, 400),
    ],
)
def test_validate_refuses_malformed_bodies(emu: Kit, body: dict[str, str], status: int) -> None:
    assert (
        emu.post("/api/auth/ext/validate", body, emu.login("auth:ext:pair")).status_code == status
    )


def test_a_bad_label_is_refused(emu: Kit) -> None:
    token = emu.login("auth:ext:pair")
    request = emu.pairing_request(token, KeyPair.generate())
    reply = answer_pairing(request, KeyPair.generate(), label="x" * 32).reply
    assert (
        emu.post("/api/auth/ext/validate", {"pid": new_pid(), "reply": reply}, token).status_code
        == 200
    )
    # the protocol module refuses to build a label longer than 32: build it by hand
    aid = KeyPair.generate()
    request = emu.pairing_request(token, KeyPair.generate())
    payload = {"jti": request.jti, "iss": aid.public.b64, "aud": request.iss,
               "epk": request.aud, "label": "y" * 33}  # fmt: skip
    long_label = encode(payload, aid.exchange(request.eid))
    assert emu.post("/api/auth/ext/validate", {"pid": new_pid(), "reply": long_label},
                    token).status_code == 400  # fmt: skip


def test_nine_pairings_do_not_fit(emu: Kit) -> None:
    token = emu.login("auth:ext:pair")
    for n in range(8):
        emu.pair(label=f"App {n}", token=token)
    request = emu.pairing_request(token, KeyPair.generate())
    reply = answer_pairing(request, KeyPair.generate(), label="Ninth").reply
    assert (
        emu.post("/api/auth/ext/validate", {"pid": new_pid(), "reply": reply}, token).status_code
        == 406
    )
    assert len(emu.device.pairings()) == 8


def test_the_same_key_cannot_pair_twice(emu: Kit) -> None:
    token = emu.login("auth:ext:pair")
    aid = KeyPair.generate()
    for expected in (200, 406):
        request = emu.pairing_request(token, KeyPair.generate())
        reply = answer_pairing(request, aid, label="Same").reply
        r = emu.post("/api/auth/ext/validate", {"pid": new_pid(), "reply": reply}, token)
        assert r.status_code == expected


def test_ext_mac(emu: Kit) -> None:
    token = emu.login("auth:ext:pair")
    epk = KeyPair.generate()
    r = emu.post("/api/auth/ext/mac", {"epk": epk.public.b64}, token)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["nonce", "mac", "eid"]
    nonce = b64decode(body["nonce"])
    assert len(nonce) == 32
    assert b64decode(body["mac"]) == hmac_sha256(epk.exchange(emu.device.eid), nonce)


def test_deleting_the_key_unpairs(emu: Kit) -> None:
    pairing = emu.pair()
    approval = emu.approve("system:config", pairing)
    assert emu.get("/api/system/config", approval).status_code == 200
    assert (
        emu.delete(f"/api/keymgmt/delete/{pairing.kid}", emu.login("keymgmt:del")).status_code
        == 200
    )
    assert emu.device.pairings() == []
    # the approval's subject is gone: its token no longer counts
    assert emu.get("/api/system/config", approval).status_code == 401
    r, _ = emu.request("keymgmt:list")
    assert claims(r.json()["authreq"])["scope"] == {}


def test_a_short_pid_pairs_but_is_never_addressed(emu: Kit) -> None:
    """Like the device: a pid that is not 32 bytes is stored, but no authreq names it."""
    short = b64encode(b"1234567890")
    pairing = emu.pair(pid=short)
    assert emu.device.key(pairing.kid) is not None
    r, _ = emu.request("keymgmt:list")
    assert claims(r.json()["authreq"])["scope"] == {}

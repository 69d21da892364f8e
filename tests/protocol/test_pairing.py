"""Pairing: QR parsing, request checks (hash, claims, expiry), reply + MAC, direct pairing."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.errors import DecodeError, ExpiredError, IntegrityError
from authenticator.protocol import ejwt, pairing
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.keys import KeyPair, PrivateKey
from tests.protocol.vectors import b, flip_char, ids, load

REF = load("reference_app")
HEM = load("hem")
CASES = REF["pairing"]
HEM_KEY = KeyPair.from_private(PrivateKey(b"\x42" * 32))


def hem_request(payload: dict[str, object], epk: KeyPair | None = None) -> str:
    """A request as the HEM signs it: keyed X25519(eid_prv, epk) with the HEM header order."""
    secret = b"\x01" * 32 if epk is None else HEM_KEY.exchange(epk.public)
    return ejwt.encode(payload, secret, header=ejwt.HEM_HEADER)


# ---------------------------------------------------------------------------- QR


def test_qr_json_as_the_manager_writes_it() -> None:
    qr = pairing.parse_qr(
        json.dumps(
            {
                "link": "https://api.encedo.com/notify/pairing/abc",
                "hash": b64encode(bytes(32)),
                "user": "John Doe",
                "email": "john@example.com",
                "hostname": "my.ence.do",
            }
        )
    )
    assert qr.link == "https://api.encedo.com/notify/pairing/abc"
    assert qr.hash == b64encode(bytes(32))
    assert (qr.user, qr.email, qr.hostname, qr.hem_url) == (
        "John Doe",
        "john@example.com",
        "my.ence.do",
        None,
    )


def test_qr_bare_link_and_our_url_extension() -> None:
    qr = pairing.parse_qr("  https://api.encedo.com/notify/pairing/x \n")
    assert qr.link == "https://api.encedo.com/notify/pairing/x"
    assert qr.hash is None
    qr = pairing.parse_qr(
        '{"link":"http://127.0.0.1:9/notify/pairing/1","hash":"","url":"http://localhost:8"}'
    )
    assert qr.hash is None
    assert qr.hem_url == "http://localhost:8"


def test_qr_as_encedo_auth_link() -> None:
    qr = pairing.parse_qr(
        "encedo-auth:pair?link=https%3A%2F%2Fb.example%2Fp%2F1&hash=&user=Ann&hostname=h&email="
    )
    assert (qr.link, qr.user, qr.hostname, qr.hash) == ("https://b.example/p/1", "Ann", "h", None)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        None,
        "hello",
        "{}",
        '{"link": 5}',
        '{"link": "http://example.com/p"}',
        '{"link": "ftp://example.com/p"}',
        '{"link": "https://x/p", "user": 7}',
        '{"link": "https://x/p", "hash": "not base64!"}',
        '{"link": "https://x/p", "hash": "AAAA"}',
        '{"link": "https://x/p", "url": "http://evil.example"}',
        "[1]",
        "encedo-auth:pair?link=a&link=b",
        "x" * 5000,
    ],
)
def test_bad_qr_codes(text: object) -> None:
    with pytest.raises(DecodeError):
        pairing.parse_qr(text)


def test_qr_null_fields_read_as_empty() -> None:
    qr = pairing.parse_qr('{"link":"https://x/p","user":null,"email":null,"hostname":null}')
    assert (qr.user, qr.email, qr.hostname) == ("", "", "")


# ---------------------------------------------------------------------------- request checks


@pytest.mark.parametrize("v", CASES, ids=ids(CASES))
def test_reference_reply_and_mac(v: dict[str, object]) -> None:
    request = hem_request(v["request_payload"])  # type: ignore[arg-type]
    req = pairing.check_pairing_request(request, qr_hash=pairing.request_hash(request), now=0)
    aid = KeyPair.from_private(PrivateKey(b(str(v["aid_seed"]))))
    assert b64encode(aid.exchange(req.eid)) == v["s1"]
    assert b64encode(aid.exchange(req.epk)) == v["s_epk"]
    answer = pairing.answer_pairing(req, aid, label=str(v["label"]), fid=str(v["fid"]))
    assert answer.reply == v["reply"]
    assert answer.mac == v["mac"]
    assert list(answer.body()) == v["post_body_keys"]
    assert answer.body()["aid"] == aid.public.b64


@pytest.mark.parametrize("v", CASES, ids=ids(CASES))
def test_reference_reply_tampered_twins(v: dict[str, object]) -> None:
    """What the broker/HEM check: a reply or MAC altered in transit no longer verifies."""
    request = hem_request(v["request_payload"])  # type: ignore[arg-type]
    req = pairing.PairingRequest.parse(request)
    aid = KeyPair.from_private(PrivateKey(b(str(v["aid_seed"]))))
    s1, s_epk = aid.exchange(req.eid), aid.exchange(req.epk)
    reply, mac = str(v["reply"]), str(v["mac"])
    ejwt.Jwt.parse(reply).verify(s1)
    head, body, sig = reply.split(".")
    with pytest.raises(IntegrityError):
        ejwt.Jwt.parse(f"{head}.{body}.{flip_char(sig, 3)}").verify(s1)
    assert b64encode(hmac_sha256(s_epk, (reply + str(v["fid"])).encode())) == mac
    assert b64encode(hmac_sha256(s_epk, (reply + "other-fid").encode())) != mac


def test_real_replies_have_no_eat_and_exact_key_order() -> None:
    payload = dict(HEM["docs_pairing_request_payload"])
    req = pairing.check_pairing_request(hem_request(payload), qr_hash=None, now=payload["exp"])
    assert not req.has_eat
    aid = KeyPair.generate(lambda n: b"\x09" * n)
    answer = pairing.answer_pairing(req, aid, label="My Laptop (Linux)")
    claims = ejwt.read_unverified(answer.reply)
    assert list(claims) == ["jti", "iss", "aud", "epk", "label"]
    assert claims["aud"] == payload["iss"]
    assert claims["epk"] == payload["aud"]
    assert claims["jti"] == payload["jti"]
    assert answer.fid == pairing.DEFAULT_FID


def test_hash_mismatch_stops_before_anything_is_sent() -> None:
    request = hem_request(dict(HEM["docs_pairing_request_payload"]))
    other = hem_request({**HEM["docs_pairing_request_payload"], "jti": b64encode(b"\x01" * 32)})
    with pytest.raises(IntegrityError, match="different request"):
        pairing.check_pairing_request(request, qr_hash=pairing.request_hash(other), now=0)
    with pytest.raises(IntegrityError):
        pairing.check_pairing_request(None, qr_hash=pairing.request_hash(other), now=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("missing", ["jti", "iss", "aud"])
def test_missing_claims_are_named(missing: str) -> None:
    payload = dict(HEM["docs_pairing_request_payload"])
    del payload[missing]
    with pytest.raises(DecodeError, match=missing):
        pairing.check_pairing_request(hem_request(payload), qr_hash=None, now=0)


def test_expiry_is_checked_with_equal_still_valid() -> None:
    payload = dict(HEM["docs_pairing_request_payload"])
    request = hem_request(payload)
    pairing.check_pairing_request(request, qr_hash=None, now=payload["exp"])
    with pytest.raises(ExpiredError, match="expired"):
        pairing.check_pairing_request(request, qr_hash=None, now=payload["exp"] + 1)


def test_request_keys_must_be_32_bytes() -> None:
    payload = {**HEM["docs_pairing_request_payload"], "iss": b64encode(b"x" * 31)}
    with pytest.raises(DecodeError, match="iss"):
        pairing.PairingRequest.parse(hem_request(payload))


@pytest.mark.parametrize("label", ["", "x" * 33, "tab\there"])
def test_label_rules(label: str) -> None:
    req = pairing.PairingRequest.parse(hem_request(dict(HEM["docs_pairing_request_payload"])))
    with pytest.raises(DecodeError):
        pairing.answer_pairing(req, KeyPair.generate(), label=label)


def test_pid_response() -> None:
    assert pairing.parse_pid_response({"pid": "MTIzNDU2Nzg5MA=="}) == "MTIzNDU2Nzg5MA=="
    for bad in ({}, {"pid": ""}, {"pid": 5}, {"pid": "!!"}):
        with pytest.raises(DecodeError):
            pairing.parse_pid_response(bad)


# ---------------------------------------------------------------------------- direct pairing


def direct_request(epk: KeyPair) -> str:
    return hem_request(
        {"jti": b64encode(b"\x33" * 32), "exp": 2_000_000_000, "aud": epk.public.b64,
         "iss": HEM_KEY.public.b64},
        epk,
    )  # fmt: skip


def test_direct_pairing_round_trip_with_the_hem_side_computed_here() -> None:
    epk = KeyPair.generate()
    aid = KeyPair.generate()
    req = pairing.check_pairing_request(direct_request(epk), qr_hash=None, now=1)
    req.verify_signature(epk)
    answer = pairing.answer_pairing(req, aid, label="Desk (Linux)")
    # What the HEM computes: verify with X25519(eid_prv, iss) and the code with reply.epk.
    claims = ejwt.Jwt.parse(answer.reply)
    claims.verify(HEM_KEY.exchange(aid.public))
    assert claims.payload["epk"] == epk.public.b64
    code = b64encode(hmac_sha256(HEM_KEY.exchange(epk.public), answer.reply.encode()))
    pairing.check_pairing_code(code, reply=answer.reply, epk=epk, eid=req.eid)
    result = pairing.ValidateResult.from_json(
        {"kid": "42AFC419DBDA72636B37A2455955E095", "code": code}
    )
    assert result.kid == "42afc419dbda72636b37a2455955e095"


def test_direct_pairing_tampered_twins() -> None:
    epk = KeyPair.generate()
    request = direct_request(epk)
    req = pairing.PairingRequest.parse(request)
    with pytest.raises(IntegrityError):
        req.verify_signature(KeyPair.generate())  # not our key
    head, body, sig = request.split(".")
    with pytest.raises(IntegrityError):
        pairing.PairingRequest.parse(f"{head}.{body}.{flip_char(sig, 2)}").verify_signature(epk)
    reply = pairing.answer_pairing(req, KeyPair.generate(), label="x").reply
    wrong = b64encode(hmac_sha256(b"\x00" * 32, reply.encode()))
    with pytest.raises(IntegrityError, match="confirmation code"):
        pairing.check_pairing_code(wrong, reply=reply, epk=epk, eid=req.eid)


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"kid": "zz", "code": b64encode(bytes(32))},
        {"kid": "g" * 32, "code": b64encode(bytes(32))},
        {"kid": "a" * 32, "code": "short"},
    ],
)
def test_validate_answer_checks(answer: dict[str, str]) -> None:
    with pytest.raises(DecodeError):
        pairing.ValidateResult.from_json(answer)


def test_new_pid_is_32_random_bytes() -> None:
    assert pairing.new_pid(lambda n: b"\x05" * n) == b64encode(b"\x05" * 32)
    assert len(b(pairing.new_pid())) == 32


@given(st.text(max_size=300))
def test_qr_parser_raises_only_decode_errors(text: str) -> None:
    with contextlib.suppress(DecodeError):
        pairing.parse_qr(text)


@given(st.text(max_size=300))
def test_request_checker_raises_only_typed_errors(text: str) -> None:
    with contextlib.suppress(DecodeError, ExpiredError):
        pairing.check_pairing_request(text, qr_hash=None, now=0)

"""The ECDH-JWT: byte-exact encoding, verification over received bytes, unverified reading."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol import ejwt
from authenticator.protocol.b64 import b64url_decode, b64url_encode
from authenticator.protocol.jsonutil import compact_json
from tests.protocol.vectors import b, flip_char, ids, load

V = load("reference_app")["ejwt"]
SECRET = b"\x11" * 32


@pytest.mark.parametrize("v", V, ids=ids(V))
def test_known_answer(v: dict[str, object]) -> None:
    token = ejwt.encode(v["payload"], b(str(v["secret"])))  # type: ignore[arg-type]
    assert token == v["jwt"]
    ejwt.Jwt.parse(token).verify(b(str(v["secret"])))


@pytest.mark.parametrize("v", V, ids=ids(V))
def test_known_answer_tampered_twins(v: dict[str, object]) -> None:
    head, body, sig = str(v["jwt"]).split(".")
    secret = b(str(v["secret"]))
    forged_body = b64url_encode(b64url_decode(body).replace(b'"two"', b'"six"'))
    for forged in (f"{head}.{forged_body}.{sig}", f"{head}.{body}.{flip_char(sig, 5)}"):
        with pytest.raises(IntegrityError):
            ejwt.Jwt.parse(forged).verify(secret)
    with pytest.raises(IntegrityError):
        ejwt.Jwt.parse(str(v["jwt"])).verify(b"\x00" * 32)


def test_headers_in_both_orders() -> None:
    app = ejwt.encode({"x": 1}, SECRET)
    hem = ejwt.encode({"x": 1}, SECRET, header=ejwt.HEM_HEADER)
    assert app.split(".")[0] == "eyJlY2RoIjoieDI1NTE5IiwiYWxnIjoiSFMyNTYiLCJ0eXAiOiJKV1QifQ"
    assert hem.split(".")[0] == "eyJlY2RoIjoieDI1NTE5IiwidHlwIjoiSldUIiwiYWxnIjoiSFMyNTYifQ"
    for token in (app, hem):
        ejwt.Jwt.parse(token).verify(SECRET)


def test_json_is_compact_raw_utf8_and_slashes_unescaped() -> None:
    assert compact_json({"a": "b/c", "ł": "ą", "n": 1}) == '{"a":"b/c","ł":"ą","n":1}'.encode()
    token = ejwt.encode({"link": "https://x/y", "label": "Łódź"}, SECRET)
    assert b64url_decode(token.split(".")[1]) == '{"link":"https://x/y","label":"Łódź"}'.encode()


def test_verification_uses_the_received_bytes_not_a_reserialisation() -> None:
    # A payload with spaces and reversed key order still verifies: the signature covers the
    # exact received segments.
    head = b64url_encode(b'{ "alg": "HS256", "ecdh": "x25519" }')
    body = b64url_encode(b'{ "b": 2,  "a": 1 }')
    sig = b64url_encode(ejwt._sign(SECRET, f"{head}.{body}".encode()))
    jwt = ejwt.Jwt.parse(f"{head}.{body}.{sig}")
    jwt.verify(SECRET)
    assert list(jwt.payload) == ["b", "a"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"ecdh": "x25519", "alg": "none"}, "HS256"),
        ({"ecdh": "x25519"}, "HS256"),
        ({"alg": "HS256"}, "ECDH"),
        ({"ecdh": "p256", "alg": "HS256"}, "ECDH"),
    ],
)
def test_header_must_be_hs256_and_x25519(header: dict[str, str], message: str) -> None:
    token = ejwt.encode({"x": 1}, SECRET, header=header)
    with pytest.raises(DecodeError, match=message):
        ejwt.Jwt.parse(token).verify(SECRET)


def test_plain_hs256_tokens_verify_without_ecdh() -> None:
    token = ejwt.encode({"scope": "x"}, SECRET, header=ejwt.BEARER_HEADER)
    ejwt.Jwt.parse(token).verify(SECRET, require_ecdh=False)


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "a.b",
        "a.b.c.d",
        ".eyJ4IjoxfQ.sig",
        "eyJ4IjoxfQ..sig",
        "eyJ4IjoxfQ.e30.*",
        "eyJ4IjoxfQ.W10.sig",  # payload is a JSON array
        "eyJ4IjoxfQ.bm90IGpzb24.sig",  # payload not JSON
        "eyJ4IjoxLCJ4IjoyfQ.e30.sig",  # duplicate header key
        "eyJ4IjpOYU59.e30.sig",  # NaN
        "ünïcode.e30.sig",
        "a" * 70_000,
    ],
)
def test_malformed_tokens_are_decode_errors(token: object) -> None:
    with pytest.raises(DecodeError):
        ejwt.Jwt.parse(token)


def test_read_unverified_and_redacted_repr() -> None:
    token = ejwt.encode({"jti": "x", "n": 2}, SECRET)
    assert dict(ejwt.read_unverified(token)) == {"jti": "x", "n": 2}
    assert token not in repr(ejwt.Jwt.parse(token))


def test_key_material_pyjwt_refuses_is_a_decode_error() -> None:
    pem_like = b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
    with pytest.raises(DecodeError):
        ejwt.encode({"x": 1}, pem_like)
    token = ejwt.encode({"x": 1}, SECRET)
    with pytest.raises(DecodeError):
        ejwt.Jwt.parse(token).verify(pem_like)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    st.binary(min_size=32, max_size=32),
)
def test_encode_verify_round_trip(payload: dict[str, object], secret: bytes) -> None:
    token = ejwt.encode(payload, secret)
    jwt = ejwt.Jwt.parse(token)
    jwt.verify(secret)
    assert dict(jwt.payload) == payload
    assert list(jwt.payload) == list(payload)


@given(st.text(max_size=300))
def test_parser_raises_only_decode_errors(text: str) -> None:
    with contextlib.suppress(DecodeError):
        ejwt.Jwt.parse(text)

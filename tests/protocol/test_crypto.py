"""Known answers of the primitives (RFC 7748, RFC 4231, NIST SP 800-38A, RFC 7515) and PKCS#7."""

from __future__ import annotations

import pytest

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol import crypto
from authenticator.protocol.b64 import b64url_decode, b64url_encode
from authenticator.protocol.ejwt import Jwt
from authenticator.protocol.keys import PrivateKey, PublicKey
from tests.protocol.vectors import flip_bit, ids, load

V = load("primitives")


@pytest.mark.parametrize("v", V["x25519_rfc7748"], ids=ids(V["x25519_rfc7748"]))
def test_x25519_rfc7748_function(v: dict[str, str]) -> None:
    # The u-coordinate's top bit is set in vector #2: it must be masked, as RFC 7748 demands.
    shared = PrivateKey(bytes.fromhex(v["scalar"])).exchange(PublicKey(bytes.fromhex(v["u"])))
    assert shared.hex() == v["out"]


def test_x25519_rfc7748_diffie_hellman() -> None:
    v = V["x25519_dh_rfc7748"]
    alice = PrivateKey(bytes.fromhex(v["alice_private"]))
    bob = PrivateKey(bytes.fromhex(v["bob_private"]))
    assert alice.public_key.raw.hex() == v["alice_public"]
    assert bob.public_key.raw.hex() == v["bob_public"]
    assert alice.exchange(bob.public_key).hex() == v["shared"]
    assert bob.exchange(alice.public_key).hex() == v["shared"]


@pytest.mark.parametrize("v", V["hmac_sha256_rfc4231"], ids=ids(V["hmac_sha256_rfc4231"]))
def test_hmac_sha256_rfc4231(v: dict[str, object]) -> None:
    if "key" in v:
        key = bytes.fromhex(str(v["key"]))
    else:
        byte, count = v["key_repeat"]  # type: ignore[misc]
        key = bytes.fromhex(byte) * count
    data = bytes.fromhex(str(v["data"])) if "data" in v else str(v["data_text"]).encode()
    assert crypto.hmac_sha256(key, data).hex() == v["mac"]
    assert crypto.hmac_sha256(key, flip_bit(data, 3)).hex() != v["mac"]


def test_aes128_cbc_sp800_38a() -> None:
    v = V["aes128_cbc_sp800_38a"]
    key, iv = bytes.fromhex(v["key"]), bytes.fromhex(v["iv"])
    plain, cipher = bytes.fromhex(v["plaintext"]), bytes.fromhex(v["ciphertext"])
    out = crypto.aes128_cbc_encrypt(key, iv, plain)
    # A block-aligned plaintext gets a whole block of padding after the four NIST blocks.
    assert out[:64] == cipher
    assert len(out) == 80
    assert crypto.aes128_cbc_decrypt(key, iv, out) == plain


def test_hs256_rfc7515_verifies_over_the_received_bytes() -> None:
    v = V["hs256_rfc7515"]
    jws = Jwt.parse(v["jws"])
    # The header and payload hold CR LF: re-serialising them would change the bytes.
    jws.verify(b64url_decode(v["jwk_k"]), require_ecdh=False)
    assert dict(jws.payload) == v["payload"]


def test_hs256_rfc7515_tampered_twin_is_rejected() -> None:
    v = V["hs256_rfc7515"]
    head, body, sig = v["jws"].split(".")
    forged_body = b64url_encode(b64url_decode(body).replace(b'"joe"', b'"eve"'))
    forged = Jwt.parse(f"{head}.{forged_body}.{sig}")
    with pytest.raises(IntegrityError):
        forged.verify(b64url_decode(v["jwk_k"]), require_ecdh=False)


@pytest.mark.parametrize("n", range(33))
def test_pkcs7_round_trip_always_pads(n: int) -> None:
    data = bytes(range(n))
    padded = crypto.pkcs7_pad(data)
    assert len(padded) % 16 == 0
    assert len(padded) > n
    assert crypto.pkcs7_unpad(padded) == data


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x01" * 15,
        b"A" * 15 + b"\x00",
        b"A" * 15 + b"\x11",
        b"A" * 14 + b"\x01\x02",
        b"A" * 13 + b"\x03\x02\x03",
    ],
)
def test_pkcs7_rejects_bad_padding(bad: bytes) -> None:
    with pytest.raises(IntegrityError):
        crypto.pkcs7_unpad(bad)


def test_aes_rejects_wrong_key_or_iv_size_and_unaligned_ciphertext() -> None:
    with pytest.raises(DecodeError):
        crypto.aes128_cbc_encrypt(b"k" * 15, b"i" * 16, b"x")
    with pytest.raises(DecodeError):
        crypto.aes128_cbc_decrypt(b"k" * 16, b"i" * 17, b"x" * 16)
    with pytest.raises(IntegrityError):
        crypto.aes128_cbc_decrypt(b"k" * 16, b"i" * 16, b"x" * 17)
    with pytest.raises(IntegrityError):
        crypto.aes128_cbc_decrypt(b"k" * 16, b"i" * 16, b"")


def test_ct_equal_and_sha256() -> None:
    assert crypto.ct_equal(b"abc", b"abc")
    assert not crypto.ct_equal(b"abc", b"abd")
    assert crypto.sha256(b"abc").hex().startswith("ba7816bf")

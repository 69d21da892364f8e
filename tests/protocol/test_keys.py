"""X25519 key types: clamping, sizes, redacted repr, constant-time equality, low-order peers."""

from __future__ import annotations

import pytest

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.keys import KeyPair, PrivateKey, PublicKey, clamp
from tests.protocol.vectors import b, ids, load

V = load("reference_app")


@pytest.mark.parametrize("v", V["x25519"], ids=ids(V["x25519"]))
def test_seed_is_stored_clamped_and_gives_the_reference_public_key(v: dict[str, str]) -> None:
    key = PrivateKey(b(v["seed"]))
    assert b64encode(key.raw) == v["private_clamped"]
    assert key.public_key.b64 == v["public"]
    # Either form gives the same public key: libsodium clamps internally.
    assert PrivateKey(b(v["private_clamped"])).public_key.b64 == v["public"]


@pytest.mark.parametrize("v", V["x25519_shared"], ids=ids(V["x25519_shared"]))
def test_shared_secrets(v: dict[str, str]) -> None:
    key = PrivateKey.from_b64(v["private"])
    assert b64encode(key.exchange(PublicKey.from_b64(v["peer_public"]))) == v["shared"]


def test_clamp() -> None:
    assert clamp(b"\xff" * 32) == b"\xf8" + b"\xff" * 30 + b"\x7f"
    assert clamp(b"\x00" * 32) == b"\x00" * 31 + b"\x40"
    with pytest.raises(DecodeError):
        clamp(b"\x00" * 31)


@pytest.mark.parametrize("raw", [b"", b"\x01" * 31, b"\x01" * 33])
def test_sizes_are_exact(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        PublicKey(raw)
    with pytest.raises(DecodeError):
        PrivateKey(raw)


def test_non_bytes_are_refused() -> None:
    with pytest.raises(DecodeError):
        PublicKey("a" * 32)  # type: ignore[arg-type]
    with pytest.raises(DecodeError):
        PrivateKey(bytearray(32))  # type: ignore[arg-type]


def test_private_key_repr_is_redacted() -> None:
    key = PrivateKey(bytes(range(32)))
    pair = KeyPair.from_private(key)
    assert "redacted" in repr(key)
    assert b64encode(key.raw) not in repr(pair)
    assert key.raw.hex() not in repr(pair)
    assert pair.public.b64 in repr(pair)


def test_equality_and_hash() -> None:
    a = PrivateKey(bytes(range(32)))
    assert a == PrivateKey(bytes(range(32)))
    assert a != PrivateKey(bytes(range(1, 33)))
    assert a.__eq__("x") is NotImplemented
    assert a.public_key == PublicKey(a.public_key.raw)
    assert a.public_key.__eq__(1) is NotImplemented
    assert len({a, PrivateKey(bytes(range(32)))}) == 1
    assert len({a.public_key, PublicKey(a.public_key.raw)}) == 1
    assert bytes(a) == a.raw
    assert bytes(a.public_key) == a.public_key.raw


def test_generate_uses_the_injected_rng() -> None:
    pair = KeyPair.generate(lambda n: b"\x07" * n)
    assert pair.private == PrivateKey(b"\x07" * 32)
    assert KeyPair.generate().public != KeyPair.generate().public


def test_mismatched_pair_is_refused() -> None:
    with pytest.raises(DecodeError):
        KeyPair(PrivateKey(b"\x01" * 32), PrivateKey(b"\x02" * 32).public_key)


def test_low_order_peer_key_is_refused() -> None:
    # The all-zero point gives an all-zero shared secret that anyone could compute.
    with pytest.raises(IntegrityError):
        PrivateKey(b"\x05" * 32).exchange(PublicKey(b"\x00" * 32))
    with pytest.raises(IntegrityError):
        KeyPair.generate().exchange(PublicKey(b"\x01" + b"\x00" * 31))

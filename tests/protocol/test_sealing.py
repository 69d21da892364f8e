"""Scheme A: the reference events' intermediate values, and every tampering rejected."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.crypto import aes128_cbc_encrypt, hmac_sha256
from authenticator.protocol.sealing import event_master, open_scope, seal_scope, sealed_size
from tests.protocol.vectors import b, flip_bit, ids, load

REF = load("reference_app")
EVENTS = REF["events"]
S1 = b(REF["event_pairing"]["s1"])


@pytest.mark.parametrize("v", EVENTS, ids=ids(EVENTS))
def test_master_key_and_iv(v: dict[str, object]) -> None:
    event = v["event"]
    master = event_master(S1, b(event["jti"]))  # type: ignore[index]
    assert master == b(str(v["master"]))
    assert master[:16] == b(str(v["aes_key"]))
    assert master[16:] == b(str(v["aes_iv"]))


@pytest.mark.parametrize("v", EVENTS, ids=ids(EVENTS))
def test_open_and_reseal_are_byte_exact(v: dict[str, object]) -> None:
    master = b(str(v["master"]))
    sealed = v["event"]["scope"]  # type: ignore[index]
    assert open_scope(master, sealed) == v["scope"]
    assert hmac_sha256(master, str(v["scope"]).encode()) == b(str(v["scope_mac"]))
    assert seal_scope(master, str(v["scope"])) == sealed
    assert seal_scope(master, str(v["granted"])) == v["granted_sealed"]


@pytest.mark.parametrize("v", EVENTS, ids=ids(EVENTS))
def test_every_bit_of_the_sealed_scope_is_protected(v: dict[str, object]) -> None:
    master = b(str(v["master"]))
    raw = b(str(v["event"]["scope"])[1:])  # type: ignore[index]
    for bit in range(len(raw) * 8):
        with pytest.raises(IntegrityError):
            open_scope(master, "A" + b64encode(flip_bit(raw, bit)))


def test_reference_tampered_event_is_rejected_although_it_decrypts() -> None:
    (v,) = REF["tampered_events"]
    master = b(v["master"])
    assert event_master(S1, b(v["event"]["jti"])) == master
    with pytest.raises(IntegrityError):
        open_scope(master, v["event"]["scope"])
    # The ciphertext itself is fine (it decrypts to logger:del); only the tag was altered.
    body = b(v["event"]["scope"][1:])
    assert body[-32:] == b(v["tag_in_event"])
    plain = v["decrypts_to"].encode()
    assert (
        open_scope(master, "A" + b64encode(body[:-32] + hmac_sha256(master, plain)))
        == v["decrypts_to"]
    )


def test_a_wrong_key_never_opens() -> None:
    v = EVENTS[0]
    with pytest.raises(IntegrityError):
        open_scope(bytes(32), v["event"]["scope"])


@pytest.mark.parametrize(
    ("sealed", "error"),
    [
        ("", DecodeError),
        ("B" + "A" * 64, DecodeError),
        ("A$$$", DecodeError),
        ("A" + b64encode(bytes(47)), DecodeError),
        ("A" + b64encode(bytes(49)), DecodeError),
        ("A" + "A" * 9000, DecodeError),
        (None, DecodeError),
    ],
)
def test_format_errors(sealed: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        open_scope(bytes(32), sealed)


def test_bad_padding_and_bad_tag_look_the_same() -> None:
    master = bytes(range(32))
    # A ciphertext whose plaintext has an invalid pad (no padding added before encrypting).
    ct = aes128_cbc_encrypt(master[:16], master[16:], b"x" * 16)[:16]
    with pytest.raises(IntegrityError) as pad_err:
        open_scope(master, "A" + b64encode(ct + bytes(32)))
    sealed = seal_scope(master, "keymgmt:list")
    raw = b(sealed[1:])
    with pytest.raises(IntegrityError) as tag_err:
        open_scope(master, "A" + b64encode(raw[:-1] + bytes([raw[-1] ^ 1])))
    assert str(pad_err.value) == str(tag_err.value)


def test_non_utf8_plaintext_with_a_valid_tag_is_a_decode_error() -> None:
    master = bytes(range(32))
    plain = b"\xff\xfe"
    ct = aes128_cbc_encrypt(master[:16], master[16:], plain)
    with pytest.raises(DecodeError):
        open_scope(master, "A" + b64encode(ct + hmac_sha256(master, plain)))


def test_key_sizes_are_checked() -> None:
    with pytest.raises(DecodeError):
        event_master(b"x" * 31, b"jti")
    with pytest.raises(DecodeError):
        event_master(S1, b"")
    with pytest.raises(DecodeError):
        seal_scope(b"x" * 16, "s")
    with pytest.raises(DecodeError):
        open_scope(b"x" * 16, "A")


@pytest.mark.parametrize(("n", "size"), [(0, 48), (12, 48), (15, 48), (16, 64), (31, 64), (32, 80)])
def test_size_rule(n: int, size: int) -> None:
    assert sealed_size(n) == size
    assert len(b(seal_scope(bytes(32), "x" * n)[1:])) == size


@given(st.text(max_size=200), st.binary(min_size=32, max_size=32))
def test_seal_open_round_trip(scope: str, master: bytes) -> None:
    assert open_scope(master, seal_scope(master, scope)) == scope


@given(st.text(max_size=120))
def test_open_raises_only_typed_errors(text: str) -> None:
    with contextlib.suppress(DecodeError, IntegrityError):
        open_scope(bytes(32), text)

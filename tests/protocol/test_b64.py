"""The base64 flavours and pidx."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.errors import DecodeError
from authenticator.protocol.b64 import b64decode, b64encode, b64url_decode, b64url_encode, pidx
from tests.protocol.vectors import load

PIDX = load("reference_app")["pidx"]


@pytest.mark.parametrize("v", PIDX, ids=[v["pid"] for v in PIDX])
def test_pidx_vectors(v: dict[str, str]) -> None:
    assert pidx(v["pid"]) == v["pidx"]


def test_encoders() -> None:
    assert b64encode(b"\xfb\xff") == "+/8="
    assert b64url_encode(b"\xfb\xff") == "-_8"


@pytest.mark.parametrize("text", ["+/8=", "+/8", "-_8", "-_8=", "  +/8=\n"])
def test_tolerant_decoding_accepts_both_alphabets_and_optional_padding(text: str) -> None:
    assert b64decode(text) == b"\xfb\xff"
    assert b64url_decode(text) == b"\xfb\xff"


@pytest.mark.parametrize("text", ["a", "abcde", "ab$d", "ab=c", "a===", "é", "ab cd"])
def test_malformed_base64_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        b64decode(text)


def test_non_text_and_wrong_size_are_decode_errors() -> None:
    with pytest.raises(DecodeError, match="not a base64 text"):
        b64decode(b"abcd")
    with pytest.raises(DecodeError, match="must be 32 bytes, not 2"):
        b64decode("+/8=", size=32, what="key")


def test_error_messages_name_the_value_never_show_it() -> None:
    with pytest.raises(DecodeError) as info:
        b64decode("c2VjcmV0$", what="private key")
    assert "private key" in str(info.value)
    assert "c2VjcmV0" not in str(info.value)


@given(st.binary(max_size=200))
def test_round_trips(data: bytes) -> None:
    assert b64decode(b64encode(data)) == data
    assert b64url_decode(b64url_encode(data)) == data


@given(st.text(max_size=80))
def test_decoder_raises_only_decode_error(text: str) -> None:
    with contextlib.suppress(DecodeError):
        b64decode(text)

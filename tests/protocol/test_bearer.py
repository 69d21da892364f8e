"""Bearer tokens read without verification; kid ↔ sub."""

from __future__ import annotations

import pytest

from authenticator.errors import DecodeError
from authenticator.protocol import bearer, ejwt
from tests.protocol.vectors import ids, load

V = load("hem")["bearers"]


@pytest.mark.parametrize("v", V, ids=ids(V))
def test_documented_tokens(v: dict[str, object]) -> None:
    tok = bearer.Bearer.parse(v["token"])
    assert (tok.scope, tok.sub, tok.iat, tok.exp) == (v["scope"], v["sub"], v["iat"], v["exp"])
    assert tok.role == v["role"]
    assert tok.kid == v["kid"]
    assert str(v["token"]) not in repr(tok)
    assert tok.jti not in repr(tok)


def test_kid_sub_round_trip() -> None:
    assert bearer.kid_to_sub("42afc419dbda72636b37a2455955e095") == "Qq/EGdvacmNrN6JFWVXglQ=="
    assert bearer.sub_to_kid("Qq/EGdvacmNrN6JFWVXglQ==") == "42afc419dbda72636b37a2455955e095"
    for bad in ("zz", "42af", "4" * 34):
        with pytest.raises(DecodeError):
            bearer.kid_to_sub(bad)


def test_master_role_ctx_and_odd_sub() -> None:
    secret = b"\x01" * 32
    tok = bearer.Bearer.parse(
        ejwt.encode(
            {"scope": "system:config", "sub": "M", "iat": 1, "exp": 2, "jti": "j", "ctx": 5},
            secret,
            header=ejwt.BEARER_HEADER,
        )
    )
    assert (tok.role, tok.kid, tok.ctx) == ("master", None, "5")
    odd = bearer.Bearer.parse(
        ejwt.encode({"scope": "s", "sub": "not-a-kid", "iat": 1, "exp": 2, "jti": "j"}, secret)
    )
    assert (odd.role, odd.kid, odd.ctx) == ("authenticator", None, None)


def test_missing_claim() -> None:
    with pytest.raises(DecodeError, match="exp"):
        bearer.Bearer.parse(
            ejwt.encode({"scope": "s", "sub": "U", "iat": 1, "jti": "j"}, b"k" * 32)
        )

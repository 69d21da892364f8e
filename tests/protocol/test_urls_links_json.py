"""URL rules, encedo-auth: links, and strict JSON."""

from __future__ import annotations

import pytest

from authenticator.errors import DecodeError
from authenticator.protocol import ejwt, jsonutil, links, urls
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.pairing import QrPayload


@pytest.mark.parametrize(
    "url",
    ["https://api.encedo.com/notify/x", "http://127.0.0.1:8080/p", "http://localhost/p",
     "http://[::1]:9/p", "HTTPS://My.Ence.Do"],
)  # fmt: skip
def test_accepted_urls(url: str) -> None:
    assert urls.check_url(url) == url


@pytest.mark.parametrize(
    "url",
    ["http://example.com/p", "http://127.0.0.2/p", "http://localhost.evil.com/",
     "ftp://x/y", "https://", "https://user:pw@host/", "https://host:99999/", "", None,
     "https://host/\n", "x" * 3000, "javascript:alert(1)"],
)  # fmt: skip
def test_refused_urls(url: object) -> None:
    with pytest.raises(DecodeError):
        urls.check_url(url)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://api.encedo.com/notify/pairing/x?y=1", "https://api.encedo.com"),
        ("https://api.encedo.com:443/x", "https://api.encedo.com"),
        ("https://h:8443/x", "https://h:8443"),
        ("http://127.0.0.1:5000/notify", "http://127.0.0.1:5000"),
        ("http://localhost:80/", "http://localhost"),
        ("http://[::1]:9/p", "http://[::1]:9"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert urls.origin_of(url) == origin


def test_is_loopback() -> None:
    assert urls.is_loopback_url("http://127.0.0.1:1/")
    assert not urls.is_loopback_url("https://api.encedo.com/")


def test_pair_link_round_trip() -> None:
    qr = QrPayload(link="https://b.example/p/1", hash=b64encode(bytes(32)), user="Ann",
                   email="a@b.c", hostname="hem.local", hem_url="https://hem.local")  # fmt: skip
    parsed = links.parse_link(links.make_pair_link(qr))
    assert isinstance(parsed, links.PairLink)
    assert parsed.qr == qr
    bare = QrPayload(link="https://b.example/p/2")
    parsed = links.parse_link(links.make_pair_link(bare))
    assert isinstance(parsed, links.PairLink)
    assert parsed.qr == bare


def an_authreq() -> str:
    return ejwt.encode(
        {"iss": b64encode(b"\x01" * 32), "aud": b64encode(b"\x02" * 32), "iat": 1, "exp": 2,
         "jti": b64encode(b"\x03" * 32), "scope": {}},
        b"\x00" * 32, header=ejwt.HEM_HEADER,
    )  # fmt: skip


def test_authreq_link_round_trip() -> None:
    token = an_authreq()
    parsed = links.parse_link(links.make_authreq_link(token, "http://127.0.0.1:5/"))
    assert isinstance(parsed, links.AuthreqLink)
    assert parsed.authreq.token == token
    assert parsed.hem_url == "http://127.0.0.1:5/"
    parsed = links.parse_link(links.make_authreq_link(token))
    assert isinstance(parsed, links.AuthreqLink)
    assert parsed.hem_url is None


@pytest.mark.parametrize(
    "text",
    [None, "https://x/y", "encedo-auth:wat?x=1", "encedo-auth:authreq?x=1",
     "encedo-auth:authreq?authreq=a&authreq=b", "encedo-auth:authreq?authreq=not.a.jwt",
     "encedo-auth:pair?hash=", "x" * 20000],
)  # fmt: skip
def test_bad_links(text: object) -> None:
    with pytest.raises(DecodeError):
        links.parse_link(text)


def test_authreq_link_with_a_bad_hem_url() -> None:
    with pytest.raises(DecodeError):
        links.parse_link(links.make_authreq_link(an_authreq(), "http://evil.example/"))


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",
        b"[]",
        b"1",
        b'{"a":1,"a":2}',
        b'{"a":NaN}',
        b'{"a":Infinity}',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_strict_json(data: bytes | str) -> None:
    with pytest.raises(DecodeError):
        jsonutil.parse_object(data)


def test_typed_getters_name_the_field() -> None:
    obj = {"s": "x", "i": 3, "b": True, "o": {}, "n": None}
    assert jsonutil.get_str(obj, "s") == "x"
    assert jsonutil.get_optional_str(obj, "n") is None
    assert jsonutil.get_optional_str(obj, "s") == "x"
    assert jsonutil.get_int(obj, "i") == 3
    assert jsonutil.get_optional_int(obj, "missing") is None
    assert jsonutil.get_optional_int(obj, "i") == 3
    assert jsonutil.get_object(obj, "o") == {}
    for getter, name in (
        (jsonutil.get_str, "i"),
        (jsonutil.get_int, "b"),
        (jsonutil.get_object, "s"),
    ):
        with pytest.raises(DecodeError, match=repr(name)):
            getter(obj, name)

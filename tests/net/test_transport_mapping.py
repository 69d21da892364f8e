"""Every httpx exception and every HTTP status becomes one of our typed errors (one place)."""

from __future__ import annotations

import inspect
import ssl

import httpx
import pytest

from authenticator import errors
from authenticator.net.transport import map_exception, map_status

URL = "https://hem.example:8443/api/auth/ext/token"


def all_httpx_exceptions() -> list[type[Exception]]:
    found = {
        obj
        for _, obj in inspect.getmembers(httpx)
        if inspect.isclass(obj) and issubclass(obj, Exception)
    }
    return sorted(found, key=lambda c: c.__name__)


def make(cls: type[Exception]) -> Exception:
    request = httpx.Request("POST", URL)
    if issubclass(cls, httpx.HTTPStatusError):
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    try:
        return cls("boom")
    except TypeError:
        return cls()  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", all_httpx_exceptions(), ids=lambda c: c.__name__)
def test_every_httpx_exception_is_mapped_to_a_net_error(cls: type[Exception]) -> None:
    mapped = map_exception(make(cls), peer="the HEM", url=URL)
    assert isinstance(mapped, errors.NetError)
    assert "hem.example:8443" in str(mapped)
    assert "boom" not in str(mapped)  # the low-level text never reaches the person


def test_the_list_covers_the_families_we_care_about() -> None:
    names = {c.__name__ for c in all_httpx_exceptions()}
    assert {"ConnectError", "ReadTimeout", "RemoteProtocolError", "DecodingError"} <= names


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectTimeout("x"), errors.NetTimeoutError),
        (httpx.ReadTimeout("x"), errors.NetTimeoutError),
        (httpx.PoolTimeout("x"), errors.NetTimeoutError),
        (httpx.ConnectError("x"), errors.ConnectError),
        (httpx.RemoteProtocolError("x"), errors.TransportError),
        (httpx.ReadError("x"), errors.TransportError),
        (httpx.DecodingError("x"), errors.BadResponseError),
        (httpx.UnsupportedProtocol("x"), errors.TransportError),
        (httpx.InvalidURL("x"), errors.TransportError),
        (httpx.TooManyRedirects("x"), errors.TransportError),
    ],
)
def test_families(exc: Exception, expected: type[Exception]) -> None:
    assert type(map_exception(exc, peer="the broker", url=URL)) is expected


def test_certificate_failures_are_tls_errors() -> None:
    exc = httpx.ConnectError("handshake failed")
    exc.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    mapped = map_exception(exc, peer="the HEM", url=URL)
    assert isinstance(mapped, errors.TLSError)
    assert "could not be trusted" in str(mapped)


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (401, b"", errors.Unauthorized, "unauthorized"),
        (403, b"", errors.Forbidden, "forbidden"),
        (404, b"", errors.NotFound, "expired"),
        (406, b"", errors.NotAcceptable, "not_acceptable"),
        (409, b"", errors.Conflict, "conflict"),
        (410, b'{"reason":"cancelled"}', errors.Cancelled, "cancelled"),
        (410, b"", errors.HandledElsewhere, "handled_elsewhere"),
        (410, b'{"reason":"other"}', errors.HandledElsewhere, "handled_elsewhere"),
        (410, b"\xff not json", errors.HandledElsewhere, "handled_elsewhere"),
        (410, b"[1]", errors.HandledElsewhere, "handled_elsewhere"),
        (500, b"", errors.Unavailable, "unavailable"),
        (503, b"", errors.Unavailable, "unavailable"),
        (418, b"I'm a teapot", errors.Rejected, "rejected"),
        (413, b"", errors.Rejected, "rejected"),
        (400, b"secret-looking body", errors.Rejected, "rejected"),
        (302, b"", errors.Rejected, "rejected"),
    ],
)
def test_status_mapping(status: int, body: bytes, expected: type[Exception], code: str) -> None:
    err = map_status(status, body, peer="the broker")
    assert type(err) is expected
    assert err.status == status
    assert err.code == code
    assert "secret-looking" not in str(err)

"""The one place where HTTP happens and where its failures become our errors.

Everything the HEM and broker clients send goes through :class:`Transport.request`, which maps

* every httpx exception (:func:`map_exception`): timeouts → ``NetTimeoutError``, refused or
  unreachable → ``ConnectError``, certificate problems → ``TLSError``, a connection dropped
  mid-answer or any other transport failure → ``TransportError``;
* every non-2xx status (:func:`map_status`, spec/protocol.md §8): 401 ``Unauthorized``, 403
  ``Forbidden``, 404 ``NotFound`` (the broker's "expired"), 406 ``NotAcceptable``, 409
  ``Conflict``, 410 ``Cancelled`` when the body says ``{"reason": "cancelled"}`` else
  ``HandledElsewhere``, 5xx ``Unavailable``, anything else ``Rejected``;
* a 2xx answer that is not JSON, or too large, to ``BadResponseError``.

httpx never leaves this package. Messages name the peer ("the HEM at 192.0.2.7") and what to do;
they never contain request bodies, tokens or keys.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from authenticator import __version__
from authenticator.errors import (
    BadResponseError,
    Cancelled,
    Conflict,
    ConnectError,
    Forbidden,
    HandledElsewhere,
    NetError,
    NetTimeoutError,
    NotAcceptable,
    NotFound,
    Rejected,
    ServerError,
    TLSError,
    TransportError,
    Unauthorized,
    Unavailable,
)

__all__ = ["MAX_BODY", "USER_AGENT", "Answer", "Transport", "map_exception", "map_status"]

log = logging.getLogger(__name__)

USER_AGENT = f"EncedoDesktopAuthenticator/{__version__}"
MAX_BODY = 1024 * 1024
"""Answers larger than this are refused: no peer of ours sends more than a few kilobytes."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A 2xx answer: its status and its parsed JSON (``None`` for an empty body)."""

    status: int
    data: Any = field(repr=False)


def _cap(peer: str) -> str:
    """ "the HEM" → "The HEM" (``str.capitalize`` would lower the rest)."""
    return peer[:1].upper() + peer[1:]


def _where(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def map_status(status: int, body: bytes, *, peer: str) -> ServerError:
    """The typed error for a non-2xx answer from ``peer`` (e.g. "the broker")."""
    if status == 401:
        return Unauthorized(f"{_cap(peer)} refused the request as unauthorized.", status=401)
    if status == 403:
        return Forbidden(f"{_cap(peer)} does not allow this (HTTP 403).", status=403)
    if status == 404:
        return NotFound(
            f"{_cap(peer)} no longer knows this item; it has probably expired.", status=404
        )
    if status == 406:
        return NotAcceptable(f"{_cap(peer)} refused the operation (HTTP 406).", status=406)
    if status == 409:
        return Conflict(
            f"{_cap(peer)} is not in a state to do this (not initialised, or a fault is latched).",
            status=409,
        )
    if status == 410:
        reason = None
        try:
            obj = json.loads(body.decode("utf-8")) if body else None
            reason = obj.get("reason") if isinstance(obj, dict) else None
        except (UnicodeDecodeError, ValueError, RecursionError):
            reason = None
        if reason == "cancelled":
            return Cancelled(status=410)
        return HandledElsewhere(status=410)
    if status >= 500:
        return Unavailable(
            f"{_cap(peer)} is unavailable right now (HTTP {status}); the app will retry.",
            status=status,
        )
    if status == 418:
        return Rejected(f"{_cap(peer)} only allows this over HTTPS.", status=418)
    if status == 413:
        return Rejected(f"{_cap(peer)} refused a request that was too large.", status=413)
    return Rejected(f"{_cap(peer)} rejected the request (HTTP {status}).", status=status)


def _is_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ssl.SSLError | ssl.CertificateError):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or "SSL" in type(exc).__name__


def map_exception(exc: Exception, *, peer: str, url: str) -> NetError:
    """The typed error for any exception httpx can raise while talking to ``peer``."""
    where = _where(url)
    if isinstance(exc, httpx.TimeoutException):
        return NetTimeoutError(f"{_cap(peer)} at {where} did not answer in time; try again.")
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        if _is_tls(exc):
            return TLSError(
                f"The certificate of {peer} at {where} could not be trusted; the connection was "
                "refused to keep your keys safe."
            )
        return ConnectError(
            f"Could not connect to {peer} at {where}; check that it is on and reachable."
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return TransportError(f"The address of {peer} ({where}) is not a valid web address.")
    if isinstance(exc, httpx.TooManyRedirects):
        return TransportError(f"{_cap(peer)} at {where} redirected too many times.")
    if isinstance(exc, httpx.DecodingError):
        return BadResponseError(
            f"{_cap(peer)} at {where} sent an answer that is garbled; try again later."
        )
    if isinstance(exc, httpx.NetworkError | httpx.ProtocolError):
        return TransportError(
            f"The connection to {peer} at {where} was interrupted; the app will retry."
        )
    return TransportError(f"Talking to {peer} at {where} failed; try again.")


@functools.cache
def _system_trust() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once: what ``verify=True`` means to httpx,
    which otherwise loads them again for every client (15–60 ms; the app makes a client for
    every conversation with a HEM)."""
    return httpx.create_ssl_context(verify=True, trust_env=False)


class Transport:
    """A small JSON-over-HTTP client for one peer.

    ``close_each`` sends ``Connection: close`` and never reuses a connection (the HEM closes
    after every answer). ``verify`` is ``True`` (system trust store) or an ``ssl.SSLContext``
    (e.g. one that trusts only a pinned certificate).
    """

    def __init__(
        self,
        *,
        peer: str,
        timeout: float,
        connect_timeout: float | None = None,
        verify: bool | ssl.SSLContext = True,
        close_each: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.peer = peer
        self._close_each = close_each
        limits = httpx.Limits(max_keepalive_connections=0) if close_each else httpx.Limits()
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout or min(timeout, 5.0)),
            verify=_system_trust() if verify is True else verify,
            limits=limits,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Mapping[str, Any] | list[Any] | None = None,
        token: str | None = None,
    ) -> Answer:
        """Send one request; return the parsed 2xx answer or raise a typed ``NetError``."""
        headers: dict[str, str] = {}
        if self._close_each:
            headers["Connection"] = "close"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        content = None
        if body is not None:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif method in {"POST", "DELETE"}:
            content = b""
        try:
            with self._client.stream(method, url, content=content, headers=headers) as response:
                raw = bytearray()
                for chunk in response.iter_bytes():
                    raw += chunk
                    if len(raw) > MAX_BODY:
                        raise BadResponseError(
                            f"{_cap(self.peer)} at {_where(url)} sent an answer that is far "
                            "too large; try again later."
                        )
                status = response.status_code
        except httpx.HTTPError as exc:
            log.debug("%s %s failed: %s", method, _where(url), type(exc).__name__)
            raise map_exception(exc, peer=self.peer, url=url) from None
        log.debug("%s %s -> %d", method, _where(url), status)
        if not 200 <= status < 300:
            raise map_status(status, bytes(raw), peer=self.peer)
        if not raw.strip():
            return Answer(status, None)
        try:
            data = json.loads(bytes(raw).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise BadResponseError(
                f"{_cap(self.peer)} at {_where(url)} answered with something that is not "
                "JSON; try again later."
            ) from None
        return Answer(status, data)

    def json_object(self, answer: Answer) -> dict[str, Any]:
        """The answer's JSON object, or ``BadResponseError``."""
        if not isinstance(answer.data, dict):
            raise BadResponseError(
                f"{_cap(self.peer)} answered with an unexpected shape; try again later."
            )
        return answer.data

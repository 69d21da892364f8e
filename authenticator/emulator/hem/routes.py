"""HTTP for the emulated HEM: the §0 rules of spec/hem-api.md around the device's operations.

Every answer is ``Content-Type: application/json`` with ``Connection: close`` (the device closes
the connection after each response, so clients that reuse connections fail here as they would on
the device); errors have an empty body. In order, before an endpoint runs:

1. ``OPTIONS`` on any path → 204 with the CORS preflight headers;
2. an ``Origin`` outside the configured allow-list → 412;
3. a ``POST`` without ``Content-Length`` → 411; a body over 7300 bytes → 413;
4. an ``Authorization`` header that is present but not a valid token of this boot → 401, on every
   path, open endpoints and unknown paths included;
5. an unknown path or method → 404.

``POST /api/auth/token`` is paced: it answers no sooner than ``pacing_s`` after the request
arrived (``pacing_fail_s`` after 3 consecutive failures), without blocking other requests.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from authenticator.emulator.hem import auth, keyops, system
from authenticator.emulator.hem.device import HemDevice, Principal, Refusal
from authenticator.errors import DecodeError
from authenticator.protocol.jsonutil import compact_json, parse_object

__all__ = ["MAX_BODY", "HemApp", "origin_allowed"]

MAX_BODY = 7300
_DRAIN_LIMIT = 1 << 20

PREFLIGHT = {
    "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
    "access-control-allow-headers": (
        "Content-Type, Cache-Control, Pragma, Expires, Authorization, Content-Disposition"
    ),
    "access-control-max-age": "86400",
    "access-control-allow-credentials": "true",
}


@dataclass(frozen=True, slots=True)
class Call:
    """One request as an endpoint sees it."""

    params: tuple[str, ...]
    body: bytes
    who: Principal | None
    host: str | None
    https: bool

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or 400."""
        try:
            return parse_object(self.body, what="request body")
        except DecodeError as exc:
            raise Refusal(400, "the body is not a JSON object") from exc


Handler = Callable[[HemDevice, Call], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    paced: bool = False


def _ep(method: str, path: str, handler: Handler, *, paced: bool = False) -> Endpoint:
    return Endpoint(method, re.compile(path), handler, paced)


ENDPOINTS = (
    _ep("GET", "/api/system/status", lambda d, c: system.status(d, host=c.host)),
    _ep("GET", "/api/system/version", lambda d, c: system.version(d)),
    _ep("GET", "/api/system/checkin", lambda d, c: system.checkin_challenge(d)),
    _ep("POST", "/api/system/checkin", lambda d, c: system.checkin(d, c.json())),
    _ep("GET", "/api/system/config", lambda d, c: system.get_config(d, c.who)),
    _ep("POST", "/api/system/config", lambda d, c: system.set_config(d, c.who, c.json())),
    _ep("GET", "/api/auth/init", lambda d, c: auth.init_challenge(d)),
    _ep("POST", "/api/auth/init", lambda d, c: auth.init(d, c.json())),
    _ep("GET", "/api/auth/token", lambda d, c: auth.login_challenge(d)),
    _ep("POST", "/api/auth/token", lambda d, c: auth.login(d, c.json()), paced=True),
    _ep("POST", "/api/auth/ext/init", lambda d, c: auth.ext_init(d, c.who, c.json())),
    _ep("POST", "/api/auth/ext/validate", lambda d, c: auth.ext_validate(d, c.who, c.json())),
    _ep("POST", "/api/auth/ext/mac", lambda d, c: auth.ext_mac(d, c.who, c.json())),
    _ep("POST", "/api/auth/ext/request", lambda d, c: auth.ext_request(d, c.json())),
    _ep("POST", "/api/auth/ext/token", lambda d, c: auth.ext_token(d, c.json())),
    _ep(
        "GET",
        r"/api/keymgmt/list(?:/([^/]*)(?:/([^/]*))?)?",
        lambda d, c: keyops.keymgmt_list(
            d, c.who, c.params[0] or "0", c.params[1] or "15", https=c.https
        ),
    ),
    _ep(
        "POST",
        "/api/keymgmt/search",
        lambda d, c: keyops.keymgmt_search(d, c.who, c.json(), https=c.https),
    ),
    _ep(
        "GET",
        "/api/keymgmt/get/([^/]*)",
        lambda d, c: keyops.keymgmt_get(d, c.who, c.params[0], https=c.https),
    ),
    _ep(
        "POST",
        "/api/keymgmt/create",
        lambda d, c: keyops.keymgmt_create(d, c.who, c.json(), https=c.https),
    ),
    _ep(
        "DELETE",
        "/api/keymgmt/delete/([^/]*)",
        lambda d, c: keyops.keymgmt_delete(d, c.who, c.params[0], https=c.https),
    ),
)


def origin_allowed(allow_list: str, origin: str) -> bool:
    """The device's CORS rule: entries (comma or space separated) are ``*``, an exact origin, or
    ``*.domain.tld`` (any scheme and port of a host under that domain)."""
    origin = origin.strip().rstrip("/").lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", origin).split(":", 1)[0]
    for entry in re.split(r"[\s,]+", allow_list.strip().lower()):
        if entry == "*" or entry.rstrip("/") == origin:
            return True
        if entry.startswith("*.") and host.endswith(entry[1:]):
            return True
    return False


def _host(headers: Headers) -> str | None:
    """The Host header without its port."""
    host = headers.get("host")
    if host is None:
        return None
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0]


async def _read_body(receive: Receive, limit: int) -> bytes:
    """Read the whole body, keeping at most ``limit`` bytes (the rest is drained and dropped,
    so the connection can be closed without resetting it)."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > _DRAIN_LIMIT:
            break
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _send(
    send: Send, status: int, body: Mapping[str, Any] | None, headers: Mapping[str, str]
) -> None:
    data = b"" if body is None else compact_json(dict(body))
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


def _find(method: str, path: str) -> tuple[Endpoint, tuple[str, ...]] | None:
    for endpoint in ENDPOINTS:
        m = endpoint.pattern.fullmatch(path)
        if m is not None and endpoint.method == method:
            return endpoint, tuple(g or "" for g in m.groups())
    return None


class HemApp:
    """The ASGI app of the HEM paths: ``/api/*`` for HEM ``index``, or ``/hem/<n>/api/*`` when
    ``index`` is ``None`` (``n`` from the route's path parameters)."""

    def __init__(self, devices: Callable[[int], HemDevice | None], index: int | None = None):
        self._devices = devices
        self._index = index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope.get("path_params", {})
        index = self._index if self._index is not None else int(params.get("n", -1))
        device = self._devices(index) if index > 0 or self._index is not None else None
        path = "/api/" + str(params.get("rest", ""))
        if device is None:
            await _read_body(receive, 0)
            await _send(send, 404, None, {})
            return
        status, body, headers = await self._answer(device, scope, receive, path)
        await _send(send, status, body, headers)

    async def _answer(
        self, device: HemDevice, scope: Scope, receive: Receive, path: str
    ) -> tuple[int, Mapping[str, Any] | None, dict[str, str]]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        headers = Headers(scope=scope)
        method = scope["method"]
        extra: dict[str, str] = {}
        origin = headers.get("origin")
        if method == "OPTIONS":
            await _read_body(receive, 0)
            return 204, None, {**PREFLIGHT, "access-control-allow-origin": origin or "*"}
        if origin is not None:
            if not origin_allowed(device.config.origin, origin):
                await _read_body(receive, 0)
                return 412, None, {}
            extra = {
                "access-control-allow-origin": origin,
                "access-control-allow-credentials": "true",
                "vary": "Origin",
            }
        length = headers.get("content-length")
        if method == "POST" and length is None:
            await _read_body(receive, 0)
            return 411, None, extra
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await _read_body(receive, 0)
            return (413 if length.isdigit() else 400), None, extra
        body = await _read_body(receive, MAX_BODY)
        try:
            who = device.authenticate(headers.get("authorization"))
        except Refusal as refusal:
            return refusal.status, None, extra
        found = _find(method, path)
        if found is None:
            return 404, None, extra
        endpoint, groups = found
        delay = auth.login_delay(device) if endpoint.paced else 0.0
        call = Call(params=groups, body=body, who=who, host=_host(headers),
                    https=scope.get("scheme") == "https")  # fmt: skip
        try:
            answer: tuple[int, Mapping[str, Any] | None] = (200, endpoint.handler(device, call))
        except Refusal as refusal:
            answer = (refusal.status, refusal.body)
        if delay:
            await asyncio.sleep(max(0.0, started + delay - loop.time()))
        return answer[0], answer[1], extra

"""HTTP for the demo page: the static files at ``/demo/`` and the JSON API at ``/demo/api/*``.

The page is three files (``index.html``, ``app.js``, ``style.css``) with no external resource,
served with a strict Content-Security-Policy (no inline script, images only from the page or
``data:`` URLs). The API runs the blocking :class:`DemoBackend` calls in a worker thread so the
server's event loop stays free for the HEM and broker the requester is talking to.

Errors are JSON ``{"error": <sentence>, "code": <stable code>}``: 404 unknown id, 400 bad input,
409 wrong state (e.g. the emulator is not listening yet), 502 the HEM or broker failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from authenticator.emulator.demo.backend import DemoBackend, EmulatorLike
from authenticator.errors import (
    AuthenticatorError,
    DecodeError,
    NetError,
    NoSuchRequestError,
    ProtocolError,
    StateError,
)
from authenticator.protocol.jsonutil import parse_object

__all__ = ["demo_routes"]

_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _static(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = resources.files(__package__).joinpath(name).read_bytes()
        return Response(body, media_type=_STATIC[name], headers=_HEADERS)

    return endpoint


def _error(exc: AuthenticatorError) -> Response:
    if isinstance(exc, NoSuchRequestError):
        status = 404
    elif isinstance(exc, DecodeError):
        status = 400
    elif isinstance(exc, StateError):
        status = 409
    elif isinstance(exc, NetError | ProtocolError):
        status = 502
    else:
        status = 500
    return JSONResponse({"error": str(exc), "code": exc.code}, status_code=status, headers=_HEADERS)


def _api(
    call: Callable[[Request, dict[str, Any]], Callable[[], dict[str, Any]]],
) -> Callable[[Request], Awaitable[Response]]:
    """Parse the JSON body (POST), run the blocking call in a thread, answer JSON."""

    async def endpoint(request: Request) -> Response:
        try:
            body: dict[str, Any] = {}
            if request.method == "POST":
                raw = await request.body()
                body = parse_object(raw, what="request") if raw.strip() else {}
            result = await run_in_threadpool(call(request, body))
        except AuthenticatorError as exc:
            return _error(exc)
        return JSONResponse(result, headers=_HEADERS)

    return endpoint


def demo_routes(emulator: EmulatorLike) -> list[BaseRoute]:
    """The demo page's routes, every path under ``/demo``. ``emulator.urls`` is read lazily, at
    request time; ``emulator.passphrase`` (if it has one) is the demo HEM's, else ``demo``."""
    backend = DemoBackend(emulator)

    def key(request: Request) -> str:
        return str(request.path_params["key"])

    async def redirect(request: Request) -> Response:
        return RedirectResponse("demo/", status_code=308)

    return [
        Route("/demo", redirect, methods=["GET"]),
        Route("/demo/", _static("index.html"), methods=["GET"]),
        Route("/demo/app.js", _static("app.js"), methods=["GET"]),
        Route("/demo/style.css", _static("style.css"), methods=["GET"]),
        Route("/demo/api/hem", _api(lambda r, b: backend.hem), methods=["GET"]),
        Route("/demo/api/pair", _api(lambda r, b: backend.start_pairing), methods=["POST"]),
        Route(
            "/demo/api/pair/{key}",
            _api(lambda r, b: lambda: backend.pairing(key(r))),
            methods=["GET"],
        ),
        Route(
            "/demo/api/request",
            _api(lambda r, b: lambda: backend.request(b.get("scope"))),
            methods=["POST"],
        ),
        Route(
            "/demo/api/request/{key}",
            _api(lambda r, b: lambda: backend.access(key(r))),
            methods=["GET"],
        ),
        Route(
            "/demo/api/request/{key}/cancel",
            _api(lambda r, b: lambda: backend.cancel(key(r))),
            methods=["POST"],
        ),
    ]

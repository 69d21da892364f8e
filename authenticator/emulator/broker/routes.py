"""HTTP for the broker: ``/notify/*`` routes that translate to :class:`Broker` calls.

Every answer is JSON, errors included: refusals carry ``{}`` except where the live service is
known to say more (``410 {"reason": "cancelled"}``, ``401 {"err": …}`` for a future ``iat``).
Each path accepts every method so that a wrong one still gets a JSON ``405``, and a catch-all
answers unknown ``/notify/…`` paths with a JSON ``404`` (``subscribers/token`` is one of them,
as it is not deployed live). Each request counts once in :attr:`Broker.calls` under
``"<METHOD> <path template>"``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from authenticator.emulator.broker.service import Broker, NotYetValid
from authenticator.errors import (
    Cancelled,
    DecodeError,
    IntegrityError,
    ProtocolError,
    ServerError,
)
from authenticator.protocol.jsonutil import parse_object

__all__ = ["broker_routes"]

_METHODS = ["GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"]
_MAX_BODY = 64 * 1024

Handler = Callable[[Request, Mapping[str, Any]], Any]


def _json(body: object, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def _refusal(exc: Exception) -> Response:
    """The JSON answer for a refusal raised by the service."""
    if isinstance(exc, NotYetValid):
        return _json({"err": exc.message}, 401)
    if isinstance(exc, Cancelled):
        return _json({"reason": "cancelled"}, 410)
    if isinstance(exc, ServerError):
        return _json({}, exc.status or 400)
    if isinstance(exc, IntegrityError):
        return _json({}, 401)
    return _json({}, 400)


async def _body(request: Request) -> Mapping[str, Any]:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise DecodeError("The request body is too large.")
    if not raw.strip():
        return {}
    return parse_object(raw, what="request body")


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _endpoint(
    broker: Broker, path: str, handlers: dict[str, Handler]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        method = request.method
        broker.count(f"{method} {path}")
        handler = handlers.get(method)
        if handler is None:
            return _json({}, 405)
        try:
            body = await _body(request) if method in {"POST", "DELETE"} else {}
            result = handler(request, body)
        except (ProtocolError, ServerError) as exc:
            return _refusal(exc)
        if result is None:
            return _json({}, 202)
        return _json(result)

    return endpoint


def broker_routes(broker: Broker) -> list[BaseRoute]:
    """The broker's routes, every path under ``/notify/``; mount them at the server's root."""

    def p(request: Request, name: str) -> str:
        value = request.path_params[name]
        assert isinstance(value, str)  # noqa: S101 - starlette's default converter gives str
        return value

    def session_get(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.new_session()

    def session_post(request: Request, body: Mapping[str, Any]) -> Any:
        if "eid" in body and "aid" in body:
            raise DecodeError("Give either eid or aid, not both.")
        if "eid" not in body and "aid" not in body:
            raise DecodeError("Give eid (HEM side) or aid (app side).")
        return broker.new_session(eid=body.get("eid"), aid=body.get("aid"))

    def register_init(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.register_init(body, origin=str(request.base_url), ip=_ip(request))

    def register_check(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.register_check(p(request, "rid"))

    def register_finalise(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.register_finalise(p(request, "rid"), body)

    def pairing_get(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.pairing_get(p(request, "link_id"))

    def pairing_accept(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.pairing_answer(p(request, "link_id"), body, accept=True, ip=_ip(request))

    def pairing_refuse(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.pairing_answer(p(request, "link_id"), body, accept=False, ip=_ip(request))

    def event_new(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.event_new(body, ip=_ip(request))

    def event_check(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.event_check(p(request, "event_id"))

    def event_cancel(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.event_cancel(p(request, "event_id"))

    def allbypid(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.allbypid(body)

    def event_get(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.event_get(p(request, "event_id"), p(request, "pidx"))

    def event_allow(request: Request, body: Mapping[str, Any]) -> Any:
        broker.event_allow(p(request, "event_id"), p(request, "pidx"), body, ip=_ip(request))
        return {}

    def event_deny(request: Request, body: Mapping[str, Any]) -> Any:
        broker.event_deny(p(request, "event_id"), p(request, "pidx"))
        return {}

    def subscribers_list(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.subscribers_list(body)

    def subscribers_delete(request: Request, body: Mapping[str, Any]) -> Any:
        return broker.subscribers_delete(body)

    table: list[tuple[str, dict[str, Handler]]] = [
        ("/notify/session", {"GET": session_get, "POST": session_post}),
        ("/notify/register/init", {"POST": register_init}),
        ("/notify/register/check/{rid}", {"GET": register_check}),
        ("/notify/register/finalise/{rid}", {"POST": register_finalise}),
        (
            "/notify/pairing/{link_id}",
            {"GET": pairing_get, "POST": pairing_accept, "DELETE": pairing_refuse},
        ),
        ("/notify/event/new", {"POST": event_new}),
        ("/notify/event/check/{event_id}", {"GET": event_check}),
        ("/notify/event/data/allbypid", {"POST": allbypid}),
        (
            "/notify/event/data/{event_id}/{pidx}",
            {"GET": event_get, "POST": event_allow, "DELETE": event_deny},
        ),
        ("/notify/event/{event_id}", {"DELETE": event_cancel}),
        ("/notify/subscribers/list", {"POST": subscribers_list}),
        ("/notify/subscribers/delete", {"POST": subscribers_delete}),
        ("/notify/{rest:path}", {}),
    ]
    routes: list[BaseRoute] = []
    for path, handlers in table:
        endpoint = _endpoint(broker, path, handlers)
        if not handlers:  # the catch-all: unknown paths are 404, whatever the method
            endpoint = _not_found_endpoint(broker, path)
        routes.append(Route(path, endpoint, methods=_METHODS))
    return routes


def _not_found_endpoint(broker: Broker, path: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        broker.count(f"{request.method} {path}")
        return _json({}, 404)

    return endpoint

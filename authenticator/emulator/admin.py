"""The admin API (``/_emulator/``): every knob of a running emulator, over HTTP.

For tests in other processes, the demo page and people poking at a running emulator. Answers are
JSON (``{"ok": true, …}``, or ``{"error": "…"}`` with 400 for a bad request and 404 for an unknown
HEM or event). Never faulted, so faults can always be cleared.

==========================================  ==============================================
``GET  /_emulator/``                        summary: HEMs, broker, backend, faults, URLs
``POST /_emulator/faults``                  add a fault (body: a :class:`~.faults.FaultRule`)
``POST /_emulator/faults/clear``            clear faults (``{"prefix"}`` to clear only some)
``POST /_emulator/down``                    ``{"seconds"}``: stop listening, back after that
``POST /_emulator/reset``                   everything back to the start
``POST /_emulator/hems``                    add a HEM (``{"passphrase"?, "fresh"?}``)
``POST /_emulator/hem/<n>/reboot``          new boot: tokens and pending requests die
``POST /_emulator/hem/<n>/skew``            ``{"seconds"}``: the HEM's clock runs off
``POST /_emulator/hem/<n>/clock``           ``{"rate"?, "skew"?}``: how fast / how far off
``POST /_emulator/hem/<n>/hardware``        ``{"form": "ppa"|"epa"}``: what ``hwv`` says
``POST /_emulator/clock``                   ``{"advance"}`` or ``{"set"}``: move the host clock
                                            (only an emulator built on a ``MovableClock``)
``POST /_emulator/hem/<n>/rtc``             ``{"set": bool, "at_boot"?: bool}``
``POST /_emulator/hem/<n>/pacing``          ``{"pacing_s"?, "pacing_fail_s"?}``
``POST /_emulator/hem/<n>/fls``             ``{"state": int}``: a latched self-test fault (409)
``POST /_emulator/hem/<n>/tls``             ``{"required": bool}``: keymgmt over HTTP → 418
``POST /_emulator/hem/<n>/checkin``         ``{"honour": ["OK", "L", …]}``
``POST /_emulator/backend/action``          ``{"action": "OK"|"L"|"W"|"R"|"B"|"U"}``
``POST /_emulator/broker/events/<id>/cancel``  as if the requester withdrew the event
``POST /_emulator/broker/events/<id>/expire``  as if the event timed out
``POST /_emulator/broker/location``         ``{"city", "country"}`` the broker reports
==========================================  ==============================================
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from authenticator.emulator.backend import ACTIONS, CheckinBackend
from authenticator.emulator.clock import MovableClock
from authenticator.emulator.faults import ADMIN_PREFIX, FaultRule, Faults
from authenticator.emulator.hem.device import HemDevice
from authenticator.errors import DecodeError
from authenticator.protocol.jsonutil import parse_object

if TYPE_CHECKING:
    from authenticator.emulator.broker.service import Broker

__all__ = ["admin_routes"]

MAX_DOWN = 600.0


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _number(body: Mapping[str, Any], name: str, *, default: float | None = None) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _BadRequest(f"{name} must be a number")
    return float(value)


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise _BadRequest(f"{name} must be true or false")
    return value


Handler = Callable[[Request, dict[str, Any]], dict[str, Any]]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def run(request: Request) -> JSONResponse:
        try:
            raw = await request.body()
            body = parse_object(raw, what="request body") if raw.strip() else {}
            answer = handler(request, body)
        except DecodeError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except _BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return JSONResponse({"ok": True, **answer})

    return run


class _Listener(Protocol):
    def down(self) -> None: ...

    def up(self) -> None: ...


class Emulated(Protocol):
    """What the admin API drives (``emulator.server.Emulator`` provides it)."""

    clock: Callable[[], float]
    backend: CheckinBackend
    faults: Faults

    @property
    def broker(self) -> Broker | None: ...

    @property
    def listener(self) -> _Listener | None: ...

    def hem(self, index: int) -> HemDevice | None: ...

    def add_hem(self, *, passphrase: str | None = None, fresh: bool = False) -> HemDevice: ...

    def reset(self) -> None: ...

    def summary(self) -> dict[str, Any]: ...


class _Admin:
    def __init__(self, emulator: Emulated) -> None:
        self.emu = emulator

    def _hem(self, request: Request) -> HemDevice:
        device = self.emu.hem(int(request.path_params["n"]))
        if device is None:
            raise _BadRequest("no such HEM", 404)
        return device

    def summary(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return self.emu.summary()

    def add_fault(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        rule = self.emu.faults.add_rule(FaultRule.from_json(body))
        return {"fault": rule.to_json()}

    def clear_faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        prefix = body.get("prefix")
        if prefix is not None and not isinstance(prefix, str):
            raise _BadRequest("prefix must be text")
        return {"cleared": self.emu.faults.clear(prefix)}

    def down(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        seconds = _number(body, "seconds")
        listener = self.emu.listener
        if not 0 < seconds <= MAX_DOWN:
            raise _BadRequest(f"seconds must be more than 0 and at most {MAX_DOWN:g}")
        if listener is None:
            raise _BadRequest("the emulator is not served by serve_in_thread", 409)

        def cycle() -> None:
            listener.down()
            timer = threading.Timer(seconds, listener.up)
            timer.daemon = True
            timer.start()

        threading.Thread(target=cycle, name="emulator-down", daemon=True).start()
        return {"down_for": seconds}

    def reset(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.emu.reset()
        return {}

    def add_hem(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        passphrase, fresh = body.get("passphrase"), body.get("fresh", False)
        if not isinstance(passphrase, (str, type(None))) or not isinstance(fresh, bool):
            raise _BadRequest("passphrase is text, fresh is true or false")
        device = self.emu.add_hem(passphrase=passphrase or None, fresh=fresh)
        return {"index": device.index, "eid": device.eid.b64}

    def reboot(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self._hem(request).reboot()
        return {}

    def skew(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        device = self._hem(request)
        device.clock.set_skew(_number(body, "seconds"))
        return {"skew": device.clock.skew}

    def clock(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        device = self._hem(request)
        if "rate" not in body and "skew" not in body:
            raise _BadRequest("give rate, skew or both")
        with device.lock:
            if "rate" in body:
                device.clock.set_rate(_number(body, "rate"))
            if "skew" in body:
                device.clock.set_skew(_number(body, "skew"))
        return {"rate": device.clock.rate, "skew": device.clock.skew}

    def hardware(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        device = self._hem(request)
        device.set_hardware(body.get("form"))
        return {"hardware": device.hardware}

    def host_clock(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        clock = self.emu.clock
        if not isinstance(clock, MovableClock):
            raise _BadRequest("this emulator runs on the real clock", 409)
        if ("advance" in body) == ("set" in body):
            raise _BadRequest("give advance or set")
        if "advance" in body:
            clock.advance(_number(body, "advance"))
        else:
            clock.set(_number(body, "set"))
        return {"host": clock()}

    def rtc(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        device = self._hem(request)
        with device.lock:
            if "at_boot" in body:
                device.rtc_at_boot = _flag(body, "at_boot")
            device.set_rtc(_flag(body, "set"))
        return {"rtc_set": device.rtc_set}

    def pacing(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        device = self._hem(request)
        fast = _number(body, "pacing_s", default=device.pacing_s)
        slow = _number(body, "pacing_fail_s", default=device.pacing_fail_s)
        device.set_pacing(fast, slow)
        return {"pacing_s": device.pacing_s, "pacing_fail_s": device.pacing_fail_s}

    def fls(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        device = self._hem(request)
        state = body.get("state")
        if isinstance(state, bool) or not isinstance(state, int) or not 0 <= state <= 0xFF:
            raise _BadRequest("state is a number from 0 to 255")
        with device.lock:
            device.fls_state = state
        return {"fls_state": state}

    def tls(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        device = self._hem(request)
        with device.lock:
            device.tls_required = _flag(body, "required")
        return {"tls_required": device.tls_required}

    def checkin_actions(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        device = self._hem(request)
        honour = body.get("honour")
        if not isinstance(honour, list) or not all(a in ACTIONS for a in honour):
            raise _BadRequest(f"honour is a list of {', '.join(ACTIONS)}")
        with device.lock:
            device.checkin_actions = frozenset(honour)
        return {"honour": sorted(honour)}

    def backend_action(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action")
        if not isinstance(action, str):
            raise _BadRequest("action is text")
        self.emu.backend.set_action(action)
        return {"action": action}

    def _broker(self) -> Broker:
        if self.emu.broker is None:
            raise _BadRequest("this emulator runs without a broker", 404)
        return self.emu.broker

    def cancel_event(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if not self._broker().cancel_event(request.path_params["event_id"]):
            raise _BadRequest("no such event", 404)
        return {}

    def expire_event(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if not self._broker().expire_event(request.path_params["event_id"]):
            raise _BadRequest("no such event", 404)
        return {}

    def location(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        city, country = body.get("city"), body.get("country")
        if not isinstance(city, str) or not isinstance(country, str):
            raise _BadRequest("city and country are text")
        self._broker().set_location(city, country)
        return {"city": city, "country": country}


def admin_routes(emulator: Emulated) -> list[BaseRoute]:
    """The ``/_emulator/*`` routes for ``emulator``."""
    a = _Admin(emulator)

    def post(path: str, handler: Handler) -> Route:
        return Route(path, _endpoint(handler), methods=["POST"])

    return [
        Mount(
            ADMIN_PREFIX,
            routes=[
                Route("/", _endpoint(a.summary), methods=["GET"]),
                post("/faults", a.add_fault),
                post("/faults/clear", a.clear_faults),
                post("/down", a.down),
                post("/reset", a.reset),
                post("/hems", a.add_hem),
                post("/hem/{n:int}/reboot", a.reboot),
                post("/hem/{n:int}/skew", a.skew),
                post("/hem/{n:int}/clock", a.clock),
                post("/hem/{n:int}/hardware", a.hardware),
                post("/clock", a.host_clock),
                post("/hem/{n:int}/rtc", a.rtc),
                post("/hem/{n:int}/pacing", a.pacing),
                post("/hem/{n:int}/fls", a.fls),
                post("/hem/{n:int}/tls", a.tls),
                post("/hem/{n:int}/checkin", a.checkin_actions),
                post("/backend/action", a.backend_action),
                post("/broker/events/{event_id}/cancel", a.cancel_event),
                post("/broker/events/{event_id}/expire", a.expire_event),
                post("/broker/location", a.location),
            ],
        )
    ]

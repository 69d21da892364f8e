"""Fault knobs: make chosen requests slow, fail, or break, so clients' failure handling can be
seen in tests and demos.

A :class:`FaultRule` matches requests by path prefix (``/api/auth/ext/token``,
``/notify/event/data``, ``/hem/1/api``…) and optionally by method, and does one thing:

* ``latency_s`` — wait that long, then answer normally (may be combined with any action below);
* ``status`` (+ optional ``body``) — answer that status instead of the real endpoint;
* ``garbage`` — answer 200 with a body that is not JSON;
* ``truncate`` — declare a ``Content-Length`` larger than the body sent, then close;
* ``drop`` — close the connection without any answer;
* ``lose_answer`` — handle the request normally, then close the connection instead of answering
  (the request took effect but the client never hears so: "did my approval land?").

``times`` limits a rule to the next N matching requests (``None``: until cleared). The first
matching rule wins. ``/_emulator/*`` (the admin API) is never faulted, so faults can always be
cleared. "Down" (connection refused) is not a rule but a state of the listener: see
:meth:`authenticator.emulator.server.RunningEmulator.down`.

:class:`FaultMiddleware` applies the rules in front of every route. Closing a connection on
purpose needs the socket's transport, which the emulator's server puts in the ASGI scope's
``state`` under :data:`TRANSPORT_KEY`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from authenticator.errors import DecodeError

__all__ = ["ADMIN_PREFIX", "TRANSPORT_KEY", "FaultMiddleware", "FaultRule", "Faults"]

TRANSPORT_KEY = "emulator.transport"
ADMIN_PREFIX = "/_emulator"
GARBAGE = b"<html><body>502 Bad Gateway \xff\xfe not JSON</body></html>"
MAX_LATENCY = 120.0


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One fault (see the module docstring). Exactly one action, or latency alone."""

    prefix: str
    latency_s: float = 0.0
    status: int | None = None
    body: str | None = None
    garbage: bool = False
    truncate: bool = False
    drop: bool = False
    times: int | None = None
    method: str | None = None
    lose_answer: bool = False

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/") or self.prefix.startswith(ADMIN_PREFIX):
            raise DecodeError("A fault's prefix is a path starting with '/', not the admin API.")
        actions = (
            (self.status is not None) + self.garbage + self.truncate + self.drop + self.lose_answer
        )
        if actions > 1:
            raise DecodeError(
                "A fault does one thing: status, garbage, truncate, drop or lose_answer."
            )
        if not actions and not self.latency_s:
            raise DecodeError("A fault needs latency_s or an action.")
        if not 0 <= self.latency_s <= MAX_LATENCY:
            raise DecodeError(f"latency_s is 0 to {MAX_LATENCY:g} seconds.")
        if self.status is not None and not 200 <= self.status <= 599:
            raise DecodeError("A fault's status is an HTTP status, 200 to 599.")
        if self.body is not None and self.status is None:
            raise DecodeError("A fault's body goes with a status.")
        if self.times is not None and self.times < 1:
            raise DecodeError("times is at least 1 (or absent: until cleared).")
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())

    @property
    def action(self) -> str:
        if self.status is not None:
            return "status"
        for name in ("garbage", "truncate", "drop", "lose_answer"):
            if getattr(self, name):
                return name
        return "latency"

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.prefix) and self.method in (None, method)

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "action": self.action,
            "latency_s": self.latency_s,
            "status": self.status,
            "body": self.body,
            "times": self.times,
            "method": self.method,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> FaultRule:
        """The admin API's body; ``DecodeError`` for anything malformed."""
        known = {"prefix", "latency_s", "status", "body", "garbage", "truncate", "drop", "times",
                 "method", "lose_answer"}  # fmt: skip
        if unknown := set(obj) - known:
            raise DecodeError(f"Unknown fault fields: {', '.join(sorted(unknown))}.")
        prefix = obj.get("prefix")
        latency = obj.get("latency_s", 0.0)
        status, body, times, method = (obj.get(k) for k in ("status", "body", "times", "method"))
        flags = {k: obj.get(k, False) for k in ("garbage", "truncate", "drop", "lose_answer")}
        if (
            not isinstance(prefix, str)
            or isinstance(latency, bool)
            or not isinstance(latency, (int, float))
            or not all(isinstance(v, bool) for v in flags.values())
            or not all(v is None or type(v) is int for v in (status, times))
            or not all(v is None or isinstance(v, str) for v in (body, method))
        ):
            raise DecodeError("A fault is {prefix, latency_s?, status?, body?, garbage?, "
                              "truncate?, drop?, lose_answer?, times?, method?}.")  # fmt: skip
        return cls(prefix=prefix, latency_s=float(latency), status=status, body=body,
                   times=times, method=method, **flags)  # fmt: skip


@dataclass(slots=True)
class _Entry:
    rule: FaultRule
    left: int | None


class Faults:
    """The active rules, in the order they were added; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Entry] = []
        self.applied = 0

    def add(
        self,
        prefix: str,
        *,
        latency_s: float = 0.0,
        status: int | None = None,
        body: str | None = None,
        garbage: bool = False,
        truncate: bool = False,
        drop: bool = False,
        times: int | None = None,
        method: str | None = None,
        lose_answer: bool = False,
    ) -> FaultRule:
        """Add a rule (see :class:`FaultRule`); ``DecodeError`` if it makes no sense."""
        rule = FaultRule(prefix=prefix, latency_s=latency_s, status=status, body=body,
                         garbage=garbage, truncate=truncate, drop=drop, times=times,
                         method=method, lose_answer=lose_answer)  # fmt: skip
        return self.add_rule(rule)

    def add_rule(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(_Entry(rule, rule.times))
        return rule

    def clear(self, prefix: str | None = None) -> int:
        """Remove every rule (or those with exactly this prefix); how many were removed."""
        with self._lock:
            before = len(self._rules)
            self._rules = [e for e in self._rules if prefix is not None and e.rule.prefix != prefix]
            return before - len(self._rules)

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**e.rule.to_json(), "remaining": e.left} for e in self._rules]

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule matching this request, counted as used once."""
        if path.startswith(ADMIN_PREFIX):
            return None
        with self._lock:
            for entry in self._rules:
                if entry.rule.matches(method, path):
                    if entry.left is not None:
                        entry.left -= 1
                        if entry.left <= 0:
                            self._rules.remove(entry)
                    self.applied += 1
                    return entry.rule
        return None


async def _drain(receive: Receive) -> None:
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return
        more = message.get("more_body", False)


async def _close(scope: Scope, receive: Receive) -> None:
    """Close the client's connection now, then wait until the server has noticed."""
    transport = scope.get("state", {}).get(TRANSPORT_KEY)
    if transport is None:
        raise RuntimeError("Dropping a connection needs the emulator's own server.")
    transport.close()
    async with asyncio.timeout(5):
        while (await receive())["type"] != "http.disconnect":
            pass


def _headers(length: int) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
        (b"connection", b"close"),
    ]


class FaultMiddleware:
    """ASGI middleware applying :class:`Faults` in front of everything else."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = None
        if scope["type"] == "http":
            rule = self.faults.take(scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.latency_s:
            await asyncio.sleep(rule.latency_s)
        action = rule.action
        if action == "latency":
            await self.app(scope, receive, send)
            return
        if action == "lose_answer":

            async def swallow(message: Any) -> None:
                """The endpoint answers; nobody hears it."""

            await self.app(scope, receive, swallow)
            await _close(scope, receive)
            return
        await _drain(receive)
        if action == "drop":
            await _close(scope, receive)
            return
        if action == "truncate":
            part = b'{"truncated":'
            await send({"type": "http.response.start", "status": 200,
                        "headers": _headers(len(part) + 64)})  # fmt: skip
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await _close(scope, receive)
            return
        status, data = 200, GARBAGE
        if rule.status is not None:
            status, data = rule.status, (rule.body or "").encode("utf-8")
        await send(
            {"type": "http.response.start", "status": status, "headers": _headers(len(data))}
        )
        await send({"type": "http.response.body", "body": data})

"""The agent's wire protocol, version 1 (docs/agent.md).

One connection carries one request and its one answer, each a single line of UTF-8 JSON
(at most 16 KiB). Requests::

    {"v": 1, "op": "token", "scope": "keymgmt:list", "hem": null, "period": "15m",
     "write": false, "reason": "nightly backup"}
    {"v": 1, "op": "ping"}          {"v": 1, "op": "lock"}
    {"v": 1, "op": "open", "args": ["encedo-auth:…"]}      (a second instance's links)

Answers: ``{"v": 1, "ok": true, …}`` or ``{"v": 1, "ok": false, "error": CODE, "message": TEXT}``
with CODE one of :data:`ERRORS`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from authenticator.errors import (
    AgentUnavailableError,
    AuthenticatorError,
    ConnectError,
    DecodeError,
    ExpiredError,
    HemClockError,
    LockedError,
    NetError,
    NoSuchHemError,
    ProgramChangedError,
    RateLimitedError,
    UnknownScopeError,
    UserCancelled,
)
from authenticator.protocol.periods import Period

__all__ = [
    "ERRORS",
    "MAX_LINE",
    "VERSION",
    "TokenAnswer",
    "TokenRequest",
    "decode_line",
    "encode",
    "error_for",
    "refusal",
]

VERSION = 1
MAX_LINE = 16 * 1024
ERRORS = (
    "denied",
    "expired",
    "locked",
    "unknown_scope",
    "no_such_hem",
    "hem_unreachable",
    "busy",
    "bad_request",
    "hem_clock",
    "program_changed",
    "failed",
)
OPS = ("token", "ping", "lock", "open")


def encode(obj: dict[str, Any]) -> bytes:
    return (
        json.dumps({"v": VERSION, **obj}, separators=(",", ":"), ensure_ascii=False).encode()
        + b"\n"
    )


def decode_line(line: bytes) -> dict[str, Any]:
    """A request or answer line → its object; ``DecodeError`` for anything malformed."""
    if len(line) > MAX_LINE:
        raise DecodeError("The message is too long.")
    try:
        obj = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DecodeError("The message is not JSON.") from exc
    if not isinstance(obj, dict):
        raise DecodeError("The message is not a JSON object.")
    if obj.get("v") != VERSION:
        raise DecodeError(f"Unsupported protocol version (this app speaks v{VERSION}).")
    return obj


@dataclass(frozen=True, slots=True)
class TokenRequest:
    scope: str
    hem: str | None = None
    period: Period = Period.MIN15
    write: bool = False
    reason: str | None = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TokenRequest:
        scope = obj.get("scope")
        if not isinstance(scope, str) or not 0 < len(scope) <= 1023:
            raise DecodeError("'scope' must be a non-empty text.")
        hem = obj.get("hem")
        if hem is not None and (not isinstance(hem, str) or not 0 < len(hem) <= 64):
            raise DecodeError("'hem' must be a HEM name.")
        period = obj.get("period", "15m")
        if isinstance(period, int) and not isinstance(period, bool):
            period = f"{period}s"
        write = obj.get("write", False)
        if not isinstance(write, bool):
            raise DecodeError("'write' must be true or false.")
        reason = obj.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
            raise DecodeError("'reason' must be a short text.")
        return cls(scope=scope, hem=hem, period=Period.parse(period), write=write, reason=reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "op": "token",
            "scope": self.scope,
            "hem": self.hem,
            "period": self.period.flag,
            "write": self.write,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    token: str
    exp: int
    scope: str
    hem: str

    def __repr__(self) -> str:
        return f"TokenAnswer(scope={self.scope!r}, hem={self.hem!r}, exp={self.exp})"

    def to_json(self) -> dict[str, Any]:
        return {"token": self.token, "exp": self.exp, "scope": self.scope, "hem": self.hem}


# The first class an error is an instance of names the agent's code for it (order matters).
_REFUSAL_CODES: tuple[tuple[type[AuthenticatorError], str], ...] = (
    (UserCancelled, "denied"),
    (HemClockError, "hem_clock"),
    (ProgramChangedError, "program_changed"),
    (ExpiredError, "expired"),
    (LockedError, "locked"),
    (UnknownScopeError, "unknown_scope"),
    (NoSuchHemError, "no_such_hem"),
    (NetError, "hem_unreachable"),
    (RateLimitedError, "busy"),
    (DecodeError, "bad_request"),
)


def refusal(exc: AuthenticatorError) -> tuple[str, str]:
    """The agent's error code and message for a core error."""
    code = next((code for kind, code in _REFUSAL_CODES if isinstance(exc, kind)), "failed")
    return code, str(exc)


_ERROR_TYPES: dict[str, type[AuthenticatorError]] = {
    "denied": UserCancelled,
    "expired": ExpiredError,
    "locked": LockedError,
    "unknown_scope": UnknownScopeError,
    "no_such_hem": NoSuchHemError,
    "hem_unreachable": ConnectError,
    "busy": RateLimitedError,
    "bad_request": DecodeError,
    "hem_clock": HemClockError,
    "program_changed": ProgramChangedError,
}


def error_for(code: str, message: str) -> AuthenticatorError:
    """The typed error a client raises for a refusal."""
    cls = _ERROR_TYPES.get(code, AgentUnavailableError)
    return cls(message or None)

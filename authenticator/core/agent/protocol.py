"""The agent's wire protocol, version 1 (docs/agent.md).

One connection carries one request and its one answer, each a single line of UTF-8 JSON
(a request at most 16 KiB, an answer at most 64 KiB). Requests::

    {"v": 1, "op": "token", "scope": "keymgmt:list", "hem": null, "period": "15m",
     "write": false, "reason": "nightly backup"}
    {"v": 1, "op": "token", "scopes": ["keymgmt:list", "system:config"], "code": 47,
     "progress": true, …}                       (several scopes, code matching, progress lines)
    {"v": 1, "op": "ping"}          {"v": 1, "op": "lock"}
    {"v": 1, "op": "grants"}        {"v": 1, "op": "forget", "rule": "R3"}
    {"v": 1, "op": "open", "args": ["encedo-auth:…"]}      (a second instance's links)

Answers: ``{"v": 1, "ok": true, …}`` or ``{"v": 1, "ok": false, "error": CODE, "message": TEXT}``
with CODE one of :data:`ERRORS`. A token request that set ``"progress": true`` may first get
lines ``{"v": 1, "progress": STATE, …}`` (no ``ok``): ``locked`` (waiting for the owner to
unlock) and ``waiting`` (the prompt is shown). Everything added since the first release is an
added field: a client that sends ``scope`` and reads one line sees what it always saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from authenticator.core.bundles import MAX_SCOPES
from authenticator.core.codes import CodeRequiredError, parse_code
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
    "FEATURES",
    "MAX_ANSWER",
    "MAX_LINE",
    "MAX_SCOPES",
    "OPS",
    "VERSION",
    "BundleAnswer",
    "ScopeResult",
    "TokenAnswer",
    "TokenRequest",
    "decode_line",
    "encode",
    "error_for",
    "refusal",
]

VERSION = 1
MAX_LINE = 16 * 1024
MAX_ANSWER = 64 * 1024
"""An answer may be longer than a request: eight scopes, each with its token."""
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
    "code_required",
    "withdrawn",
    "failed",
)
OPS = ("token", "ping", "lock", "open", "grants", "forget", "pending")
FEATURES = ("scopes", "progress", "code", "grants", "forget", "wait_unlock", "pending")
"""What this app understands beyond the first release (``ping`` lists them)."""


def encode(obj: dict[str, Any]) -> bytes:
    return (
        json.dumps({"v": VERSION, **obj}, separators=(",", ":"), ensure_ascii=False).encode()
        + b"\n"
    )


def decode_line(line: bytes, *, limit: int = MAX_LINE) -> dict[str, Any]:
    """A request or answer line → its object; ``DecodeError`` for anything malformed."""
    if len(line) > limit:
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


def _scope(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 1023:
        raise DecodeError("Each scope must be a non-empty text (at most 1023 characters).")
    return value


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A token request: one scope (``scope``) or several (``scopes``, at most 8, one prompt).

    ``code``: the two-digit code the program shows, for code matching; ``progress``: the client
    reads progress lines before the answer."""

    scopes: tuple[str, ...]
    hem: str | None = None
    period: Period = Period.MIN15
    write: bool = False
    reason: str | None = None
    code: int | None = None
    progress: bool = False
    several: bool = False
    """The client named a list (``scopes``): its answer lists the result of each."""

    @property
    def scope(self) -> str:
        return self.scopes[0]

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TokenRequest:
        scope, scopes = obj.get("scope"), obj.get("scopes")
        if scope is not None and scopes is not None:
            raise DecodeError("Send either 'scope' or 'scopes', not both.")
        if scopes is not None:
            if not isinstance(scopes, list) or not scopes:
                raise DecodeError("'scopes' must be a non-empty list of scopes.")
            if len(scopes) > MAX_SCOPES:
                raise DecodeError(
                    f"At most {MAX_SCOPES} scopes can be asked for at once ({len(scopes)} were "
                    "named); split them into several requests."
                )
            named = tuple(dict.fromkeys(_scope(s) for s in scopes))
        else:
            if not isinstance(scope, str) or not 0 < len(scope) <= 1023:
                raise DecodeError("'scope' must be a non-empty text.")
            named = (scope,)
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
        raw_code = obj.get("code")
        code = parse_code(raw_code)
        if raw_code is not None and code is None:
            raise DecodeError("'code' must be a two-digit number, 10 to 99.")
        progress = obj.get("progress", False)
        if not isinstance(progress, bool):
            raise DecodeError("'progress' must be true or false.")
        return cls(
            scopes=named,
            hem=hem,
            period=Period.parse(period),
            write=write,
            reason=reason,
            code=code,
            progress=progress,
            several=scopes is not None,
        )

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"op": "token"}
        if self.several:
            obj["scopes"] = list(self.scopes)
        else:
            obj["scope"] = self.scope
        obj.update(
            {
                "hem": self.hem,
                "period": self.period.flag,
                "write": self.write,
                "reason": self.reason,
            }
        )
        if self.code is not None:
            obj["code"] = self.code
        if self.progress:
            obj["progress"] = True
        return obj


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


@dataclass(frozen=True, slots=True)
class ScopeResult:
    """One scope of an answer: its token (``granted`` says what was granted), or its error
    code and message. ``scope`` is the scope as asked."""

    scope: str
    token: str | None = field(default=None, repr=False)
    granted: str | None = None
    exp: int | None = None
    error: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.token is not None

    def to_json(self) -> dict[str, Any]:
        if self.ok:
            return {
                "scope": self.scope,
                "ok": True,
                "granted": self.granted,
                "token": self.token,
                "exp": self.exp,
            }
        return {"scope": self.scope, "ok": False, "error": self.error, "message": self.message}

    @classmethod
    def from_json(cls, obj: object) -> ScopeResult:
        if not isinstance(obj, dict) or not isinstance(obj.get("scope"), str):
            raise DecodeError("A scope's result is malformed.")
        if obj.get("ok") is True:
            token, exp = obj.get("token"), obj.get("exp")
            if not isinstance(token, str) or isinstance(exp, bool) or not isinstance(exp, int):
                raise DecodeError("A scope's result is malformed.")
            granted = obj.get("granted")
            return cls(
                obj["scope"], token, granted if isinstance(granted, str) else obj["scope"], exp
            )
        return cls(
            obj["scope"], error=str(obj.get("error") or "failed"), message=str(obj.get("message"))
        )


@dataclass(frozen=True, slots=True)
class BundleAnswer:
    """The answer to a request of several scopes: one result per scope, in the order asked.

    ``how``: ``clicked``, ``remembered`` or ``renewed``; ``renewed_until``: the access it
    extended, when it was a renewal."""

    hem: str | None
    results: tuple[ScopeResult, ...]
    how: str = "clicked"
    renewed_until: int | None = None

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def tokens(self) -> dict[str, str]:
        """``{scope as asked: token}`` for the scopes that got one."""
        return {r.scope: r.token for r in self.results if r.token is not None}


# The first class an error is an instance of names the agent's code for it (order matters).
_REFUSAL_CODES: tuple[tuple[type[AuthenticatorError], str], ...] = (
    (UserCancelled, "denied"),
    (CodeRequiredError, "code_required"),
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
    "code_required": CodeRequiredError,
}


def error_for(code: str, message: str) -> AuthenticatorError:
    """The typed error a client raises for a refusal."""
    cls = _ERROR_TYPES.get(code, AgentUnavailableError)
    return cls(message or None)

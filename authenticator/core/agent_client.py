"""A tiny Python client for the running app's local agent (click-to-approve).

    from authenticator.core.agent_client import AgentClient
    token = AgentClient.for_home().token(scope="keymgmt:list").token

``token`` blocks until the owner approves or denies in the app (while the app is locked it
waits for the owner to unlock); refusals raise the typed errors of ``authenticator.errors``
(``UserCancelled`` for denied, ``ExpiredError``, ``UnknownScopeError``, ``NoSuchHemError``,
``ConnectError`` for an unreachable HEM, ``RateLimitedError`` for busy, ``DecodeError`` for a
bad request, ``CodeRequiredError`` when the app wants a code and none was sent).
``AgentNotRunning`` means there is no app to ask; ``AgentTimeout`` that ``timeout`` seconds
passed (the request is withdrawn).

Several scopes in one prompt, code matching and progress::

    answer = AgentClient.for_home().tokens(
        ["keymgmt:list", "system:config"], code=47, on_progress=print, timeout=300
    )
    answer.tokens()   # {"keymgmt:list": "eyJ…", …}; answer.results says why a scope got none

Before a byte is sent the client makes sure it talks to *your* app: the socket's folder passes
``store.paths.check_runtime_dir`` (a real folder, yours, mode 0700, else ``UnsafeFolderError``),
and the process serving the socket runs as your user (``SO_PEERCRED``, else
``ForeignAgentError``). Every operation (token, ping, lock, open) goes through that one path.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from authenticator.core.agent.protocol import (
    MAX_ANSWER,
    BundleAnswer,
    ScopeResult,
    TokenAnswer,
    TokenRequest,
    decode_line,
    encode,
    error_for,
)
from authenticator.errors import AgentUnavailableError, BadResponseError, ForeignAgentError
from authenticator.protocol.periods import Period
from authenticator.store.paths import AppPaths, check_runtime_dir

__all__ = ["AgentClient", "AgentNotRunning", "AgentTimeout", "Progress"]

Progress = Callable[[dict[str, Any]], None]
"""Called with each progress line (``{"progress": "locked" | "waiting", …}``)."""


class AgentNotRunning(AgentUnavailableError):
    default_message = "The authenticator app is not running; start it and try again."


class AgentTimeout(AgentUnavailableError):
    code = "timeout"
    default_message = (
        "Nobody answered in time; the request was withdrawn. Ask again, or give a longer --timeout."
    )


class AgentClient:
    def __init__(self, path: Path, *, connect_timeout: float = 2.0) -> None:
        self.path = path
        self.connect_timeout = connect_timeout

    @classmethod
    def for_home(cls, home: str | None = None) -> AgentClient:
        """The agent of the app running for ``home`` (default: env, then the platform's)."""
        return cls(AppPaths.resolve(home, os.environ).agent_socket)

    def _check_server(self, sock: socket.socket) -> None:
        """The process serving the socket must run as this user, whoever this user is."""
        so_peercred = getattr(socket, "SO_PEERCRED", None)
        if so_peercred is None or not hasattr(os, "getuid"):  # pragma: no cover - not Linux
            return
        raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
        if uid != os.getuid():
            raise ForeignAgentError(
                f"The socket {self.path} is served by a program of another user (uid {uid}), "
                "not by your authenticator app; nothing was sent to it. Someone may be trying "
                "to stand in for the app: tell the computer's administrator."
            )

    def _call(
        self,
        message: dict[str, Any],
        timeout: float | None,
        on_progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Send ``message`` and read lines until the answer (``ok`` present); progress lines
        go to ``on_progress``. ``timeout`` bounds the whole wait (``AgentTimeout``)."""
        if not check_runtime_dir(self.path.parent):
            raise AgentNotRunning()
        deadline = None if timeout is None else time.monotonic() + timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.connect_timeout)
            try:
                sock.connect(str(self.path))
            except (FileNotFoundError, ConnectionRefusedError, TimeoutError) as exc:
                raise AgentNotRunning() from exc
            except OSError as exc:
                raise AgentNotRunning(
                    f"The authenticator app cannot be reached ({exc.strerror})."
                ) from exc
            self._check_server(sock)
            sock.sendall(encode(message))
            buf = bytearray()
            while True:
                while b"\n" not in buf:
                    if deadline is not None:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise AgentTimeout()
                        sock.settimeout(left)
                    else:
                        sock.settimeout(None)
                    try:
                        chunk = sock.recv(4096)
                    except TimeoutError as exc:
                        raise AgentTimeout() from exc
                    if not chunk:
                        raise AgentUnavailableError("The authenticator app closed the connection.")
                    buf += chunk
                    if len(buf) > MAX_ANSWER + 1:
                        raise BadResponseError("The authenticator app sent an oversized answer.")
                line, _, rest = bytes(buf).partition(b"\n")
                buf = bytearray(rest)
                answer = decode_line(line, limit=MAX_ANSWER)
                if "ok" in answer:
                    break
                if on_progress is not None and isinstance(answer.get("progress"), str):
                    on_progress(answer)
        finally:
            sock.close()
        if answer.get("ok") is not True and not isinstance(answer.get("results"), list):
            raise error_for(str(answer.get("error")), str(answer.get("message") or ""))
        return answer

    def ping(self) -> dict[str, Any]:
        return self._call({"op": "ping"}, 5.0)

    def lock(self) -> None:
        self._call({"op": "lock"}, 10.0)

    def open_links(self, links: list[str]) -> None:
        self._call({"op": "open", "args": links}, 10.0)

    def pending(self) -> list[dict[str, Any]]:
        """The requests waiting in the app's window (``AccessRequest.to_json`` each)."""
        answer = self._call({"op": "pending"}, 10.0)
        requests = answer.get("requests")
        if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
            raise BadResponseError("The authenticator app sent a malformed list of requests.")
        return requests

    def grants(self) -> dict[str, Any]:
        """Access in use: ``{"grants": [...], "rules": [...], "note": ...}`` (docs/agent.md)."""
        return self._call({"op": "grants"}, 10.0)

    def forget(self, rule: str) -> list[str]:
        """Forget a remembered rule by id (``"all"``: every one); the ids forgotten."""
        answer = self._call({"op": "forget", "rule": rule}, 10.0)
        forgotten = answer.get("forgotten")
        return [str(r) for r in forgotten] if isinstance(forgotten, list) else []

    def token(
        self,
        scope: str,
        *,
        hem: str | None = None,
        period: Period = Period.MIN15,
        write: bool = False,
        reason: str | None = None,
        timeout: float | None = None,
        code: int | None = None,
        on_progress: Progress | None = None,
    ) -> TokenAnswer:
        """Ask for a token; blocks until the owner answers (or ``timeout`` seconds)."""
        request = TokenRequest(
            scopes=(scope,),
            hem=hem,
            period=period,
            write=write,
            reason=reason,
            code=code,
            progress=on_progress is not None,
        )
        answer = self._call(request.to_json(), timeout, on_progress)
        if answer.get("ok") is not True:
            raise error_for(str(answer.get("error")), str(answer.get("message") or ""))
        try:
            return TokenAnswer(
                token=str(answer["token"]),
                exp=int(answer["exp"]),
                scope=str(answer["scope"]),
                hem=str(answer["hem"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadResponseError("The authenticator app sent an incomplete answer.") from exc

    def tokens(
        self,
        scopes: Sequence[str],
        *,
        hem: str | None = None,
        period: Period = Period.MIN15,
        write: bool = False,
        reason: str | None = None,
        timeout: float | None = None,
        code: int | None = None,
        on_progress: Progress | None = None,
    ) -> BundleAnswer:
        """Ask for several scopes in one prompt (at most 8); one result per scope, in order.

        Raises only when the request failed as a whole (denied, expired, …); a scope that
        failed on its own is a result with its error code and message.
        """
        request = TokenRequest(
            scopes=tuple(dict.fromkeys(scopes)),
            hem=hem,
            period=period,
            write=write,
            reason=reason,
            code=code,
            progress=on_progress is not None,
            several=True,
        )
        answer = self._call(request.to_json(), timeout, on_progress)
        try:
            results = tuple(ScopeResult.from_json(r) for r in answer["results"])
        except (KeyError, TypeError) as exc:
            raise BadResponseError("The authenticator app sent an incomplete answer.") from exc
        hem_name = answer.get("hem")
        renewed = answer.get("renewed_until")
        return BundleAnswer(
            hem=hem_name if isinstance(hem_name, str) else None,
            results=results,
            how=str(answer.get("how") or "clicked"),
            renewed_until=renewed if isinstance(renewed, int) else None,
        )

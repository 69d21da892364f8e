"""A tiny Python client for the running app's local agent (click-to-approve).

    from authenticator.core.agent_client import AgentClient
    token = AgentClient.for_home().token(scope="keymgmt:list").token

``token`` blocks until the owner approves or denies in the app; refusals raise the typed errors
of ``authenticator.errors`` (``UserCancelled`` for denied, ``ExpiredError``, ``LockedError``,
``UnknownScopeError``, ``NoSuchHemError``, ``ConnectError`` for an unreachable HEM,
``RateLimitedError`` for busy, ``DecodeError`` for a bad request). ``AgentNotRunning`` means
there is no app to ask.

Before a byte is sent the client makes sure it talks to *your* app: the socket's folder passes
``store.paths.check_runtime_dir`` (a real folder, yours, mode 0700, else ``UnsafeFolderError``),
and the process serving the socket runs as your user (``SO_PEERCRED``, else
``ForeignAgentError``). Every operation (token, ping, lock, open) goes through that one path.
"""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path
from typing import Any

from authenticator.core.agent.protocol import (
    MAX_LINE,
    TokenAnswer,
    TokenRequest,
    decode_line,
    encode,
    error_for,
)
from authenticator.errors import AgentUnavailableError, BadResponseError, ForeignAgentError
from authenticator.protocol.periods import Period
from authenticator.store.paths import AppPaths, check_runtime_dir

__all__ = ["AgentClient", "AgentNotRunning"]


class AgentNotRunning(AgentUnavailableError):
    default_message = "The authenticator app is not running; start it and try again."


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

    def _call(self, message: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        if not check_runtime_dir(self.path.parent):
            raise AgentNotRunning()
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
            sock.settimeout(timeout)
            sock.sendall(encode(message))
            buf = bytearray()
            while b"\n" not in buf:
                try:
                    chunk = sock.recv(4096)
                except TimeoutError as exc:
                    raise AgentUnavailableError(
                        "The authenticator app did not answer in time."
                    ) from exc
                if not chunk:
                    raise AgentUnavailableError("The authenticator app closed the connection.")
                buf += chunk
                if len(buf) > MAX_LINE + 1:
                    raise BadResponseError("The authenticator app sent an oversized answer.")
        finally:
            sock.close()
        answer = decode_line(bytes(buf.split(b"\n", 1)[0]))
        if answer.get("ok") is not True:
            raise error_for(str(answer.get("error")), str(answer.get("message") or ""))
        return answer

    def ping(self) -> dict[str, Any]:
        return self._call({"op": "ping"}, 5.0)

    def lock(self) -> None:
        self._call({"op": "lock"}, 10.0)

    def open_links(self, links: list[str]) -> None:
        self._call({"op": "open", "args": links}, 10.0)

    def token(
        self,
        scope: str,
        *,
        hem: str | None = None,
        period: Period = Period.MIN15,
        write: bool = False,
        reason: str | None = None,
        timeout: float | None = None,
    ) -> TokenAnswer:
        """Ask for a token; blocks until the owner answers (or ``timeout`` seconds)."""
        request = TokenRequest(scope=scope, hem=hem, period=period, write=write, reason=reason)
        answer = self._call(request.to_json(), timeout)
        try:
            return TokenAnswer(
                token=str(answer["token"]),
                exp=int(answer["exp"]),
                scope=str(answer["scope"]),
                hem=str(answer["hem"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadResponseError("The authenticator app sent an incomplete answer.") from exc

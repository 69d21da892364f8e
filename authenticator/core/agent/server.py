"""The agent server: owned by the running app, one Unix socket per user and home.

Security: the socket lives in the user's private runtime directory (0700) with mode 0600, so no
other OS user can connect; the peer's uid is checked again on every connection. Robustness:
each client has its own thread and a deadline to send its one request line (≤ 16 KiB), so a
slow, oversized or malformed client is dropped without disturbing the others or the app; a
client that disconnects withdraws its request; a per-program limit keeps a buggy script from
flooding the owner with prompts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from authenticator import __version__
from authenticator.core.agent.protocol import (
    MAX_LINE,
    TokenRequest,
    decode_line,
    encode,
    refusal,
)
from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.journal_kinds import Kind
from authenticator.core.model import Outcome, Program
from authenticator.core.peer import ProcessInfo, peer_of
from authenticator.errors import AuthenticatorError, DecodeError, StateError

if TYPE_CHECKING:
    from authenticator.core.app import Core

__all__ = ["AgentServer", "AlreadyRunningError"]

log = logging.getLogger(__name__)

READ_DEADLINE = 5.0
"""Seconds a client has to send its whole request line."""
MAX_CLIENTS = 64


class AlreadyRunningError(StateError):
    code = "already_running"
    default_message = "Another authenticator app is already running for this home."


def _is_listening(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


class AgentServer:
    """Serves the agent protocol for ``core`` on ``path`` until :meth:`stop`."""

    def __init__(
        self,
        core: Core,
        path: Path | None = None,
        *,
        on_open: Callable[[list[str]], None] | None = None,
        limiter: RateLimiter | None = None,
        read_deadline: float = READ_DEADLINE,
    ) -> None:
        self._core = core
        self.path = path or core.paths.agent_socket
        self._on_open = on_open
        self._limiter = limiter or RateLimiter()
        self._read_deadline = read_deadline
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Bind and listen; ``AlreadyRunningError`` if another app serves this home."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        if self.path.exists() or self.path.is_symlink():
            if _is_listening(self.path):
                raise AlreadyRunningError()
            self.path.unlink()  # a stale socket from a crashed run
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, stat.S_IRUSR | stat.S_IWUSR)
        sock.listen(32)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name="agent", daemon=True)
        self._thread.start()
        log.info("agent listening on %s", self.path)

    def stop(self) -> None:
        self._stop.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # ------------------------------------------------------------------ connections

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            sock = self._sock
            if sock is None:
                return
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                with contextlib.suppress(OSError):
                    conn.sendall(
                        encode(
                            {
                                "ok": False,
                                "error": "busy",
                                "message": "Too many programs are waiting; try again.",
                            }
                        )
                    )
                conn.close()
                continue
            threading.Thread(
                target=self._serve, args=(conn,), name="agent-client", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                peer = peer_of(conn)
                if peer is not None and peer.uid is not None and peer.uid != os.getuid():
                    log.warning("agent: refused a connection from uid %s", peer.uid)
                    return
                reply = self._handle(conn, peer)
                if reply is not None:
                    with contextlib.suppress(OSError):
                        conn.sendall(encode(reply))
        except Exception:  # one client's failure never reaches the others
            log.exception("agent client failed")
        finally:
            self._slots.release()

    def _read_line(self, conn: socket.socket) -> bytes:
        deadline = time.monotonic() + self._read_deadline
        buf = bytearray()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DecodeError("The request took too long to arrive.")
            conn.settimeout(left)
            try:
                chunk = conn.recv(4096)
            except TimeoutError as exc:
                raise DecodeError("The request took too long to arrive.") from exc
            if not chunk:
                raise DecodeError("The connection closed before a request arrived.")
            buf += chunk
            if len(buf) > MAX_LINE + 1:
                raise DecodeError("The request is too long.")
        return bytes(buf.split(b"\n", 1)[0])

    def _handle(self, conn: socket.socket, peer: ProcessInfo | None) -> dict[str, Any] | None:
        try:
            obj = decode_line(self._read_line(conn))
        except DecodeError as exc:
            return {"ok": False, "error": "bad_request", "message": str(exc)}
        op = obj.get("op")
        if op == "ping":
            return {
                "ok": True,
                "version": __version__,
                "locked": self._core.locked,
                "pending": len(self._core.inbox),
            }
        if op == "lock":
            self._core.lock("Locked from the command line.")
            return {"ok": True}
        if op == "open":
            args = obj.get("args")
            if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
                return {
                    "ok": False,
                    "error": "bad_request",
                    "message": "'args' must be a list of texts.",
                }
            if self._on_open is None:
                return {"ok": False, "error": "failed", "message": "This app cannot open links."}
            self._on_open([a[:16384] for a in args[:16]])
            return {"ok": True}
        if op == "token":
            return self._token(conn, obj, peer)
        return {"ok": False, "error": "bad_request", "message": f"Unknown operation {op!r}."}

    # ------------------------------------------------------------------ token

    def _remembered(self, program: Program, request: TokenRequest) -> bool:
        """Whether the person said not to ask again for this program and scope (opt-in)."""
        core = self._core
        if not core.settings.agent_remember_program or program.uid is None:
            return False
        try:
            hem = core.pairing(request.hem).name
        except AuthenticatorError:
            return False
        now = core.clock.now()
        until = now + int(request.period)
        return core.remembered.allows(
            program, hem, request.scope, until=until, write=request.write, now=now
        )

    def _program(self, peer: ProcessInfo | None) -> Program:
        if peer is None:
            return Program(name="a local program")
        return Program(name=peer.name, pid=peer.pid, path=peer.path, uid=peer.uid, user=peer.user)

    def _token(
        self, conn: socket.socket, obj: dict[str, Any], peer: ProcessInfo | None
    ) -> dict[str, Any] | None:
        try:
            request = TokenRequest.from_json(obj)
        except DecodeError as exc:
            return {"ok": False, "error": "bad_request", "message": str(exc)}
        program = self._program(peer)
        key = f"{program.uid}|{program.path or program.name}"
        try:
            with self._limiter.slot(key):
                auto = self._remembered(program, request)
                entry = self._core.ask_hem(
                    request.scope,
                    hem=request.hem,
                    period=request.period,
                    write=request.write,
                    program=program,
                    reason=request.reason,
                    quiet=auto,
                )
                if auto:
                    self._core.requests.grant(entry, request.period, request.write)
                decision = entry.decision
                while not decision.wait(0.25):
                    if _gone(conn):
                        self._core.requests.withdraw(entry.request.id)
                        return None
                    self._core.requests.expire_due()
        except AuthenticatorError as exc:
            code, message = refusal(exc)
            return {"ok": False, "error": code, "message": message}
        outcome, grant = decision.outcome, decision.grant
        if outcome is Outcome.APPROVED and grant is not None and grant.token is not None:
            how = " without asking (remembered)" if auto else ""
            self._core.record(
                Kind.TOKEN_ISSUED,
                hem=entry.request.hem,
                outcome="issued",
                text=f"A token for {grant.scope} was handed to {program.describe()}{how}.",
                remembered=auto,
                program=program.name,
                path=program.path,
                pid=program.pid,
                scope=grant.scope,
                until=grant.exp,
            )
            return {
                "ok": True,
                "token": grant.token,
                "exp": grant.exp,
                "scope": grant.scope,
                "hem": entry.request.hem,
            }
        code = {
            Outcome.DENIED: "denied",
            Outcome.REPORTED: "denied",
            Outcome.EXPIRED: "expired",
            Outcome.LOCKED: "locked",
        }.get(outcome or Outcome.FAILED, "failed")
        return {
            "ok": False,
            "error": code,
            "message": decision.message or f"The request was {code}.",
        }


def _gone(conn: socket.socket) -> bool:
    """Whether the client hung up (readable with nothing to read)."""
    try:
        readable, _, _ = select.select([conn], [], [], 0)
        if not readable:
            return False
        conn.settimeout(0)
        data = conn.recv(1024, socket.MSG_PEEK)
        if data:
            conn.recv(len(data))  # the protocol has nothing more to say: discard
            return False
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True

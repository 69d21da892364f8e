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
from typing import Any, Protocol

from authenticator import __version__
from authenticator.core.agent.identity import program_of
from authenticator.core.agent.protocol import (
    MAX_LINE,
    TokenRequest,
    decode_line,
    encode,
    refusal,
)
from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.inbox import Entry
from authenticator.core.journal_kinds import JournalRecord, RequestEnded, TokenIssued
from authenticator.core.model import Grant, Outcome, Program
from authenticator.core.peer import PeerIdentity, capture
from authenticator.core.remember import program_key
from authenticator.errors import AuthenticatorError, DecodeError, ProgramChangedError, StateError
from authenticator.protocol.periods import Period
from authenticator.store.paths import check_runtime_dir

__all__ = ["AgentHost", "AgentServer", "AlreadyRunningError"]

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


class AgentHost(Protocol):
    """What the agent needs from the app that owns it (``Core`` provides it)."""

    @property
    def locked(self) -> bool: ...

    def pending_count(self) -> int: ...

    def lock(self, reason: str = "") -> None: ...

    def ask_hem(
        self,
        scope: str,
        *,
        hem: str | None = None,
        period: Period = Period.MIN15,
        write: bool = False,
        program: Program | None = None,
        reason: str | None = None,
        quiet: bool = False,
    ) -> Entry: ...

    def grant(self, entry: Entry, period: Period, write: bool) -> Grant: ...

    def withdraw(self, request_id: str, message: str | None = None) -> None: ...

    def remembered_allows(
        self, program: Program, hem: str | None, scope: str, *, period: Period, write: bool
    ) -> bool: ...

    def record(self, record: JournalRecord) -> None: ...


class AgentServer:
    """Serves the agent protocol for ``core`` on ``path`` until :meth:`stop`."""

    def __init__(
        self,
        core: AgentHost,
        path: Path,
        *,
        on_open: Callable[[list[str]], None] | None = None,
        limiter: RateLimiter | None = None,
        read_deadline: float = READ_DEADLINE,
    ) -> None:
        self._core = core
        self.path = path
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
        check_runtime_dir(self.path.parent, create=True)  # ours, 0700, or UnsafeFolderError
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
        peer: PeerIdentity | None = None
        try:
            with conn:
                # Who connected, as it is now: kept (with its pidfd) for the connection's life.
                peer = capture(conn)
                if peer is not None and peer.uid is not None and peer.uid != os.getuid():
                    log.warning("agent: refused a connection from uid %s", peer.uid)
                    return
                log.debug("agent: connection from %r", peer)
                reply = self._handle(conn, peer)
                if reply is not None:
                    with contextlib.suppress(OSError):
                        conn.sendall(encode(reply))
        except Exception:  # one client's failure never reaches the others
            log.exception("agent client failed")
        finally:
            if peer is not None:
                peer.close()
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

    def _handle(self, conn: socket.socket, peer: PeerIdentity | None) -> dict[str, Any] | None:
        try:
            obj = decode_line(self._read_line(conn))
        except DecodeError as exc:
            return {"ok": False, "error": "bad_request", "message": str(exc)}
        try:  # the process that sent the line must be the one that connected
            if peer is not None:
                peer.check()
        except ProgramChangedError as exc:
            log.warning("agent: %s", exc)
            code, message = refusal(exc)
            return {"ok": False, "error": code, "message": message}
        op = obj.get("op")
        if op == "ping":
            return {
                "ok": True,
                "version": __version__,
                "locked": self._core.locked,
                "pending": self._core.pending_count(),
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
        return self._core.remembered_allows(
            program, request.hem, request.scope, period=request.period, write=request.write
        )

    def _program(self, peer: PeerIdentity | None) -> Program:
        """Names cleaned for display; the raw identity rides along for keys and re-checks."""
        return program_of(peer)

    def _token(
        self, conn: socket.socket, obj: dict[str, Any], peer: PeerIdentity | None
    ) -> dict[str, Any] | None:
        try:
            request = TokenRequest.from_json(obj)
        except DecodeError as exc:
            return {"ok": False, "error": "bad_request", "message": str(exc)}
        program = self._program(peer)
        try:
            with self._limiter.slot(program_key(program), program.uid):
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
                    self._core.grant(entry, request.period, request.write)
                decision = entry.decision
                while not decision.wait(0.25):
                    if _gone(conn):
                        self._core.withdraw(entry.request.id)
                        return None
                    if peer is not None and not peer.still_same():  # the prompt goes away
                        self._core.withdraw(
                            entry.request.id,
                            f"{program.describe()} changed after it connected; its request "
                            "was withdrawn.",
                        )
                        program.check_unchanged()
        except AuthenticatorError as exc:
            code, message = refusal(exc)
            return {"ok": False, "error": code, "message": message}
        outcome, grant = decision.outcome, decision.grant
        if outcome is Outcome.APPROVED and grant is not None and grant.token is not None:
            try:  # the token goes only to the process that asked, unchanged
                program.check_unchanged()
            except ProgramChangedError as exc:
                log.warning("agent: token withheld: %s", exc)
                self._core.record(
                    RequestEnded(
                        entry.request,
                        Outcome.FAILED,
                        f"The token for {grant.scope} was not handed out: "
                        f"{program.describe()} changed after it connected.",
                        {"reason": "program_changed", "program": program.name, "pid": program.pid},
                    )
                )
                code, message = refusal(exc)
                return {"ok": False, "error": code, "message": message}
            how = " without asking (remembered)" if auto else ""
            self._core.record(
                TokenIssued(
                    entry.request.hem,
                    f"A token for {grant.scope} was handed to {program.describe()}{how}.",
                    {
                        "remembered": auto,
                        "program": program.name,
                        "path": program.path,
                        "script": program.script,
                        "chain": program.chain_text(),
                        "remote": program.remote,
                        "pid": program.pid,
                        "scope": grant.scope,
                        "until": grant.exp,
                    },
                )
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

"""The agent server: owned by the running app, one Unix socket per user and home.

Security: the socket lives in the user's private runtime directory (0700) with mode 0600, so no
other OS user can connect; the peer's uid is checked again on every connection. Robustness:
each client has its own thread and a deadline to send its one request line (≤ 16 KiB), so a
slow, oversized or malformed client is dropped without disturbing the others or the app; a
client that disconnects withdraws its request; a per-program limit keeps a buggy script from
flooding the owner with prompts.

A token request is decided by the core (core/programs.py: code matching, renewal, remembered
rules, merging identical asks, then a prompt). While the app is locked the client waits — it is
counted in the core's ``locked_waiting`` — and the request goes on as soon as the owner unlocks;
a prompt taken away by a lock is asked again after the unlock. The server only talks: it reads
the request, tells a client that asked for progress what it waits for, watches the client (gone
or changed) and hands the tokens out.
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
    FEATURES,
    MAX_LINE,
    MAX_SCOPES,
    TokenRequest,
    decode_line,
    encode,
    refusal,
)
from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.grants import REVOCATION_NOTE, GrantView
from authenticator.core.model import AccessRequest, Outcome, PartResult, Program
from authenticator.core.peer import PeerIdentity, capture
from authenticator.core.programs import ProgramAsk, Ticket
from authenticator.core.remember import Rule, program_key
from authenticator.errors import (
    AuthenticatorError,
    DecodeError,
    LockedError,
    ProgramChangedError,
    StateError,
)
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

    def pending(self) -> list[AccessRequest]: ...

    def lock(self, reason: str = "") -> None: ...

    def wait_unlocked(self, stop: Callable[[], bool]) -> bool: ...

    def ask_program(self, ask: ProgramAsk) -> Ticket: ...

    def grants(self) -> list[GrantView]: ...

    def rules(self) -> list[Rule]: ...

    def forget_rule(self, rule_id: str) -> Rule | None: ...


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
                        conn.settimeout(10.0)  # watching the client left it non-blocking
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
                "features": list(FEATURES),
                "max_scopes": MAX_SCOPES,
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
        if op == "grants":
            return self._grants()
        if op == "pending":
            return self._pending()
        if op == "forget":
            return self._forget(obj)
        return {"ok": False, "error": "bad_request", "message": f"Unknown operation {op!r}."}

    # ------------------------------------------------------------------ access in use

    def _pending(self) -> dict[str, Any]:
        """What waits in the app's window (for ``authenticator requests``): the same model the
        window shows, its outside text already cleaned; nothing while locked. Listing only —
        answering goes through the window (or the command line's own core), never the socket."""
        if self._core.locked:
            code, message = refusal(LockedError())
            return {"ok": False, "error": code, "message": message}
        return {"ok": True, "requests": [r.to_json() for r in self._core.pending()]}

    def _grants(self) -> dict[str, Any]:
        if self._core.locked:  # nothing about requests is shown while locked
            code, message = refusal(LockedError())
            return {"ok": False, "error": code, "message": message}
        return {
            "ok": True,
            "grants": [g.to_json() for g in self._core.grants()],
            "rules": [r.to_json() for r in self._core.rules()],
            "note": REVOCATION_NOTE,
        }

    def _forget(self, obj: dict[str, Any]) -> dict[str, Any]:
        rule = obj.get("rule")
        if not isinstance(rule, str) or not 0 < len(rule) <= 32:
            return {"ok": False, "error": "bad_request", "message": "'rule' must be a rule id."}
        if self._core.locked:
            return {"ok": True, "forgotten": []}  # locking forgot every rule already
        ids = [r.id for r in self._core.rules()] if rule == "all" else [rule]
        forgotten = [rid for rid in ids if self._core.forget_rule(rid) is not None]
        return {"ok": True, "forgotten": forgotten}

    # ------------------------------------------------------------------ token

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
        talk = _Talk(conn, request.progress)
        ask = ProgramAsk(
            scopes=request.scopes,
            program=program,
            hem=request.hem,
            period=request.period,
            write=request.write,
            reason=request.reason,
            code=request.code,
        )

        def changed() -> bool:
            return peer is not None and not peer.still_same()

        try:
            with self._limiter.slot(program_key(program), program.uid):
                while True:
                    if self._core.locked:
                        talk.say(
                            "locked",
                            message="Encedo Authenticator is locked: unlock it to continue…",
                        )
                        if not self._core.wait_unlocked(lambda: _gone(conn) or changed()):
                            program.check_unchanged()  # a change is refused as one
                            return _withdrawn()
                    try:
                        ticket = self._core.ask_program(ask)
                    except LockedError:
                        if self._core.locked:
                            continue  # locked just now: wait for the unlock
                        raise
                    if ticket.request is not None and ticket.how == "clicked":
                        talk.waiting(ticket)  # a prompt is (or was just) shown
                    if not self._watch(ticket, conn, peer, program):
                        return _withdrawn()
                    if ticket.decision.outcome is not Outcome.LOCKED:
                        break  # a lock took the prompt away: ask again after the unlock
        except AuthenticatorError as exc:
            code, message = refusal(exc)
            return {"ok": False, "error": code, "message": message}
        if ticket.decision.outcome is Outcome.APPROVED and _gone(conn):
            ticket.abandoned()  # nobody to hand the tokens to
            return None
        return self._answer(ticket, program, request)

    def _watch(
        self, ticket: Ticket, conn: socket.socket, peer: PeerIdentity | None, program: Program
    ) -> bool:
        """Wait for the decision; ``False`` when the client went away (its place is left)."""
        while not ticket.wait(0.25):
            if _gone(conn):
                ticket.leave()
                return False
            if peer is not None and not peer.still_same():  # the prompt goes away
                ticket.leave(
                    f"{program.describe()} changed after it connected; its request was withdrawn."
                )
                program.check_unchanged()
        return True

    def _answer(self, ticket: Ticket, program: Program, request: TokenRequest) -> dict[str, Any]:
        decision, grant = ticket.decision, ticket.grant
        if ticket.request is None:  # no scope could be asked for
            results = ticket.results()
            first = next(r.error for r in results if r.error is not None)
            code, message = refusal(first)
            if len(results) > 1:
                message = "No scope could be asked for: " + "; ".join(
                    f"{r.scope}: {r.error}" for r in results if r.error is not None
                )
            return {
                "ok": False,
                "error": code,
                "message": message,
                "results": [_result(r, None) for r in results],
            }
        if decision.outcome is Outcome.APPROVED and grant is not None:
            try:  # the tokens go only to the process that asked, unchanged
                program.check_unchanged()
            except ProgramChangedError as exc:
                log.warning("agent: token withheld: %s", exc)
                ticket.withheld(
                    f"The token for {grant.scope} was not handed out: "
                    f"{program.describe()} changed after it connected.",
                    reason="program_changed",
                    program=program.name,
                    pid=program.pid,
                )
                code, message = refusal(exc)
                return {"ok": False, "error": code, "message": message}
            ticket.handed_out()
            results = ticket.results()
            answer: dict[str, Any] = {
                "ok": True,
                "hem": ticket.request.hem,
                "exp": grant.exp,
                "how": ticket.how,
                "renewed_until": ticket.renews_until,
                "merged": ticket.merged,
                "results": [_result(r, grant.exp) for r in results],
            }
            got = next((r for r in results if r.ok), None)
            if got is not None:  # the first release's fields: one scope, one token
                answer.update(token=got.token, scope=got.granted)
            if not request.several and got is None:
                code, message = refusal(results[0].error or StateError())
                return {
                    "ok": False,
                    "error": code,
                    "message": message,
                    "results": answer["results"],
                }
            return answer
        code = {
            Outcome.DENIED: "denied",
            Outcome.REPORTED: "denied",
            Outcome.EXPIRED: "expired",
            Outcome.LOCKED: "locked",
        }.get(decision.outcome or Outcome.FAILED, "failed")
        return {
            "ok": False,
            "error": code,
            "message": decision.message or f"The request was {code}.",
        }


def _result(result: PartResult, exp: int | None) -> dict[str, Any]:
    if result.ok:
        return {
            "scope": result.scope,
            "ok": True,
            "granted": result.granted,
            "token": result.token,
            "exp": exp,
        }
    error = result.error or StateError()
    code, message = refusal(error)
    return {"scope": result.scope, "ok": False, "error": code, "message": message}


def _withdrawn() -> dict[str, Any]:
    """What a client that went away would read (one that only closed its sending side)."""
    return {
        "ok": False,
        "error": "withdrawn",
        "message": "The connection closed while the request waited, so it was withdrawn.",
    }


class _Talk:
    """Progress lines for a client that asked for them (``"progress": true``)."""

    def __init__(self, conn: socket.socket, enabled: bool) -> None:
        self._conn = conn
        self._enabled = enabled
        self._last: str | None = None

    def say(self, state: str, **fields: Any) -> None:
        if not self._enabled or state == self._last:
            return
        self._last = state
        with contextlib.suppress(OSError):
            self._conn.settimeout(5.0)
            self._conn.sendall(encode({"progress": state, **fields}))

    def waiting(self, ticket: Ticket) -> None:
        self._last = None  # every prompt shown is told, also after a lock took one away
        self.say(
            "waiting",
            message="Waiting for approval in Encedo Authenticator…",
            code=ticket.match_code,
            merged=ticket.merged,
            renews_until=ticket.renews_until,
            request=ticket.request.id if ticket.request is not None else None,
        )


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

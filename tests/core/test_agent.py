"""The local agent over its real Unix socket, with the real core and the emulator's HEM."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.agent.server import AgentServer, AlreadyRunningError
from authenticator.core.agent_client import AgentClient, AgentNotRunning
from authenticator.core.app import Core
from authenticator.core.model import AccessRequest, Outcome
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import (
    ConnectError,
    ExpiredError,
    NoSuchHemError,
    RateLimitedError,
    UnknownScopeError,
    UserCancelled,
)
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.periods import Period
from tests.core.conftest import HEM_PASSPHRASE, wait_for


class Person:
    """Plays the owner: answers each request as it appears, as told."""

    def __init__(
        self, core: Core, answer: Callable[[AccessRequest], str] = lambda r: "approve"
    ) -> None:
        self.core = core
        self.answer = answer
        self.seen: list[AccessRequest] = []
        self.removed: list[tuple[str, Outcome]] = []

    def request_added(self, request: AccessRequest) -> None:
        self.seen.append(request)
        choice = self.answer(request)
        if choice == "approve":
            threading.Thread(
                target=self.core.approve, args=(request.id, request.default_period)
            ).start()
        elif choice == "deny":
            threading.Thread(target=self.core.deny, args=(request.id,)).start()

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self.removed.append((request.id, outcome))

    def connection_changed(self, state: object) -> None: ...
    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    # Short path (a Unix socket path is limited to ~100 bytes), private like XDG_RUNTIME_DIR.
    d = Path(f"/tmp/eda-agent-{os.getpid()}-{threading.get_ident() % 10000}")
    d.mkdir(mode=0o700)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def paired(core: Core, emu: RunningEmulator) -> Core:
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    return core


@pytest.fixture
def agent(paired: Core, sock_dir: Path) -> Iterator[AgentServer]:
    server = AgentServer(
        paired,
        sock_dir / "agent.sock",
        limiter=RateLimiter(concurrent=50, per_minute=500),
        read_deadline=0.5,
    )
    server.start()
    paired.start(agent=False, poller=False)  # the core's expiry clock
    yield server
    server.stop()


def test_token_after_one_click(paired: Core, agent: AgentServer, emu: RunningEmulator) -> None:
    person = Person(paired)
    paired.add_listener(person)
    answer = AgentClient(agent.path).token(
        "keymgmt:list", period=Period.H1, reason="nightly backup"
    )
    assert answer.scope == "keymgmt:list"
    assert answer.hem == paired.hems()[0].name
    bearer = Bearer.parse(answer.token)
    assert bearer.exp == answer.exp
    r = httpx.get(
        f"{emu.urls.hems[0]}/api/keymgmt/list", headers={"Authorization": f"Bearer {answer.token}"}
    )
    assert r.status_code == 200
    (req,) = person.seen
    assert req.program is not None
    assert req.program.pid == os.getpid()  # from SO_PEERCRED
    assert req.program.uid == os.getuid()
    assert req.program.path == os.path.realpath(sys.executable)
    assert req.reason == "nightly backup"
    assert paired.journal_entries()[0].kind == "token.issued"
    assert answer.token not in repr(answer)


def test_socket_permissions(agent: AgentServer) -> None:
    assert oct(agent.path.stat().st_mode & 0o777) == "0o600"
    assert oct(agent.path.parent.stat().st_mode & 0o777) == "0o700"


def test_denied(paired: Core, agent: AgentServer) -> None:
    paired.add_listener(Person(paired, lambda r: "deny"))
    with pytest.raises(UserCancelled):
        AgentClient(agent.path).token("system:config")


def test_expired(paired: Core, agent: AgentServer) -> None:
    class Later:
        def now(self) -> int:
            import time

            return int(time.time()) + 7200

    def expire(request: AccessRequest) -> str:
        paired.session.clock = Later()  # nobody answers; the HEM's request runs out
        return "wait"

    paired.add_listener(Person(paired, expire))
    with pytest.raises(ExpiredError):
        AgentClient(agent.path).token("keymgmt:list")


def test_client_disconnect_withdraws_the_request(paired: Core, agent: AgentServer) -> None:
    person = Person(paired, lambda r: "wait")
    paired.add_listener(person)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(agent.path))
    s.sendall(b'{"v":1,"op":"token","scope":"keymgmt:list"}\n')
    wait_for(paired.pending)
    s.close()
    wait_for(lambda: not paired.pending())
    assert person.removed[0][1] is Outcome.WITHDRAWN


def test_twenty_clients_at_once(paired: Core, agent: AgentServer) -> None:
    person = Person(paired)
    paired.add_listener(person)
    tokens: list[str] = []
    errors: list[Exception] = []

    def one() -> None:
        try:
            tokens.append(AgentClient(agent.path).token("keymgmt:list", timeout=60).token)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert errors == []
    assert len(tokens) == 20
    # One program asking the same thing while its prompt is open joins that prompt: one click,
    # one token for all of them (docs/agent.md, "Identical requests merge").
    assert len(set(tokens)) == len(person.seen) <= 20


def raw(path: Path, data: bytes, *, close_write: bool = False) -> bytes:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(path))
    s.sendall(data)
    if close_write:
        s.shutdown(socket.SHUT_WR)
    out = b""
    while not out.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


@pytest.mark.parametrize("data", [b"not json\n", b"[1,2]\n", b'{"v":2,"op":"ping"}\n',
                                  b'{"v":1,"op":"fly"}\n', b'{"v":1,"op":"token"}\n',
                                  b'{"v":1,"op":"token","scope":"keymgmt:list","period":"2h"}\n',
                                  b'{"v":1,"op":"token","scope":"keymgmt:list","write":"yes"}\n',
                                  b"x" * 20000])  # fmt: skip
def test_malformed_and_oversized_input(agent: AgentServer, data: bytes) -> None:
    answer = raw(agent.path, data, close_write=not data.endswith(b"\n"))
    assert b'"error":"bad_request"' in answer


def test_a_slow_client_does_not_block_others(agent: AgentServer) -> None:
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(str(agent.path))
    slow.sendall(b'{"v":1,')  # … and then nothing
    assert AgentClient(agent.path).ping()["ok"] is True
    slow.settimeout(5)
    assert b"took too long" in slow.recv(4096)
    slow.close()


def test_rate_limit_per_program(paired: Core, sock_dir: Path) -> None:
    server = AgentServer(
        paired, sock_dir / "limited.sock", limiter=RateLimiter(concurrent=1, per_minute=10)
    )
    server.start()
    try:
        person = Person(paired, lambda r: "wait")
        paired.add_listener(person)
        first = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        first.connect(str(server.path))
        first.sendall(b'{"v":1,"op":"token","scope":"keymgmt:list"}\n')
        wait_for(paired.pending)
        with pytest.raises(RateLimitedError):
            AgentClient(server.path).token("keymgmt:list")
        first.close()
    finally:
        server.stop()


def test_refusals(paired: Core, agent: AgentServer, emu: RunningEmulator) -> None:
    client = AgentClient(agent.path)
    with pytest.raises(UnknownScopeError):
        client.token("wat:ever")
    with pytest.raises(NoSuchHemError):
        client.token("keymgmt:list", hem="nope")
    emu.down()
    try:
        with pytest.raises(ConnectError):
            client.token("keymgmt:list")
    finally:
        emu.up()


def test_ping_lock_and_open(paired: Core, sock_dir: Path) -> None:
    opened: list[list[str]] = []
    server = AgentServer(paired, sock_dir / "ops.sock", on_open=opened.append)
    server.start()
    try:
        client = AgentClient(server.path)
        assert client.ping()["locked"] is False
        client.open_links(["encedo-auth:pair?link=x"])
        assert opened == [["encedo-auth:pair?link=x"]]
        client.lock()
        assert paired.locked
    finally:
        server.stop()


def test_single_instance_and_stale_socket(paired: Core, agent: AgentServer, sock_dir: Path) -> None:
    with pytest.raises(AlreadyRunningError):
        AgentServer(paired, agent.path).start()
    stale = sock_dir / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()  # a socket file nobody listens on, as a crash leaves it
    second = AgentServer(paired, stale)
    second.start()
    second.stop()
    assert not stale.exists()


def test_no_app_running(sock_dir: Path) -> None:
    with pytest.raises(AgentNotRunning):
        AgentClient(sock_dir / "nobody.sock").ping()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as another user",
)
def test_another_user_cannot_connect(agent: AgentServer) -> None:
    code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        f"try:\n s.connect({str(agent.path)!r}); print('connected')\n"
        "except PermissionError: print('refused')\n"
    )
    run = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        sys.executable,
        "-c",
        code,
    ]
    out = subprocess.run(run, capture_output=True, text=True, timeout=30, check=False)
    assert out.stdout.strip() == "refused", out.stderr
    # Even with the directory opened up, the socket's own mode keeps other users out.
    agent.path.parent.chmod(0o755)
    try:
        out = subprocess.run(run, capture_output=True, text=True, timeout=30, check=False)
        assert out.stdout.strip() == "refused", out.stderr
    finally:
        agent.path.parent.chmod(0o700)


class Remembering(Person):
    """Approves with "don't ask again" ticked."""

    def request_added(self, request: AccessRequest) -> None:
        self.seen.append(request)
        threading.Thread(
            target=lambda: self.core.approve(request.id, request.default_period, remember=True)
        ).start()


def test_dont_ask_again_is_off_by_default(paired: Core, agent: AgentServer) -> None:
    person = Remembering(paired)
    paired.add_listener(person)
    client = AgentClient(agent.path)
    client.token("keymgmt:list")
    client.token("keymgmt:list")
    assert len(person.seen) == 2  # asked both times


SCRIPT_CLIENT = """
import sys
from pathlib import Path
from authenticator.core.agent_client import AgentClient
from authenticator.protocol.periods import Period
answer = AgentClient(Path(sys.argv[1])).token(sys.argv[2], period=Period.parse(sys.argv[3]))
print(answer.token)
"""


def test_dont_ask_again_until_the_token_expires(
    paired: Core, agent: AgentServer, tmp_path: Path
) -> None:
    paired.update_settings(agent_remember_program=True)
    person = Remembering(paired)
    paired.add_listener(person)
    # "The same program" is a script (uid + interpreter + script path): run one.
    script = tmp_path / "backup.py"
    script.write_text(SCRIPT_CLIENT, encoding="utf-8")

    def token(scope: str, period: str) -> str:
        out = subprocess.run(
            [sys.executable, str(script), str(agent.path), scope, period],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return out.stdout.strip()

    first = token("keymgmt:list", "1h")
    second = token("keymgmt:list", "15m")  # within the approved hour
    assert second != first
    assert len(person.seen) == 1  # the second one was not asked
    entry = paired.journal_entries()[0]
    assert entry.kind == "token.issued"
    assert entry.fields["remembered"] is True
    token("keymgmt:list", "8h")  # longer than approved: asked
    token("system:config", "15m")  # another scope: asked
    assert len(person.seen) == 3
    paired.lock()
    paired.unlock("correct horse battery staple")
    token("keymgmt:list", "15m")  # forgotten on lock: asked again
    assert len(person.seen) == 4

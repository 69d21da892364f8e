"""Who is asking, honestly: the agent against programs that change after they connect.

Every program here is a real process of its own (a script run by this Python, a copy of bash
under another name), talking to the real agent of the real core over its Unix socket, with the
emulator's HEM behind it. The attacks: connect and then exec another program (before or after
sending the request, while the prompt is shown, or just as the person approves), hand the
connection to a child and exit. Each must be refused with "changed after it connected", and the
other program must never be named as the asker (prompt or journal).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.agent.server import AgentServer
from authenticator.core.app import Core
from authenticator.core.model import AccessRequest, Grant, Outcome
from authenticator.core.peer import identify_pid
from authenticator.core.remember import program_key, remember_refusal
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import AuthenticatorError
from tests.core.agent_programs import answer_of, copy_of_bash, start, write_asker
from tests.core.conftest import HEM_PASSPHRASE, wait_for

CHANGED = "changed after it connected"


class Person:
    """Plays the owner: answers each request as it appears, as told (in the caller's thread)."""

    def __init__(
        self, core: Core, answer: Callable[[AccessRequest], str] = lambda r: "approve"
    ) -> None:
        self.core = core
        self.answer = answer
        self.seen: list[AccessRequest] = []
        self.removed: list[tuple[str, Outcome, str]] = []
        self.errors: list[Exception] = []

    def request_added(self, request: AccessRequest) -> None:
        self.seen.append(request)
        choice = self.answer(request)
        if choice in ("approve", "remember"):

            def approve() -> None:
                try:
                    self.core.approve(
                        request.id, request.default_period, remember=choice == "remember"
                    )
                except AuthenticatorError as exc:
                    self.errors.append(exc)

            threading.Thread(target=approve).start()

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self.removed.append((request.id, outcome, message))

    def connection_changed(self, state: object) -> None: ...
    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    d = Path(f"/tmp/eda-id-{os.getpid()}-{threading.get_ident() % 10000}")
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
        limiter=RateLimiter(concurrent=10, per_minute=100),
        read_deadline=5.0,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def programs(tmp_path: Path) -> Path:
    folder = tmp_path / "programs"
    folder.mkdir()
    write_asker(folder)
    copy_of_bash(folder)
    return folder


def journal_text(core: Core) -> str:
    return "\n".join(f"{e.kind} {e.text} {e.fields}" for e in core.journal_entries())


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out


def captured(caplog: pytest.LogCaptureFixture, pid: int) -> bool:
    """The agent has taken the identity of ``pid`` (it logs each connection after that)."""
    return any(f"PeerIdentity(pid={pid}," in r.getMessage() for r in list(caplog.records))


# ---------------------------------------------------------------------------- exec


def test_exec_while_the_prompt_is_shown_withdraws_it(
    paired: Core, agent: AgentServer, programs: Path
) -> None:
    person = Person(paired, lambda r: "wait")
    paired.add_listener(person)
    helper = programs / "evil-helper"
    proc = start(programs / "asker.py", str(agent.path), "exec-after-request", str(helper))
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.stdout.readline().strip() == "connected"
    wait_for(lambda: person.seen)
    (request,) = person.seen
    assert request.program is not None
    assert request.program.name == "asker.py"
    assert request.program.pid == proc.pid
    proc.stdin.write("go\n")
    proc.stdin.flush()
    answer = answer_of(finish(proc))  # printed by the helper, who holds the connection now
    assert answer["ok"] is False
    assert CHANGED in str(answer["message"])
    assert "now runs another program" in str(answer["message"])
    assert "token" not in answer
    wait_for(lambda: not paired.pending())
    assert person.removed[0][1] is Outcome.WITHDRAWN
    text = journal_text(paired)
    assert "evil-helper" not in text
    assert "token.issued" not in text


def test_exec_as_the_person_approves_gets_no_token(
    paired: Core, agent: AgentServer, programs: Path
) -> None:
    helper = programs / "evil-helper"
    proc = start(programs / "asker.py", str(agent.path), "exec-after-request", str(helper))
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.stdout.readline().strip() == "connected"
    outcome: list[object] = []

    def exec_then_approve(request: AccessRequest) -> str:
        # The program swaps itself for another one, and only then does the person click.
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        wait_for(lambda: os.path.basename(os.readlink(f"/proc/{proc.pid}/exe")) == helper.name)
        try:
            outcome.append(paired.approve(request.id, request.default_period))
        except AuthenticatorError as exc:  # the core may refuse it already
            outcome.append(exc)
        return "done"

    paired.add_listener(Person(paired, exec_then_approve))
    wait_for(lambda: outcome)  # the person did click
    answer = answer_of(finish(proc))
    assert answer["ok"] is False
    assert CHANGED in str(answer["message"])
    assert "token" not in answer
    text = journal_text(paired)
    assert "evil-helper" not in text
    assert "token.issued" not in text
    # The core re-checks the program when the person approves: the HEM is never asked.
    assert not isinstance(outcome[0], Grant)
    assert isinstance(outcome[0], AuthenticatorError)


def test_exec_before_the_request_is_refused_without_a_prompt(
    paired: Core, agent: AgentServer, programs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="authenticator.core.agent.server")
    person = Person(paired)
    paired.add_listener(person)
    helper = programs / "evil-helper"
    proc = start(programs / "asker.py", str(agent.path), "exec-before-request", str(helper))
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.stdout.readline().strip() == "connected"
    wait_for(lambda: captured(caplog, proc.pid))
    proc.stdin.write("go\n")
    proc.stdin.flush()
    answer = answer_of(finish(proc))
    assert answer["ok"] is False
    assert CHANGED in str(answer["message"])
    assert person.seen == []  # never shown, so never approvable
    assert "evil-helper" not in journal_text(paired)


# ---------------------------------------------------------------------------- hand-off


@pytest.mark.parametrize("when", ["after-request", "before-request"])
def test_handing_the_connection_to_a_child_and_exiting_is_refused(
    paired: Core,
    agent: AgentServer,
    programs: Path,
    caplog: pytest.LogCaptureFixture,
    when: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="authenticator.core.agent.server")
    person = Person(paired, lambda r: "wait")
    paired.add_listener(person)
    helper = programs / "evil-helper"
    proc = start(programs / "asker.py", str(agent.path), f"handoff-{when}", str(helper))
    assert proc.stdout is not None
    assert proc.stdin is not None
    assert proc.stdout.readline().strip() == "connected"
    if when == "after-request":
        wait_for(lambda: person.seen)
    else:
        wait_for(lambda: captured(caplog, proc.pid))
    proc.stdin.write("go\n")  # the asker starts the child and exits
    proc.stdin.flush()
    assert proc.wait(timeout=60) == 0
    out, _ = proc.communicate("send\n", timeout=60)  # the child (same stdin) goes on
    answer = answer_of(out)
    assert answer["ok"] is False
    assert CHANGED in str(answer["message"])
    assert "has exited" in str(answer["message"])
    if when == "after-request":
        wait_for(lambda: person.removed)
        assert person.removed[0][1] is Outcome.WITHDRAWN
        assert person.seen[0].program is not None
        assert person.seen[0].program.name == "asker.py"
    else:
        assert person.seen == []
    assert "evil-helper" not in journal_text(paired)


# ---------------------------------------------------------------------------- interpreters


def test_two_scripts_of_one_python_are_two_programs(
    paired: Core, agent: AgentServer, programs: Path
) -> None:
    person = Person(paired)
    paired.add_listener(person)
    other = write_asker(programs, "other.py")
    for script in (programs / "asker.py", other):
        answer = answer_of(finish(start(script, str(agent.path), "ask", "keymgmt:list")))
        assert answer["ok"] is True
    first, second = (r.program for r in person.seen)
    assert first is not None
    assert second is not None
    assert (first.name, second.name) == ("asker.py", "other.py")
    assert first.script == str((programs / "asker.py").resolve())
    assert second.script == str(other.resolve())
    assert first.interpreter
    assert second.interpreter
    assert first.path == second.path  # the same python…
    assert program_key(first) != program_key(second)  # … but two programs
    assert remember_refusal(first) is None


def test_code_on_the_command_line_is_never_remembered(
    paired: Core, agent: AgentServer, tmp_path: Path
) -> None:
    paired.update_settings(agent_remember_program=True)
    person = Person(paired, lambda r: "remember")
    paired.add_listener(person)
    code = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.connect(sys.argv[1])\n"
        "s.sendall(b'" + '{"v":1,"op":"token","scope":"keymgmt:list","period":"1h"}' + "\\n')\n"
        "print(s.makefile().readline(), end='')\n"
    )
    for _ in range(2):
        out = subprocess.run(
            [os.sys.executable, "-c", code, str(agent.path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert answer_of(out.stdout)["ok"] is True
    assert len(person.seen) == 2  # asked both times: "don't ask again" does not apply
    program = person.seen[0].program
    assert program is not None
    assert program.interpreter
    assert program.script is None
    assert program.name.endswith(" -c")
    refusal = remember_refusal(program)
    assert refusal is not None
    assert "never remembered" in refusal


def test_a_script_is_remembered(paired: Core, agent: AgentServer, programs: Path) -> None:
    paired.update_settings(agent_remember_program=True)
    person = Person(paired, lambda r: "remember")
    paired.add_listener(person)
    asker = programs / "asker.py"
    for _ in range(2):
        assert answer_of(finish(start(asker, str(agent.path), "ask", "keymgmt:list")))["ok"]
    assert len(person.seen) == 1  # the second time was not asked
    issued = [e for e in paired.journal_entries() if e.kind == "token.issued"]
    assert [e.fields["remembered"] for e in issued] == [True, False]  # newest first
    assert issued[0].fields["script"] == str(asker.resolve())


# ---------------------------------------------------------------------------- chain, remote


def test_the_parent_chain_is_shown(paired: Core, agent: AgentServer, programs: Path) -> None:
    person = Person(paired)
    paired.add_listener(person)
    bash = shutil.which("bash")
    assert bash is not None
    # "; true" keeps bash from exec'ing the last command: it stays the parent.
    proc = subprocess.run(
        [bash, "-c", f"{os.sys.executable} asker.py {agent.path} ask keymgmt:list; true"],
        cwd=programs,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert answer_of(proc.stdout)["ok"] is True
    program = person.seen[0].program
    assert program is not None
    assert program.chain[:2] == ("asker.py", "bash -c")
    assert program.chain_text().startswith("asker.py ← bash -c")
    assert 2 <= len(program.chain) <= 4


def test_a_caller_under_an_ssh_server_is_flagged_remote(
    paired: Core, agent: AgentServer, programs: Path
) -> None:
    paired.update_settings(code_matching="off")  # a remote caller must show a code otherwise
    person = Person(paired)
    paired.add_listener(person)
    bash = shutil.which("bash")
    assert bash is not None
    sshd = programs / "sshd"  # the kernel names a process after the file it runs
    sshd.symlink_to(bash)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
    proc = subprocess.run(
        [str(sshd), "-c", f"{os.sys.executable} asker.py {agent.path} ask keymgmt:list; true"],
        cwd=programs,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    assert answer_of(proc.stdout)["ok"] is True
    program = person.seen[0].program
    assert program is not None
    assert program.identity is not None
    assert program.remote is True
    assert program.identity.remote == "started from an SSH session"
    assert any("remote (SSH) session" in w for w in person.seen[0].warnings)


def test_a_caller_with_an_ssh_environment_is_flagged_remote(
    paired: Core, agent: AgentServer, programs: Path
) -> None:
    person = Person(paired)
    paired.add_listener(person)
    env = {**os.environ, "SSH_CONNECTION": "192.0.2.7 50022 192.0.2.1 22"}
    answer = answer_of(
        finish(start(programs / "asker.py", str(agent.path), "ask", "keymgmt:list", env=env))
    )
    # By default a remote caller must send the code it shows (docs/agent.md, code matching).
    assert answer["ok"] is False
    assert answer["error"] == "code_required"
    assert person.seen == []
    paired.update_settings(code_matching="off")
    answer = answer_of(
        finish(start(programs / "asker.py", str(agent.path), "ask", "keymgmt:list", env=env))
    )
    assert answer["ok"] is True
    program = person.seen[0].program
    assert program is not None
    assert program.remote is True


def test_a_local_caller_is_not_remote(paired: Core, agent: AgentServer, programs: Path) -> None:
    if identify_pid(os.getpid()).remote is not None:
        pytest.skip("the test suite itself runs in an SSH session")
    person = Person(paired)
    paired.add_listener(person)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSH_")}
    answer_of(finish(start(programs / "asker.py", str(agent.path), "ask", "keymgmt:list", env=env)))
    program = person.seen[0].program
    assert program is not None
    assert program.remote is False
    assert program.to_json()["remote"] is False


# ---------------------------------------------------------------------------- limits per user


def test_many_scripts_of_one_user_hit_the_per_user_cap(
    paired: Core, sock_dir: Path, programs: Path
) -> None:
    server = AgentServer(
        paired,
        sock_dir / "user.sock",
        limiter=RateLimiter(concurrent=3, per_minute=100, user_concurrent=4, user_per_minute=100),
    )
    server.start()
    person = Person(paired, lambda r: "wait")
    paired.add_listener(person)
    waiting: list[subprocess.Popen[str]] = []
    try:
        for i in range(4):  # four different programs, one request each: all shown
            script = write_asker(programs, f"copy{i}.py")
            waiting.append(start(script, str(server.path), "ask", "keymgmt:list"))
            wait_for(lambda n=i + 1: len(person.seen) == n)  # type: ignore[misc]
        fifth = write_asker(programs, "copy4.py")
        answer = answer_of(finish(start(fifth, str(server.path), "ask", "keymgmt:list")))
        assert answer["error"] == "busy"
        assert "Your programs already have 4 requests waiting" in str(answer["message"])
        assert len(person.seen) == 4
        assert len({program_key(r.program) for r in person.seen if r.program}) == 4
    finally:
        for proc in waiting:
            proc.kill()
            proc.communicate(timeout=30)
        server.stop()

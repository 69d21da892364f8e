"""Fewer, safer prompts through the real agent socket, the real core and the emulator's HEM:
several scopes in one click, renewals, access in use, code matching, merged identical requests,
and programs that wait while the app is locked."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient, AgentTimeout
from authenticator.core.app import Core
from authenticator.core.codes import CodeRequiredError, WrongCodeError
from authenticator.core.model import AccessRequest, Outcome
from authenticator.core.peer import identify_pid
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import DecodeError, UserCancelled
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.periods import Period
from tests.core.conftest import HEM_PASSPHRASE, PASSPHRASE, wait_for
from tests.hostile import MIXED


class Person:
    """Plays the owner: answers each request as it appears, with ``answer(request)`` →
    ``"approve"`` / ``"deny"`` / ``"wait"`` (or a dict of approve keyword arguments)."""

    def __init__(
        self, core: Core, answer: Callable[[AccessRequest], object] = lambda r: "approve"
    ) -> None:
        self.core = core
        self.answer = answer
        self.seen: list[AccessRequest] = []
        self.removed: list[tuple[str, Outcome, str]] = []
        self.errors: list[Exception] = []
        self.waiting: list[int] = []
        self.grants_changes = 0

    def request_added(self, request: AccessRequest) -> None:
        self.seen.append(request)
        choice = self.answer(request)
        if choice == "wait":
            return
        if choice == "deny":
            threading.Thread(target=self.core.deny, args=(request.id,)).start()
            return
        kwargs: dict[str, Any] = choice if isinstance(choice, dict) else {}

        def approve() -> None:
            try:
                self.core.approve(
                    request.id, kwargs.pop("period", request.default_period), **kwargs
                )
            except Exception as exc:  # collected and asserted by the tests
                self.errors.append(exc)

        threading.Thread(target=approve).start()

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self.removed.append((request.id, outcome, message))

    def locked_waiting(self, count: int) -> None:
        self.waiting.append(count)

    def grants_changed(self) -> None:
        self.grants_changes += 1

    def connection_changed(self, state: object) -> None: ...
    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    d = Path(f"/tmp/eda-bn-{os.getpid()}-{threading.get_ident() % 10000}")
    d.mkdir(mode=0o700)
    yield d
    shutil.rmtree(d, ignore_errors=True)


IN_SSH = identify_pid(os.getpid()).remote is not None
"""Run from an SSH session, every program here is remote: code matching would apply to all."""


@pytest.fixture
def paired(core: Core, emu: RunningEmulator) -> Core:
    if IN_SSH:
        core.update_settings(code_matching="off")  # the code tests set it themselves
    core.update_settings(default_broker_url=emu.urls.broker.rstrip("/"))
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    return core


@pytest.fixture
def agent(paired: Core, sock_dir: Path) -> Iterator[AgentServer]:
    server = AgentServer(
        paired,
        sock_dir / "agent.sock",
        limiter=RateLimiter(concurrent=20, per_minute=500),
        read_deadline=2.0,
    )
    server.start()
    paired.start(agent=False, poller=False)  # the expiry clock
    yield server
    server.stop()


def works_at_the_hem(emu: RunningEmulator, token: str, path: str = "/api/keymgmt/list") -> int:
    return httpx.get(
        f"{emu.urls.hems[0]}{path}", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def exchange(
    path: Path, request: dict[str, Any], *, until_answer: bool = True
) -> list[dict[str, Any]]:
    """Send one request line and read every line until the answer (progress lines too)."""
    lines: list[dict[str, Any]] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(str(path))
        s.sendall((json.dumps({"v": 1, **request}) + "\n").encode())
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                lines.append(json.loads(line))
                if until_answer and "ok" in lines[-1]:
                    return lines
    return lines


# ---------------------------------------------------------------------------- several scopes


def test_three_scopes_one_prompt_one_click_three_tokens(
    paired: Core, agent: AgentServer, emu: RunningEmulator
) -> None:
    person = Person(paired)
    paired.add_listener(person)
    scopes = ["keymgmt:list", "system:config", "logger:get"]
    answer = AgentClient(agent.path).tokens(scopes, period=Period.H1, reason="provision a tunnel")
    (request,) = person.seen  # one prompt
    assert request.is_bundle
    assert request.scopes == tuple(scopes)
    hem = request.hem
    assert request.title == "3 accesses: List the keys, Change the settings, Read the log"
    assert request.text == (
        f"A program on this computer wants to list the keys on {hem}, change the settings of "
        f"{hem} and read the audit log of {hem}."
    )
    assert request.grant_text(Period.H1, False) == "Allow all 3 for 1 h"
    assert [p.title for p in request.parts] == [
        "List the keys",
        "Change the settings",
        "Read the log",
    ]
    assert answer.ok
    assert [r.scope for r in answer.results] == scopes  # in the order asked
    for result in answer.results:
        assert result.token is not None
        bearer = Bearer.parse(result.token)
        assert bearer.scope == result.scope
        assert bearer.exp - bearer.iat in (3600, 3599)
    assert len({r.token for r in answer.results}) == 3
    assert works_at_the_hem(emu, answer.tokens()["keymgmt:list"]) == 200
    issued = paired.journal_entries()[0]
    assert issued.kind == "token.issued"
    assert issued.text.startswith("3 tokens for keymgmt:list, system:config, logger:get")
    approved = next(e for e in paired.journal_entries() if e.kind == "request.approved")
    assert approved.text.startswith("Allow all 3 for 1 h: list the keys on")
    # The first release's fields still say "one token".
    raw = exchange(agent.path, {"op": "token", "scopes": ["keymgmt:list", "keymgmt:search"]})
    assert raw[-1]["ok"] is True
    assert raw[-1]["token"] == raw[-1]["results"][0]["token"]


def test_a_scope_that_fails_is_named_without_hiding_the_others(
    paired: Core, agent: AgentServer, emu: RunningEmulator
) -> None:
    person = Person(paired)
    paired.add_listener(person)
    hostile = "wat:ever" + MIXED
    # The first known scope is asked alone (the HEM may need a check-in): the HEM refuses it.
    emu.emulator.faults.add("/api/auth/ext/request", status=406, times=1)
    answer = AgentClient(agent.path).tokens(["keymgmt:list", hostile, "system:config"])
    by_scope = {r.scope: r for r in answer.results}
    assert by_scope["keymgmt:list"].error == "hem_unreachable"
    assert by_scope[hostile].error == "unknown_scope"
    assert by_scope["system:config"].ok
    assert not answer.ok
    (request,) = person.seen
    assert not request.is_bundle  # one scope got through: an ordinary prompt, with the reasons
    warnings = " ".join(request.warnings)
    assert "Not asked for: keymgmt:list — the HEM refused it." in warnings
    assert "this app does not know this access" in warnings
    assert "\x1b" not in warnings  # the program's scope is its claim: cleaned for display


def test_a_part_that_fails_at_the_hem_on_approval(
    paired: Core, agent: AgentServer, emu: RunningEmulator
) -> None:
    def approve_after_a_fault(request: AccessRequest) -> str:
        emu.emulator.faults.add("/api/auth/ext/token", status=406, times=1)
        return "approve"

    paired.add_listener(Person(paired, approve_after_a_fault))
    answer = AgentClient(agent.path).tokens(["keymgmt:list", "system:config", "logger:get"])
    failed = [r for r in answer.results if not r.ok]
    assert len(failed) == 1  # one redeemed part refused; the other two still came back
    assert failed[0].error == "hem_unreachable"
    assert len(answer.tokens()) == 2
    approved = next(e for e in paired.journal_entries() if e.kind == "request.approved")
    assert "Not granted:" in approved.text


def test_nothing_could_be_asked(paired: Core, agent: AgentServer) -> None:
    lines = exchange(agent.path, {"op": "token", "scopes": ["wat:ever", "nope:nope"]})
    answer = lines[-1]
    assert answer["ok"] is False
    assert answer["error"] == "unknown_scope"
    assert [r["error"] for r in answer["results"]] == ["unknown_scope", "unknown_scope"]
    assert "wat:ever" in answer["message"]
    assert "nope:nope" in answer["message"]


def test_at_most_eight_scopes(paired: Core, agent: AgentServer) -> None:
    nine = [f"storage:disk{i}" for i in range(9)]
    answer = exchange(agent.path, {"op": "token", "scopes": nine})[-1]
    assert answer["error"] == "bad_request"
    assert "At most 8 scopes" in answer["message"]
    with pytest.raises(DecodeError, match="At most 8"):
        AgentClient(agent.path).tokens(nine)
    assert paired.pending() == []


def test_write_access_per_scope(paired: Core, agent: AgentServer, emu: RunningEmulator) -> None:
    person = Person(paired, lambda r: {"write": True})
    paired.add_listener(person)
    answer = AgentClient(agent.path).tokens(["storage:disk0", "keymgmt:list"], write=True)
    (request,) = person.seen
    assert request.write_possible
    assert request.grant_text(Period.MIN15, True) == (
        "Allow all 2 for 15 min, with write access to storage:disk0"
    )
    assert request.grant_text(Period.MIN15, False) == "Allow all 2 for 15 min, read-only"
    granted = {r.scope: r.granted for r in answer.results}
    assert granted == {"storage:disk0": "storage:disk0:rw", "keymgmt:list": "keymgmt:list"}
    # The owner may give write access to some parts only.
    paired.remove_listener(person)
    chooser = Person(paired, lambda r: {"write_scopes": frozenset()})
    paired.add_listener(chooser)
    answer = AgentClient(agent.path).tokens(["storage:disk0", "storage:disk1"], write=True)
    assert [r.granted for r in answer.results] == ["storage:disk0", "storage:disk1"]


# ---------------------------------------------------------------------------- renewal

SCRIPT = """
import json, sys
from pathlib import Path
from authenticator.core.agent_client import AgentClient
from authenticator.protocol.periods import Period
a = AgentClient(Path(sys.argv[1])).tokens(
    sys.argv[3].split(","), period=Period.parse(sys.argv[2]), write=len(sys.argv) > 4
)
print(json.dumps({"how": a.how, "renewed_until": a.renewed_until,
                  "tokens": a.tokens(), "errors": [r.error for r in a.results if not r.ok]}))
"""


def run_script(script: Path, agent: AgentServer, period: str, scopes: str, *extra: str) -> Any:
    out = subprocess.run(
        [sys.executable, str(script), str(agent.path), period, scopes, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_renewal_and_renew_without_asking_until_lock(
    paired: Core, agent: AgentServer, tmp_path: Path
) -> None:
    script = tmp_path / "tunnel.py"  # "the same program": uid + interpreter + this script
    script.write_text(SCRIPT, encoding="utf-8")
    choices: list[object] = [{"renew": True}]
    person = Person(paired, lambda r: choices.pop(0) if choices else "approve")
    paired.add_listener(person)

    first = run_script(script, agent, "1h", "keymgmt:list,system:config")
    assert first["how"] == "clicked"
    assert person.seen[0].renews_until is None
    (rule_a, rule_b) = paired.rules()
    assert {rule_a.scope, rule_b.scope} == {"keymgmt:list", "system:config"}
    assert rule_a.kind == "renew"
    assert rule_a.until - rule_a.created == 24 * 3600
    assert any(e.kind == "remember.added" for e in paired.journal_entries())

    # It asks again before its tokens expire: renewed at once, no prompt, journalled.
    second = run_script(script, agent, "1h", "keymgmt:list,system:config")
    assert second["how"] == "renewed"
    assert second["renewed_until"] is not None
    assert len(person.seen) == 1
    assert set(second["tokens"]) == {"keymgmt:list", "system:config"}
    assert second["tokens"] != first["tokens"]
    issued = paired.journal_entries()[0]
    assert issued.kind == "token.issued"
    assert issued.fields["renewed"] is True
    assert "without asking (renewed)" in issued.text
    assert {g.how for g in paired.grants()} == {"clicked", "renewed"}

    # Never wider than approved: a longer period, or write access, is asked.
    run_script(script, agent, "8h", "keymgmt:list,system:config")
    assert len(person.seen) == 2
    assert person.seen[1].is_renewal
    assert person.seen[1].title.startswith("Renew: 2 accesses")
    assert person.seen[1].grant_text(Period.H8, False) == "Renew all 2 for 8 h"
    assert person.seen[1].text.startswith("A program on this computer asks to renew its access")

    # Another scope too is not a renewal (and not "the same scopes").
    run_script(script, agent, "15m", "keymgmt:list,logger:get")
    assert len(person.seen) == 3
    assert person.seen[2].renews_until is None

    # Forgotten on lock: the program is asked again, and the prompt says it renews.
    paired.lock()
    assert paired.rules() == []
    paired.unlock(PASSPHRASE)
    run_script(script, agent, "15m", "system:config")
    assert len(person.seen) == 4
    assert person.seen[3].is_renewal
    assert person.seen[3].renews_until is not None


def test_rules_are_listed_and_forgotten(paired: Core, agent: AgentServer, tmp_path: Path) -> None:
    script = tmp_path / "tunnel.py"
    script.write_text(SCRIPT, encoding="utf-8")
    person = Person(paired, lambda r: {"renew": True})
    paired.add_listener(person)
    run_script(script, agent, "15m", "keymgmt:list")
    answer = exchange(agent.path, {"op": "grants"})[-1]
    assert answer["ok"] is True
    (rule,) = answer["rules"]
    assert rule["kind"] == "renew"
    assert rule["script"] == str(script)
    assert "cannot revoke" in answer["note"]
    changes = person.grants_changes
    assert exchange(agent.path, {"op": "forget", "rule": rule["id"]})[-1]["forgotten"] == [
        rule["id"]
    ]
    assert person.grants_changes > changes
    assert paired.rules() == []
    assert paired.journal_entries()[0].kind == "remember.forgotten"
    assert exchange(agent.path, {"op": "forget", "rule": "R999"})[-1]["forgotten"] == []
    run_script(script, agent, "15m", "keymgmt:list")  # a renewal, asked again
    assert len(person.seen) == 2


# ---------------------------------------------------------------------------- access in use


def test_access_in_use_lists_every_token_without_the_token(
    paired: Core, agent: AgentServer
) -> None:
    person = Person(paired)
    paired.add_listener(person)
    answer = AgentClient(agent.path).tokens(["keymgmt:list", "system:config"], period=Period.H1)
    grants = paired.grants()
    assert [g.scope for g in grants] == ["keymgmt:list", "system:config"]
    for g in grants:
        assert g.how == "clicked"
        assert person.seen[0].program is not None
        assert g.who == person.seen[0].program.describe()  # this process, as it connected
        assert g.source == "local"
        assert g.exp == answer.results[0].exp
    assert grants[0].text.startswith("list the keys on")
    listing = exchange(agent.path, {"op": "grants"})[-1]
    text = json.dumps(listing)
    for token in answer.tokens().values():
        assert token not in text
    assert [g["scope"] for g in listing["grants"]] == ["keymgmt:list", "system:config"]
    assert person.grants_changes >= 1
    # A token outlives a lock (the HEM cannot revoke it): still listed after the unlock,
    # but not while locked.
    paired.lock()
    assert exchange(agent.path, {"op": "grants"})[-1]["error"] == "locked"
    paired.unlock(PASSPHRASE)
    assert len(paired.grants()) == 2


def test_broker_approvals_are_listed_too(paired: Core, emu: RunningEmulator) -> None:
    from tests.support_emulator import ask, pair_by_qr, requester_for

    with requester_for(emu, 1) as manager:
        pair_by_qr(paired, manager)
        asked = ask(paired, manager, "keymgmt:list")
        paired.approve(asked.request_id, Period.H1)
    (grant,) = paired.grants()
    assert grant.source == "broker"
    assert grant.who.startswith("Someone")
    assert grant.remote is True


# ---------------------------------------------------------------------------- code matching


def test_code_matching(paired: Core, agent: AgentServer) -> None:
    paired.update_settings(code_matching="always")
    client = AgentClient(agent.path)
    with pytest.raises(CodeRequiredError, match="code"):
        client.token("keymgmt:list")
    picks: list[int | None] = [None, 12, 47]
    outcomes: list[object] = []

    def owner(request: AccessRequest) -> str:
        assert len(request.codes) == 3
        assert 47 in request.codes
        assert len(set(request.codes)) == 3

        def pick() -> None:
            for code in picks:
                try:
                    outcomes.append(paired.approve(request.id, code=code))
                    return
                except CodeRequiredError as exc:
                    outcomes.append(exc)  # no code: nothing happens, the request stays
                except WrongCodeError as exc:
                    outcomes.append(exc)
                    return

        threading.Thread(target=pick).start()
        return "wait"

    person = Person(paired, owner)
    paired.add_listener(person)
    progress: list[dict[str, Any]] = []
    with pytest.raises(UserCancelled):
        client.token("keymgmt:list", code=47, on_progress=progress.append)
    assert isinstance(outcomes[0], CodeRequiredError)
    assert isinstance(outcomes[1], WrongCodeError)
    assert progress[-1]["progress"] == "waiting"
    assert progress[-1]["code"] is True
    suspicious = next(e for e in paired.journal_entries() if e.kind == "request.denied")
    assert suspicious.fields["suspicious"] is True
    assert suspicious.fields["reason"] == "wrong_code"
    assert "Denied as suspicious" in suspicious.text
    # The right code approves.
    picks[:] = [47]
    assert client.token("keymgmt:list", code=47).token


@pytest.mark.skipif(IN_SSH, reason="the test suite itself runs in an SSH session")
def test_no_code_needed_for_a_local_caller_by_default(paired: Core, agent: AgentServer) -> None:
    person = Person(paired)
    paired.add_listener(person)
    progress: list[dict[str, Any]] = []
    AgentClient(agent.path).token("keymgmt:list", code=47, on_progress=progress.append)
    assert person.seen[0].codes == ()
    assert progress[-1]["code"] is False


def test_a_requester_note_with_a_code(paired: Core, emu: RunningEmulator) -> None:
    from tests.support_emulator import Requester

    with Requester(
        emu.urls.hems[0], emu.urls.broker, backend_url=emu.urls.backend, passphrase=HEM_PASSPHRASE
    ) as manager:
        authreq, _ = manager.direct_authreq("keymgmt:list", note="Demo page; code:58; hi")
        request = paired.open_pasted(authreq)
        assert isinstance(request, AccessRequest)
        assert 58 in request.codes
        with pytest.raises(CodeRequiredError):
            paired.approve(request.id)
        assert paired.approve(request.id, code=58).token
        paired.update_settings(code_matching="off")
        authreq, _ = manager.direct_authreq("keymgmt:list", note="code:58")
        request = paired.open_pasted(authreq)
        assert isinstance(request, AccessRequest)
        assert request.codes == ()


# ---------------------------------------------------------------------------- merge


def test_identical_requests_merge_into_one_prompt(paired: Core, agent: AgentServer) -> None:
    person = Person(paired, lambda r: "wait")
    paired.add_listener(person)
    tokens: list[str] = []
    errors: list[Exception] = []

    def one() -> None:
        try:
            tokens.append(AgentClient(agent.path).token("keymgmt:list", timeout=60).token)
        except Exception as exc:  # asserted below
            errors.append(exc)

    first = threading.Thread(target=one)
    first.start()
    wait_for(lambda: person.seen)
    progress: list[dict[str, Any]] = []
    second_done: list[str] = []
    second = threading.Thread(
        target=lambda: second_done.append(
            AgentClient(agent.path).token("keymgmt:list", on_progress=progress.append).token
        )
    )
    second.start()
    wait_for(lambda: progress)
    assert progress[0]["merged"] is True
    assert len(person.seen) == 1
    # A third client that hangs up leaves the prompt in place for the others.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(str(agent.path))
    s.sendall(b'{"v":1,"op":"token","scope":"keymgmt:list","progress":true}\n')
    assert b'"merged":true' in s.recv(4096)
    s.close()
    paired.approve(person.seen[0].id)
    first.join(60)
    second.join(60)
    assert errors == []
    assert len(tokens) == 1
    assert second_done == tokens  # one answer, one token for every merged client
    assert len(person.seen) == 1
    (grant,) = paired.grants()
    assert grant.holders == 2
    issued = [e for e in paired.journal_entries() if e.kind == "token.issued"]
    assert len(issued) == 2
    assert sorted(e.fields["merged"] for e in issued) == [False, True]


def test_the_last_client_to_leave_withdraws_the_merged_prompt(
    paired: Core, agent: AgentServer
) -> None:
    person = Person(paired, lambda r: "wait")
    paired.add_listener(person)
    clients = []
    for _ in range(2):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(agent.path))
        s.sendall(b'{"v":1,"op":"token","scope":"keymgmt:list","progress":true}\n')
        s.settimeout(30)
        assert b'"progress":"waiting"' in s.recv(4096)
        clients.append(s)
    clients[0].close()
    (request,) = person.seen
    assert request.id in [r.id for r in paired.pending()]
    clients[1].close()
    wait_for(lambda: not paired.pending())
    assert person.removed[0][1] is Outcome.WITHDRAWN


def test_code_matched_requests_never_merge(paired: Core, agent: AgentServer) -> None:
    paired.update_settings(code_matching="always")
    person = Person(paired, lambda r: "wait")
    paired.add_listener(person)
    clients = []
    for code in (21, 22):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        clients.append(s)
        s.connect(str(agent.path))
        s.sendall(f'{{"v":1,"op":"token","scope":"keymgmt:list","code":{code}}}\n'.encode())
        wait_for(lambda n=code - 20: len(person.seen) == n)
    assert len(person.seen) == 2
    for s in clients:
        s.close()


# ---------------------------------------------------------------------------- locked


def test_a_program_waits_while_the_app_is_locked(paired: Core, agent: AgentServer) -> None:
    person = Person(paired)
    paired.add_listener(person)
    paired.lock()
    progress: list[dict[str, Any]] = []
    got: list[str] = []
    client = threading.Thread(
        target=lambda: got.append(
            AgentClient(agent.path).token("keymgmt:list", on_progress=progress.append).token
        )
    )
    client.start()
    wait_for(lambda: paired.waiting_while_locked == 1)
    assert progress[0]["progress"] == "locked"
    assert "unlock it to continue" in progress[0]["message"]
    assert 1 in person.waiting  # the listeners heard "a request is waiting"
    assert person.seen == []  # nothing shown while locked
    paired.unlock(PASSPHRASE)
    client.join(60)
    assert got
    assert Bearer.parse(got[0]).scope == "keymgmt:list"
    assert [p["progress"] for p in progress] == ["locked", "waiting"]
    assert person.waiting[-1] == 0
    assert paired.waiting_while_locked == 0


def test_a_lock_while_the_prompt_is_shown_asks_again_after_the_unlock(
    paired: Core, agent: AgentServer
) -> None:
    answers: list[object] = ["wait", "approve"]
    person = Person(paired, lambda r: answers.pop(0))
    paired.add_listener(person)
    got: list[str] = []
    client = threading.Thread(
        target=lambda: got.append(AgentClient(agent.path).token("keymgmt:list").token)
    )
    client.start()
    wait_for(lambda: person.seen)
    paired.lock()
    wait_for(lambda: paired.waiting_while_locked == 1)
    paired.unlock(PASSPHRASE)
    client.join(60)
    assert got
    assert len(person.seen) == 2
    assert person.removed[0][1] is Outcome.LOCKED


def test_a_timeout_while_locked_withdraws_the_wait(paired: Core, agent: AgentServer) -> None:
    paired.lock()
    with pytest.raises(AgentTimeout):
        AgentClient(agent.path).token("keymgmt:list", timeout=0.5)
    wait_for(lambda: paired.waiting_while_locked == 0)
    paired.unlock(PASSPHRASE)
    assert paired.pending() == []


def test_a_half_closed_client_gets_one_line_while_locked(paired: Core, agent: AgentServer) -> None:
    paired.lock()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(agent.path))
        s.sendall(b'{"v":1,"op":"token","scope":"keymgmt:list"}\n')
        s.shutdown(socket.SHUT_WR)
        answer = json.loads(s.recv(4096))
    assert answer["error"] == "withdrawn"

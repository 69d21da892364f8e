"""``authenticator token`` as a script and a person use it against the running app: several
scopes in one prompt, the code to match, waiting while the app is locked, ``--timeout``,
``--export``, ``--json``, exit codes; ``grants`` and ``journal --export``. The app is the real
core with its real agent socket in this process; the command runs in a subprocess, on a pty
rendered by pyte where a person would read it."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pyte
import pytest

from authenticator.cli import exitcodes
from authenticator.core.agent.server import AgentServer
from authenticator.core.app import Core
from authenticator.core.codes import WrongCodeError
from authenticator.core.model import AccessRequest, Outcome
from authenticator.core.peer import identify_pid
from authenticator.emulator.server import RunningEmulator
from authenticator.protocol.bearer import Bearer
from authenticator.store.paths import AppPaths
from tests.cli.conftest import PASSPHRASE, Cli
from tests.cli.screen import COLS, ROWS, Shown, assert_honest, authenticator_argv
from tests.support_emulator import HEM_PASSPHRASE, make_core, wait_for


class Owner:
    """The person at the app: answers each request with ``answer(request)``."""

    def __init__(self, core: Core, answer: Callable[[AccessRequest], str] = lambda r: "approve"):
        self.core = core
        self.answer = answer
        self.seen: list[AccessRequest] = []
        self.removed: list[tuple[str, Outcome]] = []

    def request_added(self, request: AccessRequest) -> None:
        self.seen.append(request)
        if self.answer(request) == "approve":
            threading.Thread(target=self.core.approve, args=(request.id,)).start()

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self.removed.append((request.id, outcome))

    def connection_changed(self, *a: object) -> None: ...
    def lock_changed(self, *a: object) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


@pytest.fixture
def app(cli: Cli, emu: RunningEmulator) -> Iterator[Core]:
    """The desktop app's core for the CLI's home, serving its agent socket."""
    core = make_core(cli.home)
    core.create_store(passphrase=PASSPHRASE)
    if identify_pid(os.getpid()).remote is not None:  # run from SSH: every caller is remote
        core.update_settings(code_matching="off")  # the code tests set it themselves
    core.update_settings(default_broker_url=emu.urls.broker.rstrip("/"))
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    server = AgentServer(core, AppPaths.for_home(cli.home, cli.env).agent_socket)
    server.start()
    core.start(agent=False, poller=False)
    yield core
    server.stop()
    core.close()


class Terminal:
    """``authenticator`` on a fresh pty of COLS×ROWS, read by a terminal model while it runs."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.screen = pyte.Screen(COLS, ROWS)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))

        def controlling_tty() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        run_env = {k: v for k, v in env.items() if k != "AUTHENTICATOR_NO_TTY"}
        self.proc = subprocess.Popen(
            authenticator_argv(*args),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**run_env, "TERM": "xterm"},
            preexec_fn=controlling_tty,  # noqa: PLW1509 - the child needs the pty as its terminal
        )
        os.close(slave)
        self._master = master
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self._master], [], [], 120)
            if not ready:
                return
            try:
                chunk = os.read(self._master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                return
            with self._lock:
                self._stream.feed(chunk)

    @property
    def text(self) -> str:
        with self._lock:
            return "\n".join(r.rstrip() for r in self.screen.display)

    def wait_for(self, pattern: str) -> re.Match[str]:
        found = wait_for(lambda: re.search(pattern, self.text), timeout=60)
        assert isinstance(found, re.Match), self.text
        return found

    def finish(self) -> Shown:
        code = self.proc.wait(timeout=90)
        self._reader.join(30)
        os.close(self._master)
        return Shown(code, self.screen)


def test_several_scopes_one_prompt_on_a_terminal(cli: Cli, app: Core, emu: RunningEmulator) -> None:
    owner = Owner(app)
    app.add_listener(owner)
    term = Terminal(["token", "--scope", "keymgmt:list", "--scope", "logger:get"], cli.env)
    shown = term.finish()
    assert shown.code == 0, shown.text
    assert_honest(shown)
    assert "Waiting for approval in Encedo Authenticator…" in shown.rows
    (lst,) = shown.row_starting("keymgmt:list ")
    (log,) = shown.row_starting("logger:get ")
    assert Bearer.parse(lst.split()[1]).scope == "keymgmt:list"
    assert Bearer.parse(log.split()[1]).scope == "logger:get"
    (request,) = owner.seen
    assert request.is_bundle
    # The same program asking again before the tokens expire: the prompt is a renewal.
    again = Terminal(["token", "--scope", "keymgmt:list", "--scope", "logger:get"], cli.env)
    shown = again.finish()
    assert shown.code == 0
    assert any(r.startswith("This renews access that ends at ") for r in shown.rows)
    assert owner.seen[1].is_renewal


def test_the_code_to_match_is_shown_on_the_asking_terminal(cli: Cli, app: Core) -> None:
    app.update_settings(code_matching="always")
    owner = Owner(app, lambda r: "wait")
    app.add_listener(owner)
    term = Terminal(["token", "--scope", "keymgmt:list"], cli.env)
    code = int(term.wait_for(r"Approve code (\d\d) in Encedo Authenticator\.").group(1))
    term.wait_for("Waiting for approval in Encedo Authenticator…")
    (request,) = owner.seen
    assert code in request.codes
    app.approve(request.id, code=code)
    shown = term.finish()
    assert shown.code == 0
    assert_honest(shown)
    token = shown.rows[-1]
    assert Bearer.parse(token).scope == "keymgmt:list"


def test_a_wrong_code_denies(cli: Cli, app: Core) -> None:
    app.update_settings(code_matching="always")
    owner = Owner(app, lambda r: "wait")
    app.add_listener(owner)
    term = Terminal(["token", "--scope", "keymgmt:list"], cli.env)
    code = int(term.wait_for(r"Approve code (\d\d)").group(1))
    (request,) = owner.seen
    wrong = next(c for c in request.codes if c != code)
    with pytest.raises(WrongCodeError, match="not the code"):
        app.approve(request.id, code=wrong)
    shown = term.finish()
    assert shown.code == exitcodes.DENIED
    assert any("suspicious" in r for r in shown.rows)


def test_token_waits_while_the_app_is_locked(cli: Cli, app: Core) -> None:
    owner = Owner(app)
    app.add_listener(owner)
    app.lock()
    term = Terminal(["token", "--scope", "keymgmt:list", "--timeout", "60"], cli.env)
    term.wait_for("Encedo Authenticator is locked: unlock it to continue…")
    wait_for(lambda: app.waiting_while_locked == 1)
    assert owner.seen == []
    app.unlock(PASSPHRASE)
    shown = term.finish()
    assert shown.code == 0, shown.text
    rows = shown.rows
    locked = rows.index("Encedo Authenticator is locked: unlock it to continue…")
    assert rows.index("Waiting for approval in Encedo Authenticator…") > locked
    assert Bearer.parse(rows[-1]).scope == "keymgmt:list"


def test_timeout_withdraws_and_has_its_exit_code(cli: Cli, app: Core) -> None:
    owner = Owner(app, lambda r: "wait")
    app.add_listener(owner)
    started = time.monotonic()
    r = cli("token", "--scope", "keymgmt:list", "--timeout", "1.5", "--json")
    print(f"--timeout 1.5 returned after {time.monotonic() - started:.2f} s")
    assert r.code == exitcodes.TIMEOUT
    assert r.json() == {"ok": False, "error": "timeout", "message": r.json()["message"]}
    assert "Waiting for approval" in r.err
    wait_for(lambda: owner.removed)
    assert owner.removed[0][1] is Outcome.WITHDRAWN
    # Locked: the same bound.
    app.lock()
    r = cli("token", "--scope", "keymgmt:list", "--timeout", "1")
    assert r.code == exitcodes.TIMEOUT
    assert "locked: unlock it to continue" in r.err
    wait_for(lambda: app.waiting_while_locked == 0)


def test_json_export_and_partial_results(
    cli: Cli, app: Core, emu: RunningEmulator, tmp_path: Path
) -> None:
    app.add_listener(Owner(app))
    r = cli("token", "--scope", "keymgmt:list", "--scope", "wat:ever", "--json")
    assert r.code == exitcodes.PARTIAL
    items = r.json()
    assert [(i["scope"], i["ok"]) for i in items] == [("keymgmt:list", True), ("wat:ever", False)]
    assert items[1]["error"] == "unknown_scope"
    assert "wat:ever: no token" in r.err
    assert Bearer.parse(items[0]["token"]).scope == "keymgmt:list"
    # One scope: the object scripts already read.
    r = cli("token", "--scope", "keymgmt:list", "--json")
    assert r.code == 0
    assert set(r.json()) == {"token", "exp", "scope", "hem"}
    # --export, through eval in a real shell.
    shell = (
        f'eval "$({sys.executable} -m authenticator token --export --scope keymgmt:list '
        '--scope system:config)"; echo "$ENCEDO_TOKEN_KEYMGMT_LIST"; '
        'echo "$ENCEDO_TOKEN_SYSTEM_CONFIG"'
    )
    out = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, env=cli.env, timeout=90, check=True
    )
    lst, config = out.stdout.split()
    assert Bearer.parse(lst).scope == "keymgmt:list"
    assert Bearer.parse(config).scope == "system:config"
    status = httpx.get(
        f"{emu.urls.hems[0]}/api/keymgmt/list", headers={"Authorization": f"Bearer {lst}"}
    ).status_code
    assert status == 200
    # Nothing granted: the first failure's code.
    r = cli("token", "--scope", "wat:ever", "--scope", "nope:nope")
    assert r.code == exitcodes.OTHER
    assert r.out == ""


def test_nine_scopes_are_refused_before_asking(cli: Cli, app: Core) -> None:
    owner = Owner(app)
    app.add_listener(owner)
    args = [a for i in range(9) for a in ("--scope", f"storage:disk{i}")]
    r = cli("token", *args)
    assert r.code == exitcodes.USAGE
    assert "At most 8 scopes" in r.err
    assert owner.seen == []


def test_grants_lists_what_is_in_use_and_forgets_rules(cli: Cli, app: Core) -> None:
    app.add_listener(Owner(app))
    token = cli("token", "--scope", "keymgmt:list", "--for", "1h").out.strip()
    r = cli("grants", "--json")
    assert r.code == 0
    data = r.json()
    assert data["running"] is True
    (grant,) = data["grants"]
    assert grant["scope"] == "keymgmt:list"
    assert grant["how"] == "clicked"
    assert token not in r.out
    assert "cannot revoke" in data["note"]
    text = cli("grants")
    assert "List the keys — list the keys on" in text.out
    assert "The HEM cannot revoke a token" in text.out
    r = cli("grants", "--forget", "R42")
    assert r.code == exitcodes.OTHER
    assert "nothing was forgotten" in r.out


def test_grants_without_the_app(cli: Cli, emu: RunningEmulator) -> None:
    r = cli("grants", "--json")
    assert r.code == exitcodes.NO_APP
    assert r.json()["running"] is False
    assert "not running" in cli("grants").out


def test_journal_export_and_verify_a_file(cli: Cli, emu: RunningEmulator, tmp_path: Path) -> None:
    r = cli("pair", "--direct", emu.urls.hems[0], "--hem-passphrase-stdin", "--yes",
            stdin=HEM_PASSPHRASE + "\n")  # fmt: skip
    assert r.code == 0, r.err
    dest = tmp_path / "audit.jsonl"
    r = cli("journal", "--export", str(dest))
    assert r.code == 0, r.err
    assert "Wrote" in r.out
    r = cli("journal", "--verify", str(dest), "--json")
    assert r.code == 0
    assert r.json()["ok"] is True
    lines = dest.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["text"] = "nothing happened"
    lines[2] = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    dest.write_text("\n".join(lines) + "\n")
    r = cli("journal", "--verify", str(dest))
    assert r.code == exitcodes.OTHER
    assert f"entry {entry['seq']} is broken" in r.out
    assert cli("journal", "--verify").code == 0  # the journal itself is intact

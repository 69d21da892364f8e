"""Every command of the design, as a subprocess against the real emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import qrcode

from authenticator.cli import exitcodes
from authenticator.core.agent.server import AgentServer
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.protocol.bearer import Bearer
from tests.cli.conftest import PASSPHRASE, Cli
from tests.support_emulator import HEM_PASSPHRASE, finished, make_core, requester_for, wait_for


def paired(cli: Cli, requester: Requester, *extra: str) -> str:
    session = requester.start_pairing()
    r = cli("pair", session.qr_text, "--yes", "--json", *extra)
    assert r.code == 0, r.err
    assert session.poll() == "paired"
    return str(r.json()["name"])


def pending_ids(cli: Cli) -> list[str]:
    r = cli("requests", "--json")
    assert r.code == 0, r.err
    return [item["id"] for item in r.json()]


def test_version_and_help(cli: Cli) -> None:
    r = cli("--version")
    assert r.code == 0
    assert r.out.startswith("authenticator ")
    r = cli("--help")
    assert "pair" in r.out
    assert "Exit codes" in r.out
    assert cli("frobnicate").code == exitcodes.USAGE


def test_pair_list_approve_with_period_and_write(cli: Cli, emu: RunningEmulator) -> None:
    with requester_for(emu, 0) as manager:
        name = paired(cli, manager, "--name", "Office HEM", "--label", "CLI test (Linux)")
        assert name == "Office HEM"
        hems = cli("hems", "--json").json()
        assert [h["name"] for h in hems] == ["Office HEM"]
        assert hems[0]["label"] == "CLI test (Linux)"
        session = manager.request_access("storage:disk0:rw")
        items = cli("requests", "--json").json()
        (item,) = items
        assert {
            "id",
            "hem",
            "source",
            "scope",
            "title",
            "text",
            "requester",
            "expires_at",
            "write_possible",
        } <= set(item)
        assert item["write_possible"] is True
        assert item["title"] == "Unlock a drive"
        text = cli("requests").out
        assert "Unlock a drive" in text
        assert "--write" in text
        r = cli("approve", item["id"], "--for", "8h", "--write")
        assert r.code == 0, r.err
        assert "Allow read and write for 8 h" in r.out
        result = finished(session)
        assert result.claims["scope"] == "storage:disk0:rw"
        assert result.claims["exp"] - result.claims["iat"] in (28800, 28799)


def test_deny_and_report(cli: Cli, requester: Requester) -> None:
    paired(cli, requester)
    a = requester.request_access("system:config")
    b = requester.request_access("system:shutdown")
    ids = pending_ids(cli)
    assert set(ids) == {a.event_id, b.event_id}
    assert cli("deny", a.event_id).code == 0
    assert finished(a).state == "denied"
    r = cli("deny", b.event_id, "--report")
    assert r.code == 0
    assert "reported" in r.out.lower()
    assert finished(b).state == "denied"
    assert cli("hems", "--json").json()[0]["muted_until"] is not None


def test_requests_wait_until_one_arrives(cli: Cli, requester: Requester) -> None:
    paired(cli, requester)
    timer = threading.Timer(1.5, lambda: requester.request_access("keymgmt:list"))
    timer.start()
    started = time.monotonic()
    r = cli("requests", "--wait", "20", "--json")
    assert r.code == 0
    assert len(r.json()) == 1
    assert time.monotonic() - started < 15


def test_unknown_id_bad_period_and_expired(
    cli: Cli, requester: Requester, emu: RunningEmulator
) -> None:
    paired(cli, requester)
    assert cli("approve", "NOPE1").code == exitcodes.OTHER
    session = requester.request_access("keymgmt:list")
    r = cli("approve", session.event_id, "--for", "2h")
    assert r.code == exitcodes.USAGE
    assert "15m, 1h, 8h, 24h" in r.err
    assert pending_ids(cli) == [session.event_id]
    assert emu.emulator.broker is not None
    emu.emulator.broker.expire_event(session.event_id)
    r = cli("approve", session.event_id)
    assert r.code == exitcodes.OTHER  # it is gone: no pending request by that id
    assert "No pending request" in r.err


def test_pair_from_an_image_file(cli: Cli, requester: Requester, tmp_path: Path) -> None:
    session = requester.start_pairing()
    png = tmp_path / "qr.png"
    qrcode.make(session.qr_text).save(str(png))
    r = cli("pair", "--image", str(png), "--yes")
    assert r.code == 0, r.err
    assert session.poll() == "paired"


def test_pair_refused_at_the_terminal(cli: Cli, requester: Requester) -> None:
    session = requester.start_pairing()
    r = cli.with_terminal("pair", session.qr_text, answers="n\n")
    assert r.code == exitcodes.DENIED
    assert session.poll() == "refused"


def test_pair_without_terminal_needs_yes(cli: Cli, requester: Requester) -> None:
    session = requester.start_pairing()
    r = cli("pair", session.qr_text)
    assert r.code == exitcodes.DENIED
    assert "--yes" in r.err


def test_pair_direct(cli: Cli, emu: RunningEmulator) -> None:
    r = cli(
        "pair",
        "--direct",
        emu.urls.hems[0],
        "--hem-passphrase-stdin",
        "--yes",
        "--json",
        stdin=HEM_PASSPHRASE + "\n",
    )
    assert r.code == 0, r.err
    assert r.json()["source"] == "direct"
    r = cli(
        "pair", "--direct", emu.urls.hems[1], "--hem-passphrase-stdin", "--yes", stdin="wrong\n"
    )
    assert r.code == exitcodes.OTHER
    assert "did not accept that passphrase" in r.err


def test_token_without_the_app_asks_on_the_terminal(cli: Cli, emu: RunningEmulator) -> None:
    assert (
        cli(
            "pair",
            "--direct",
            emu.urls.hems[0],
            "--hem-passphrase-stdin",
            "--yes",
            stdin=HEM_PASSPHRASE + "\n",
        ).code
        == 0
    )
    r = cli.with_terminal("token", "--scope", "keymgmt:list", "--for", "1h", answers="y\n")
    assert r.code == 0, r.err
    token = r.out.strip()
    assert "\n" not in token  # stdout carries only the token
    bearer = Bearer.parse(token)
    assert bearer.scope == "keymgmt:list"
    assert bearer.exp - bearer.iat in (3600, 3599)
    import httpx

    status = httpx.get(
        f"{emu.urls.hems[0]}/api/keymgmt/list", headers={"Authorization": f"Bearer {token}"}
    ).status_code
    assert status == 200
    r = cli.with_terminal("token", "--scope", "keymgmt:list", answers="n\n")
    assert r.code == exitcodes.DENIED
    assert r.out == ""


def test_token_without_app_and_without_terminal_says_what_to_do(
    cli: Cli, emu: RunningEmulator
) -> None:
    started = time.monotonic()
    r = cli("token", "--scope", "keymgmt:list")
    assert r.code == exitcodes.NO_APP  # at once, with its own code
    assert "not running" in r.err
    assert "no terminal" in r.err
    assert r.out == ""
    r = cli("token", "--scope", "keymgmt:list", "--json")
    assert r.code == exitcodes.NO_APP
    assert r.json()["ok"] is False
    assert r.json()["error"] == "no_app"
    assert "not running" in r.json()["message"]
    print(f"two headless calls took {time.monotonic() - started:.2f} s")


def test_token_during_the_demo_says_how_to_ask_the_demo(
    tmp_path: Path, emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A newcomer runs ``authenticator --demo`` and then ``authenticator token`` without --home:
    no app serves their own home, but the demo's does — the command says how to ask it."""
    from authenticator.store.paths import AppPaths

    env = {k: v for k, v in Cli(tmp_path / "unused").env.items() if k != "AUTHENTICATOR_HOME"}
    env.update(
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("AUTHENTICATOR_HOME", raising=False)
    demo = AppPaths.default().demo()
    core = make_core(demo.data_dir)
    core.create_store(passphrase=PASSPHRASE)
    server = AgentServer(core, demo.agent_socket)
    server.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "authenticator", "token", "--scope", "keymgmt:list"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert proc.returncode == exitcodes.NO_APP
        assert "the demo is running" in proc.stderr
        assert f"--home {demo.data_dir}" in proc.stderr
        assert proc.stdout == ""
        assert not (AppPaths.default().data_dir / "vault.bin").exists()  # no store made
    finally:
        server.stop()
        core.close()


def test_token_through_the_running_app(cli: Cli, emu: RunningEmulator) -> None:
    core = make_core(cli.home)
    core.create_store(passphrase=PASSPHRASE)
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)

    class Approver:
        def request_added(self, request: object) -> None:
            threading.Thread(target=core.approve, args=(request.id,)).start()  # type: ignore[attr-defined]

        def request_removed(self, *a: object) -> None: ...
        def connection_changed(self, *a: object) -> None: ...
        def lock_changed(self, *a: object) -> None: ...
        def hems_changed(self) -> None: ...
        def journal_changed(self) -> None: ...

    core.add_listener(Approver())
    from authenticator.store.paths import AppPaths

    # The socket of this home, as the app would serve it (same runtime dir as the subprocess).
    server = AgentServer(core, AppPaths.for_home(cli.home, cli.env).agent_socket)
    server.start()
    try:
        r = cli("token", "--scope", "keymgmt:list", "--reason", "cli test")
        assert r.code == 0, r.err
        assert Bearer.parse(r.out.strip()).scope == "keymgmt:list"
        r = cli("lock")
        assert r.code == 0
        assert core.locked
    finally:
        server.stop()
        core.close()


def test_requests_lists_what_waits_in_the_apps_window(cli: Cli, emu: RunningEmulator) -> None:
    """A program asked the running app: ``authenticator requests`` (another process, which
    cannot see the app's memory) still lists it, and says where to answer it."""
    from authenticator.core.agent_client import AgentClient
    from authenticator.errors import UserCancelled
    from authenticator.store.paths import AppPaths

    core = make_core(cli.home)
    core.create_store(passphrase=PASSPHRASE)
    core.update_settings(code_matching="off")
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    server = AgentServer(core, AppPaths.for_home(cli.home, cli.env).agent_socket)
    server.start()
    outcome: list[BaseException] = []

    def program() -> None:
        try:
            AgentClient(server.path).token("keymgmt:del", reason="nightly cleanup")
        except UserCancelled as exc:
            outcome.append(exc)

    asker = threading.Thread(target=program)
    asker.start()
    try:
        wait_for(core.pending)
        (waiting,) = core.pending()
        r = cli("requests")
        assert r.code == 0, r.err
        assert f"{waiting.id}  " in r.out
        assert "waiting in the app's window — answer it there" in r.out
        assert "Reason — claimed by the program: nightly cleanup" in r.out
        listed = cli("requests", "--json").json()
        assert [(x["id"], x["in_app"]) for x in listed] == [(waiting.id, True)]
        core.deny(waiting.id)
        asker.join(20)
        assert outcome
    finally:
        server.stop()
        core.close()


def test_lock_without_the_app(cli: Cli) -> None:
    r = cli("lock")
    assert r.code == 0
    assert "not running" in r.out


def test_unpair_and_local_only_fallback(
    cli: Cli, requester: Requester, emu: RunningEmulator
) -> None:
    name = paired(cli, requester)
    emu.emulator.faults.add("/notify/subscribers/delete", status=401, times=1)  # refused
    r = cli("unpair", name)
    assert r.code == exitcodes.OTHER
    assert "--local-only" in r.err
    assert [h["name"] for h in cli("hems", "--json").json()] == [name]
    assert cli("unpair", name, "--local-only").code == 0
    assert cli("hems", "--json").json() == []


def test_journal_and_verify(cli: Cli, requester: Requester) -> None:
    paired(cli, requester)
    r = cli("journal", "--json", "--limit", "5")
    kinds = [e["kind"] for e in r.json()]
    assert "pair.paired" in kinds
    assert cli("journal", "--verify").code == 0
    journal = cli.home / "journal.jsonl"
    lines = journal.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["text"] = "edited"
    lines[0] = json.dumps(entry)
    journal.write_text("\n".join(lines) + "\n")
    r = cli("journal", "--verify", "--json")
    assert r.code == exitcodes.OTHER
    assert r.json()["first_broken"] == entry["seq"]


def test_wrong_store_passphrase_is_locked(cli: Cli, requester: Requester) -> None:
    paired(cli, requester)
    r = cli("hems", env={"AUTHENTICATOR_PASSPHRASE": "wrong"})
    assert r.code == exitcodes.LOCKED
    r = cli("hems", env={"AUTHENTICATOR_PASSPHRASE": ""})
    assert r.code == exitcodes.LOCKED
    assert "AUTHENTICATOR_PASSPHRASE" in r.err


def test_broker_down_is_unreachable(cli: Cli, requester: Requester, emu: RunningEmulator) -> None:
    paired(cli, requester)
    emu.down()
    try:
        r = cli("requests")
    finally:
        emu.up()
    assert r.code == exitcodes.UNREACHABLE
    assert "Could not connect to the broker" in r.err


def test_emulator_command(cli: Cli) -> None:
    import signal
    import subprocess
    import sys

    with subprocess.Popen(
        [sys.executable, "-m", "authenticator", "emulator", "--json"],
        stdout=subprocess.PIPE,
        text=True,
        env=cli.env,
    ) as proc:
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            assert info["hem"].startswith("http://127.0.0.1:")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()

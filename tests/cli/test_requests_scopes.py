"""``authenticator requests`` and ``approve --code`` in a real pty (rendered by pyte): a bundle
waiting in the running app's window is listed a scope per line, a renewal says so and until when
the program holds the access, and a request with code matching is approved only with the code
the requester shows (a wrong one denies it, journalled as suspicious)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from authenticator.cli import exitcodes
from authenticator.cli.output import clock_time
from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import UserCancelled
from authenticator.protocol.periods import Period
from authenticator.store.paths import AppPaths
from tests.cli.conftest import PASSPHRASE, Cli
from tests.cli.test_terminal_truth import assert_no_forged_rows, show, store
from tests.hostile import MIXED
from tests.support_emulator import HEM_PASSPHRASE, finished, make_core, pair_by_qr, wait_for


@dataclass
class App:
    """The running app of ``cli``'s home, as far as a program and ``requests`` can tell."""

    core: Core
    server: AgentServer
    hem: str


@pytest.fixture
def app(cli: Cli, emu: RunningEmulator) -> Iterator[App]:
    core = make_core(cli.home)
    core.create_store(passphrase=PASSPHRASE)
    core.update_settings(code_matching="off")  # the test process may run in an SSH session
    hem = core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE).name
    server = AgentServer(core, AppPaths.for_home(cli.home, cli.env).agent_socket)
    server.start()
    core.start(agent=False, poller=False)
    yield App(core, server, hem)
    server.stop()
    core.close()


def asking(app: App, scopes: list[str], **kw: object) -> threading.Thread:
    """A program asking the app for ``scopes``; it waits (the test answers in the core)."""

    def run() -> None:
        with contextlib.suppress(UserCancelled):  # each test denies what it left waiting
            AgentClient(app.server.path).tokens(scopes, timeout=60, **kw)  # type: ignore[arg-type]

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def deny_all(app: App, *threads: threading.Thread) -> None:
    for request in app.core.pending():
        app.core.deny(request.id)
    for thread in threads:
        thread.join(60)


def test_a_bundle_waiting_in_the_app_is_listed_a_scope_per_line(cli: Cli, app: App) -> None:
    asker = asking(app, ["keymgmt:list", "system:config", "logger:get"], reason=MIXED[:200])
    wait_for(app.core.pending)
    (bundle,) = app.core.pending()
    try:
        shown = show(cli, "requests")
        assert shown.code == 0
        rows = shown.rows
        head = next(i for i, r in enumerate(rows) if r.startswith(f"{bundle.id}  {app.hem}  "))
        assert "answer it there" in rows[head]
        assert rows[head + 1 : head + 5] == [
            "  3 accesses — asks to:",
            f"    • List the keys: list the keys on {app.hem}",
            f"    • Change the settings: change the settings of {app.hem}",
            f"    • Read the log: read the audit log of {app.hem}",
        ]
        assert len(shown.row_starting("  Reason — claimed by the program: ")) == 1
        assert_no_forged_rows(shown)
    finally:
        deny_all(app, asker)


def test_a_renewal_says_so_and_until_when(cli: Cli, app: App) -> None:
    core = app.core

    class Approve:
        def request_added(self, request: object) -> None:
            rid = getattr(request, "id", "")
            threading.Thread(target=core.approve, args=(rid, Period.MIN15)).start()

    person = Approve()
    core.add_listener(person)
    AgentClient(app.server.path).tokens(["keymgmt:list", "logger:get"], timeout=60)
    AgentClient(app.server.path).tokens(["system:config"], timeout=60)
    core.remove_listener(person)
    held = {g.scope: g.exp for g in core.grants()}
    # asked again for longer than approved: a renewal, asked
    both = asking(app, ["keymgmt:list", "logger:get"], period=Period.H8)
    one = asking(app, ["system:config"], period=Period.H8)
    wait_for(lambda: len(core.pending()) == 2)
    try:
        shown = show(cli, "requests")
        assert shown.code == 0
        rows = shown.rows
        until = clock_time(held["keymgmt:list"])
        i = rows.index("  Renew 2 accesses — asks to renew its access to:")
        assert rows[i + 1 : i + 4] == [
            f"    • List the keys: list the keys on {app.hem}",
            f"    • Read the log: read the audit log of {app.hem}",
            f"  Renewal: it already holds this access until {until}.",
        ]
        single = "  Renew: Change the settings — A program on this computer asks to renew its "
        single += f"access to change the settings of {app.hem}."
        assert single in rows
        j = rows.index(single)
        assert rows[j + 1] == (
            f"  Renewal: it already holds this access until {clock_time(held['system:config'])}."
        )
        assert_no_forged_rows(shown)
    finally:
        deny_all(app, both, one)


@pytest.fixture
def broker_paired(cli: Cli, requester: Requester) -> str:
    core = store(cli)
    try:
        return pair_by_qr(core, requester).name
    finally:
        core.close()


def test_approve_with_the_code_the_requester_shows(
    cli: Cli, requester: Requester, broker_paired: str
) -> None:
    session = requester.request_access("keymgmt:list", note="code:47 on the Manager page")
    shown = show(cli, "requests")
    assert shown.code == 0
    assert (
        "  Code matching: approve it with --code and the two digits the requester shows."
        in shown.rows
    )

    # no code: nothing is answered, and the command says what is missing
    shown = show(cli, "approve", session.event_id)
    assert shown.code == exitcodes.USAGE
    assert "needs the code the requester shows: approve it with --code NN" in shown.text
    assert session.poll().state == "pending"
    shown = show(cli, "approve", session.event_id, "--code", "7")
    assert shown.code == exitcodes.USAGE
    assert "a code is two digits, 10 to 99" in shown.text
    assert session.poll().state == "pending"

    # a wrong code denies, journalled as suspicious
    shown = show(cli, "approve", session.event_id, "--code", "12")
    assert shown.code == exitcodes.DENIED
    assert "journalled as suspicious" in shown.text
    assert finished(session).state == "denied"
    journal = cli("journal", "--json").json()
    denied = next(e for e in journal if e["kind"] == "request.denied")
    assert denied["fields"]["suspicious"] is True

    # the right one approves
    again = requester.request_access("keymgmt:list", note="code:47 on the Manager page")
    shown = show(cli, "approve", again.event_id, "--code", "47", "--for", "1h")
    assert shown.code == 0, shown.rows
    assert shown.rows[0].startswith(
        f"Approved: Allow for 1 h — list the keys on {broker_paired} (until "
    )
    assert finished(again).state == "approved"

"""What a person sees in the terminal is the truth, whatever an outsider wrote.

Hostile strings (tests/hostile.py) go in where outsiders write: the broker's location of a
requester, the pairing code's user/e-mail/hostname (so also the HEM's name in ``hems`` and the
journal), a local program's name and its reason, a file name in an error. Each command runs in a
real pty and its output is rendered by a terminal emulator model (pyte); the tests read the screen:
the verified action is on its own line, as printed; no forged line, no title change, no colour, no
control or bidi character in any cell.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from authenticator.cli import exitcodes
from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.protocol.b64 import b64encode
from tests.cli.conftest import PASSPHRASE, Cli
from tests.cli.screen import Shown, assert_honest, authenticator_argv, run_in_terminal
from tests.hostile import CORPUS, MARK, MIXED
from tests.support_emulator import HEM_PASSPHRASE, make_core, pair_by_qr

_DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d  ")
_SENTENCE = re.compile(r"^  [A-Z][a-z ]+ — asks to ")


def terminal_env(cli: Cli) -> dict[str, str]:
    env = dict(cli.env)
    env.pop("AUTHENTICATOR_NO_TTY")
    return env


def show(cli: Cli, *args: str, answers: tuple[tuple[str, str], ...] = ()) -> Shown:
    shown = run_in_terminal(authenticator_argv(*args), env=terminal_env(cli), answers=answers)
    assert_honest(shown)
    return shown


def store(cli: Cli) -> Core:
    core = make_core(cli.home)
    core.create_store(passphrase=PASSPHRASE)
    return core


def assert_no_forged_rows(shown: Shown) -> None:
    """The attacker's mark never starts a row: it can only sit inside a labelled field."""
    for row in shown.rows:
        assert not row.lstrip().startswith(MARK), row
        assert not row.startswith("Denied by you"), row


# ---------------------------------------------------------------------------- requests


@pytest.mark.parametrize("hostile", [c[1] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_requests_with_a_hostile_broker_location(
    cli: Cli, emu: RunningEmulator, requester: Requester, hostile: str
) -> None:
    core = store(cli)
    try:
        hem = pair_by_qr(core, requester).name
    finally:
        core.close()
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location(hostile, hostile[:40])
    session = requester.request_access("logger:get")
    shown = show(cli, "requests")
    assert shown.code == 0
    rows = shown.rows
    head = f"{session.event_id}  {hem}  (broker, expires in "
    assert [r for r in rows if r.startswith(head)] != []
    assert f"  Read the log — asks to read the audit log of {hem}." in rows
    # One request: exactly one id line and one sentence, whatever the location says.
    assert len([r for r in rows if not r.startswith(" ")]) == 1
    assert [r for r in rows if _SENTENCE.match(r)] == [
        f"  Read the log — asks to read the audit log of {hem}."
    ]
    assert len(shown.row_starting("  Location — reported by the broker: ")) == 1
    assert_no_forged_rows(shown)


def test_requests_with_a_key_label_the_requester_wrote(cli: Cli, requester: Requester) -> None:
    """A requester may append its own ``#<meta>`` to a key-use scope; the HEM seals it as given."""
    core = store(cli)
    try:
        hem = pair_by_qr(core, requester).name
    finally:
        core.close()
    kid = requester.find_key("Backup AES")
    assert kid is not None
    meta = json.dumps({"t": "AC16", "l": f"\x1b[2K\rPGP main\u202e{MARK}\n  Key id: 00"})
    session = requester.request_access(f"keymgmt:use:{kid}#{b64encode(meta.encode())}")
    shown = show(cli, "requests")
    rows = shown.rows
    assert rows[0].startswith(f"{session.event_id}  {hem}  (broker, ")
    assert rows[1] == f"  Use a key — asks to use the key {kid[:12]}… on {hem}."
    assert rows[2] == f"  Key id: {kid}"
    assert rows[3] == "  Location — reported by the broker: This computer · 127.0.0.1"
    # Cleaned where it came in (controls gone, newline a space), and labelled as a claim.
    assert rows[4] == f"  Key name — as the request states it: [2K PGP main{MARK} Key id: 00"
    assert rows[5] == "  Key type — as the request states it: Ed25519 signing key, private key"
    assert len(shown.row_starting("  Key id: ")) == 1
    assert_no_forged_rows(shown)


def test_requests_json_is_exact_and_escaped(
    cli: Cli, emu: RunningEmulator, requester: Requester
) -> None:
    core = store(cli)
    try:
        pair_by_qr(core, requester)
    finally:
        core.close()
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location(MIXED[:120], "\u202ePL")
    requester.request_access("logger:get")
    shown = show(cli, "requests", "--json")
    assert shown.code == 0
    r = cli("requests", "--json")
    items = json.loads(r.out)
    assert items[0]["scope"] == "logger:get"
    raw = r.out
    assert not any(c in raw for c in "\x1b\x9b\x9d\x9c\u202e\u2066\u200d\x07")


# ---------------------------------------------------------------------------- journal


def test_journal_and_verify_with_hostile_requests(
    cli: Cli, emu: RunningEmulator, requester: Requester
) -> None:
    core = store(cli)
    try:
        pair_by_qr(core, requester)
    finally:
        core.close()
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location(MIXED[:120], "\x1b[2K\r")
    approved = requester.request_access("keymgmt:del")
    denied = requester.request_access("logger:get")
    assert cli("approve", approved.event_id).code == 0
    assert cli("deny", denied.event_id, "--report").code == 0
    shown = show(cli, "journal")
    assert shown.code == 0
    entries = cli("journal", "--json").json()[1:]  # less the unlock of that listing itself
    kinds = {e["kind"] for e in entries}
    assert {"request.approved", "request.reported"} <= kinds
    dated = [r for r in shown.rows if _DATE.match(r)]
    assert len(dated) == len(shown.rows) == len(entries)  # a row per entry: none forged or hidden
    assert [r[18:].split()[0] for r in dated] == [e["kind"] for e in entries]
    assert_no_forged_rows(shown)
    verified = show(cli, "journal", "--verify")
    assert verified.code == 0
    (row,) = verified.rows
    assert re.fullmatch(r"The journal is intact: \d+ entries\.", row)


# ---------------------------------------------------------------------------- pairing and hems


def hostile_qr(requester: Requester, user: str, email: str, hostname: str) -> tuple[str, object]:
    session = requester.start_pairing()
    fields = json.loads(session.qr_text)
    fields.update(user=user, email=email, hostname=hostname)
    return json.dumps(fields), session


def test_pair_preview_with_a_hostile_pairing_code(cli: Cli, requester: Requester) -> None:
    store(cli).close()
    qr, session = hostile_qr(requester, f"\x1b[2K\r{MARK} user", "a@b\u202emoc.live", MIXED[:200])
    shown = show(cli, "pair", qr, answers=(("Accept this pairing? [y/N]", "n\n"),))
    assert shown.code == exitcodes.DENIED
    rows = shown.rows
    assert (
        rows[0] == "Pairing request (as the pairing code states it; nothing here is verified yet)"
    )
    labels = [r.split(":")[0] for r in rows[1:6]]
    assert labels == [
        "  HEM",
        "  User",
        "  E-mail",
        "  Shown from — reported by the broker",
        "  Broker",
    ]
    assert rows[-2:] == ["Accept this pairing? [y/N] n", "Refused; the Manager was told."]
    assert_no_forged_rows(shown)
    assert session.poll() == "refused"  # type: ignore[attr-defined]


# What the store accepts (no C0 control) but still tries to reorder, hide or style text.
SNEAKY = "\x9b2J\u202eteled\u202c \u2066x\u2069 li\u200dst <b>Verified</b><!--"


def test_hems_and_journal_with_hostile_hem_details(cli: Cli, requester: Requester) -> None:
    store(cli).close()
    qr, session = hostile_qr(requester, f"\x9b{MARK}", f"{SNEAKY}@x", f"hem{SNEAKY}")
    assert cli("pair", qr, "--yes", "--name", "Office HEM").code == 0
    assert session.poll() == "paired"  # type: ignore[attr-defined]
    listed = show(cli, "hems")
    assert listed.code == 0
    rows = listed.rows
    assert len(rows) == 3  # one HEM: three rows, whatever its hostname and user say
    # Cleaned where it came in, or escaped here: either way one row, nothing raw.
    assert rows[0].startswith("Office HEM  (broker) hem")
    assert "teled" in rows[0]
    assert rows[1].startswith("  user ")
    assert MARK in rows[1]
    assert rows[2].startswith("  paired ")
    assert_no_forged_rows(listed)
    journal = show(cli, "journal")
    entries = cli("journal", "--json").json()[1:]
    assert len([r for r in journal.rows if _DATE.match(r)]) == len(journal.rows) == len(entries)


# ---------------------------------------------------------------------------- token prompt


PARENT = """
import os, subprocess, sys
sys.exit(subprocess.call([sys.executable, "-m", "authenticator", *sys.argv[1:]]))
"""


@pytest.mark.parametrize(
    "name",
    [
        f"backup\x1b]0;{MARK}\x07\x1b[2K\x1b[1A\rDenied by you.py",
        f"tool\x9b2J\u202eyp.{MARK}\u200d.py",
    ],
    ids=["ansi", "c1-bidi"],
)
def test_token_terminal_prompt_with_a_hostile_program(
    cli: Cli, emu: RunningEmulator, tmp_path: Path, name: str
) -> None:
    core = store(cli)
    try:
        hem = core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE).name
    finally:
        core.close()
    script = tmp_path / name
    script.write_text(PARENT)
    argv = [sys.executable, str(script), "token", "--scope", "keymgmt:list", "--reason", MIXED]
    shown = run_in_terminal(
        argv,
        env=terminal_env(cli),
        cwd=str(Path(__file__).resolve().parents[2]),
        answers=(("[y/N]", "n\n"),),
    )
    assert_honest(shown)
    assert shown.code == exitcodes.DENIED
    rows = shown.rows
    assert rows[0] == f"List the keys — a program asks to list the keys on {hem}."
    program = shown.row_starting("  Program — claimed by the program: ")
    assert len(program) == 1
    assert MARK in program[0]  # the name is shown (cleaned where it came in, or escaped here)
    assert len(shown.row_starting("  Reason — claimed by the program: ")) == 1
    question = f"Allow for 15 min: list the keys on {hem}? [y/N]"
    assert [r for r in rows if "[y/N]" in r] in ([question], [f"{question} n"])
    assert rows[-1] == "Denied."
    assert_no_forged_rows(shown)


# ---------------------------------------------------------------------------- errors


def test_an_error_naming_outside_text_is_one_escaped_line(cli: Cli, emu: RunningEmulator) -> None:
    store(cli).close()
    picture = f"/nonexistent/qr\x1b]0;{MARK}\x07\x1b[2K\r\x1b[1APaired with my-hem\u202egnp.png"
    shown = show(cli, "pair", "--image", picture)
    assert shown.code != 0
    (row,) = shown.rows
    assert row.startswith("authenticator: There is no file /nonexistent/qr\\x1b]0;")
    assert "\\u202e" in row

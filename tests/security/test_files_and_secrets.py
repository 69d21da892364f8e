"""After a full flow (pair by QR and directly, approve through the broker and directly, a token
for a program through the agent, a settings change, unpair, all logged at DEBUG):

* every file the app wrote is 0600 and every folder 0700; the agent socket is 0600 in a 0700
  folder;
* no file but the vault — the log file included — holds a passphrase, a private key, the journal
  key or a token, in any encoding; nor do error messages and reprs;
* the same for the command line: what it prints (at -vv) and what it writes.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from authenticator.core.app import Core
from authenticator.emulator.server import RunningEmulator, serve_in_thread
from authenticator.store.paths import AppPaths
from authenticator.store.vault import Vault
from tests.cli.conftest import PASSPHRASE as CLI_PASSPHRASE
from tests.cli.conftest import Cli
from tests.security.flow import FlowResult, forms, full_flow
from tests.support_emulator import PASSPHRASE, finished

HEM_SECRET = "zq-hem-passphrase-5519"  # distinctive: any leak is found by a plain search


@pytest.fixture
def private_emu() -> Iterator[RunningEmulator]:
    with serve_in_thread(hem_count=2, passphrase=HEM_SECRET) as running:
        for hem in running.emulator.hems:
            hem.set_pacing(0, 0)
        yield running


@pytest.fixture
def flowed(core: Core, private_emu: RunningEmulator) -> Iterator[tuple[Core, FlowResult]]:
    try:
        yield core, full_flow(core, private_emu, HEM_SECRET)
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):  # setup_logging's file handler: ours to remove
            if getattr(handler, "_authenticator_log_handler", False):
                root.removeHandler(handler)
                handler.close()


def written_files(paths: AppPaths) -> list[Path]:
    """Everything under the home's folders (the runtime folder too when it is in the home: a
    long home path puts the socket in a shared private folder under /tmp instead)."""
    roots = {paths.data_dir, paths.config_dir, paths.log_dir}
    if paths.runtime_dir.is_relative_to(paths.data_dir):
        roots.add(paths.runtime_dir)
    found = {p for root in roots if root.exists() for p in root.rglob("*")}
    return sorted(found)


def secrets_of(core: Core, result: FlowResult, extra: list[str]) -> list[str]:
    secrets = [*extra]
    vault = core.vault
    for rec in vault.pairings:
        secrets += forms(rec.aid_prv)
    secrets += forms(vault.journal_key)
    for token in result.tokens:
        secrets += [token, token.split(".")[2]]
    return [s for s in secrets if s]


def test_file_and_folder_modes_after_a_full_flow(flowed: tuple[Core, FlowResult]) -> None:
    core, result = flowed
    paths = core.paths
    files = written_files(paths)
    names = {p.name for p in files}
    assert {
        "vault.bin",
        "journal.jsonl",
        "journal.head",
        "handled.json",
        "settings.json",
        ".lock",
        "authenticator.log",
    } <= names
    wrong = []
    for path in files:
        mode = stat.S_IMODE(path.lstat().st_mode)
        kind = stat.S_IFMT(path.lstat().st_mode)
        expected = 0o700 if kind == stat.S_IFDIR else 0o600
        if mode != expected:
            wrong.append(f"{path} {oct(mode)}")
    for folder in {paths.data_dir, paths.config_dir, paths.log_dir}:
        if stat.S_IMODE(folder.stat().st_mode) != 0o700:
            wrong.append(f"{folder} {oct(stat.S_IMODE(folder.stat().st_mode))}")
    assert wrong == []
    assert result.socket_mode == 0o600
    assert result.socket_dir_mode == 0o700
    assert result.log_file.stat().st_size > 0


def test_no_secret_in_any_file_but_the_vault_nor_in_logs_messages_reprs(
    flowed: tuple[Core, FlowResult],
) -> None:
    core, result = flowed
    secrets = secrets_of(core, result, [PASSPHRASE, HEM_SECRET, "not the passphrase"])
    texts: dict[str, str] = {}
    for path in written_files(core.paths):
        if path.is_file() and path.name != "vault.bin":
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert str(result.log_file) in texts
    assert "security flow ends" in texts[str(result.log_file)]  # the log did capture the flow
    for i, text in enumerate(result.messages + result.reprs):
        texts[f"message/repr {i}"] = text
    leaks = [f"{where}: {s[:10]}…" for s in secrets for where, text in texts.items() if s in text]
    assert leaks == []
    vault_bytes = core.paths.vault.read_bytes()
    for s in [PASSPHRASE, HEM_SECRET, *result.tokens]:
        assert s.encode() not in vault_bytes


def test_the_command_line_prints_and_writes_no_secret(
    tmp_path: Path, private_emu: RunningEmulator
) -> None:
    from authenticator.emulator.requester import Requester

    cli = Cli(tmp_path / "home")
    outputs: list[str] = []

    def run(*args: str, stdin: str | None = None) -> str:
        result = cli("-vv", *args, stdin=stdin)
        outputs.extend([result.out, result.err])
        assert result.code == 0, result.err
        return result.out

    with Requester(
        private_emu.urls.hems[0], private_emu.urls.broker, passphrase=HEM_SECRET
    ) as manager:
        pairing = manager.start_pairing()
        run("pair", pairing.qr_text, "--yes", "--json", "--name", "office")
        assert pairing.poll() == "paired"
        session = manager.request_access("keymgmt:list")
        run("requests", "--json")
        run("approve", session.event_id, "--for", "1h")
        token = finished(session).token
        assert token
        paths = AppPaths.for_home(tmp_path / "home", {**os.environ, **cli.env})
        vault = Vault.open(paths, passphrase=CLI_PASSPHRASE)
        keys = [form for rec in vault.pairings for form in forms(rec.aid_prv)]
        assert keys
        run("hems", "--json")
        run("journal", "--verify")
        run("journal")
        run("unpair", "office", "--hem-passphrase-stdin", stdin=HEM_SECRET + "\n")
    secrets = [
        CLI_PASSPHRASE,
        HEM_SECRET,
        token,
        token.split(".")[2],
        *keys,
        *forms(vault.journal_key),
    ]
    texts = list(outputs)
    texts += [
        p.read_bytes().decode("utf-8", "replace")
        for p in written_files(paths)
        if p.is_file() and p.name != "vault.bin"
    ]
    assert any("DEBUG" in t for t in outputs)  # -vv did log
    leaks = [s[:10] + "…" for s in secrets for t in texts if s in t]
    assert leaks == []

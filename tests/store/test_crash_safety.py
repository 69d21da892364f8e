"""A writer killed with SIGKILL at a random moment never leaves a store file unusable.

Each run forks a child that keeps rewriting the vault (or appending to the journal) and reports
every completed write on a pipe; after its first report a timer kills it after a random delay. The parent then checks
that the file opens and holds either the last reported state or the one right after it (the
child can die after the write but before reporting it), and that the journal verifies.
"""

from __future__ import annotations

import errno
import functools
import multiprocessing
import os
import random
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from authenticator.errors import CorruptStoreError, StoreError
from authenticator.store.handled import HandledRequests
from authenticator.store.journal import Journal
from authenticator.store.paths import AppPaths
from authenticator.store.settings import Settings, SettingsStore
from authenticator.store.vault import KdfParams, Vault
from tests.store.factories import make_record

RUNS = 200
MAX_DELAY_S = 0.008
PASSPHRASE = "crash test"
_FORK = multiprocessing.get_context("fork")


def _vault_writer(home: str, report_fd: int) -> None:
    vault = Vault.open(AppPaths.for_home(Path(home), {}), passphrase=PASSPHRASE)
    counter = vault.pairing("hem").last_used or 0
    while True:
        counter += 1
        vault.update_pairing("hem", last_used=counter)
        os.write(report_fd, counter.to_bytes(8, "big"))


def _journal_writer(home: str, report_fd: int) -> None:
    paths = AppPaths.for_home(Path(home), {})
    journal = Journal(paths, bytes(32))
    while True:
        entry = journal.append("crash.test", ts=1, text="x" * 200, fields={"pid": os.getpid()})
        os.write(report_fd, entry.seq.to_bytes(8, "big"))


def _kill_randomly(writer: Callable[[str, int], None], home: Path, rng: random.Random) -> int:
    """Run ``writer`` in a child until a random SIGKILL; return the last value it reported.

    The kill timer is armed once the child has reported its first write, so every run kills a
    writer that is busy in its loop, however slow the machine.
    """
    read_fd, write_fd = os.pipe()
    child = _FORK.Process(target=writer, args=(str(home), write_fd), daemon=True)
    child.start()
    os.close(write_fd)
    assert child.pid is not None
    timer = threading.Timer(rng.uniform(0, MAX_DELAY_S), os.kill, (child.pid, signal.SIGKILL))
    try:
        reports = b""
        while chunk := os.read(read_fd, 65536):  # EOF once the child is gone
            if not reports:
                timer.start()
            reports += chunk
    finally:
        if timer.is_alive():
            timer.join()
        child.join(10)
        os.close(read_fd)
    assert child.exitcode == -signal.SIGKILL, f"the writer stopped by itself ({child.exitcode})"
    whole = len(reports) // 8 * 8
    return int.from_bytes(reports[whole - 8 : whole], "big")


def test_vault_survives_sigkill_at_any_moment(paths: AppPaths) -> None:
    vault = Vault.create(paths, passphrase=PASSPHRASE, kdf=KdfParams.minimum())
    vault.put_pairing(make_record("hem", last_used=0))
    vault.put_pairing(make_record("other"))
    rng = random.Random(os.urandom(8))
    stored = 0
    for run in range(RUNS):
        reported = _kill_randomly(_vault_writer, paths.data_dir, rng)
        reopened = Vault.open(paths, passphrase=PASSPHRASE)
        now = reopened.pairing("hem").last_used or 0
        acceptable = {stored, max(stored, reported), max(stored, reported) + 1}
        assert now in acceptable, f"run {run}: stored {now}, expected one of {acceptable}"
        assert reopened.pairing("other") == make_record("other")
        stored = now
    vault.put_pairing(make_record("final"))  # a completed write clears what the kills left
    assert not list(paths.data_dir.glob(".vault.bin.*.tmp"))


def test_journal_survives_sigkill_at_any_moment(paths: AppPaths) -> None:
    journal = Journal(paths, bytes(32))
    rng = random.Random(os.urandom(8))
    last = 0
    for run in range(RUNS):
        reported = _kill_randomly(_journal_writer, paths.data_dir, rng)
        report = journal.verify()
        assert report.ok, f"run {run}: {report}"
        entries = journal.entries()
        seq = entries[-1].seq
        acceptable = {last, max(last, reported), max(last, reported) + 1}
        assert seq in acceptable, f"run {run}: last seq {seq}, expected one of {acceptable}"
        assert [e.seq for e in entries] == list(range(entries[0].seq, seq + 1))
        last = seq
        journal.prune(keep_last=10)  # pruning between crashes; also keeps each verify cheap
    assert journal.verify().pruned == last - 10


# ---------------------------------------------------------------------------- handled, settings, prune


def _handled_writer(start: int, home: str, report_fd: int) -> None:
    handled = HandledRequests(AppPaths.for_home(Path(home), {}), capacity=50)
    counter = start
    while True:
        counter += 1
        handled.add(f"k{counter}", counter)
        os.write(report_fd, counter.to_bytes(8, "big"))


def _settings_writer(home: str, report_fd: int) -> None:
    store = SettingsStore(AppPaths.for_home(Path(home), {}))
    counter = store.load().idle_lock_min
    while True:
        counter += 1
        store.save(Settings(idle_lock_min=counter % 1441, mute_minutes_after_report=counter % 7))
        os.write(report_fd, counter.to_bytes(8, "big"))


def _prune_writer(home: str, report_fd: int) -> None:
    journal = Journal(AppPaths.for_home(Path(home), {}), bytes(32))
    while True:
        entry = journal.append("crash.test", ts=1, text="y" * 100)
        journal.prune(keep_last=2)
        os.write(report_fd, entry.seq.to_bytes(8, "big"))


def test_handled_requests_survive_sigkill_at_any_moment(paths: AppPaths) -> None:
    rng = random.Random(os.urandom(8))
    start = 0
    for run in range(RUNS):
        reported = _kill_randomly(functools.partial(_handled_writer, start), paths.data_dir, rng)
        handled = HandledRequests(paths, capacity=50)  # a damaged file would raise here
        assert f"k{reported}" in handled, f"run {run}: a completed write was lost"
        assert f"k{reported + 2}" not in handled
        assert len(handled) <= 50
        start = reported + 1
    HandledRequests(paths).add("final", 1)  # a completed write clears what the kills left
    assert not list(paths.data_dir.glob(".handled.json.*.tmp"))


def test_settings_survive_sigkill_at_any_moment(paths: AppPaths) -> None:
    rng = random.Random(os.urandom(8))
    for run in range(RUNS):
        reported = _kill_randomly(_settings_writer, paths.data_dir, rng)
        store = SettingsStore(paths)
        settings = store.load()  # a damaged file would raise here
        assert store.load_report() == (), f"run {run}: {store.load_report()}"
        assert settings.idle_lock_min in {reported % 1441, (reported + 1) % 1441}, f"run {run}"
        assert settings.mute_minutes_after_report == settings.idle_lock_min % 7
    SettingsStore(paths).save(Settings())
    assert not list(paths.config_dir.glob(".settings.json.*.tmp"))


def test_journal_prune_survives_sigkill_at_any_moment(paths: AppPaths) -> None:
    journal = Journal(paths, bytes(32))
    rng = random.Random(os.urandom(8))
    last = 0
    for run in range(RUNS):
        reported = _kill_randomly(_prune_writer, paths.data_dir, rng)
        report = journal.verify()
        assert report.ok, f"run {run}: {report}"
        entries = journal.entries()
        seq = entries[-1].seq
        acceptable = {last, max(last, reported), max(last, reported) + 1}
        assert seq in acceptable, f"run {run}: last seq {seq}, expected one of {acceptable}"
        regular = [e for e in entries if not e.is_marker]
        assert len(regular) <= 3, f"run {run}: {len(regular)} entries left after pruning to 2"
        assert report.pruned + report.entries == seq  # every entry is kept or counted as pruned
        last = seq


# ---------------------------------------------------------------------------- disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[AppPaths]:
    """A home on a 64 KiB tmpfs of its own (mounting needs root: skipped otherwise)."""
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        home = AppPaths.for_home(mountpoint / "home", {})
        home.ensure()
        yield home
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def _fill(directory: Path) -> Path:
    """Fill the file system holding ``directory`` to the last byte; return the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 64, 8, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and p.name != "filler"
    }


BIG = "z" * 4000  # an entry larger than the slack of a tmpfs page, so it needs new space


def test_disk_full_during_each_kind_of_write(small_disk: AppPaths) -> None:
    paths = small_disk
    vault = Vault.create(paths, passphrase=PASSPHRASE, kdf=KdfParams.minimum())
    vault.put_pairing(make_record("hem"))
    journal = Journal(paths, vault.journal_key)
    for n in range(5):
        journal.append("crash.test", ts=n, text=f"entry {n}")
    handled = HandledRequests(paths)
    handled.add("done|a", 1)
    store = SettingsStore(paths)
    store.save(Settings(idle_lock_min=7))
    before = _snapshot(paths.data_dir)
    entries_before = journal.entries()
    filler = _fill(paths.data_dir)

    writes: dict[str, Callable[[], object]] = {
        "vault": lambda: vault.put_pairing(make_record("another")),
        "journal append": lambda: journal.append("crash.test", ts=9, text=BIG, fields={"pad": BIG}),
        "journal prune": lambda: journal.prune(keep_last=1),
        "handled": lambda: handled.add("done|b" + BIG[:400], 2),
        "settings": lambda: store.save(Settings(idle_lock_min=8, theme="dark", log_level="DEBUG")),
    }
    for name, write in writes.items():
        with pytest.raises(StoreError, match="disk is full") as info:
            write()
        assert "nothing was changed" in str(info.value), name
        assert not [p for p in paths.data_dir.iterdir() if p.name.endswith(".tmp")], name
    # old content intact: byte for byte, except a torn journal fragment that is not an entry
    after = _snapshot(paths.data_dir)
    for name, data in before.items():
        if name == "journal.jsonl":
            assert after[name].startswith(data)
            assert b"\n" not in after[name][len(data) :]
        else:
            assert after[name] == data, name
    assert Vault.open(paths, passphrase=PASSPHRASE).pairings == vault.pairings
    assert journal.verify().ok
    assert journal.entries() == entries_before
    assert "done|a" in HandledRequests(paths)
    assert SettingsStore(paths).load().idle_lock_min == 7
    # and once there is room again, every write works and the fragment is gone
    filler.unlink()
    vault.put_pairing(make_record("another"))
    journal.append("crash.test", ts=10, text="after")
    assert journal.verify().ok
    assert [e.ts for e in journal.entries()][-1] == 10
    handled.add("done|b", 2)
    store.save(Settings(idle_lock_min=8))


# ---------------------------------------------------------------------------- damaged files


def test_a_damaged_store_file_names_itself_and_the_way_out(paths: AppPaths) -> None:
    vault = Vault.create(paths, passphrase=PASSPHRASE, kdf=KdfParams.minimum())
    journal = Journal(paths, vault.journal_key)
    for n in range(3):
        journal.append("crash.test", ts=n, text=f"entry {n}")
    HandledRequests(paths).add("done|a", 1)
    SettingsStore(paths).save(Settings())
    data = paths.vault.read_bytes()
    for damaged in (data[:-1], data[:40], b"EDAV\x09" + data[5:], data[:-5] + bytes(5)):
        paths.vault.write_bytes(damaged)
        with pytest.raises(CorruptStoreError) as info:
            Vault.open(paths, passphrase=PASSPHRASE)
        message = str(info.value)
        assert str(paths.vault) in message
        assert "keep a copy" in message or "update the app" in message
        assert paths.vault.read_bytes() == damaged  # never reset
    lines = paths.journal.read_bytes().splitlines(keepends=True)
    paths.journal.write_bytes(lines[0] + lines[1].replace(b"entry 1", b"entry X") + lines[2])
    report = journal.verify()
    assert not report.ok
    assert report.first_broken == 2
    with pytest.raises(CorruptStoreError) as info:
        journal.prune(keep_last=1)
    assert str(paths.journal) in str(info.value)
    assert "move it and journal.head away" in str(info.value)
    paths.handled.write_bytes(b'{"format": 1, "handled": [["x"]]}')
    with pytest.raises(CorruptStoreError, match="Move it away") as info:
        _ = "x" in HandledRequests(paths)
    assert str(paths.handled) in str(info.value)
    paths.settings.write_bytes(b"[1, 2]")
    with pytest.raises(CorruptStoreError, match="move it away") as info:
        SettingsStore(paths).load()
    assert str(paths.settings) in str(info.value)


@pytest.mark.parametrize("where", ["header", "payload"])
def test_the_cli_on_a_damaged_vault_says_so_and_leaves_it(tmp_path: Path, where: str) -> None:
    from tests.cli.conftest import Cli

    cli = Cli(tmp_path / "home")
    assert cli("hems").code == 0  # creates the store
    vault_file = tmp_path / "home" / "vault.bin"
    data = bytearray(vault_file.read_bytes())
    data[20 if where == "header" else len(data) - 3] ^= 0x01
    vault_file.write_bytes(bytes(data))
    result = cli("hems")
    assert result.code != 0
    assert str(vault_file) in result.err
    assert "keep a copy" in result.err
    assert "moving it away" in result.err
    assert "Traceback" not in result.err
    assert vault_file.read_bytes() == bytes(data)  # not overwritten, not reset
    assert not (tmp_path / "home" / "vault.bin.bak").exists()

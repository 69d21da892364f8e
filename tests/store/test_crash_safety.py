"""A writer killed with SIGKILL at a random moment never leaves a store file unusable.

Each run forks a child that keeps rewriting the vault (or appending to the journal) and reports
every completed write on a pipe; after its first report a timer kills it after a random delay. The parent then checks
that the file opens and holds either the last reported state or the one right after it (the
child can die after the write but before reporting it), and that the journal verifies.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from authenticator.store.journal import Journal
from authenticator.store.paths import AppPaths
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

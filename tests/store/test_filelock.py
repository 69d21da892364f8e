from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import threading
from pathlib import Path

import pytest

from authenticator.errors import StoreBusyError, StoreError
from authenticator.store.filelock import store_lock

_FORK = multiprocessing.get_context("fork")


def test_creates_a_private_lockfile(tmp_path: Path) -> None:
    lockfile = tmp_path / ".lock"
    with store_lock(lockfile):
        assert stat.S_IMODE(os.stat(lockfile).st_mode) == 0o600


def test_is_reentrant_in_one_thread(tmp_path: Path) -> None:
    lockfile = tmp_path / ".lock"
    with store_lock(lockfile, timeout=0.2), store_lock(lockfile, timeout=0.2):
        with store_lock(lockfile, timeout=0.2):
            pass
        # still held after the inner blocks: another thread cannot take it
        assert not _other_thread_gets(lockfile, timeout=0.1)
    assert _other_thread_gets(lockfile, timeout=1.0)


def test_another_thread_waits_then_gets_it(tmp_path: Path) -> None:
    lockfile = tmp_path / ".lock"
    acquired = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with store_lock(lockfile):
            acquired.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert acquired.wait(5)
        with pytest.raises(StoreBusyError), store_lock(lockfile, timeout=0.1):
            pass
        got = threading.Event()

        def waiter() -> None:
            with store_lock(lockfile, timeout=5):
                got.set()

        second = threading.Thread(target=waiter)
        second.start()
        assert not got.wait(0.1)
        release.set()
        assert got.wait(5)
        second.join(5)
    finally:
        release.set()
        thread.join(5)


def _hold_forever(lockfile: str, ready: multiprocessing.synchronize.Event) -> None:
    with store_lock(Path(lockfile)):
        ready.set()
        threading.Event().wait()  # until killed


def test_another_process_makes_us_busy_and_its_death_frees_the_lock(tmp_path: Path) -> None:
    lockfile = tmp_path / ".lock"
    ready = _FORK.Event()
    child = _FORK.Process(target=_hold_forever, args=(str(lockfile), ready))
    child.start()
    try:
        assert ready.wait(5)
        with (
            pytest.raises(StoreBusyError, match="Another authenticator process"),
            store_lock(lockfile, timeout=0.1),
        ):
            pass
    finally:
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(5)
    with store_lock(lockfile, timeout=5):
        pass


def test_unopenable_lockfile_is_a_store_error(tmp_path: Path) -> None:
    with (
        pytest.raises(StoreError, match="store lock"),
        store_lock(tmp_path / "missing-dir" / ".lock"),
    ):
        pass


def test_lock_is_released_after_an_exception(tmp_path: Path) -> None:
    lockfile = tmp_path / ".lock"
    with pytest.raises(RuntimeError), store_lock(lockfile):
        raise RuntimeError("boom")
    assert _other_thread_gets(lockfile, timeout=1.0)


def _other_thread_gets(lockfile: Path, timeout: float) -> bool:
    result: list[bool] = []

    def attempt() -> None:
        try:
            with store_lock(lockfile, timeout=timeout):
                result.append(True)
        except StoreBusyError:
            result.append(False)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(timeout + 5)
    return result == [True]

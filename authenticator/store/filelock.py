"""The store lock: one writer at a time across processes sharing a home.

The tray app and CLI commands may run at once on the same home, so every read-modify-write of a
store file happens while holding an exclusive lock on ``<data_dir>/.lock``. The lock is
``fcntl.flock`` (released by the kernel when a process dies, so a crash never leaves it held) and
is taken by polling until a deadline, so a stuck process yields ``StoreBusyError`` instead of a
frozen app. It is re-entrant per thread: a store operation may call another one while holding it.
Threads of one process first queue on an in-process lock (a real wait, woken on release), so only
one of them at a time polls the ``flock`` against other processes: polling threads with back-off
would be served unfairly and slowly when the app is busy.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from authenticator.errors import StoreBusyError, StoreError

__all__ = ["store_lock"]

_POLL_FIRST = 0.002
_POLL_MAX = 0.05


class _Held(threading.local):
    """Per-thread map from lock path to (open descriptor, nesting depth)."""

    def __init__(self) -> None:
        self.locks: dict[str, tuple[int, int]] = {}


_held = _Held()
_queues: dict[str, threading.Lock] = {}
_queues_guard = threading.Lock()


def _queue(key: str) -> threading.Lock:
    with _queues_guard:
        return _queues.setdefault(key, threading.Lock())


def _reset_after_fork() -> None:
    # A child process starts with no store lock held, whatever its parent's threads were doing.
    global _queues_guard  # noqa: PLW0603 - module state rebuilt in the forked child
    _queues.clear()
    _queues_guard = threading.Lock()
    _held.locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


@contextmanager
def store_lock(lockfile: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold the exclusive store lock for the duration of the ``with`` block.

    Raises ``StoreBusyError`` when another holder keeps it longer than ``timeout`` seconds and
    ``StoreError`` when the lock file cannot be opened.
    """
    key = os.path.abspath(lockfile)
    held = _held.locks.get(key)
    if held is not None:
        fd, depth = held
        _held.locks[key] = (fd, depth + 1)
        try:
            yield
        finally:
            _held.locks[key] = (fd, depth)
        return

    deadline = time.monotonic() + timeout
    queue = _queue(key)
    if not queue.acquire(timeout=max(0.0, timeout)):
        raise StoreBusyError()
    try:
        fd = _open_lockfile(lockfile)
        try:
            _acquire(fd, lockfile, deadline - time.monotonic())
        except BaseException:
            os.close(fd)
            raise
        _held.locks[key] = (fd, 1)
        try:
            yield
        finally:
            del _held.locks[key]
            os.close(fd)  # closing the last descriptor releases the lock
    finally:
        queue.release()


def _open_lockfile(lockfile: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(lockfile, flags, 0o600)
    except OSError as exc:
        raise StoreError(f"Could not open the store lock {lockfile} ({exc.strerror}).") from exc


def _acquire(fd: int, lockfile: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pause = _POLL_FIRST
    while not _try_lock(fd, lockfile):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StoreBusyError()
        time.sleep(min(pause, remaining))  # polling: flock has no timed wait
        pause = min(pause * 2, _POLL_MAX)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int, lockfile: Path) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # released when the descriptor is closed
        except PermissionError:
            return False
        except OSError as exc:
            raise StoreError(f"Could not lock {lockfile} ({exc.strerror}).") from exc
        return True

else:
    import fcntl

    def _try_lock(fd: int, lockfile: Path) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:
            raise StoreError(f"Could not lock {lockfile} ({exc.strerror}).") from exc
        return True

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import threading
from pathlib import Path

import pytest

from authenticator.errors import CorruptStoreError, DecodeError
from authenticator.store.handled import HandledRequests
from authenticator.store.paths import AppPaths

_FORK = multiprocessing.get_context("fork")


def test_add_contains_and_survives_a_restart(paths: AppPaths) -> None:
    handled = HandledRequests(paths)
    assert "r1" not in handled
    handled.add("r1", 100)
    assert "r1" in handled
    assert 42 not in handled
    assert stat.S_IMODE(os.stat(paths.handled).st_mode) == 0o600
    assert "r1" in HandledRequests(paths)


def test_oldest_are_dropped_past_capacity(paths: AppPaths) -> None:
    handled = HandledRequests(paths, capacity=3)
    for n in range(5):
        handled.add(f"r{n}", 100 + n)
    assert len(handled) == 3
    assert "r0" not in handled
    assert "r1" not in handled
    assert all(f"r{n}" in handled for n in (2, 3, 4))
    handled.add("r2", 200)  # handled again later: now the newest
    handled.add("r5", 150)
    assert "r2" in handled
    assert "r3" not in handled


def test_prune_older_than(paths: AppPaths) -> None:
    handled = HandledRequests(paths)
    for n in range(5):
        handled.add(f"r{n}", n)
    assert handled.prune_older_than(3) == 3
    assert len(handled) == 2
    assert "r3" in HandledRequests(paths)
    assert handled.prune_older_than(0) == 0


def test_another_instance_sees_additions(paths: AppPaths) -> None:
    tray, cli = HandledRequests(paths), HandledRequests(paths)
    assert "x" not in tray  # read (nothing) before the other writes
    cli.add("x", 1)
    assert "x" in tray


def test_two_writers_never_lose_each_others_keys(paths: AppPaths) -> None:
    one, two = HandledRequests(paths), HandledRequests(paths)
    one.add("a", 1)
    two.add("b", 2)  # two never read "a" before: it must merge, not overwrite
    one.add("c", 3)
    assert all(key in HandledRequests(paths) for key in "abc")


def _add_keys(home: str, prefix: str) -> None:
    handled = HandledRequests(AppPaths.for_home(Path(home), {}))
    for n in range(25):
        handled.add(f"{prefix}{n}", n)


def test_concurrent_processes_and_threads_keep_every_key(paths: AppPaths) -> None:
    home = str(paths.data_dir)
    workers: list[multiprocessing.process.BaseProcess | threading.Thread] = [
        _FORK.Process(target=_add_keys, args=(home, f"p{n}-")) for n in range(2)
    ]
    workers += [threading.Thread(target=_add_keys, args=(home, f"t{n}-")) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert len(HandledRequests(paths)) == 100


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"format": 2, "handled": []}', b'{"format": 1, "handled": [["a"]]}'],
)
def test_a_damaged_file_is_reported_and_kept(paths: AppPaths, content: bytes) -> None:
    paths.handled.write_bytes(content)
    handled = HandledRequests(paths)
    with pytest.raises(CorruptStoreError, match="Move it away"):
        _ = "a" in handled
    with pytest.raises(CorruptStoreError):
        handled.add("a", 1)
    assert paths.handled.read_bytes() == content


def test_invalid_keys_and_times(paths: AppPaths) -> None:
    handled = HandledRequests(paths)
    for key, ts in (("", 1), ("x" * 513, 1), ("ok", -1), ("ok", True)):
        with pytest.raises(DecodeError):
            handled.add(key, ts)  # type: ignore[arg-type]
    with pytest.raises(DecodeError):
        HandledRequests(paths, capacity=0)


def test_file_format(paths: AppPaths) -> None:
    handled = HandledRequests(paths)
    handled.add("b", 2)
    handled.add("a", 1)
    assert json.loads(paths.handled.read_bytes()) == {"format": 1, "handled": [["a", 1], ["b", 2]]}
    assert "capacity=2000" in repr(handled)

from __future__ import annotations

import errno
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from authenticator.errors import CorruptStoreError, StoreError
from authenticator.store import atomic
from authenticator.store.atomic import ensure_private_dir, read_private, write_private_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_write_creates_a_0600_file_and_read_returns_it(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    write_private_atomic(target, b"hello")
    assert read_private(target) == b"hello"
    assert _mode(target) == 0o600
    assert _leftovers(tmp_path) == []


def test_write_replaces_and_tightens_a_loose_file(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_private_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o600


def test_mode_is_exact_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o077)
    try:
        write_private_atomic(tmp_path / "a", b"x", mode=0o640)
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "a") == 0o640


def test_permissions_are_set_before_any_data_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_write = os.write

    def spying_write(fd: int, data: bytes | memoryview) -> int:
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(atomic.os, "write", spying_write)
    write_private_atomic(tmp_path / "f", b"secret")
    assert seen
    assert set(seen) == {0o600}


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_a_failed_write_keeps_the_old_content_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "f.bin"
    write_private_atomic(target, b"old content")

    def broken(*args: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic.os, failing, broken)
    with pytest.raises(StoreError, match="nothing was changed"):
        write_private_atomic(target, b"new content")
    monkeypatch.undo()
    assert target.read_bytes() == b"old content"
    assert _leftovers(tmp_path) == []


def test_leftovers_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    (tmp_path / ".f.bin.0123456789ab.tmp").write_bytes(b"half written")
    (tmp_path / ".other.bin.0123456789ab.tmp").write_bytes(b"not ours")
    write_private_atomic(target, b"data")
    assert _leftovers(tmp_path) == [".other.bin.0123456789ab.tmp"]


def test_enospc_is_reported_as_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.bin"
    write_private_atomic(target, b"old")

    def full(*args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", full)
    with pytest.raises(StoreError, match="The disk is full; nothing was changed"):
        write_private_atomic(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"


def test_an_interrupt_also_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_private_atomic(tmp_path / "f", b"data")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_refused_folder_is_reported_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic.os, "open", refused)
    with pytest.raises(StoreError, match=rf"Cannot write in {tmp_path} .*nothing was changed"):
        write_private_atomic(tmp_path / "f", b"x")


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, to fill the disk for real."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode(errors='replace')}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_real_full_disk_leaves_the_old_file_intact(tiny_disk: Path) -> None:
    target = tiny_disk / "vault.bin"
    write_private_atomic(target, b"A" * 20_000)
    with pytest.raises(StoreError, match="The disk is full; nothing was changed"):
        write_private_atomic(target, b"B" * 60_000)
    assert target.read_bytes() == b"A" * 20_000
    assert _leftovers(tiny_disk) == []
    write_private_atomic(target, b"C" * 20_000)  # still usable once it fits
    assert target.read_bytes() == b"C" * 20_000


def test_read_missing_file_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist") as caught:
        read_private(tmp_path / "nope")
    assert not isinstance(caught.value, CorruptStoreError)


def test_read_refuses_a_folder_and_an_oversized_file(tmp_path: Path) -> None:
    with pytest.raises(CorruptStoreError, match="folder"):
        read_private(tmp_path)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(CorruptStoreError, match=str(big)):
        read_private(big, max_size=100)
    assert read_private(big, max_size=101) == b"x" * 101


def test_read_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # keeps open() from blocking
    try:
        with pytest.raises(CorruptStoreError, match="regular file"):
            read_private(fifo)
    finally:
        os.close(writer)


def test_ensure_private_dir_creates_parents_and_is_idempotent(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    ensure_private_dir(target)
    ensure_private_dir(target)
    assert _mode(target) == 0o700


def test_ensure_private_dir_tightens_an_existing_dir(tmp_path: Path) -> None:
    target = tmp_path / "loose"
    target.mkdir()
    target.chmod(0o777)
    ensure_private_dir(target)
    assert _mode(target) == 0o700

"""Private directories and atomic private files.

Every store file holds something worth protecting (keys, the journal, the ids of answered
requests), so each one is written the same way: a temporary file created in the target's own
directory with its final permissions *before* any data goes in, the data written and fsynced, then
``os.replace`` over the target and an fsync of the directory. A reader therefore sees either the
whole old file or the whole new one, never a mix, even across a crash or a power cut; if anything
fails the temporary file is removed and the old file is untouched.

A writer killed between creating and renaming its temporary file leaves it behind. The next
successful write of the same file removes such leftovers; that is safe because writers of one
store file are serialised by the store lock (``filelock``), so no other temporary file of that
name can be in use at that moment.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import secrets
import stat
from pathlib import Path

from authenticator.errors import CorruptStoreError, StoreError

__all__ = [
    "ensure_private_dir",
    "fsync_dir",
    "read_private",
    "write_error",
    "write_private_atomic",
]

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
DEFAULT_MAX_READ = 16 * 1024 * 1024

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) and make it 0700, also when it already exists.

    A directory owned by another user is refused: we could not keep it private.
    """
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        info = path.stat()
    except FileExistsError:
        raise StoreError(f"{path} exists but is not a directory; move it away.") from None
    except OSError as exc:
        raise StoreError(f"Could not create the folder {path} ({exc.strerror}).") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{path} exists but is not a directory; move it away.")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise StoreError(f"The folder {path} belongs to another user; choose another location.")
    if stat.S_IMODE(info.st_mode) != PRIVATE_DIR_MODE:
        try:
            path.chmod(PRIVATE_DIR_MODE)
        except OSError as exc:
            raise StoreError(f"Could not make the folder {path} private ({exc.strerror}).") from exc


def write_private_atomic(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace ``path`` by ``data`` atomically; the file gets ``mode`` before any byte is written.

    Raises ``StoreError`` (the old content is then intact) when the disk is full, the folder is
    not writable, or any other I/O error happens before the rename. Callers hold the store lock.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    created = False
    try:
        fd = os.open(tmp, flags, mode)
        created = True
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # the umask must neither loosen nor tighten what was asked
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        if created:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(exc, OSError):
            raise write_error(path, exc) from exc
        raise
    fsync_dir(path.parent)
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def read_private(path: Path, *, max_size: int = DEFAULT_MAX_READ) -> bytes:
    """Read a whole store file.

    A missing or unreadable file is a ``StoreError``; a file that is not a regular file or is
    larger than ``max_size`` cannot be one of ours and is a ``CorruptStoreError``.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise StoreError(f"{path} does not exist.") from None
    except OSError as exc:
        raise StoreError(f"Could not read {path} ({exc.strerror}).") from exc
    try:
        _check_readable(path, os.fstat(fd), max_size)
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1024 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_size:
                raise CorruptStoreError(f"{path} grew while being read; try again.")
    except OSError as exc:
        raise StoreError(f"Could not read {path} ({exc.strerror}).") from exc
    finally:
        os.close(fd)
    return b"".join(chunks)


def _check_readable(path: Path, info: os.stat_result, max_size: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise CorruptStoreError(f"{path} is a folder, not a file; move it away.")
    if not stat.S_ISREG(info.st_mode):
        raise CorruptStoreError(f"{path} is not a regular file; move it away.")
    if info.st_size > max_size:
        raise CorruptStoreError(
            f"{path} is far larger than this file can be; it is damaged or not ours. "
            "Move it away or restore a backup."
        )


def fsync_dir(directory: Path) -> None:
    """Make a new name in ``directory`` durable (a no-op where directories cannot be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise StoreError(
            f"A file in {directory} was written but the folder could not be flushed "
            f"({exc.strerror})."
        ) from exc
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in {errno.EINVAL, errno.ENOTSUP}:  # file systems without dir fsync
            raise StoreError(
                f"A file in {directory} was written but may not survive a power cut "
                f"({exc.strerror})."
            ) from exc
    finally:
        os.close(fd)


def write_error(path: Path, exc: OSError) -> StoreError:
    """The ``StoreError`` for a failed write of ``path`` that left its old content in place."""
    if exc.errno in _DISK_FULL:
        return StoreError(f"The disk is full; nothing was changed ({path.name} was not written).")
    if exc.errno in _NOT_ALLOWED:
        return StoreError(f"Cannot write in {path.parent} ({exc.strerror}); nothing was changed.")
    return StoreError(f"Could not write {path} ({exc.strerror}); nothing was changed.")

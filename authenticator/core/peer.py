"""Who is on the other end of a local socket: pid, uid, program name and path.

Linux gives the peer's credentials with ``SO_PEERCRED``; the program comes from ``/proc``. Where
the OS gives less (macOS without the pid, Windows), the fields stay empty: the approval then says
so rather than guessing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
from dataclasses import dataclass

__all__ = ["ProcessInfo", "peer_of", "process_info"]


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    pid: int | None
    uid: int | None
    name: str
    path: str | None = None
    user: str | None = None


def _user_name(uid: int | None) -> str | None:
    if uid is None:
        return None
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def process_info(pid: int, uid: int | None = None) -> ProcessInfo:
    """Name and executable of process ``pid`` (what /proc says; the pid if nothing else)."""
    name = f"process {pid}"
    path: str | None = None
    proc = f"/proc/{pid}"
    if sys.platform.startswith("linux") and os.path.isdir(proc):
        with contextlib.suppress(OSError):
            path = os.readlink(f"{proc}/exe")
        with contextlib.suppress(OSError), open(f"{proc}/cmdline", "rb") as fh:
            argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
            # A script run by an interpreter is better named by the script than by "python3".
            if (
                len(argv) > 1
                and path
                and os.path.basename(path).startswith(
                    ("python", "bash", "sh", "node", "perl", "ruby")
                )
            ):
                script = next((a for a in argv[1:] if not a.startswith("-")), None)
                if script:
                    name = os.path.basename(script)
            if name.startswith("process ") and argv:
                name = os.path.basename(argv[0])
        if name.startswith("process "):
            with contextlib.suppress(OSError), open(f"{proc}/comm", encoding="utf-8") as fh:
                name = fh.read().strip() or name
        if uid is None:
            with contextlib.suppress(OSError):
                uid = os.stat(proc).st_uid
    return ProcessInfo(pid=pid, uid=uid, name=name[:80], path=path, user=_user_name(uid))


def peer_of(sock: socket.socket) -> ProcessInfo | None:
    """The process on the other end of a connected Unix socket, where the OS tells."""
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is not None:
        raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", raw)
        return process_info(pid, uid) if pid > 0 else ProcessInfo(None, uid, "unknown program")
    getpeereid = getattr(socket.socket, "getpeereid", None)  # not in CPython; kept for ports
    if getpeereid is not None:  # pragma: no cover - other platforms
        uid, _gid = getpeereid(sock)
        return ProcessInfo(None, uid, "unknown program", user=_user_name(uid))
    return None

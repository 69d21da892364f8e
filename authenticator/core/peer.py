"""Who is on the other end of the agent's socket, honestly.

At accept, :func:`capture` takes what the kernel says about the peer — pid, uid and gid
(``SO_PEERCRED``) and a pidfd (``SO_PEERPIDFD``, else ``os.pidfd_open``), kept open for the
connection's lifetime so the pid cannot be recycled unnoticed — and what ``/proc`` says about that
process: the executable (its path and the inode it runs), its start time (field 22 of
``/proc/pid/stat``), the stack and argument addresses (new on every ``exec`` under ASLR), the
command line and working directory, the parent chain, and whether it runs from an SSH session.

:meth:`PeerIdentity.check` reads them again and raises :class:`ProgramChangedError` ("the program
changed after it connected") when the process exec'd another program, exited (handing its
connection to a child, say) or its pid now belongs to another process. The agent calls it when
the request line has arrived, while the prompt is shown and right before it hands out a token;
the core calls it (through ``Program.check_unchanged``) when the person approves.

A script run by a known interpreter (python, sh, bash, node, perl, ruby, php, …, judged by the
executable, not by ``argv[0]``) is identified as interpreter + script path, the script resolved
against the process's working directory; an interpreter running code from its command line
(``python3 -c``) or from stdin has no script and is marked so (it is never remembered).

Facts and claims: the pid, uid, gid, start time, pidfd and the executable's inode are the
kernel's facts. Every *string* — the executable's path, the script path, the command line, the
names in the chain, the environment — was chosen by the program (or by whoever named its files):
kept raw here (:data:`CLAIMED` lists them; keys use the raw values), and cleaned with
:func:`authenticator.protocol.outside.clean` (origin "claimed by the program") when
``core.agent.identity.program_of`` turns the identity into the ``Program`` the approval and the
journal show.

Out of reach (documented in docs/agent.md): a process of the same user can ptrace, share its
socket with a child that stays alive, or make itself undumpable (its executable is then unknown).
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import struct
import sys
import threading
from dataclasses import dataclass

from authenticator.errors import ProgramChangedError
from authenticator.protocol.outside import LIMITS, Origin, clean

__all__ = [
    "CHAIN_DEPTH",
    "CLAIMED",
    "PeerIdentity",
    "ProcessInfo",
    "Snapshot",
    "capture",
    "identify_pid",
    "peer_of",
    "process_info",
    "shown",
    "snapshot",
    "user_name",
]

CHAIN_DEPTH = 4
"""Names in a parent chain at most, the program itself included (``backup.sh ← bash ← sshd``)."""
CLAIMED = frozenset({"exe", "script", "inline", "argv", "cwd", "comm", "name", "chain"})
"""The identity's fields that the program chose (raw outside text); the others are facts."""

_MAX_HOPS = 64  # ancestors looked at for an SSH server (a loop guard: /proc can change under us)
_MAX_ENVIRON = 256 * 1024
_SO_PEERPIDFD = getattr(socket, "SO_PEERPIDFD", 77) if sys.platform.startswith("linux") else None
_SSH_SERVERS = frozenset({"sshd", "sshd-session", "sshd-auth", "dropbear", "mosh-server"})
_SSH_ENV = (b"SSH_CONNECTION=", b"SSH_CLIENT=", b"SSH_TTY=")
_PROC_READABLE = os.path.exists("/proc/self/stat")  # else nothing is known (and nothing "gone")


# ---------------------------------------------------------------------------- /proc


@dataclass(frozen=True, slots=True)
class _Stat:
    ppid: int
    sid: int
    start_time: int
    exec_mark: tuple[int, ...] | None


def _read_stat(pid: int) -> _Stat | None:
    """Fields of ``/proc/pid/stat``; ``None`` when the process is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read(4096)
    except OSError:
        return None
    # The name (field 2) is in parentheses and may itself hold ")" and spaces: cut at the last.
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        if fields[0] in (b"Z", b"X", b"x"):
            return None
        ppid, sid, start = int(fields[1]), int(fields[3]), int(fields[19])
        # startstack (28), arg_start (48), env_start (50): set afresh by every exec; zero when
        # the kernel hides them from us.
        mark = tuple(int(fields[i]) for i in (25, 45, 47) if i < len(fields))
    except (IndexError, ValueError):
        return None
    return _Stat(ppid, sid, start, mark if any(mark) else None)


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _read(path: str, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class _Script:
    interpreter: bool
    script: str | None = None  # resolved against the working folder when it was read
    inline: str | None = None
    written: str | None = None  # as the command line says it (compared: a chdir moves nothing)


@dataclass(frozen=True, slots=True)
class _Interpreter:
    """How one interpreter's command line names its script."""

    code: frozenset[str]  # short options whose argument is code: no script file
    takes: frozenset[str] = frozenset()  # short options that take an argument
    long_code: frozenset[str] = frozenset()
    long_takes: frozenset[str] = frozenset()
    module: frozenset[str] = frozenset()  # python -m: a module, not a file
    script_opt: frozenset[str] = frozenset()  # php -f FILE
    stdin: frozenset[str] = frozenset()  # sh -s: the script comes from stdin


def _fs(*items: str) -> frozenset[str]:
    return frozenset(items)


_PYTHON = _Interpreter(
    code=_fs("c"),
    takes=_fs("W", "X", "Q"),
    module=_fs("m"),
    long_takes=_fs("--check-hash-based-pycs"),
)
_SHELL = _Interpreter(
    code=_fs("c"), takes=_fs("o", "O"), long_takes=_fs("--rcfile", "--init-file"), stdin=_fs("s")
)
_NODE = _Interpreter(
    code=_fs("e", "p"),
    takes=_fs("r", "C"),
    long_code=_fs("--eval", "--print"),
    long_takes=_fs("--require", "--import", "--loader", "--experimental-loader", "--conditions"),
)
_PERL = _Interpreter(code=_fs("e", "E"), takes=_fs("I", "M", "m"))
_RUBY = _Interpreter(code=_fs("e"), takes=_fs("I", "r", "C", "E"))
_PHP = _Interpreter(code=_fs("r"), takes=_fs("c", "d", "z"), script_opt=_fs("f"))
_LUA = _Interpreter(code=_fs("e"), takes=_fs("l"))
_PLAIN = _Interpreter(code=frozenset())

# Judged by the executable's file name (what the kernel runs), never by argv[0].
_INTERPRETERS: tuple[tuple[re.Pattern[str], _Interpreter], ...] = (
    (re.compile(r"(python|pypy)[0-9.]*[dmu]?"), _PYTHON),
    (re.compile(r"(ba|da|z|k|mk|a|fi|yash|posh|)sh"), _SHELL),
    (re.compile(r"node(js)?"), _NODE),
    (re.compile(r"perl[0-9.]*"), _PERL),
    (re.compile(r"ruby[0-9.]*"), _RUBY),
    (re.compile(r"php[0-9.]*(-cli)?"), _PHP),
    (re.compile(r"lua(jit|[0-9.]*)"), _LUA),
    (re.compile(r"(tclsh|wish)[0-9.]*"), _PLAIN),
)


def _interpreter(exe: str | None) -> _Interpreter | None:
    if not exe:
        return None
    base = os.path.basename(exe.removesuffix(" (deleted)"))
    return next((spec for pattern, spec in _INTERPRETERS if pattern.fullmatch(base)), None)


def _script_arg(argv: tuple[str, ...], spec: _Interpreter) -> tuple[str | None, str | None]:
    """(script as written, how code was given otherwise) from an interpreter's command line."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return (argv[i + 1], None) if i + 1 < len(argv) else (None, "stdin")
        if arg == "-":
            return None, "stdin"
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            if name in spec.long_code:
                return None, name
            i += 2 if name in spec.long_takes and "=" not in arg else 1
            continue
        if arg[:1] == "-" or (arg[:1] == "+" and spec is _SHELL):
            cluster = arg[1:]
            for j, ch in enumerate(cluster):
                rest = cluster[j + 1 :]
                following = argv[i + 1] if i + 1 < len(argv) else ""
                if ch in spec.code:
                    return None, f"-{ch}"
                if ch in spec.stdin:
                    return None, "stdin"
                if ch in spec.module:
                    return None, f"-m {rest or following}"
                if ch in spec.script_opt:
                    return (rest or following or None), None
                if ch in spec.takes:
                    if not rest:
                        i += 1  # the argument is the next word
                    break
            i += 1
            continue
        return arg, None
    return None, "stdin"


def _resolve(script: str, cwd: str | None) -> str:
    """``script`` as an absolute path, relative names taken from the process's working folder."""
    if not os.path.isabs(script) and cwd and cwd.startswith("/"):
        script = os.path.join(cwd.removesuffix(" (deleted)"), script)
    script = os.path.normpath(script)
    if os.path.isabs(script) and os.path.exists(script):
        return os.path.realpath(script)
    return script


def _script_of(exe: str | None, argv: tuple[str, ...], cwd: str | None) -> _Script:
    spec = _interpreter(exe)
    if spec is None:
        return _Script(interpreter=False)
    script, inline = _script_arg(argv, spec)
    if script is None or script == "":
        return _Script(interpreter=True, inline=inline or "stdin")
    return _Script(interpreter=True, script=_resolve(script, cwd), written=script)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What ``/proc`` says about one process at one moment (strings raw: the program's claims)."""

    pid: int
    ppid: int
    sid: int
    start_time: int
    exec_mark: tuple[int, ...] | None
    exe: str | None
    exe_id: tuple[int, int] | None
    argv: tuple[str, ...]
    cwd: str | None
    comm: str | None
    script: _Script

    @property
    def name(self) -> str:
        """The script's file name, else the executable's, else the process name, else the pid."""
        if self.script.script:
            return os.path.basename(self.script.script) or self.script.script
        if self.exe and self.exe.startswith("/"):
            base = os.path.basename(self.exe.removesuffix(" (deleted)"))
        else:  # unreadable, or not a file (a memfd, an anonymous inode): the process name
            base = self.comm or (os.path.basename(self.argv[0]) if self.argv else "")
        base = base or f"pid {self.pid}"
        inline = self.script.inline
        if inline == "stdin":
            return f"{base} (stdin)"
        return f"{base} {inline}" if inline else base

    @property
    def ssh_server(self) -> bool:
        names = {self.comm or ""}
        if self.exe:
            names.add(os.path.basename(self.exe.removesuffix(" (deleted)")))
        return bool(names & _SSH_SERVERS)


def _bare(exe: str | None) -> str | None:
    return exe.removesuffix(" (deleted)") if exe else exe


def snapshot(pid: int) -> Snapshot | None:
    """A :class:`Snapshot` of process ``pid``; ``None`` when it is gone (or not on Linux)."""
    stat_ = _read_stat(pid)
    if stat_ is None:
        return None
    proc = f"/proc/{pid}"
    exe = _readlink(f"{proc}/exe")
    exe_id: tuple[int, int] | None = None
    with contextlib.suppress(OSError):
        info = os.stat(f"{proc}/exe")
        exe_id = (info.st_dev, info.st_ino)
    raw_argv = _read(f"{proc}/cmdline", 64 * 1024) or b""
    argv = tuple(os.fsdecode(a) for a in raw_argv.split(b"\0")[:256] if a)
    cwd = _readlink(f"{proc}/cwd")
    comm_raw = _read(f"{proc}/comm", 64)
    comm = os.fsdecode(comm_raw.rstrip(b"\n")) if comm_raw else None
    return Snapshot(
        pid=pid,
        ppid=stat_.ppid,
        sid=stat_.sid,
        start_time=stat_.start_time,
        exec_mark=stat_.exec_mark,
        exe=exe,
        exe_id=exe_id,
        argv=argv,
        cwd=cwd,
        comm=comm,
        script=_script_of(exe, argv, cwd),
    )


def _ancestry(first: Snapshot) -> tuple[tuple[str, ...], str | None]:
    """The chain of names (the program, then its parents) and why it looks remote, if it does.

    The chain ends at ``CHAIN_DEPTH`` names, before init (pid 1), or with the first ancestor
    outside the program's session (what started the session: ``sshd``, a terminal, ``cron``).
    The search for an SSH server goes on up to init.
    """
    names = [first.name]
    remote: str | None = None
    collecting = True
    pid, hops = first.ppid, 0
    while pid > 1 and hops < _MAX_HOPS:
        snap = snapshot(pid)
        if snap is None:
            break
        if collecting and len(names) < CHAIN_DEPTH:
            names.append(snap.name)
            collecting = snap.sid == first.sid
        else:
            collecting = False
        if remote is None and snap.ssh_server:
            remote = "started from an SSH session"
        pid, hops = snap.ppid, hops + 1
    if remote is None:
        environ = _read(f"/proc/{first.pid}/environ", _MAX_ENVIRON) or b""
        if any(var.startswith(_SSH_ENV) for var in environ.split(b"\0")):
            remote = "its environment names an SSH connection"
    return tuple(names), remote


# ---------------------------------------------------------------------------- pidfd


def _exited(pidfd: int | None) -> bool:
    """Whether the process behind ``pidfd`` has exited (a pidfd is readable from then on)."""
    if pidfd is None:
        return False
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(0))


def _pidfd_of(sock: socket.socket | None, pid: int) -> int | None:
    """A pidfd of the peer: from the socket itself (no pid race) where the kernel has it."""
    if sock is not None and _SO_PEERPIDFD is not None:
        with contextlib.suppress(OSError):
            fd = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERPIDFD)
            if fd >= 0:
                os.set_inheritable(fd, False)
                return fd
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        with contextlib.suppress(OSError):
            fd = pidfd_open(pid)
            return fd if isinstance(fd, int) else None
    return None


# ---------------------------------------------------------------------------- the identity


class PeerIdentity:
    """The process that connected, as it was when it connected; :meth:`check` that it still is.

    Facts: ``pid``, ``uid``, ``gid``, ``start_time`` (clock ticks after boot), the pidfd and the
    executable's inode. Claims (raw, see :data:`CLAIMED`): ``exe``, ``script``, ``inline``,
    ``argv``, ``cwd``, ``comm``, ``name``, ``chain``. ``remote`` says why the program looks as if
    it runs from an SSH session (``None``: it does not).
    """

    def __init__(
        self,
        *,
        pid: int | None,
        uid: int | None,
        gid: int | None,
        snap: Snapshot | None,
        pidfd: int | None = None,
        gone: bool = False,
    ) -> None:
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self._snap = snap
        self._pidfd = pidfd
        self._gone = gone or (pid is not None and snap is None and _PROC_READABLE)
        self._closed = False
        self._lock = threading.Lock()
        if snap is not None:
            self.chain, self.remote = _ancestry(snap)
        else:
            self.chain, self.remote = (), None

    # -- what it is

    @property
    def known(self) -> bool:
        """Whether the OS told who it is (a pid whose ``/proc`` entry could be read)."""
        return self._snap is not None

    @property
    def start_time(self) -> int | None:
        return self._snap.start_time if self._snap else None

    @property
    def exe(self) -> str | None:
        return self._snap.exe if self._snap else None

    @property
    def interpreter(self) -> bool:
        return bool(self._snap and self._snap.script.interpreter)

    @property
    def script(self) -> str | None:
        return self._snap.script.script if self._snap else None

    @property
    def inline(self) -> str | None:
        """``-c``, ``-m module``, ``stdin``…: how an interpreter got code that is not a file."""
        return self._snap.script.inline if self._snap else None

    @property
    def argv(self) -> tuple[str, ...]:
        return self._snap.argv if self._snap else ()

    @property
    def cwd(self) -> str | None:
        return self._snap.cwd if self._snap else None

    @property
    def comm(self) -> str | None:
        return self._snap.comm if self._snap else None

    @property
    def name(self) -> str:
        if self._snap is not None:
            return self._snap.name
        return f"pid {self.pid}" if self.pid else "a local program"

    @property
    def key(self) -> tuple[int | None, str | None, str | None]:
        """Who this is for limits and "don't ask again": uid, executable, script (raw)."""
        return self.uid, self.exe, self.script

    def __repr__(self) -> str:
        return f"PeerIdentity(pid={self.pid}, uid={self.uid}, start_time={self.start_time})"

    # -- is it still the same?

    def _change(self) -> str | None:
        """What changed since the capture (``None``: nothing)."""
        if self._closed:
            return "is no longer connected"
        if self._gone or _exited(self._pidfd):
            return "has exited"
        before = self._snap
        if before is None or self.pid is None:
            return None  # nothing was known, nothing can be compared
        now = snapshot(self.pid)
        if now is None or _exited(self._pidfd):
            return "has exited"
        if now.start_time != before.start_time:
            return "has exited and its process id now belongs to another program"
        if (
            now.exe_id != before.exe_id
            or _bare(now.exe) != _bare(before.exe)  # an upgrade deleting the file is no change
            or (before.exec_mark is not None and now.exec_mark != before.exec_mark)
            or (now.script.interpreter, now.script.written, now.script.inline)
            != (before.script.interpreter, before.script.written, before.script.inline)
        ):
            return "now runs another program"
        return None

    def check(self) -> None:
        """Raise :class:`ProgramChangedError` unless the process is still the one that connected:
        alive (its pidfd not signalled), same start time, same executable (path and inode), no
        exec since (stack and argument addresses) and the same script."""
        with self._lock:
            change = self._change()
        if change is not None:
            raise ProgramChangedError(
                f"The program that connected (pid {self.pid}) {change}: it changed after it "
                "connected, so its request was refused. Run it again."
            )

    def still_same(self) -> bool:
        try:
            self.check()
        except ProgramChangedError:
            return False
        return True

    def close(self) -> None:
        """Release the pidfd (the connection ended); :meth:`check` fails from now on."""
        with self._lock:
            self._closed = True
            fd, self._pidfd = self._pidfd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def identify_pid(
    pid: int, uid: int | None = None, gid: int | None = None, *, pidfd: int | None = None
) -> PeerIdentity:
    """The identity of process ``pid`` as it is now (without a socket: ``pidfd_open``)."""
    owned = pidfd is None
    if pidfd is None:
        pidfd = _pidfd_of(None, pid)
    snap = snapshot(pid)
    gone = _exited(pidfd)  # exited while we read: what we read may be another process's
    if uid is None and snap is not None:
        with contextlib.suppress(OSError):
            info = os.stat(f"/proc/{pid}")
            uid, gid = info.st_uid, info.st_gid
    if gone and owned and pidfd is not None:
        os.close(pidfd)
        pidfd = None
    return PeerIdentity(pid=pid, uid=uid, gid=gid, snap=snap, pidfd=pidfd, gone=gone)


def _peercred(sock: socket.socket) -> tuple[int, int, int] | None:
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is None:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


def capture(sock: socket.socket) -> PeerIdentity | None:
    """The identity of the process on the other end of a connected Unix socket (at accept).

    ``None`` where the OS does not say (no ``SO_PEERCRED``). The pidfd comes from the socket
    (``SO_PEERPIDFD``) where the kernel has it, so it is the process that connected even if its
    pid was reused since; close the identity when the connection ends.
    """
    creds = _peercred(sock)
    if creds is None:  # pragma: no cover - not Linux
        getpeereid = getattr(socket.socket, "getpeereid", None)
        if getpeereid is None:
            return None
        uid, gid = getpeereid(sock)
        return PeerIdentity(pid=None, uid=uid, gid=gid, snap=None)
    pid, uid, gid = creds
    if pid <= 0:  # the peer is in a pid namespace we cannot see into
        return PeerIdentity(pid=None, uid=uid, gid=gid, snap=None)
    return identify_pid(pid, uid, gid, pidfd=_pidfd_of(sock, pid))


# ---------------------------------------------------------------------------- for display


def user_name(uid: int | None) -> str | None:
    """The account name of ``uid`` (the system's word, not the program's)."""
    if uid is None:
        return None
    try:
        import pwd  # POSIX only: imported where it is used, so the module loads everywhere

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def shown(raw: str | None, limit: int) -> str | None:
    """Outside text claimed by the program, cleaned for display (``None`` when empty)."""
    if not raw:
        return None
    return clean(raw, Origin.PROGRAM, limit=limit).text or None


# ---------------------------------------------------------------------------- older surface


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A one-off look at a process (``authenticator token`` names its parent with it)."""

    pid: int | None
    uid: int | None
    name: str
    path: str | None = None
    user: str | None = None


def process_info(pid: int, uid: int | None = None) -> ProcessInfo:
    """Name and executable of process ``pid`` (cleaned for display; the pid if nothing else)."""
    identity = identify_pid(pid, uid)
    identity.close()
    return ProcessInfo(
        pid=pid,
        uid=identity.uid,
        name=shown(identity.name, LIMITS.program) or f"process {pid}",
        path=shown(identity.exe, LIMITS.path),
        user=user_name(identity.uid),
    )


def peer_of(sock: socket.socket) -> ProcessInfo | None:
    """A one-off look at the peer of a connected Unix socket (no pidfd kept)."""
    identity = capture(sock)
    if identity is None:
        return None
    identity.close()
    if identity.pid is None:
        return ProcessInfo(None, identity.uid, "unknown program", user=user_name(identity.uid))
    return ProcessInfo(
        pid=identity.pid,
        uid=identity.uid,
        name=shown(identity.name, LIMITS.program) or f"process {identity.pid}",
        path=shown(identity.exe, LIMITS.path),
        user=user_name(identity.uid),
    )

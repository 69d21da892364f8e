"""Where every file of the authenticator lives.

``AppPaths`` is the single place that turns "which home?" into file paths. With ``--home DIR`` (or
the ``AUTHENTICATOR_HOME`` environment variable) everything lives under ``DIR`` except the agent
socket, which goes to the short per-user runtime directory; otherwise the platform's per-user data,
config, log and runtime directories are used (platformdirs).

The runtime directory holds the agent's socket, so whoever controls it can stand in for the app
(hand out their own "tokens", swallow ``lock``, receive forwarded links). Without
``XDG_RUNTIME_DIR`` it lives in the shared temporary directory, where another user could make it
first. :func:`check_runtime_dir` is the one check of it, run by the agent server before it binds,
by every agent client before it connects, and by the app before it forwards links: a real folder
(not a symbolic link), owned by this user, mode 0700 exactly, in a parent nobody else can rename
it out of. Anything else is refused with :class:`~authenticator.errors.UnsafeFolderError`; a
folder we did not create is never repaired (no chmod, no removal).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from authenticator.errors import UnsafeFolderError
from authenticator.store.atomic import ensure_private_dir

__all__ = ["APP_NAME", "HOME_ENV", "AppPaths", "check_runtime_dir"]

APP_NAME = "encedo-authenticator"
HOME_ENV = "AUTHENTICATOR_HOME"

# sun_path holds 104 bytes on macOS and 108 on Linux; stay clearly below both.
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True, slots=True)
class AppPaths:
    """The directories of one authenticator home and the files inside them."""

    data_dir: Path
    config_dir: Path
    log_dir: Path
    runtime_dir: Path
    socket_name: str = "agent.sock"

    @classmethod
    def for_home(cls, home: Path, environ: Mapping[str, str] | None = None) -> AppPaths:
        """Everything under ``home``; the agent socket in the runtime directory.

        The socket is named after a hash of the resolved home, so several homes (a demo and the
        real one, parallel tests) never share a socket, and its path stays short enough to bind.
        """
        env = os.environ if environ is None else environ
        home = home.expanduser().resolve()
        digest = hashlib.sha256(str(home).encode("utf-8", "surrogateescape")).hexdigest()
        socket_name = f"agent-{digest[:12]}.sock"
        xdg_runtime = env.get("XDG_RUNTIME_DIR", "")
        runtime = Path(xdg_runtime) / APP_NAME if xdg_runtime else home / "run"
        if len(os.fsencode(runtime / socket_name)) >= _MAX_SOCKET_PATH:
            runtime = _short_runtime_dir()
        return cls(
            data_dir=home,
            config_dir=home,
            log_dir=home / "logs",
            runtime_dir=runtime,
            socket_name=socket_name,
        )

    @classmethod
    def default(cls) -> AppPaths:
        """The platform's per-user directories for this app.

        On XDG platforms without ``XDG_RUNTIME_DIR`` (no login session, e.g. over some ssh or
        cron set-ups) the runtime directory is a private one under the temporary directory.
        """
        if sys.platform in ("win32", "darwin") or os.environ.get("XDG_RUNTIME_DIR"):
            runtime = Path(platformdirs.user_runtime_dir(APP_NAME, appauthor=False))
        else:
            runtime = _short_runtime_dir()
        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            runtime_dir=runtime,
        )

    @classmethod
    def resolve(cls, home_arg: str | None, environ: Mapping[str, str]) -> AppPaths:
        """``--home`` wins over ``AUTHENTICATOR_HOME``, which wins over the platform default."""
        home = home_arg or environ.get(HOME_ENV, "")
        if home:
            return cls.for_home(Path(home), environ)
        return cls.default()

    def demo(self) -> AppPaths:
        """The demo's own home (``authenticator --demo``), beside (never inside the files of)
        this one."""
        return AppPaths.for_home(self.data_dir / "demo")

    def ensure(self) -> None:
        """Create the store's directories with mode 0700 (and tighten existing ones to 0700).

        Not the runtime directory: it is the agent's, created and checked (never tightened) by
        :meth:`check_runtime` when the agent starts or a client connects.
        """
        for directory in dict.fromkeys((self.data_dir, self.config_dir, self.log_dir)):
            ensure_private_dir(directory)

    def check_runtime(self, *, create: bool = False) -> bool:
        """:func:`check_runtime_dir` of this home's runtime directory."""
        return check_runtime_dir(self.runtime_dir, create=create)

    @property
    def vault(self) -> Path:
        return self.data_dir / "vault.bin"

    @property
    def journal(self) -> Path:
        return self.data_dir / "journal.jsonl"

    @property
    def journal_head(self) -> Path:
        """The keyed record of the journal's last entry (finds entries cut off the end)."""
        return self.data_dir / "journal.head"

    @property
    def settings(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def handled(self) -> Path:
        return self.data_dir / "handled.json"

    @property
    def lockfile(self) -> Path:
        return self.data_dir / ".lock"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "authenticator.log"

    @property
    def agent_socket(self) -> Path:
        return self.runtime_dir / self.socket_name


def _short_runtime_dir() -> Path:
    """A short per-user directory for sockets (``ensure`` refuses it if another user owns it)."""
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"{APP_NAME}-{user}"


# ---------------------------------------------------------------------------- the runtime folder

_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _unsafe(directory: Path, problem: str, remedy: str) -> UnsafeFolderError:
    return UnsafeFolderError(
        f"The authenticator's socket folder {directory} {problem}; it was not used, because "
        f"another user could stand in for the app there. {remedy}"
    )


def _check_xdg_runtime(xdg: Path) -> None:
    """``XDG_RUNTIME_DIR`` itself: a real folder of ours that nobody else can write to."""
    remedy = "Fix XDG_RUNTIME_DIR (a folder only you can write to) or unset it, and try again."
    try:
        info = os.lstat(xdg)
    except OSError as exc:
        raise UnsafeFolderError(
            f"XDG_RUNTIME_DIR ({xdg}) cannot be used ({exc.strerror}). {remedy}"
        ) from exc
    problem = None
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "is not a folder"
    elif info.st_uid != os.getuid():
        problem = f"belongs to {_owner(info.st_uid)}, not to you"
    elif info.st_mode & _OTHERS_WRITE:
        problem = f"can be written by other users (mode {stat.S_IMODE(info.st_mode):04o})"
    if problem is not None:
        raise UnsafeFolderError(f"XDG_RUNTIME_DIR ({xdg}) {problem}. {remedy}")


def _check_parent(directory: Path, environ: Mapping[str, str]) -> None:
    """Nobody else may rename our folder away and put theirs in its place: the parent is
    ``XDG_RUNTIME_DIR`` (checked strictly), or belongs to us or root and is either not writable
    by others or sticky (like ``/tmp``: only an entry's owner may rename it)."""
    parent = directory.parent
    xdg = environ.get("XDG_RUNTIME_DIR", "")
    if xdg and Path(xdg) == parent:
        _check_xdg_runtime(parent)
        return
    try:
        info = os.stat(parent)
    except OSError as exc:
        raise _unsafe(
            directory, f"cannot be checked ({exc.strerror})", "Check its parent folder."
        ) from exc
    writable_by_others = bool(info.st_mode & _OTHERS_WRITE)
    if info.st_uid in (0, os.getuid()) and (not writable_by_others or info.st_mode & stat.S_ISVTX):
        return
    raise _unsafe(
        directory,
        f"is in {parent}, which other users can change (owner {_owner(info.st_uid)}, mode "
        f"{stat.S_IMODE(info.st_mode):04o})",
        "Set XDG_RUNTIME_DIR to a private folder, or use --home with a private folder.",
    )


def _make(directory: Path) -> bool:
    """Create ``directory`` 0700; ``False`` when it already existed (someone else's, maybe)."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _unsafe(
            directory, f"could not be created ({exc.strerror})", "Check its parent folder."
        ) from exc
    # Ours: undo the umask without following a link someone may have swapped in meanwhile.
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(directory, flags)
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return True


def check_runtime_dir(
    directory: Path, *, create: bool = False, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether the agent's socket folder ``directory`` exists and is ours alone.

    ``False`` when it does not exist (and ``create`` is false): no app is running there.
    ``create``: make it (mode 0700) when it is missing. In every other case it must be a real
    folder (``lstat``: not a symbolic link), owned by ``os.getuid()`` (also when that is root: the
    check never relies on the caller's privileges), mode 0700 exactly, in a parent nobody else can
    swap it in (``_check_parent``); otherwise :class:`UnsafeFolderError` says what is wrong and
    what to do. A folder this call did not create is never changed.
    """
    if not hasattr(os, "getuid"):  # pragma: no cover - Windows: named pipes, no socket folder
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        return directory.is_dir()
    env = os.environ if environ is None else environ
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        if not create:
            if os.path.lexists(directory.parent):
                _check_parent(directory, env)  # a bad XDG_RUNTIME_DIR is said, not hidden
            return False
        with contextlib.suppress(OSError):  # a missing parent is made private; else checked below
            directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_parent(directory, env)
        _make(directory)
        info = os.lstat(directory)
    except OSError as exc:
        _check_parent(directory, env)  # says what is wrong with the parent, if that is it
        raise _unsafe(
            directory, f"cannot be checked ({exc.strerror})", "Check its parent folder."
        ) from exc
    _check_parent(directory, env)
    if info.st_uid != os.getuid():
        raise _unsafe(
            directory,
            f"belongs to {_owner(info.st_uid)}, not to you",
            "Ask the computer's administrator to remove it, or set XDG_RUNTIME_DIR to a private "
            "folder (or use --home), and try again.",
        )
    remove = f"Remove it (rm {directory}) and try again."
    if stat.S_ISLNK(info.st_mode):
        raise _unsafe(directory, "is a symbolic link", remove)
    if not stat.S_ISDIR(info.st_mode):
        raise _unsafe(directory, "is not a folder", remove)
    mode = stat.S_IMODE(info.st_mode)
    if mode != 0o700:
        raise _unsafe(
            directory,
            f"is open to other users (mode {mode:04o}, it must be 0700)",
            f"If you made it, make it private (chmod 700 {directory}) or remove it, and try again.",
        )
    return True

"""Where every file of the authenticator lives.

``AppPaths`` is the single place that turns "which home?" into file paths. With ``--home DIR`` (or
the ``AUTHENTICATOR_HOME`` environment variable) everything lives under ``DIR`` except the agent
socket, which goes to the short per-user runtime directory; otherwise the platform's per-user data,
config, log and runtime directories are used (platformdirs).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from authenticator.store.atomic import ensure_private_dir

__all__ = ["APP_NAME", "HOME_ENV", "AppPaths"]

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

    def ensure(self) -> None:
        """Create the directories with mode 0700 (and tighten existing ones to 0700)."""
        for directory in dict.fromkeys(
            (self.data_dir, self.config_dir, self.log_dir, self.runtime_dir)
        ):
            ensure_private_dir(directory)

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

"""Start the app at login (the "start at login" setting), the XDG autostart way.

On Linux and the BSDs a desktop session starts every entry of
``$XDG_CONFIG_HOME/autostart`` (default ``~/.config/autostart``) at login. ``enable`` writes ours,
``com.encedo.Authenticator.desktop``, from the template shipped in ``resources/autostart/`` with
``Exec`` pointing at the ``authenticator`` program that is running now (so a venv, a bundle or a
``pip --user`` install each start themselves); ``disable`` removes it. The file is written
atomically with mode 0644 like every autostart entry (it holds nothing secret).

macOS (Login Items) and Windows (the Run key) are not supported yet: ``enable`` raises
``StateError`` with a sentence saying so. Inside the Flatpak sandbox the desktop app hands the core
its own :class:`Autostart` that asks the Background portal (``gui/portal.py``); without it
``enable`` says the sandbox needs the portal. The core calls these
functions when the setting changes; they never touch the settings themselves.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from authenticator import APP_ID
from authenticator.errors import StateError, StoreError
from authenticator.resources import autostart_file

__all__ = [
    "ENTRY_NAME",
    "Autostart",
    "XdgAutostart",
    "autostart_path",
    "current_executable",
    "desktop_exec_quote",
    "disable",
    "enable",
    "entry_text",
    "is_enabled",
]

ENTRY_NAME = f"{APP_ID}.desktop"
PROGRAM = "authenticator"
_ENTRY_MODE = 0o644
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_UNSUPPORTED = {
    "darwin": "On macOS, starting at login is not supported here yet; add Encedo Authenticator "
    "to System Settings → General → Login Items instead.",
    "win32": "On Windows, starting at login is not supported here yet; put a shortcut to the app "
    "in your Startup folder (Win+R, shell:startup) instead.",
}
_FLATPAK = (
    "Inside the Flatpak sandbox, starting at login needs the desktop's Background portal, which "
    "this version does not use yet; use your desktop's startup-applications settings instead."
)


def autostart_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where our autostart entry lives: ``$XDG_CONFIG_HOME/autostart/com.encedo.Authenticator…``.

    A relative ``XDG_CONFIG_HOME`` is ignored, as the XDG spec says.
    """
    env = os.environ if environ is None else environ
    config = env.get("XDG_CONFIG_HOME", "")
    if not config or not os.path.isabs(config):
        home = env.get("HOME") or str(Path.home())
        config = os.path.join(home, ".config")
    return Path(config) / "autostart" / ENTRY_NAME


def current_executable(argv0: str | None = None) -> str:
    """The absolute path of the ``authenticator`` program running now, else plain ``authenticator``.

    A PyInstaller bundle is its own executable; otherwise ``sys.argv[0]`` when it is the
    ``authenticator`` script, else the one found on ``PATH``.
    """
    if getattr(sys, "frozen", False):
        return os.path.abspath(sys.executable)
    first = sys.argv[0] if argv0 is None else argv0
    if first and Path(first).name == PROGRAM and os.access(first, os.X_OK):
        return os.path.abspath(first)
    found = shutil.which(PROGRAM)
    return os.path.abspath(found) if found else PROGRAM


def desktop_exec_quote(argument: str) -> str:
    """``argument`` as one argument of a desktop entry's ``Exec`` key (quoted and escaped)."""
    text = argument.replace("%", "%%")
    if not any(c in _RESERVED for c in text):
        return text
    for char in ("\\", '"', "`", "$"):
        text = text.replace(char, "\\" + char)
    # The value is a desktop-entry string too, whose own escape for a backslash is "\\".
    return '"' + text.replace("\\", "\\\\") + '"'


def entry_text(executable: str) -> str:
    """The template's text with ``Exec`` (and ``TryExec``) naming ``executable``."""
    quoted = desktop_exec_quote(executable)
    lines = []
    for line in autostart_file().read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            lines.append(f"Exec={quoted}")
        elif line.startswith("TryExec="):
            # TryExec is a plain path, not an Exec line; only the string escapes apply.
            lines.append("TryExec=" + executable.replace("\\", "\\\\"))
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _check_supported(environ: Mapping[str, str], platform: str) -> None:
    if platform in _UNSUPPORTED:
        raise StateError(_UNSUPPORTED[platform])
    if environ.get("FLATPAK_ID") or os.path.exists("/.flatpak-info"):
        raise StateError(_FLATPAK)


def enable(
    environ: Mapping[str, str] | None = None,
    *,
    executable: str | None = None,
    platform: str = sys.platform,
) -> Path:
    """Write our autostart entry (replacing an older one); return its path."""
    env = os.environ if environ is None else environ
    _check_supported(env, platform)
    path = autostart_path(env)
    text = entry_text(executable or current_executable())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise StoreError(
            f"Could not write the autostart entry {path} ({exc.strerror or exc})."
        ) from exc
    return path


def disable(environ: Mapping[str, str] | None = None) -> None:
    """Remove our autostart entry (nothing happens when there is none)."""
    path = autostart_path(environ)
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Could not remove the autostart entry {path} ({exc.strerror or exc})."
        ) from exc


def is_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether our entry exists and is not switched off (``Hidden=true``, GNOME's ``…=false``)."""
    path = autostart_path(environ)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    keys = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            keys[name.strip()] = value.strip().lower()
    return keys.get("Hidden") != "true" and keys.get("X-GNOME-Autostart-enabled") != "false"


def _write_atomic(path: Path, data: bytes) -> None:
    """Temporary file beside ``path`` (mode 0644), fsync, rename over it, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _ENTRY_MODE)  # whatever the umask: the session reads it
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class Autostart(Protocol):
    """How "start at login" is switched on this system (the core calls it when the setting
    changes; a front end may hand the core another one, e.g. the Background portal in Flatpak)."""

    def enable(self) -> None: ...

    def disable(self) -> None: ...


class XdgAutostart:
    """The XDG autostart entry (this module's :func:`enable` / :func:`disable`)."""

    def enable(self) -> None:
        enable()

    def disable(self) -> None:
        disable()

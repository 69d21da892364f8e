"""The app's log file: rotating, private, and with a redacting safety net.

``setup_logging`` sends every record of the app (and third-party warnings) to
``<log dir>/authenticator.log``: at most 1 MiB per file and five old files, the folder 0700 and
every file 0600 (rotated files included). The level comes from the argument, else the
``AUTHENTICATOR_LOG_LEVEL`` environment variable, else the ``log_level`` setting.

Nothing secret is ever logged on purpose. As a safety net, the formatter of our handlers
replaces anything in the final text — message, arguments, exception and stack — that looks like
a token or a key with ``[redacted]``: a JWT (``eyJ….….…``), a run of 64 or more hex digits, or a
base64 blob of 40 or more characters (mixed case and digits, as random data is; paths and the file
lines of a traceback are left alone, so they stay readable).

Calling ``setup_logging`` again replaces the handlers it added before (never duplicates them).
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Mapping
from io import TextIOWrapper
from pathlib import Path

from authenticator.errors import AuthenticatorError, DecodeError
from authenticator.store.atomic import ensure_private_dir
from authenticator.store.paths import AppPaths
from authenticator.store.settings import LOG_LEVELS, SettingsStore

__all__ = [
    "BACKUP_COUNT",
    "LEVEL_ENV",
    "MAX_BYTES",
    "REDACTED",
    "RedactingFormatter",
    "redact",
    "resolve_level",
    "setup_logging",
]

LEVEL_ENV = "AUTHENTICATOR_LOG_LEVEL"
MAX_BYTES = 1024 * 1024
BACKUP_COUNT = 5
REDACTED = "[redacted]"
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
APP_LOGGER = "authenticator"
_FILE_MODE = 0o600
_OURS = "_authenticator_log_handler"

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){2,4}")
_HEX = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64,}(?![0-9A-Fa-f])")
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{40,}={0,2}")
_TRACEBACK_FILE_LINE = re.compile(r'^\s*File ".*", line \d+')


def _looks_random(blob: str) -> bool:
    """Random base64 mixes upper case, lower case and digits; words and paths rarely do.

    A run with slashes is taken for a path (left alone) when, unlike random data, few of its
    letters are capitals and few of its characters digits ("site-packages/PySide6/QtWidgets").
    """
    upper = sum(c.isupper() for c in blob)
    lower = sum(c.islower() for c in blob)
    digits = sum(c.isdigit() for c in blob)
    if not (upper and lower and digits):
        return False
    path_like = "/" in blob and upper < 0.3 * (upper + lower) and digits < 0.1 * len(blob)
    return not path_like


def _redact_line(line: str) -> str:
    if _TRACEBACK_FILE_LINE.match(line):
        return line
    line = _JWT.sub(REDACTED, line)
    line = _HEX.sub(REDACTED, line)
    return _B64.sub(lambda m: REDACTED if _looks_random(m.group()) else m.group(), line)


def redact(text: str) -> str:
    """``text`` with every token- or key-like run replaced by ``[redacted]``."""
    return "\n".join(_redact_line(line) for line in text.split("\n"))


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (exception text included) goes through ``redact``."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Opens every log file, the ones rotation starts included, with mode 0600."""

    def _open(self) -> TextIOWrapper:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.baseFilename, flags, _FILE_MODE)
        with contextlib.suppress(OSError):  # an older file may have had looser bits
            os.chmod(self.baseFilename, _FILE_MODE)
        return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def resolve_level(
    paths: AppPaths, level: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The log level name: ``level``, else ``AUTHENTICATOR_LOG_LEVEL``, else the setting.

    An invalid ``level`` argument raises ``DecodeError``; an invalid environment value is
    ignored (the setting applies), and an unreadable settings file means ``INFO``.
    """
    env = os.environ if environ is None else environ
    if level is not None:
        name = level.strip().upper()
        if name not in LOG_LEVELS:
            raise DecodeError(f"The log level must be one of {', '.join(LOG_LEVELS)}.")
        return name
    from_env = env.get(LEVEL_ENV, "").strip().upper()
    if from_env in LOG_LEVELS:
        return from_env
    try:
        return SettingsStore(paths).load().log_level
    except AuthenticatorError:
        return "INFO"


def setup_logging(paths: AppPaths, level: str | None = None, *, console: bool = False) -> Path:
    """Send the app's log records to the rotating, private log file; return its path.

    ``console`` also writes the same (redacted) lines to stderr. Handlers that were on the root
    logger before keep showing what they showed (their level is pinned to the root's), so a
    front end's own stderr handler does not become chattier because the file wants more.
    """
    name = resolve_level(paths, level)
    ensure_private_dir(paths.log_dir)
    log_file = paths.log_file
    formatter = RedactingFormatter(FORMAT)

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OURS, False):
            root.removeHandler(handler)
            handler.close()
        elif handler.level == logging.NOTSET:
            handler.setLevel(root.level)

    handlers: list[logging.Handler] = [
        _PrivateRotatingFileHandler(
            log_file, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    ]
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        setattr(handler, _OURS, True)
        handler.setFormatter(formatter)
        handler.setLevel(name)
        root.addHandler(handler)
    # Our records reach the handlers at the chosen level; other libraries' at the root's level.
    logging.getLogger(APP_LOGGER).setLevel(name)
    return log_file

"""User settings (``settings.json``).

Settings are plain JSON a person may edit by hand, so loading is forgiving where it is safe: a
missing file means the defaults, a key with an invalid value falls back to its default (with a
note for the settings window in ``load_report()``), and keys this version does not know are kept
on save for a newer version. A file that is not a JSON object at all is reported with
``CorruptStoreError`` rather than silently replaced.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from authenticator.errors import CorruptStoreError, DecodeError
from authenticator.store.atomic import read_private, write_private_atomic
from authenticator.store.filelock import store_lock
from authenticator.store.paths import AppPaths

__all__ = [
    "CODE_MATCHING",
    "LOG_LEVELS",
    "CodeMatching",
    "SettingValue",
    "Settings",
    "SettingsStore",
    "Theme",
    "diff",
]

Theme = Literal["system", "light", "dark"]
CodeMatching = Literal["off", "remote", "always"]
CODE_MATCHING = ("off", "remote", "always")
SettingValue = str | int | bool
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_MAX_FILE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    """Every user setting with its default. Invalid values raise ``DecodeError``."""

    poll_interval_s: int = 2  # one broker call per 2 s for all pairings (design.md targets)
    idle_lock_min: int = 5
    lock_on_session_lock: bool = True
    start_at_login: bool = False
    notifications: bool = True
    private_notifications: bool = False  # bubbles say only "an access request is waiting"
    theme: Theme = "system"
    default_broker_url: str = "https://api.encedo.com"
    log_level: str = "INFO"
    mute_minutes_after_report: int = 10
    agent_remember_program: bool = False
    code_matching: CodeMatching = "remote"  # core/codes.py: when the owner must match a code

    def __post_init__(self) -> None:
        _int(self.poll_interval_s, "poll_interval_s", 1, 300)
        _int(self.idle_lock_min, "idle_lock_min", 0, 1440)
        _bool(self.lock_on_session_lock, "lock_on_session_lock")
        _bool(self.start_at_login, "start_at_login")
        _bool(self.notifications, "notifications")
        _bool(self.private_notifications, "private_notifications")
        if self.theme not in ("system", "light", "dark"):
            raise DecodeError("theme must be 'system', 'light' or 'dark'.")
        _broker_url(self.default_broker_url)
        if self.log_level not in LOG_LEVELS:
            raise DecodeError(f"log_level must be one of {', '.join(LOG_LEVELS)}.")
        _int(self.mute_minutes_after_report, "mute_minutes_after_report", 0, 1440)
        _bool(self.agent_remember_program, "agent_remember_program")
        if self.code_matching not in CODE_MATCHING:
            raise DecodeError("code_matching must be 'off', 'remote' or 'always'.")

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied, validated; an unknown name is a ``DecodeError``."""
        unknown = set(changes) - set(self.to_json())
        if unknown:
            raise DecodeError(f"There is no setting called {sorted(unknown)[0]!r}.")
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, SettingValue]:
        return {
            "poll_interval_s": self.poll_interval_s,
            "idle_lock_min": self.idle_lock_min,
            "lock_on_session_lock": self.lock_on_session_lock,
            "start_at_login": self.start_at_login,
            "notifications": self.notifications,
            "private_notifications": self.private_notifications,
            "theme": self.theme,
            "default_broker_url": self.default_broker_url,
            "log_level": self.log_level,
            "mute_minutes_after_report": self.mute_minutes_after_report,
            "agent_remember_program": self.agent_remember_program,
            "code_matching": self.code_matching,
        }

    @classmethod
    def from_json(cls, obj: dict[str, object]) -> tuple[Settings, tuple[str, ...]]:
        """Settings from a parsed file, and a note for every key that fell back to its default.

        Each known key is validated on its own by the constructor, so one bad value never costs
        the others; unknown keys are ignored here (``SettingsStore.save`` keeps them).
        """
        settings = cls()
        notes: list[str] = []
        for name in settings.to_json():
            if name not in obj:
                continue
            try:
                settings = settings.replace(**{name: obj[name]})
            except DecodeError as exc:
                default = settings.to_json()[name]
                notes.append(f"{exc} Using the default, {json.dumps(default)}.")
        return settings, tuple(notes)


def diff(old: Settings, new: Settings) -> dict[str, SettingValue]:
    """The settings that differ, with their new values (what the core journals)."""
    before = old.to_json()
    return {name: value for name, value in new.to_json().items() if before[name] != value}


class SettingsStore:
    """Loads and saves the settings file of one home."""

    def __init__(self, paths: AppPaths) -> None:
        self._paths = paths
        self._notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"SettingsStore({str(self._paths.settings)!r})"

    def load(self) -> Settings:
        """The saved settings (defaults when there is no file yet)."""
        raw = self._read()
        settings, self._notes = Settings.from_json(raw)
        return settings

    def load_report(self) -> tuple[str, ...]:
        """Notes about values the last ``load`` could not use (empty when all was well)."""
        return self._notes

    def save(self, settings: Settings) -> None:
        """Write ``settings`` atomically, keeping keys this version does not know."""
        self._paths.ensure()
        with store_lock(self._paths.lockfile):
            merged = {**self._read(), **settings.to_json()}
            text = json.dumps(merged, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            write_private_atomic(self._paths.settings, text.encode("utf-8"))
        self._notes = ()

    def _read(self) -> dict[str, object]:
        path = self._paths.settings
        if not path.exists():
            return {}
        try:
            obj = json.loads(read_private(path, max_size=_MAX_FILE).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            obj = None
        if not isinstance(obj, dict):
            raise CorruptStoreError(
                f"The settings file {path} is damaged (not a JSON object). Fix it, or move it "
                "away to start again with the default settings."
            )
        return obj


def _int(value: object, name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DecodeError(f"{name} must be a whole number from {low} to {high}.")


def _bool(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise DecodeError(f"{name} must be true or false.")


def _broker_url(value: object) -> None:
    problem = "default_broker_url must be an https origin (http only for this computer)."
    if not isinstance(value, str):
        raise DecodeError(problem)
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise DecodeError(problem) from None
    if not host or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise DecodeError(problem)
    if parts.scheme != "https" and not (parts.scheme == "http" and host in _LOOPBACK):
        raise DecodeError(problem)

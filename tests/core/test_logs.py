"""The log file: rotation, private modes, the level's sources, and the redacting safety net."""

from __future__ import annotations

import base64
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from authenticator.core import logs
from authenticator.core.logs import REDACTED, redact, resolve_level, setup_logging
from authenticator.errors import DecodeError
from authenticator.store.paths import AppPaths
from authenticator.store.settings import Settings, SettingsStore

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0b2tlbiIsInNjb3BlIjoia2V5bWdtdDpsaXN0In0"
    ".Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg"
)
KEY_B64 = base64.urlsafe_b64encode(bytes(range(7, 39))).decode().rstrip("=")  # 43 chars
KEY_HEX = bytes(range(100, 132)).hex()  # 64 hex digits


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths.for_home(tmp_path / "home", {})


@pytest.fixture(autouse=True)
def _restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test leaves the root logger and the app logger as it found them."""
    monkeypatch.delenv(logs.LEVEL_ENV, raising=False)
    root = logging.getLogger()
    app = logging.getLogger(logs.APP_LOGGER)
    handlers, levels = list(root.handlers), {h: h.level for h in root.handlers}
    app_level = app.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler, level in levels.items():
        handler.setLevel(level)
    app.setLevel(app_level)


def _ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, logs._OURS, False)]


def _flush() -> None:
    for handler in _ours():
        handler.flush()


def test_log_file_and_folder_are_private(paths: AppPaths) -> None:
    log_file = setup_logging(paths, "INFO")
    logging.getLogger("authenticator.test").info("hello from the test")
    _flush()
    assert log_file == paths.log_file
    assert stat.S_IMODE(paths.log_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert "hello from the test" in log_file.read_text()


def test_an_existing_loose_file_is_tightened(paths: AppPaths) -> None:
    paths.log_dir.mkdir(parents=True)
    paths.log_file.write_text("old line\n")
    paths.log_file.chmod(0o644)
    setup_logging(paths, "INFO")
    assert stat.S_IMODE(paths.log_file.stat().st_mode) == 0o600
    assert paths.log_file.read_text().startswith("old line")


def test_rotation_keeps_five_private_files(
    paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    setup_logging(paths, "INFO")
    log = logging.getLogger("authenticator.test")
    for index in range(400):
        log.info("line %04d %s", index, "x" * 60)
    _flush()
    files = sorted(p.name for p in paths.log_dir.iterdir())
    assert files == [
        "authenticator.log",
        *(f"authenticator.log.{n}" for n in range(1, logs.BACKUP_COUNT + 1)),
    ]
    for path in paths.log_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert path.stat().st_size <= 2000
    assert "line 0399" in paths.log_file.read_text()


def test_calling_twice_does_not_duplicate_handlers(paths: AppPaths) -> None:
    setup_logging(paths, "INFO", console=True)
    setup_logging(paths, "DEBUG", console=True)
    assert len(_ours()) == 2
    logging.getLogger("authenticator.test").info("once")
    _flush()
    assert paths.log_file.read_text().count("once") == 1
    assert logging.getLogger(logs.APP_LOGGER).level == logging.DEBUG


def test_level_from_argument_then_env_then_setting(
    paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_level(paths) == "INFO"  # no file: the default setting
    SettingsStore(paths).save(Settings(log_level="ERROR"))
    assert resolve_level(paths) == "ERROR"
    monkeypatch.setenv(logs.LEVEL_ENV, "debug")
    assert resolve_level(paths) == "DEBUG"
    assert resolve_level(paths, "warning") == "WARNING"
    monkeypatch.setenv(logs.LEVEL_ENV, "chatty")  # not a level: the setting applies
    assert resolve_level(paths) == "ERROR"
    with pytest.raises(DecodeError):
        resolve_level(paths, "chatty")


def test_env_level_filters_the_file(paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(logs.LEVEL_ENV, "WARNING")
    setup_logging(paths)
    log = logging.getLogger("authenticator.test")
    log.info("quiet info")
    log.warning("loud warning")
    _flush()
    text = paths.log_file.read_text()
    assert "loud warning" in text
    assert "quiet info" not in text


def test_a_damaged_settings_file_means_info(paths: AppPaths) -> None:
    paths.ensure()
    paths.settings.write_text("[not an object]")
    assert resolve_level(paths) == "INFO"


def test_existing_console_handlers_keep_their_level(paths: AppPaths) -> None:
    root = logging.getLogger()
    foreign = logging.StreamHandler()
    root.addHandler(foreign)
    try:
        setup_logging(paths, "DEBUG")
        assert foreign.level == root.level  # pinned: still shows only what it showed
    finally:
        root.removeHandler(foreign)


def test_secrets_in_a_log_call_are_redacted(paths: AppPaths) -> None:
    setup_logging(paths, "DEBUG")
    log = logging.getLogger("authenticator.test")
    log.info("got token %s for scope keymgmt:list", JWT)
    log.debug("key=%s hex=%s", KEY_B64, KEY_HEX)
    log.info(f"inline Bearer {JWT}")  # the careless way must be caught too
    _flush()
    text = paths.log_file.read_text()
    for secret in (JWT, KEY_B64, KEY_HEX, JWT.split(".")[2]):
        assert secret not in text
    assert text.count(REDACTED) == 4
    assert "for scope keymgmt:list" in text  # the rest of the message stays


def test_secrets_in_a_traceback_are_redacted(paths: AppPaths) -> None:
    setup_logging(paths, "INFO")
    log = logging.getLogger("authenticator.test")

    def fail(token: str) -> None:
        raise ValueError(f"could not use {token} with key {KEY_HEX}")

    try:
        fail(JWT)
    except ValueError:
        log.exception("answer failed")
    _flush()
    text = paths.log_file.read_text()
    assert "Traceback (most recent call last)" in text
    assert 'File "' in text
    assert "test_logs.py" in text
    assert JWT not in text
    assert KEY_HEX not in text
    assert f"ValueError: could not use {REDACTED} with key {REDACTED}" in text


def test_console_output_is_redacted_too(
    paths: AppPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(paths, "INFO", console=True)
    logging.getLogger("authenticator.test").warning("leaked %s", KEY_B64)
    err = capsys.readouterr().err
    assert KEY_B64 not in err
    assert f"leaked {REDACTED}" in err


@pytest.mark.parametrize(
    "text",
    [
        "wrote /home/someone/.config/encedo-authenticator/settings.json",
        "/work/main/.venv/lib/python3.11/site-packages/PySide6/QtWidgets/QWidgetAction",
        "request 7f3a9c21 for HEM my-hem.local answered at 2026-11-23T10:00:00Z",
        "scope keymgmt:list,keymgmt:get,keymgmt:use:ExternalAuthenticatorId",
        "x" * 80,  # one repeated letter is not random
        "deadbeef" * 7,  # 56 hex digits: below the key length
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "secret",
    [
        JWT,
        KEY_B64,
        KEY_HEX,
        KEY_HEX.upper(),
        base64.b64encode(os.urandom(48)).decode(),  # standard alphabet, with + and /
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",  # an unsigned JWT
    ],
)
def test_token_shapes_are_redacted(secret: str) -> None:
    assert redact(f"before {secret} after") == f"before {REDACTED} after"

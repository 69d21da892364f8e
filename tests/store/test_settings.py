from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authenticator.errors import CorruptStoreError, DecodeError
from authenticator.store.paths import AppPaths
from authenticator.store.settings import Settings, SettingsStore, diff


def test_missing_file_gives_defaults(paths: AppPaths) -> None:
    store = SettingsStore(paths)
    assert store.load() == Settings()
    assert store.load_report() == ()
    defaults = Settings()
    assert defaults.poll_interval_s == 2
    assert defaults.idle_lock_min == 5
    assert defaults.default_broker_url == "https://api.encedo.com"


def test_save_and_load_round_trip(paths: AppPaths) -> None:
    store = SettingsStore(paths)
    chosen = Settings(poll_interval_s=10, theme="dark", notifications=False, log_level="DEBUG")
    store.save(chosen)
    assert SettingsStore(paths).load() == chosen
    assert stat.S_IMODE(os.stat(paths.settings).st_mode) == 0o600


def test_unknown_keys_are_kept_on_save(paths: AppPaths) -> None:
    paths.settings.write_text(json.dumps({"future_option": [1, 2], "theme": "light"}))
    store = SettingsStore(paths)
    loaded = store.load()
    assert loaded.theme == "light"
    store.save(Settings(theme="dark"))
    saved = json.loads(paths.settings.read_text())
    assert saved["future_option"] == [1, 2]
    assert saved["theme"] == "dark"


def test_invalid_values_fall_back_one_by_one(paths: AppPaths) -> None:
    paths.settings.write_text(
        json.dumps(
            {
                "poll_interval_s": 0,
                "idle_lock_min": 30,
                "notifications": "yes",
                "theme": "neon",
                "default_broker_url": "http://evil.example",
                "log_level": "LOUD",
                "mute_minutes_after_report": True,
            }
        )
    )
    store = SettingsStore(paths)
    loaded = store.load()
    assert loaded == Settings(idle_lock_min=30)
    report = store.load_report()
    assert len(report) == 6
    assert any("poll_interval_s must be a whole number from 1 to 300" in n for n in report)
    assert any("default, 2" in n for n in report)
    store.save(loaded)
    assert store.load_report() == ()


@pytest.mark.parametrize(
    "content", [b"{broken", b"[1, 2]", b'"text"', b"\xff\xfe"], ids=["json", "list", "str", "utf"]
)
def test_a_file_that_is_not_a_json_object_is_corrupt(paths: AppPaths, content: bytes) -> None:
    paths.settings.write_bytes(content)
    store = SettingsStore(paths)
    with pytest.raises(CorruptStoreError, match=str(paths.settings)) as caught:
        store.load()
    assert "move it away" in str(caught.value)
    with pytest.raises(CorruptStoreError):
        store.save(Settings())
    assert paths.settings.read_bytes() == content


@pytest.mark.parametrize(
    "changes",
    [
        {"poll_interval_s": 301},
        {"idle_lock_min": 1441},
        {"idle_lock_min": -1},
        {"lock_on_session_lock": 1},
        {"theme": "blue"},
        {"default_broker_url": "https://api.encedo.com/v1"},
        {"default_broker_url": "ftp://api.encedo.com"},
        {"default_broker_url": "https://"},
        {"default_broker_url": "https://h:99999"},
        {"log_level": "info"},
        {"mute_minutes_after_report": 2000},
    ],
)
def test_constructor_validates(changes: dict[str, object]) -> None:
    with pytest.raises(DecodeError):
        Settings(**changes)  # type: ignore[arg-type]


def test_replace_validates_and_knows_every_setting() -> None:
    assert Settings().replace(theme="dark", idle_lock_min=0) == Settings(
        theme="dark", idle_lock_min=0
    )
    with pytest.raises(DecodeError, match="no setting called 'colour'"):
        Settings().replace(colour="red")
    with pytest.raises(DecodeError):
        Settings().replace(poll_interval_s=0)


def test_loopback_http_broker_is_allowed() -> None:
    assert Settings(default_broker_url="http://127.0.0.1:5555").default_broker_url
    assert Settings(default_broker_url="http://localhost:1").default_broker_url


def test_diff_names_changed_keys_with_new_values() -> None:
    old = Settings()
    new = Settings(poll_interval_s=7, start_at_login=True)
    assert diff(old, new) == {"poll_interval_s": 7, "start_at_login": True}
    assert diff(new, new) == {}


def test_save_creates_a_missing_config_dir(tmp_path: Path) -> None:
    paths = AppPaths.for_home(tmp_path / "new-home", {})
    SettingsStore(paths).save(Settings(poll_interval_s=4))
    assert stat.S_IMODE(os.stat(paths.config_dir).st_mode) == 0o700
    assert "SettingsStore" in repr(SettingsStore(paths))


_values = st.none() | st.booleans() | st.integers(-5, 2000) | st.text(max_size=30)


@settings(
    max_examples=200,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.dictionaries(st.sampled_from([*Settings().to_json(), "other"]), _values))
def test_any_json_object_loads_to_valid_settings(paths: AppPaths, obj: dict[str, object]) -> None:
    paths.settings.write_text(json.dumps(obj))
    store = SettingsStore(paths)
    loaded = store.load()
    assert Settings.from_json(loaded.to_json()) == (loaded, ())
    assert len(store.load_report()) <= len(obj)

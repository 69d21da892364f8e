from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

import platformdirs
import pytest

from authenticator.errors import StoreError
from authenticator.store.paths import APP_NAME, AppPaths


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_for_home_puts_everything_under_home(tmp_path: Path) -> None:
    paths = AppPaths.for_home(tmp_path / "h", {})
    home = (tmp_path / "h").resolve()
    assert paths.data_dir == home
    assert paths.config_dir == home
    assert paths.log_dir == home / "logs"
    assert paths.runtime_dir == home / "run"
    assert paths.vault == home / "vault.bin"
    assert paths.journal == home / "journal.jsonl"
    assert paths.journal_head == home / "journal.head"
    assert paths.settings == home / "settings.json"
    assert paths.handled == home / "handled.json"
    assert paths.lockfile == home / ".lock"
    assert paths.log_file == home / "logs" / "authenticator.log"
    assert paths.agent_socket.parent == home / "run"
    assert paths.agent_socket.name.startswith("agent-")


def test_socket_goes_to_xdg_runtime_dir_and_differs_per_home(tmp_path: Path) -> None:
    env = {"XDG_RUNTIME_DIR": "/run/user/4242"}
    one = AppPaths.for_home(tmp_path / "one", env)
    two = AppPaths.for_home(tmp_path / "two", env)
    assert one.runtime_dir == Path("/run/user/4242") / APP_NAME
    assert one.runtime_dir == two.runtime_dir
    assert one.agent_socket != two.agent_socket
    assert len(one.agent_socket.name) == len("agent-") + 12 + len(".sock")


def test_same_home_spelled_differently_gets_the_same_socket(tmp_path: Path) -> None:
    env = {"XDG_RUNTIME_DIR": "/run/user/4242"}
    (tmp_path / "h").mkdir()
    direct = AppPaths.for_home(tmp_path / "h", env)
    indirect = AppPaths.for_home(tmp_path / "h" / ".." / "h", env)
    assert direct.agent_socket == indirect.agent_socket


def test_long_home_keeps_the_socket_path_short(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    paths = AppPaths.for_home(deep, {})
    assert len(os.fsencode(paths.agent_socket)) < 100
    assert paths.data_dir == deep.resolve()


def test_default_uses_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/4242")
    paths = AppPaths.default()
    assert paths.data_dir == Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    assert paths.config_dir == Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    assert paths.log_dir == Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    assert paths.runtime_dir == Path(platformdirs.user_runtime_dir(APP_NAME, appauthor=False))
    assert paths.agent_socket.name == "agent.sock"


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG platforms only")
def test_default_without_xdg_runtime_dir_uses_a_private_temp_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    runtime = AppPaths.default().runtime_dir
    assert runtime == Path(tempfile.gettempdir()) / f"{APP_NAME}-{os.getuid()}"


def test_resolve_prefers_argument_then_environment_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/4242")
    env = {"AUTHENTICATOR_HOME": str(tmp_path / "env")}
    assert AppPaths.resolve(str(tmp_path / "arg"), env).data_dir == (tmp_path / "arg").resolve()
    assert AppPaths.resolve(None, env).data_dir == (tmp_path / "env").resolve()
    assert AppPaths.resolve(None, {}) == AppPaths.default()
    assert AppPaths.resolve("", {"AUTHENTICATOR_HOME": ""}) == AppPaths.default()


def test_resolve_expands_the_user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert AppPaths.resolve("~/auth", {}).data_dir == (tmp_path / "auth").resolve()


def test_ensure_creates_private_dirs_and_tightens_existing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    paths = AppPaths.for_home(home, {})
    paths.ensure()
    for directory in (paths.data_dir, paths.log_dir, paths.runtime_dir):
        assert directory.is_dir()
        assert _mode(directory) == 0o700
    paths.ensure()  # idempotent
    assert _mode(home) == 0o700


def test_ensure_refuses_a_directory_of_another_user(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to give a directory to another user")
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(foreign, 12345, 12345)
    with pytest.raises(StoreError, match="another user"):
        AppPaths.for_home(foreign, {}).ensure()


def test_ensure_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("not a folder")
    with pytest.raises(StoreError, match="not a directory"):
        AppPaths.for_home(tmp_path / "home", {}).ensure()

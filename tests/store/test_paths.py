from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import platformdirs
import pytest

from authenticator.errors import StoreError, UnsafeFolderError
from authenticator.store.paths import APP_NAME, AppPaths, check_runtime_dir


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
    for directory in (paths.data_dir, paths.log_dir):
        assert directory.is_dir()
        assert _mode(directory) == 0o700
    paths.ensure()  # idempotent
    assert _mode(home) == 0o700
    # The runtime folder is the agent's: made (and checked) when the agent starts, not here.
    assert not paths.runtime_dir.exists()
    assert paths.check_runtime(create=True) is True
    assert _mode(paths.runtime_dir) == 0o700


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


# ---------------------------------------------------------------------------- the runtime folder


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A parent like /tmp's own: nobody else can rename what is in it."""
    d = tmp_path / "base"
    d.mkdir(mode=0o700)
    return d


def test_runtime_dir_missing_is_no_app_and_create_makes_it_private(base: Path) -> None:
    run = base / "encedo-authenticator-1"
    assert check_runtime_dir(run, environ={}) is False
    assert not run.exists()  # a client never creates it
    assert check_runtime_dir(run, create=True, environ={}) is True
    assert stat.S_ISDIR(os.lstat(run).st_mode)
    assert _mode(run) == 0o700
    assert os.lstat(run).st_uid == os.getuid()
    assert check_runtime_dir(run, environ={}) is True  # and it passes its own check


def test_runtime_dir_is_0700_whatever_the_umask(base: Path) -> None:
    # In a process of its own: the umask is process-wide.
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from authenticator.store.paths import check_runtime_dir\n"
        "os.umask(0o277)\n"
        "print(check_runtime_dir(Path(sys.argv[1]), create=True, environ={}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(base / "run")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "True"
    assert _mode(base / "run") == 0o700


def test_runtime_dir_symlink_is_refused_and_left_alone(base: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    link = base / "run"
    link.symlink_to(target)
    for create in (False, True):
        with pytest.raises(UnsafeFolderError, match="is a symbolic link") as info:
            check_runtime_dir(link, create=create, environ={})
        assert str(link) in str(info.value)
        assert "Remove it" in str(info.value)
    assert link.is_symlink()
    assert os.readlink(link) == str(target)


def test_runtime_dir_that_is_a_file_is_refused(base: Path) -> None:
    (base / "run").write_text("")
    with pytest.raises(UnsafeFolderError, match="is not a folder"):
        check_runtime_dir(base / "run", create=True, environ={})


@pytest.mark.parametrize("mode", [0o755, 0o770, 0o777, 0o1777, 0o701, 0o500])
def test_runtime_dir_of_ours_with_another_mode_is_refused_not_repaired(
    base: Path, mode: int
) -> None:
    run = base / "run"
    run.mkdir()
    run.chmod(mode)
    with pytest.raises(UnsafeFolderError, match=f"mode {mode:04o}, it must be 0700") as info:
        check_runtime_dir(run, create=True, environ={})
    assert f"chmod 700 {run}" in str(info.value)
    assert _mode(run) == mode  # never chmod a folder this call did not create


def test_runtime_dir_of_another_owner_is_refused_even_for_root(base: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to give a folder to another user (tests/security covers setpriv)")
    run = base / "run"
    run.mkdir(mode=0o700)
    os.chown(run, 65534, 65534)  # what a squatter leaves; root too must refuse it
    with pytest.raises(UnsafeFolderError, match=r"belongs to .*uid 65534.*not to you") as info:
        check_runtime_dir(run, create=True, environ={})
    assert "administrator" in str(info.value)
    assert os.lstat(run).st_uid == 65534


def test_runtime_dir_in_a_parent_others_can_change_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # writable by all and not sticky: anyone could swap our folder
    with pytest.raises(UnsafeFolderError, match="which other users can change"):
        check_runtime_dir(shared / "run", create=True, environ={})
    assert not (shared / "run").exists()
    shared.chmod(0o1777)  # sticky, like /tmp: only an entry's owner can rename it
    assert check_runtime_dir(shared / "run", create=True, environ={}) is True


def test_the_temp_dir_itself_is_a_fine_parent() -> None:
    info = os.stat(tempfile.gettempdir())
    if not (
        info.st_uid in (0, os.getuid())
        and (info.st_mode & stat.S_ISVTX or not info.st_mode & 0o022)
    ):
        pytest.skip("this machine's temporary folder is not like /tmp")
    run = Path(tempfile.mkdtemp(prefix="eda-rt-"))
    try:
        run.chmod(0o700)
        assert check_runtime_dir(run, environ={}) is True
    finally:
        run.rmdir()


@pytest.mark.parametrize(
    ("setup", "problem"),
    [
        ("world", "can be written by other users (mode 0777)"),
        ("group", "can be written by other users (mode 0770)"),
        ("link", "is a symbolic link"),
        ("file", "is not a folder"),
    ],
)
def test_xdg_runtime_dir_itself_must_be_ours_alone(
    tmp_path: Path, setup: str, problem: str
) -> None:
    xdg = tmp_path / "xdg"
    if setup == "link":
        (tmp_path / "real").mkdir(mode=0o700)
        xdg.symlink_to(tmp_path / "real")
    elif setup == "file":
        xdg.write_text("")
    else:
        xdg.mkdir()
        xdg.chmod(0o777 if setup == "world" else 0o770)
    env = {"XDG_RUNTIME_DIR": str(xdg)}
    with pytest.raises(UnsafeFolderError, match="XDG_RUNTIME_DIR") as info:
        check_runtime_dir(xdg / APP_NAME, create=True, environ=env)
    assert problem in str(info.value)
    assert "unset it" in str(info.value)


def test_xdg_runtime_dir_of_ours_is_used(tmp_path: Path) -> None:
    xdg = Path(tempfile.mkdtemp(prefix="eda-xdg-"))  # short: the socket path must fit
    try:
        env = {"XDG_RUNTIME_DIR": str(xdg)}
        paths = AppPaths.for_home(tmp_path / "home", env)
        assert paths.runtime_dir == xdg / APP_NAME
        assert check_runtime_dir(paths.runtime_dir, create=True, environ=env) is True
        assert _mode(paths.runtime_dir) == 0o700
    finally:
        shutil.rmtree(xdg)

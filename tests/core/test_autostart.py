"""Start at login: the XDG autostart entry is written, valid, switched off, and removed."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from authenticator.core import autostart
from authenticator.errors import StateError


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def _validate(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("needs desktop-file-validate (apt-get install desktop-file-utils)")
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower(), result.stdout


def test_path_follows_xdg_config_home(environ: dict[str, str], tmp_path: Path) -> None:
    expected = tmp_path / "config" / "autostart" / "com.encedo.Authenticator.desktop"
    assert autostart.autostart_path(environ) == expected


def test_path_falls_back_to_home_config(tmp_path: Path) -> None:
    for config in ("", "relative/config"):  # a relative XDG_CONFIG_HOME is ignored
        env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": config}
        assert autostart.autostart_path(env) == (
            tmp_path / ".config" / "autostart" / "com.encedo.Authenticator.desktop"
        )


def test_enable_writes_a_valid_entry_then_disable_removes_it(environ: dict[str, str]) -> None:
    assert not autostart.is_enabled(environ)
    path = autostart.enable(environ, executable="/opt/encedo/bin/authenticator", platform="linux")
    assert path == autostart.autostart_path(environ)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    text = path.read_text()
    assert "Exec=/opt/encedo/bin/authenticator\n" in text
    assert "TryExec=/opt/encedo/bin/authenticator\n" in text
    assert "X-GNOME-Autostart-enabled=true" in text
    assert "NoDisplay=true" in text
    assert not list(path.parent.glob(".*.tmp"))  # the temporary file was renamed, not left
    _validate(path)
    assert autostart.is_enabled(environ)

    autostart.disable(environ)
    assert not path.exists()
    assert not autostart.is_enabled(environ)
    autostart.disable(environ)  # twice is fine


def test_enable_replaces_an_older_entry(environ: dict[str, str]) -> None:
    autostart.enable(environ, executable="/old/authenticator", platform="linux")
    path = autostart.enable(environ, executable="/new/authenticator", platform="linux")
    assert "Exec=/new/authenticator\n" in path.read_text()


def test_a_path_with_spaces_and_specials_is_quoted(environ: dict[str, str]) -> None:
    exe = "/home/ann/My Apps/it's $here/authenticator"
    path = autostart.enable(environ, executable=exe, platform="linux")
    assert 'Exec="/home/ann/My Apps/it\'s \\\\$here/authenticator"\n' in path.read_text()
    _validate(path)


@pytest.mark.parametrize(
    ("argument", "quoted"),
    [
        ("/usr/bin/authenticator", "/usr/bin/authenticator"),
        ("/a b/authenticator", '"/a b/authenticator"'),
        ("/a%b/authenticator", "/a%%b/authenticator"),
        ('/a"b', '"/a\\\\"b"'),
        ("/a\\b c", '"/a\\\\\\\\b c"'),
    ],
)
def test_exec_quoting(argument: str, quoted: str) -> None:
    assert autostart.desktop_exec_quote(argument) == quoted


def test_switched_off_entries_are_not_enabled(environ: dict[str, str]) -> None:
    path = autostart.enable(environ, executable="/usr/bin/authenticator", platform="linux")
    path.write_text(path.read_text() + "Hidden=true\n")
    assert not autostart.is_enabled(environ)
    path.write_text(path.read_text().replace("Autostart-enabled=true", "Autostart-enabled=false"))
    assert not autostart.is_enabled(environ)


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_other_platforms_say_not_supported(environ: dict[str, str], platform: str) -> None:
    with pytest.raises(StateError, match="not supported here yet"):
        autostart.enable(environ, platform=platform)
    assert not autostart.autostart_path(environ).exists()


def test_flatpak_says_not_supported(environ: dict[str, str]) -> None:
    with pytest.raises(StateError, match="Background portal"):
        autostart.enable({**environ, "FLATPAK_ID": "com.encedo.Authenticator"}, platform="linux")


def test_current_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "bin" / "authenticator"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert autostart.current_executable(str(script)) == str(script)
    monkeypatch.setenv("PATH", str(script.parent))
    assert autostart.current_executable("/usr/lib/python3/x/__main__.py") == str(script)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert autostart.current_executable("-c") == "authenticator"


def test_unwritable_folder_is_a_store_error(environ: dict[str, str], tmp_path: Path) -> None:
    from authenticator.errors import StoreError

    (tmp_path / "config").write_text("a file where the folder should be")
    with pytest.raises(StoreError, match="autostart entry"):
        autostart.enable(environ, executable="/usr/bin/authenticator", platform="linux")

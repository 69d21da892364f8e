"""The Flatpak manifest: the right sandbox holes and no others, pinned sources, current deps."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from authenticator import APP_ID

ROOT = Path(__file__).resolve().parents[2]
FLATPAK = ROOT / "packaging" / "flatpak"
MANIFEST = FLATPAK / f"{APP_ID}.json"
REQUIRED_FINISH_ARGS = {
    "--share=network",
    "--share=ipc",
    "--socket=wayland",
    "--socket=fallback-x11",
    "--talk-name=org.freedesktop.Notifications",
    "--talk-name=org.kde.StatusNotifierWatcher",
    "--talk-name=org.freedesktop.secrets",
    # lock signals and the desktop's idle time (gui/sessionlock.py, gui/idle.py)
    "--talk-name=org.freedesktop.ScreenSaver",
    "--talk-name=org.gnome.ScreenSaver",
    "--talk-name=org.gnome.Mutter.IdleMonitor",
    "--system-talk-name=org.freedesktop.login1",
    "--filesystem=xdg-run/encedo-authenticator:create",
}
# The desktop portal (Screenshot for the QR code on Wayland and in the sandbox, Background for
# start at login) needs no hole: org.freedesktop.portal.* is always reachable from a Flatpak.
PORTAL_TALK = re.compile(r"^--talk-name=org\.freedesktop\.portal\.")
# Holes this app must never punch: whole-home or host file access, the whole session bus, X11
# even on Wayland, the Flatpak portal that can spawn host commands.
FORBIDDEN = re.compile(
    r"^--(filesystem=(home|host|host-os|host-etc|~)(:.*)?|socket=(session-bus|system-bus|x11)"
    r"|talk-name=org\.freedesktop\.Flatpak|own-name=.*|device=all)$"
)


def _load(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_manifest_identity() -> None:
    manifest = _load(MANIFEST)
    assert manifest["id"] == APP_ID
    assert manifest["command"] == "authenticator"
    for key in ("runtime", "runtime-version", "sdk", "finish-args", "modules"):
        assert manifest.get(key), key


def test_finish_args_are_exactly_what_the_app_needs() -> None:
    args = _load(MANIFEST)["finish-args"]
    assert isinstance(args, list)
    assert set(args) >= REQUIRED_FINISH_ARGS
    assert [arg for arg in args if FORBIDDEN.match(arg)] == []
    assert [arg for arg in args if PORTAL_TALK.match(arg)] == []  # already allowed: no hole
    assert len(args) == len(set(args))


def test_app_module_installs_the_desktop_files() -> None:
    modules = _load(MANIFEST)["modules"]
    assert isinstance(modules, list)
    assert modules[0] == "python-deps.json"
    app = modules[-1]
    assert isinstance(app, dict)
    commands = "\n".join(app["build-commands"])
    for path in (
        f"resources/{APP_ID}.desktop",
        f"resources/{APP_ID}.metainfo.xml",
        "resources/icons/hicolor/scalable/apps",
    ):
        assert path in commands
        assert (ROOT / path).exists()
    assert f"share/applications/{APP_ID}.desktop" in commands
    assert f"share/metainfo/{APP_ID}.metainfo.xml" in commands
    (source,) = app["sources"]
    assert source["type"] == "dir"
    assert (MANIFEST.parent / source["path"]).resolve() == ROOT


def test_python_sources_are_pinned_wheels() -> None:
    deps = _load(FLATPAK / "python-deps.json")
    modules = deps["modules"]
    assert isinstance(modules, list)
    names = {module["name"] for module in modules}
    assert names == {"python-build-deps", "python-runtime-deps"}
    for module in modules:
        for source in module["sources"]:
            assert source["type"] == "file"
            assert source["url"].startswith("https://files.pythonhosted.org/")
            assert source["url"].endswith(".whl")
            assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
    build = next(m for m in modules if m["name"] == "python-build-deps")
    assert build["cleanup"] == ["*"]  # build tools do not ship


def test_python_deps_cover_pyproject() -> None:
    """Every dependency in pyproject.toml has its wheel (else: make_python_deps.py)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        _normalise(re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0]) for dep in project["dependencies"]
    }
    runtime = next(
        m
        for m in _load(FLATPAK / "python-deps.json")["modules"]  # type: ignore[attr-defined]
        if m["name"] == "python-runtime-deps"
    )
    shipped = {_normalise(Path(s["url"]).name.split("-")[0]) for s in runtime["sources"]}
    missing = wanted - shipped
    assert not missing, f"run: python3 packaging/flatpak/make_python_deps.py (missing {missing})"


def test_flatpak_builder_reads_it_without_warnings(tmp_path: Path) -> None:
    tool = shutil.which("flatpak-builder")
    if tool is None:
        pytest.skip("flatpak-builder is not installed (optional: apt-get install flatpak-builder)")
    result = subprocess.run(
        [tool, "--show-manifest", str(MANIFEST)],
        cwd=tmp_path,  # its state folder (.flatpak-builder) goes here, not into the checkout
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    resolved = json.loads(result.stdout)
    assert [m["name"] for m in resolved["modules"]] == ["python-deps", "encedo-authenticator"]

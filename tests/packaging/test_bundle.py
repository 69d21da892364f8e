"""The standalone Linux bundle: build it, run it, install it like a desktop app.

Building takes about 40 s (PyInstaller), so it runs only with ``AUTHENTICATOR_BUILD_BUNDLE=1``:
``AUTHENTICATOR_BUILD_BUNDLE=1 .venv/bin/pytest -m bundle tests/packaging``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from authenticator import APP_ID
from tests.packaging import smoke

ROOT = smoke.ROOT
BUNDLE = ROOT / "dist" / "authenticator"

pytestmark = [
    pytest.mark.bundle,
    pytest.mark.skipif(
        os.environ.get("AUTHENTICATOR_BUILD_BUNDLE") != "1" or not sys.platform.startswith("linux"),
        reason="builds the bundle only with AUTHENTICATOR_BUILD_BUNDLE=1 (on Linux)",
    ),
]


@pytest.fixture(scope="module")
def exe() -> Path:
    subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build_bundle.py")],
        check=True,
        timeout=1200,
        cwd=ROOT,
    )
    path = BUNDLE / "authenticator"
    assert path.is_file()
    return path


def test_bundle_runs(exe: Path, tmp_path: Path) -> None:
    env = smoke.base_env(tmp_path)
    smoke.check_version(exe, env)
    smoke.check_emulator(exe, env)


def test_bundle_has_qt_and_its_metadata(exe: Path, tmp_path: Path) -> None:
    """``--diagnostics`` starts Qt (offscreen) in the bundle and reads the packages' versions."""
    result = subprocess.run(
        [str(exe), "--diagnostics", "--json"],
        capture_output=True,
        text=True,
        env=smoke.base_env(tmp_path),
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["desktop_support"]["tray"]["qt_platform"] == "offscreen"
    missing = [name for name, version in report["versions"].items() if version == "not installed"]
    assert missing == []


def test_bundle_carries_data_and_no_unused_qt(exe: Path) -> None:
    internal = exe.parent / "_internal"
    assert (internal / "authenticator/resources/data" / f"{APP_ID}.desktop").is_file()
    assert (internal / "authenticator/emulator/demo/index.html").is_file()
    plugins = internal / "PySide6/Qt/plugins"
    assert (plugins / "platforms/libqxcb.so").is_file()
    assert not (plugins / "platformthemes/libqgtk3.so").exists()
    assert not list(internal.glob("PySide6/Qt/lib/libQt6Qml*"))
    assert not list(internal.glob("PySide6/Qt/translations/*.qm"))


def test_gui_starts_from_the_bundle(exe: Path, tmp_path: Path) -> None:
    smoke.check_gui_starts(exe, smoke.base_env(tmp_path))


def test_install_script(exe: Path, tmp_path: Path) -> None:
    prefix, dest = tmp_path / "prefix", tmp_path / "opt" / "encedo-authenticator"
    env = {**smoke.base_env(tmp_path), "PREFIX": str(prefix), "DEST": str(dest)}
    subprocess.run(
        ["sh", str(exe.parent / "install.sh")],
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )
    desktop = prefix / "share/applications" / f"{APP_ID}.desktop"
    assert f"Exec={dest}/authenticator %u" in desktop.read_text().splitlines()
    validator = shutil.which("desktop-file-validate")
    if validator:
        subprocess.run([validator, str(desktop)], check=True, timeout=60)
    assert (prefix / "share/icons/hicolor/512x512/apps" / f"{APP_ID}.png").is_file()
    assert (prefix / "share/metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    smoke.check_version(prefix / "bin" / "authenticator", env)

    subprocess.run(
        ["sh", str(dest / "install.sh"), "--uninstall"],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert not desktop.exists()
    assert not dest.exists()
    assert not (prefix / "bin" / "authenticator").exists()

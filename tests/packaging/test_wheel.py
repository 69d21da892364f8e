"""The wheel and the editable install both carry the data files, and the app runs from the wheel.

The wheel is built from a copy of the checkout (so no stale ``build/`` leaks in), installed with
its dependencies into a fresh venv, and run from outside the checkout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from authenticator import APP_ID
from tests.packaging import smoke

ROOT = smoke.ROOT
IGNORED = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
    "tests", "benchmarks", "shots", ".coverage*",
)  # fmt: skip
DATA_FILES = (
    f"authenticator/resources/data/{APP_ID}.desktop",
    f"authenticator/resources/data/{APP_ID}.metainfo.xml",
    f"authenticator/resources/data/autostart/{APP_ID}.desktop",
    f"authenticator/resources/data/icons/hicolor/512x512/apps/{APP_ID}.png",
    f"authenticator/resources/data/icons/hicolor/scalable/apps/{APP_ID}-symbolic.svg",
    "authenticator/emulator/demo/index.html",
)
WHERE = (
    "import importlib.resources as r; from authenticator import resources; "
    "print(r.files('authenticator.resources.data')); print(resources.icon_path(size=32))"
)


def _venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin"


def _pip(bin_dir: Path, *args: str) -> None:
    subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *args,
        ],
        check=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=IGNORED)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(work)],
        check=True,
        timeout=300,
    )
    (built,) = work.glob("encedo_authenticator-*.whl")
    return built


def test_wheel_carries_the_data_files(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for name in DATA_FILES:
        assert name in names, name
    assert not [n for n in names if n.startswith(("resources/", "tests/", "packaging/"))]


def test_installed_wheel_runs(wheel: Path, tmp_path: Path) -> None:
    bin_dir = _venv(tmp_path / "venv")
    _pip(bin_dir, str(wheel))
    env = smoke.base_env(tmp_path)

    where = subprocess.run(
        [str(bin_dir / "python"), "-c", WHERE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=True,
    ).stdout.split()
    site = str(tmp_path / "venv")
    assert where[0].startswith(site)  # the wheel's copy, not the checkout's
    assert where[1].startswith(site)
    assert Path(where[1]).is_file()

    smoke.check_version(bin_dir / "authenticator", env)
    smoke.check_emulator(bin_dir / "authenticator", env)
    smoke.check_gui_starts(bin_dir / "authenticator", env)


def test_editable_install_finds_the_checkout(tmp_path: Path) -> None:
    """``pip install -e .`` (what bootstrap.py does) maps the data package to ``resources/``."""
    bin_dir = _venv(tmp_path / "venv")
    _pip(bin_dir, "--no-deps", "-e", str(ROOT))
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", WHERE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=smoke.base_env(tmp_path),
        timeout=60,
        check=True,
    ).stdout.split()
    assert where == [
        str(ROOT / "resources"),
        str(ROOT / "resources/icons/hicolor/32x32/apps" / f"{APP_ID}.png"),
    ]

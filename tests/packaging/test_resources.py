"""The data files: valid desktop entries and AppStream metadata, and a complete icon set."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from authenticator import APP_ID, resources
from authenticator.errors import StateError

ROOT = Path(__file__).resolve().parents[2]
STATES = ("", "-pending", "-locked", "-offline")


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"needs {name} (apt-get install {package})")
    return path


@pytest.mark.parametrize("entry", [resources.desktop_file, resources.autostart_file])
def test_desktop_entries_validate(entry: object) -> None:
    assert callable(entry)
    path = entry()
    result = subprocess.run(
        [_tool("desktop-file-validate", "desktop-file-utils"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    problems = [line for line in result.stdout.splitlines() if "hint:" not in line]
    assert problems == []


def test_desktop_entry_content() -> None:
    text = resources.desktop_file().read_text()
    for line in (
        "Name=Encedo Authenticator",
        f"Icon={APP_ID}",
        "Exec=authenticator %u",
        "Terminal=false",
        "Categories=Utility;Security;Qt;",
        "MimeType=x-scheme-handler/encedo-auth;",
        "StartupNotify=true",
    ):
        assert line in text.splitlines()


def test_metainfo_validates() -> None:
    result = subprocess.run(
        [
            _tool("appstreamcli", "appstream"),
            "validate",
            "--no-net",
            str(resources.metainfo_file()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # No error and no warning (only pedantic notes would be printed, and none are asked for).
    problems = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:", "I:")]
    assert problems == [], result.stdout


def test_metainfo_names_the_desktop_entry_and_licence() -> None:
    text = resources.metainfo_file().read_text()
    assert f"<id>{APP_ID}</id>" in text
    assert f'<launchable type="desktop-id">{APP_ID}.desktop</launchable>' in text
    assert "<project_license>MIT</project_license>" in text
    assert "<binary>authenticator</binary>" in text


@pytest.mark.parametrize("size", resources.PNG_SIZES)
def test_png_icon_at_every_size(size: int) -> None:
    path = resources.icon_path(size=size)
    assert path == ROOT / "resources/icons/hicolor" / f"{size}x{size}/apps/{APP_ID}.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        alpha = image.getchannel("A")
        assert alpha.getpixel((0, 0)) == 0  # a shape on a transparent ground
        assert alpha.getpixel((size // 2, size // 2)) == 255


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("symbolic", ["", "-symbolic"])
def test_svg_icons_exist_and_render_with_qt(state: str, symbolic: str) -> None:
    """The tray draws these with QtSvg (SVG Tiny): each must render, not come out empty."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    path = resources.icon_path(f"{APP_ID}{state}{symbolic}")
    renderer = QSvgRenderer(str(path))
    assert renderer.isValid()
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, 64, 64))
    painter.end()
    assert image.pixelColor(32, 60).alpha() > 0  # the shield's lower body
    assert image.pixelColor(1, 1).alpha() == 0


def test_svgs_match_their_generator() -> None:
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "packaging/make_icons.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_icons"] = module
    try:
        spec.loader.exec_module(module)
        assert module.check() == 0, "run: python3 packaging/make_icons.py"
    finally:
        del sys.modules["make_icons"]


def test_helpers_return_real_files() -> None:
    for path in (
        resources.desktop_file(),
        resources.metainfo_file(),
        resources.autostart_file(),
        resources.icon_path(),
        resources.icon_path(f"{APP_ID}-symbolic"),
    ):
        assert path.is_file()
        assert path.is_absolute()


@pytest.mark.parametrize(
    ("name", "size"), [("no-such-icon", None), (APP_ID, 100), ("../../etc/passwd", None)]
)
def test_unknown_icons_are_refused(name: str, size: int | None) -> None:
    with pytest.raises(StateError):
        resources.icon_path(name, size)

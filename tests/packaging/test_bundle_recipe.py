"""The bundle's recipe, checked without building it: Qt modules, plugins, platform icons."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def common() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location(
        "bundle_common", ROOT / "packaging" / "bundle_common.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bundle_common"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bundle_common"]


def test_the_code_uses_only_the_qt_modules_the_bundle_ships(common: ModuleType) -> None:
    used = common.qt_modules_in_source()
    extra = {name: files for name, files in used.items() if name not in common.QT_USED}
    assert not extra, f"add these to QT_USED in packaging/bundle_common.py: {extra}"


def test_unused_qt_modules_are_excluded(common: ModuleType) -> None:
    excluded = set(common.excludes())
    available = common.available_qt_modules()
    assert "QtWidgets" in available
    for name in available:
        assert (f"PySide6.{name}" in excluded) == (name not in common.QT_USED), name


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        ("/x/PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("/x/PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("/x/PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("/x/PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("/x/PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("C:/x/PySide6/plugins/platforms/qwindows.dll", True),
        ("/x/PySide6/Qt/plugins/platforms/libqcocoa.dylib", True),
        ("/x/PySide6/Qt/lib/libQt6Gui.so.6", True),  # not a plugin
    ],
)
def test_plugin_filter(common: ModuleType, source: str, kept: bool) -> None:
    hidden, binaries, datas = common.trim_qt(
        ["h"], [(source, "dst")], [("/x/qtbase_de.qm", "tr"), ("/x/a.json", "d")]
    )
    assert hidden == ["h"]
    assert (binaries == [(source, "dst")]) is kept
    assert datas == [("/x/a.json", "d")]  # translations dropped


def test_windows_and_macos_icons(common: ModuleType, tmp_path: Path) -> None:
    ico = common.platform_icon("ico", tmp_path)
    with Image.open(ico) as image:
        assert image.format == "ICO"
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(image.info["sizes"])
    icns = common.platform_icon("icns", tmp_path)
    with Image.open(icns) as image:
        assert image.format == "ICNS"
        assert (512, 512, 2) in image.info["sizes"] or (512, 512, 1) in image.info["sizes"]


def test_the_three_specs_share_the_recipe() -> None:
    for name in ("authenticator.spec", "authenticator-windows.spec", "authenticator-macos.spec"):
        text = (ROOT / "packaging" / name).read_text()
        compile(text, name, "exec")
        for needed in ("common.datas()", "common.excludes()", "common.HOOKS", "common.ENTRY"):
            assert needed in text, (name, needed)

"""What goes into the standalone bundle, shared by the three PyInstaller specs.

The specs (``authenticator.spec`` for Linux, ``authenticator-windows.spec``,
``authenticator-macos.spec``) import this module, so the three platforms ship the same things:

- the app's code, every ``authenticator`` module (the CLI imports its commands lazily);
- the data files: ``resources/`` as ``authenticator/resources/data`` (where
  ``authenticator.resources`` looks) and the package's own data (the emulator's demo page);
- of Qt, only the modules the app uses (``QT_USED``): every other PySide6 module is excluded, so
  PyInstaller's hooks do not pull in QML, WebEngine, multimedia and their plugins.

``build_bundle.py`` refuses to build when the code imports a Qt module missing from ``QT_USED``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from authenticator.cli.diagnostics import PACKAGES

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "com.encedo.Authenticator"
APP_NAME = "Encedo Authenticator"
ENTRY = ROOT / "packaging" / "entry.py"
ICONS = ROOT / "resources" / "icons" / "hicolor"

# The Qt modules the app imports (gui only; the rest of the app is Qt-free).
QT_USED = ("QtCore", "QtGui", "QtWidgets", "QtSvg")
# Never needed in the bundle, whatever a dependency may import optionally.
NOT_SHIPPED = [
    "tkinter",
    "_tkinter",
    "pytest",
    "_pytest",
    "hypothesis",
    "mypy",
    "playwright",
    "IPython",
    "PySide6.scripts",
    "PIL._avif",  # AVIF pictures (5 MB of codecs); QR codes come as PNG, JPEG, GIF, BMP, WebP
    "PIL._imagingtk",
    "PIL.ImageTk",
]
_QT_IMPORT = re.compile(r"\bPySide6\.(Qt\w+)")
HOOKS = ROOT / "packaging" / "pyinstaller_hooks"

# Qt plugins kept, by folder; a folder not listed keeps nothing. The tray app needs a windowing
# system (X11 or Wayland; "offscreen" and "minimal" for headless runs and tests), the SVG icon
# engine and a few image formats, the compose/ibus input methods, and the portal theme (dialogs
# through the desktop). Dropped: the GTK 3 theme (it alone pulls in GTK, cairo, pango, atk: about
# 25 MB), framebuffer/EGLFS/VNC platforms, evdev input, server-side Wayland integrations. The Qt
# translations are dropped too: the app's own text is English.
QT_PLUGINS_KEPT = {
    "platforms": {"qxcb", "qwayland", "qoffscreen", "qminimal", "qcocoa", "qwindows"},
    "platformthemes": {"qxdgdesktopportal"},
    "platforminputcontexts": {
        "composeplatforminputcontextplugin",
        "ibusplatforminputcontextplugin",
    },
    "xcbglintegrations": {"qxcb-glx-integration", "qxcb-egl-integration"},
    "iconengines": {"qsvgicon"},
    "imageformats": {"qsvg", "qico", "qjpeg", "qgif", "qicns"},
    "wayland-decoration-client": {"bradient", "adwaita"},
    "wayland-graphics-integration-client": {"qt-plugin-wayland-egl"},
    "wayland-shell-integration": {"xdg-shell"},
    "styles": {"qmodernwindowsstyle", "qwindowsvistastyle", "qmacstyle"},
}


def available_qt_modules() -> list[str]:
    """Every ``PySide6.Qt*`` extension module installed here."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    names = set()
    for location in spec.submodule_search_locations:
        for path in Path(location).iterdir():
            name = path.name.split(".")[0]
            if name.startswith("Qt") and path.suffix in (".so", ".pyd", ".pyi") and name != "Qt":
                names.add(name)
    return sorted(names)


def excludes() -> list[str]:
    unused = [f"PySide6.{name}" for name in available_qt_modules() if name not in QT_USED]
    return unused + NOT_SHIPPED


def qt_modules_in_source(root: Path = ROOT / "authenticator") -> dict[str, list[str]]:
    """Qt module → the source files that import it (to check against ``QT_USED``)."""
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for name in set(_QT_IMPORT.findall(path.read_text(encoding="utf-8", errors="replace"))):
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def _plugin_kept(source: str) -> bool:
    path = Path(source)
    if path.parent.parent.name != "plugins":
        return True  # not a plugin
    stem = path.name.split(".")[0].removeprefix("lib")
    return stem in QT_PLUGINS_KEPT.get(path.parent.name, set())


def trim_qt(
    hidden: list[str], binaries: list[tuple[str, str]], data: list[tuple[str, str]]
) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """A Qt module hook's result without the plugins and translations the app never uses."""
    kept_binaries = [(src, dst) for src, dst in binaries if _plugin_kept(src)]
    kept_data = [(src, dst) for src, dst in data if not src.endswith(".qm")]
    return hidden, kept_binaries, kept_data


# Distributions whose metadata ships too, so ``importlib.metadata.version`` answers in the
# bundle (``--diagnostics`` lists these versions).
METADATA = ("encedo-authenticator", "shiboken6", "pillow", *PACKAGES)


def datas() -> list[tuple[str, str]]:
    from importlib.metadata import PackageNotFoundError

    from PyInstaller.utils.hooks import collect_data_files, copy_metadata

    out = [
        (str(ROOT / "resources"), "authenticator/resources/data"),
        *collect_data_files("authenticator"),
    ]
    for name in METADATA:
        try:
            out += copy_metadata(name)
        except PackageNotFoundError:  # jeepney is Linux-only
            continue
    return out


def hiddenimports() -> list[str]:
    from PyInstaller.utils.hooks import collect_submodules

    return collect_submodules("authenticator", filter=lambda name: ".resources.data" not in name)


def platform_icon(kind: str, target: Path) -> Path:
    """``app.ico`` (Windows) or ``app.icns`` (macOS) made from the committed PNGs (Pillow)."""
    from PIL import Image

    def png(size: int) -> Image.Image:
        with Image.open(ICONS / f"{size}x{size}" / "apps" / f"{APP_ID}.png") as image:
            image.load()
            return image.copy()

    target.mkdir(parents=True, exist_ok=True)
    if kind == "ico":
        path = target / "app.ico"
        sizes = (16, 24, 32, 48, 64, 128)
        png(256).save(
            path,
            sizes=[(s, s) for s in (*sizes, 256)],
            append_images=[png(s) for s in sizes],
        )
    elif kind == "icns":
        path = target / "app.icns"
        png(512).save(path, append_images=[png(s) for s in (16, 32, 64, 128, 256)])
    else:
        raise ValueError(f"unknown icon kind {kind!r}")
    return path

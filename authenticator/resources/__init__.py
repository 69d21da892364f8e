"""Where the app's data files are: icons, the desktop entry, AppStream metadata, autostart entry.

The files live in the checkout's top-level ``resources/`` directory and ship as the data package
``authenticator.resources.data`` (``pyproject.toml`` maps one to the other). They are found with
``importlib.resources`` (a wheel, an editable install, a PyInstaller bundle); a source checkout
used without installing falls back to ``resources/`` beside the package. Every helper returns a
real filesystem path, because Qt, ``desktop-file-install`` and the autostart writer want one.
"""

from __future__ import annotations

import atexit
import importlib.resources
from contextlib import ExitStack
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path

from authenticator import APP_ID
from authenticator.errors import StateError

__all__ = [
    "PNG_SIZES",
    "autostart_file",
    "data_dir",
    "desktop_file",
    "icon_path",
    "metainfo_file",
]

DATA_PACKAGE = "authenticator.resources.data"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
_CHECKOUT = Path(__file__).resolve().parent.parent.parent / "resources"
_MARKER = f"{APP_ID}.desktop"
_files = ExitStack()
atexit.register(_files.close)


def _traversable() -> Traversable:
    try:
        root = importlib.resources.files(DATA_PACKAGE)
    except ModuleNotFoundError:
        root = Path(__file__).resolve().parent / "data"  # a bundle that copied the files only
    if root.joinpath(_MARKER).is_file():
        return root
    return _CHECKOUT


@cache
def data_dir() -> Path:
    """The directory holding the data files, as a real path (extracted once if zipped)."""
    root = _traversable()
    if isinstance(root, Path):
        path = root
    else:  # a zip import: extract the whole tree once, removed at exit
        path = _files.enter_context(importlib.resources.as_file(root))
    if not (path / _MARKER).is_file():
        raise StateError(
            "The app's data files (icons, desktop entry) are missing from this installation; "
            "reinstall the app."
        )
    return path


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise StateError(f"{path.name} is missing from this installation; reinstall the app.")
    return path


def icon_path(name: str = APP_ID, size: int | None = None) -> Path:
    """An icon of the set: ``name`` is e.g. ``com.encedo.Authenticator`` or ``…-locked-symbolic``.

    Without ``size`` the scalable SVG; with one of ``PNG_SIZES`` the PNG rendering (the app icon
    only). The tray states are ``-pending``, ``-locked`` and ``-offline``, each also
    ``-symbolic`` (one colour, for panels that recolour icons).
    """
    if "/" in name or "\\" in name or name.startswith("."):
        raise StateError(f"There is no icon called {name!r}.")
    hicolor = data_dir() / "icons" / "hicolor"
    if size is None:
        return _existing(hicolor / "scalable" / "apps" / f"{name}.svg")
    if size not in PNG_SIZES:
        sizes = ", ".join(str(s) for s in PNG_SIZES)
        raise StateError(f"Icons come in the sizes {sizes}, not {size}.")
    return _existing(hicolor / f"{size}x{size}" / "apps" / f"{name}.png")


def desktop_file() -> Path:
    """The desktop entry (menus, the ``encedo-auth:`` link handler)."""
    return _existing(data_dir() / f"{APP_ID}.desktop")


def metainfo_file() -> Path:
    """The AppStream metadata (software centres)."""
    return _existing(data_dir() / f"{APP_ID}.metainfo.xml")


def autostart_file() -> Path:
    """The XDG autostart entry template (``core.autostart`` writes it with the right ``Exec``)."""
    return _existing(data_dir() / "autostart" / f"{APP_ID}.desktop")

"""The app's icons, from the shipped SVG set (``authenticator.resources``), crisp at any scale.

SVGs are rendered by Qt's svg icon engine at whatever size and device-pixel ratio the screen
asks, so the tray and the windows stay sharp at 200 %. The tray's "pending" state also carries a
count badge drawn here (the SVG has the dot, the number changes).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Literal

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from authenticator import APP_ID
from authenticator.errors import StateError
from authenticator.resources import icon_path

__all__ = ["TrayState", "app_icon", "state_icon", "tray_icon"]

log = logging.getLogger(__name__)

TrayState = Literal["normal", "pending", "locked", "offline"]
_SIZES = (16, 22, 24, 32, 48, 64)


def _load(name: str) -> QIcon:
    try:
        return QIcon(str(icon_path(name)))
    except StateError:
        log.warning("icon %s is missing from this installation", name)
        return QIcon()


@cache
def app_icon() -> QIcon:
    """The application's icon (window, about, notifications)."""
    icon = _load(APP_ID)
    for size in (16, 22, 24, 32, 48, 64, 128, 256):
        try:
            icon.addFile(str(icon_path(APP_ID, size)))
        except StateError:
            continue
    return icon


@cache
def state_icon(state: TrayState) -> QIcon:
    """The icon of a tray state (``normal`` is the app icon)."""
    if state == "normal":
        return app_icon()
    return _load(f"{APP_ID}-{state}")


def tray_icon(state: TrayState, count: int = 0) -> QIcon:
    """The tray's icon: the state's SVG, with the number of waiting requests on "pending" (and
    on "locked": requests that wait for the owner to unlock)."""
    if state not in ("pending", "locked") or count <= 0:
        return state_icon(state)
    return _badged(state, str(count) if count < 10 else "9+")


@cache
def _badged(state: TrayState, text: str) -> QIcon:
    """Rendered once per badge text (at most ten): the tray changes with every request."""
    base = state_icon(state)
    icon = QIcon()
    for size in _SIZES:
        for ratio in (1.0, 2.0):
            pix = base.pixmap(QSize(size, size), ratio)
            if pix.isNull():
                pix = QPixmap(int(size * ratio), int(size * ratio))
                pix.fill(Qt.GlobalColor.transparent)
                pix.setDevicePixelRatio(ratio)
            painter = QPainter(pix)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            # The SVG's dot sits at (104, 24) r=20 on a 128 grid: write the count into it.
            scale = size / 128.0
            rect = QRectF((104 - 20) * scale, (24 - 20) * scale, 40 * scale, 40 * scale)
            font = QFont()
            font.setBold(True)
            font.setPixelSize(max(6, int(rect.height() * (0.8 if len(text) == 1 else 0.62))))
            painter.setFont(font)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            painter.end()
            icon.addPixmap(pix)
    return icon

"""Light, dark or the system's: Fusion with our palette, one small style sheet, readable indicators.

"system" follows ``QStyleHints.colorScheme`` (and keeps following it while the app runs);
"light" and "dark" force a palette. Widgets mark their role with a dynamic property
(``role="title"``, ``"banner-error"``, ``"card"`` …) and the style sheet below gives each role
its look, so no window hard-codes colours.

Every colour of a theme is in one table (:func:`colors`); the palette, the style sheet and the
indicator painter read from it, and :data:`TEXT_PAIRS` / :data:`NON_TEXT_PAIRS` list which colour
is drawn on which, so ``tests/gui/test_contrast.py`` can hold each pair to WCAG AA: 4.5:1 for
text, 3:1 for the parts of a control a person must see (a radio button's ring, the focus
outline). Two things Fusion draws on its own fall short in a dark palette, so they are ours:

* the radio button and check box indicators (Fusion rings them with the window colour made
  darker: 1.1–1.2:1 on a dark card) — :class:`_Style` paints them with :func:`colors`' ring;
* Qt's tray balloon (``QBalloonTip``, shown where the tray host is an XEmbed one) keeps its own
  pale yellow background while its labels take the app's light text colour (1.2:1) — the style
  sheet gives it the tooltip colours of the theme.

Every keyboard stop shows where the focus is: buttons, radio buttons, check boxes, tool buttons
and the rows of lists and tables get a 2 px outline in the theme's focus colour (a transparent
border of the same width is there when unfocused, so nothing moves).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QWidget,
)

from authenticator.store.settings import Theme

__all__ = [
    "ACCENT",
    "NON_TEXT_PAIRS",
    "TEXT_PAIRS",
    "apply_theme",
    "colors",
    "is_dark",
]

ACCENT = "#0e6f99"

_LIGHT = {
    # the palette
    "window": "#f4f6f8",
    "text": "#1b1f24",
    "base": "#ffffff",
    "alt_base": "#f0f3f6",
    "tip_bg": "#ffffff",
    "tip_fg": "#1b1f24",
    "placeholder": "#5f6770",
    "button": "#fbfcfd",
    "button_hi": "#eef2f5",
    "button_down": "#e1e7ec",
    "button_bd": "#b9c2cb",
    "bright": "#b42318",
    "link": "#0b6a94",
    "highlight": ACCENT,
    "highlight_fg": "#ffffff",
    "light": "#ffffff",
    "midlight": "#e7ebef",
    "mid": "#c9d0d7",
    "dark": "#9aa4ae",
    "shadow": "#5b646d",
    "disabled": "#8b939c",
    # the style sheet
    "muted": "#5b646d",
    "card": "#ffffff",
    "border": "#d5dbe1",
    "side": "#e9edf1",
    "side_sel": "#ffffff",
    "sel": "#dcedf6",
    "accent": ACCENT,
    "focus": "#0b6a94",
    "ring": "#6b737c",
    "err_bg": "#fdecea",
    "err_fg": "#8a1c12",
    "err_bd": "#f1aca5",
    "warn_bg": "#fff4dc",
    "warn_fg": "#7a4d00",
    "warn_bd": "#e0b254",
    "ok_bg": "#e7f6ec",
    "ok_fg": "#14532d",
    "ok_bd": "#a7dcb8",
    "info_bg": "#e8f3f9",
    "info_fg": "#0b4a68",
    "info_bd": "#b5d8ea",
    "approve": "#1a7a44",
    "approve_hi": "#19733f",
    "on_color": "#ffffff",
    "primary": ACCENT,
    "primary_hi": "#0b5f84",
    "deny_fg": "#a61b0f",
    "disabled_bg": "#d5dbe1",
    "disabled_fg": "#5b646d",
}

_DARK = {
    "window": "#1f2328",
    "text": "#e6e8eb",
    "base": "#2c3138",
    "alt_base": "#30363e",
    "tip_bg": "#2b3037",
    "tip_fg": "#e6e8eb",
    "placeholder": "#9aa3ad",
    "button": "#2b3037",
    "button_hi": "#343a42",
    "button_down": "#3c434c",
    "button_bd": "#4a525c",
    "bright": "#ff6b6b",
    "link": "#5cc0ec",
    "highlight": "#1a6f96",
    "highlight_fg": "#ffffff",
    "light": "#3a4048",
    "midlight": "#30353c",
    "mid": "#262a30",
    "dark": "#121417",
    "shadow": "#000000",
    "disabled": "#6b737c",
    "muted": "#9aa3ad",
    "card": "#262b31",
    "border": "#363c44",
    "side": "#181b1f",
    "side_sel": "#2b3138",
    "sel": "#21465a",
    "accent": "#3ba7d6",
    "focus": "#5cc0ec",
    "ring": "#8b939c",
    "err_bg": "#4a1f1f",
    "err_fg": "#ffb4ab",
    "err_bd": "#8c3a34",
    "warn_bg": "#45381a",
    "warn_fg": "#ffd98a",
    "warn_bd": "#a08235",
    "ok_bg": "#1d3b2a",
    "ok_fg": "#9be0b4",
    "ok_bd": "#2f6b47",
    "info_bg": "#1b3343",
    "info_fg": "#a9d7ef",
    "info_bd": "#2b5670",
    "approve": "#1a7a44",
    "approve_hi": "#1c8049",
    "on_color": "#ffffff",
    "primary": "#1a6f96",
    "primary_hi": "#1d7aa5",
    "deny_fg": "#ffb4ab",
    "disabled_bg": "#363c44",
    "disabled_fg": "#9aa3ad",
}

TEXT_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("text", "window", "body text on the window"),
    ("text", "card", "body text on a card"),
    ("text", "base", "text in fields and lists"),
    ("text", "alt_base", "text on an alternate table row"),
    ("text", "button", "a button's text"),
    ("text", "button_hi", "a hovered button's text"),
    ("text", "side", "the sidebar's text"),
    ("text", "side_sel", "the chosen section"),
    ("text", "sel", "a chosen queue row"),
    ("highlight_fg", "highlight", "selected text and table rows"),
    ("tip_fg", "tip_bg", "tooltips and the tray balloon"),
    ("placeholder", "base", "a field's placeholder"),
    ("muted", "window", "secondary text on the window"),
    ("muted", "card", "secondary text on a card (form row names)"),
    ("accent", "card", "the countdown"),
    ("accent", "window", "accent text on the window"),
    ("link", "window", "links"),
    ("deny_fg", "card", "an urgent countdown"),
    ("deny_fg", "button", "the report button's text"),
    ("on_color", "approve", "the Allow button"),
    ("on_color", "approve_hi", "the hovered Allow button"),
    ("on_color", "primary", "a primary button"),
    ("on_color", "primary_hi", "a hovered primary button"),
    ("err_fg", "err_bg", "an error banner"),
    ("warn_fg", "warn_bg", "a warning banner"),
    ("ok_fg", "ok_bg", "a success banner"),
    ("info_fg", "info_bg", "an information banner"),
)
"""(foreground, background, where): text drawn in the first colour on the second (≥ 4.5:1)."""

NON_TEXT_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("ring", "card", "a radio button or check box on a card"),
    ("ring", "window", "a radio button or check box on the window"),
    ("accent", "base", "a checked radio button's dot"),
    ("focus", "card", "the focus outline on a card"),
    ("focus", "window", "the focus outline on the window"),
    ("focus", "button", "the focus outline next to a button's face"),
    ("focus", "side", "the focus outline in the sidebar"),
)
"""(colour, background, where): parts of controls a person must see (≥ 3:1)."""


def colors(dark: bool) -> dict[str, str]:
    """Every colour of the light or the dark theme, by name (``#rrggbb``)."""
    return dict(_DARK if dark else _LIGHT)


def _system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def is_dark(theme: Theme) -> bool:
    """Whether ``theme`` means dark colours right now."""
    return theme == "dark" or (theme == "system" and _system_is_dark())


_ROLES = {
    QPalette.ColorRole.Window: "window",
    QPalette.ColorRole.WindowText: "text",
    QPalette.ColorRole.Base: "base",
    QPalette.ColorRole.AlternateBase: "alt_base",
    QPalette.ColorRole.ToolTipBase: "tip_bg",
    QPalette.ColorRole.ToolTipText: "tip_fg",
    QPalette.ColorRole.PlaceholderText: "placeholder",
    QPalette.ColorRole.Text: "text",
    QPalette.ColorRole.Button: "button",
    QPalette.ColorRole.ButtonText: "text",
    QPalette.ColorRole.BrightText: "bright",
    QPalette.ColorRole.Link: "link",
    QPalette.ColorRole.Highlight: "highlight",
    QPalette.ColorRole.HighlightedText: "highlight_fg",
    QPalette.ColorRole.Light: "light",
    QPalette.ColorRole.Midlight: "midlight",
    QPalette.ColorRole.Mid: "mid",
    QPalette.ColorRole.Dark: "dark",
    QPalette.ColorRole.Shadow: "shadow",
}


def _palette(dark: bool) -> QPalette:
    c = colors(dark)
    pal = QPalette()
    for role, name in _ROLES.items():
        pal.setColor(role, QColor(c[name]))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(c["disabled"]))
    return pal


_SHEET = """
QWidget[role="sidebar"] { background: %(side)s; }
QListWidget[role="nav"] { background: transparent; border: none; outline: none; }
QListWidget[role="nav"]::item { padding: 7px 12px; border-radius: 6px; margin: 1px 8px;
    border: 2px solid transparent; }
QListWidget[role="nav"]::item:selected { background: %(side_sel)s; color: %(text)s;
    font-weight: bold; border: 2px solid %(border)s; }
QListWidget[role="nav"]::item:focus { border: 2px solid %(focus)s; }
QListWidget[role="queue"] { background: %(card)s; border: 1px solid %(border)s;
    border-radius: 10px; padding: 4px; outline: none; }
QListWidget[role="queue"]::item { padding: 6px 8px; border-radius: 6px; margin: 2px;
    border: 2px solid transparent; color: %(text)s; }
QListWidget[role="queue"]::item:selected { background: %(sel)s; color: %(text)s; }
QListWidget[role="queue"]::item:focus { border: 2px solid %(focus)s; }
QTableView { outline: none; }
QTableView::item { border: 2px solid transparent; }
QTableView::item:focus { border: 2px solid %(focus)s; }
QLabel[role="title"] { font-size: 17pt; font-weight: 600; }
QLabel[role="heading"] { font-size: 13pt; font-weight: 600; }
QLabel[role="muted"] { color: %(muted)s; }
QLabel[role="brand"] { font-size: 11pt; font-weight: 600; }
QLabel[role="countdown"] { font-size: 11pt; font-weight: 600; color: %(accent)s; }
QLabel[role="countdown-urgent"] { font-size: 11pt; font-weight: 600; color: %(deny_fg)s; }
QFrame[role="card"] { background: %(card)s; border: 1px solid %(border)s; border-radius: 10px; }
QLabel[role="banner-error"] { background: %(err_bg)s; color: %(err_fg)s;
    border: 1px solid %(err_bd)s; border-radius: 6px; }
QLabel[role="banner-warn"] { background: %(warn_bg)s; color: %(warn_fg)s;
    border: 1px solid %(warn_bd)s; border-radius: 6px; }
QLabel[role="banner-alert"] { background: %(warn_bg)s; color: %(warn_fg)s;
    border: 2px solid %(warn_fg)s; border-radius: 6px; font-weight: 600; }
QLabel[role="banner-ok"] { background: %(ok_bg)s; color: %(ok_fg)s;
    border: 1px solid %(ok_bd)s; border-radius: 6px; }
QLabel[role="banner-info"] { background: %(info_bg)s; color: %(info_fg)s;
    border: 1px solid %(info_bd)s; border-radius: 6px; }
QPushButton { background: %(button)s; color: %(text)s; border: 1px solid %(button_bd)s;
    border-radius: 5px; padding: 6px 14px; }
QPushButton:hover { background: %(button_hi)s; }
QPushButton:pressed { background: %(button_down)s; }
QPushButton:disabled { color: %(disabled)s; }
QPushButton:focus { border: 2px solid %(focus)s; padding: 5px 13px; }
QPushButton[role="primary"] { background: %(primary)s; color: %(on_color)s;
    border: 1px solid %(primary)s; padding: 7px 16px; font-weight: 600; }
QPushButton[role="primary"]:hover { background: %(primary_hi)s; }
QPushButton[role="primary"]:disabled { background: %(disabled_bg)s;
    border-color: %(disabled_bg)s; color: %(disabled_fg)s; }
QPushButton[role="approve"] { background: %(approve)s; color: %(on_color)s;
    border: 1px solid %(approve)s; padding: 8px 18px; font-weight: 600; }
QPushButton[role="approve"]:hover { background: %(approve_hi)s; }
QPushButton[role="approve"]:disabled { background: %(disabled_bg)s;
    border-color: %(disabled_bg)s; color: %(disabled_fg)s; }
QPushButton[role="primary"]:focus { border: 2px solid %(focus)s; padding: 6px 15px; }
QPushButton[role="approve"]:focus { border: 2px solid %(focus)s; padding: 7px 17px; }
QPushButton[role="deny"] { color: %(deny_fg)s; }
QPushButton[role="deny"]:disabled { color: %(disabled)s; }
QRadioButton, QCheckBox { border: 2px solid transparent; border-radius: 5px; padding: 2px 4px; }
QRadioButton:focus, QCheckBox:focus { border: 2px solid %(focus)s; }
QToolButton { border: 2px solid transparent; border-radius: 5px; padding: 2px 4px; }
QToolButton:hover { background: %(button_hi)s; }
QToolButton:focus { border: 2px solid %(focus)s; }
QBalloonTip { background-color: %(tip_bg)s; color: %(tip_fg)s; }
QBalloonTip QLabel { color: %(tip_fg)s; background: transparent; }
QStatusBar QLabel { padding: 0 4px; }
"""


def _style_sheet(dark: bool) -> str:
    return _SHEET % colors(dark)


_INDICATORS = (
    QStyle.PrimitiveElement.PE_IndicatorRadioButton,
    QStyle.PrimitiveElement.PE_IndicatorCheckBox,
)
_OWN_FOCUS = ("QRadioButton", "QCheckBox", "QPushButton", "QToolButton")


class _Style(QProxyStyle):
    """Fusion, with radio button and check box indicators drawn in the theme's colours (a
    ring of at least 3:1 on its background, the accent when chosen) and without Fusion's own
    focus frame where the style sheet draws the focus outline."""

    def __init__(self, dark: bool) -> None:
        super().__init__(QStyleFactory.create("Fusion"))
        c = colors(dark)
        self._ring = QColor(c["ring"])
        self._fill = QColor(c["base"])
        self._accent = QColor(c["accent"])
        self._on = QColor(c["on_color"] if not dark else c["base"])
        self._disabled = QColor(c["disabled"])

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        if element in _INDICATORS:
            self._indicator(element, option, painter)
            return
        if (
            element == QStyle.PrimitiveElement.PE_FrameFocusRect
            and widget is not None
            and widget.metaObject().className() in _OWN_FOCUS
        ):
            return  # the style sheet's outline shows the focus
        super().drawPrimitive(element, option, painter, widget)

    def _indicator(
        self, element: QStyle.PrimitiveElement, option: QStyleOption, painter: QPainter
    ) -> None:
        state = option.state
        rect = QRectF(option.rect)
        side = min(rect.width(), rect.height()) - 2.0
        box = QRectF(0, 0, side, side)
        box.moveCenter(rect.center())
        enabled = bool(state & QStyle.StateFlag.State_Enabled)
        on = bool(state & QStyle.StateFlag.State_On)
        partly = bool(state & QStyle.StateFlag.State_NoChange)
        hover = bool(state & QStyle.StateFlag.State_MouseOver)
        ring = self._ring if enabled else self._disabled
        if enabled and (on or partly or hover):
            ring = self._accent
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(ring, 1.6))
        if element == QStyle.PrimitiveElement.PE_IndicatorRadioButton:
            painter.setBrush(self._fill)
            painter.drawEllipse(box.adjusted(0.8, 0.8, -0.8, -0.8))
            if on:
                dot = QRectF(0, 0, side * 0.5, side * 0.5)
                dot.moveCenter(box.center())
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(ring)
                painter.drawEllipse(dot)
        else:
            inner = box.adjusted(0.8, 0.8, -0.8, -0.8)
            painter.setBrush(ring if (on or partly) else self._fill)
            painter.drawRoundedRect(inner, 3.0, 3.0)
            if on or partly:
                mark = QPen(self._on, max(1.6, side / 8))
                mark.setCapStyle(Qt.PenCapStyle.RoundCap)
                mark.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
                painter.setPen(mark)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                x, y, w, h = inner.x(), inner.y(), inner.width(), inner.height()
                path = QPainterPath()
                if on:
                    path.moveTo(QPointF(x + w * 0.24, y + h * 0.52))
                    path.lineTo(QPointF(x + w * 0.43, y + h * 0.71))
                    path.lineTo(QPointF(x + w * 0.77, y + h * 0.31))
                else:
                    path.moveTo(QPointF(x + w * 0.26, y + h * 0.5))
                    path.lineTo(QPointF(x + w * 0.74, y + h * 0.5))
                painter.drawPath(path)
        painter.restore()


_current: list[_Style] = []  # keeps the Python side of the app's style alive


def apply_theme(app: QApplication, theme: Theme) -> bool:
    """Apply ``theme`` to the whole app; returns whether it is dark."""
    dark = is_dark(theme)
    style = _Style(dark)
    app.setStyle(style)
    _current[:] = [style]
    app.setPalette(_palette(dark))
    app.setStyleSheet(_style_sheet(dark))
    app.setProperty("encedo_dark", dark)
    return dark

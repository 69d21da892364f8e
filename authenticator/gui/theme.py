"""Light, dark or the system's: Fusion with our palette, and one small style sheet.

"system" follows ``QStyleHints.colorScheme`` (and keeps following it while the app runs);
"light" and "dark" force a palette. Widgets mark their role with a dynamic property
(``role="title"``, ``"banner-error"``, ``"card"`` …) and the style sheet below gives each role
its look, so no window hard-codes colours.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from authenticator.store.settings import Theme

__all__ = ["ACCENT", "apply_theme", "is_dark"]

ACCENT = "#1283b3"
_ACCENT_DARK = "#3ba7d6"


def _system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def is_dark(theme: Theme) -> bool:
    """Whether ``theme`` means dark colours right now."""
    return theme == "dark" or (theme == "system" and _system_is_dark())


def _palette(dark: bool) -> QPalette:
    pal = QPalette()
    if dark:
        colors = {
            QPalette.ColorRole.Window: "#1f2328",
            QPalette.ColorRole.WindowText: "#e6e8eb",
            QPalette.ColorRole.Base: "#2c3138",
            QPalette.ColorRole.AlternateBase: "#30363e",
            QPalette.ColorRole.ToolTipBase: "#2b3037",
            QPalette.ColorRole.ToolTipText: "#e6e8eb",
            QPalette.ColorRole.PlaceholderText: "#8b939c",
            QPalette.ColorRole.Text: "#e6e8eb",
            QPalette.ColorRole.Button: "#2b3037",
            QPalette.ColorRole.ButtonText: "#e6e8eb",
            QPalette.ColorRole.BrightText: "#ff6b6b",
            QPalette.ColorRole.Link: _ACCENT_DARK,
            QPalette.ColorRole.Highlight: "#1a6f96",
            QPalette.ColorRole.HighlightedText: "#ffffff",
            QPalette.ColorRole.Light: "#3a4048",
            QPalette.ColorRole.Midlight: "#30353c",
            QPalette.ColorRole.Mid: "#262a30",
            QPalette.ColorRole.Dark: "#121417",
            QPalette.ColorRole.Shadow: "#000000",
        }
        disabled = "#6b737c"
    else:
        colors = {
            QPalette.ColorRole.Window: "#f4f6f8",
            QPalette.ColorRole.WindowText: "#1b1f24",
            QPalette.ColorRole.Base: "#ffffff",
            QPalette.ColorRole.AlternateBase: "#f0f3f6",
            QPalette.ColorRole.ToolTipBase: "#ffffff",
            QPalette.ColorRole.ToolTipText: "#1b1f24",
            QPalette.ColorRole.PlaceholderText: "#6b737c",
            QPalette.ColorRole.Text: "#1b1f24",
            QPalette.ColorRole.Button: "#fbfcfd",
            QPalette.ColorRole.ButtonText: "#1b1f24",
            QPalette.ColorRole.BrightText: "#b42318",
            QPalette.ColorRole.Link: "#0b6a94",
            QPalette.ColorRole.Highlight: ACCENT,
            QPalette.ColorRole.HighlightedText: "#ffffff",
            QPalette.ColorRole.Light: "#ffffff",
            QPalette.ColorRole.Midlight: "#e7ebef",
            QPalette.ColorRole.Mid: "#c9d0d7",
            QPalette.ColorRole.Dark: "#9aa4ae",
            QPalette.ColorRole.Shadow: "#5b646d",
        }
        disabled = "#8b939c"
    for role, value in colors.items():
        pal.setColor(role, QColor(value))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    return pal


_SHEET = """
QWidget[role="sidebar"] { background: %(side)s; }
QListWidget[role="nav"] { background: transparent; border: none; outline: none; }
QListWidget[role="nav"]::item { padding: 9px 14px; border-radius: 6px; margin: 1px 8px; }
QListWidget[role="nav"]::item:selected { background: %(side_sel)s; color: palette(window-text);
    font-weight: bold; border: 1px solid %(border)s; }
QListWidget[role="nav"]:focus { border: none; }
QListWidget[role="queue"] { background: %(card)s; border: 1px solid %(border)s;
    border-radius: 10px; padding: 4px; outline: none; }
QListWidget[role="queue"]::item { padding: 8px 10px; border-radius: 6px; margin: 2px; }
QListWidget[role="queue"]::item:selected { background: %(sel)s; color: palette(text); }
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
QLabel[role="banner-ok"] { background: %(ok_bg)s; color: %(ok_fg)s;
    border: 1px solid %(ok_bd)s; border-radius: 6px; }
QLabel[role="banner-info"] { background: %(info_bg)s; color: %(info_fg)s;
    border: 1px solid %(info_bd)s; border-radius: 6px; }
QPushButton { padding: 6px 14px; }
QPushButton[role="primary"] { background: %(accent)s; color: white; border: 1px solid %(accent)s;
    border-radius: 5px; padding: 7px 16px; font-weight: 600; }
QPushButton[role="primary"]:disabled { background: %(border)s; border-color: %(border)s;
    color: %(muted)s; }
QPushButton[role="approve"] { background: %(approve)s; color: white;
    border: 1px solid %(approve)s; border-radius: 5px; padding: 8px 18px; font-weight: 600; }
QPushButton[role="approve"]:hover { background: %(approve_hi)s; }
QPushButton[role="approve"]:disabled { background: %(border)s; border-color: %(border)s;
    color: %(muted)s; }
QPushButton[role="approve"]:focus, QPushButton[role="primary"]:focus {
    border: 2px solid palette(window-text); }
QPushButton[role="deny"] { color: %(deny_fg)s; }
QRadioButton[role="segment"] { padding: 4px 6px; }
QStatusBar QLabel { padding: 0 4px; }
"""


def _style_sheet(dark: bool) -> str:
    c = {
        "muted": "#9aa3ad" if dark else "#5b646d",
        "card": "#262b31" if dark else "#ffffff",
        "border": "#363c44" if dark else "#d5dbe1",
        "side": "#181b1f" if dark else "#e9edf1",
        "side_sel": "#2b3138" if dark else "#ffffff",
        "sel": "#21465a" if dark else "#dcedf6",
        "accent": _ACCENT_DARK if dark else ACCENT,
        "err_bg": "#4a1f1f" if dark else "#fdecea",
        "err_fg": "#ffb4ab" if dark else "#8a1c12",
        "err_bd": "#8c3a34" if dark else "#f1aca5",
        "warn_bg": "#45381a" if dark else "#fff4dc",
        "warn_fg": "#ffd98a" if dark else "#7a4d00",
        "warn_bd": "#7d6429" if dark else "#f1cf86",
        "ok_bg": "#1d3b2a" if dark else "#e7f6ec",
        "ok_fg": "#9be0b4" if dark else "#14532d",
        "ok_bd": "#2f6b47" if dark else "#a7dcb8",
        "info_bg": "#1b3343" if dark else "#e8f3f9",
        "info_fg": "#a9d7ef" if dark else "#0b4a68",
        "info_bd": "#2b5670" if dark else "#b5d8ea",
        "approve": "#1f8a4c" if dark else "#1c7c44",
        "approve_hi": "#27a15b" if dark else "#22924f",
        "deny_fg": "#ffb4ab" if dark else "#a61b0f",
    }
    return _SHEET % c


def apply_theme(app: QApplication, theme: Theme) -> bool:
    """Apply ``theme`` to the whole app; returns whether it is dark."""
    dark = is_dark(theme)
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    app.setPalette(_palette(dark))
    app.setStyleSheet(_style_sheet(dark))
    app.setProperty("encedo_dark", dark)
    return dark

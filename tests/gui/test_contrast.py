"""Contrast: every text colour on its background meets WCAG AA (4.5:1), and every part of a control a
person must see — a radio button's ring, a check box, the focus outline — 3:1, in both themes.

Three ways, each able to fail on its own:

1. the theme's table: each pair :data:`~authenticator.gui.theme.TEXT_PAIRS` and
   :data:`~authenticator.gui.theme.NON_TEXT_PAIRS` names, computed with WCAG 2.1's relative
   luminance (written out here, not taken from the app);
2. what is applied: the application's palette holds those colours;
3. what is drawn: real widgets grabbed to pixels — an unchecked radio button and check box on a
   card (the ring against the card beside it), text on the card and in each banner, the tray
   balloon's labels on the balloon's own background (Qt's ``QBalloonTip`` class, matched by the
   style sheet by its class name). Before this change the dark theme measured 1.09:1 for the
   radio ring and 1.2:1 for the balloon's text.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFrame,
    QLabel,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from authenticator.gui.theme import NON_TEXT_PAIRS, TEXT_PAIRS, apply_theme, colors
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.plain import PlainLabel

TEXT = 4.5
NON_TEXT = 3.0


def _channel(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def luminance(color: QColor) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour."""
    r, g, b = (_channel(c / 255) for c in (color.red(), color.green(), color.blue()))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: QColor | str, b: QColor | str) -> float:
    la, lb = sorted((luminance(QColor(a)), luminance(QColor(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_formula() -> None:
    assert ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the classic AA grey


@pytest.fixture(params=["light", "dark"])
def dark(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[bool]:
    apply_theme(qapp, request.param)
    yield request.param == "dark"
    apply_theme(qapp, "light")


# ---------------------------------------------------------------------------- the table


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize(("fg", "bg", "where"), TEXT_PAIRS, ids=[p[2] for p in TEXT_PAIRS])
def test_text_colours(theme: str, fg: str, bg: str, where: str) -> None:
    c = colors(theme == "dark")
    assert ratio(c[fg], c[bg]) >= TEXT, f"{where}: {c[fg]} on {c[bg]}"


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize(("fg", "bg", "where"), NON_TEXT_PAIRS, ids=[p[2] for p in NON_TEXT_PAIRS])
def test_control_colours(theme: str, fg: str, bg: str, where: str) -> None:
    c = colors(theme == "dark")
    assert ratio(c[fg], c[bg]) >= NON_TEXT, f"{where}: {c[fg]} on {c[bg]}"


def test_the_palette_is_the_table(qapp: QApplication, dark: bool) -> None:
    c = colors(dark)
    pal = qapp.palette()
    roles = {
        QPalette.ColorRole.Window: "window",
        QPalette.ColorRole.WindowText: "text",
        QPalette.ColorRole.Base: "base",
        QPalette.ColorRole.Text: "text",
        QPalette.ColorRole.Button: "button",
        QPalette.ColorRole.ButtonText: "text",
        QPalette.ColorRole.ToolTipBase: "tip_bg",
        QPalette.ColorRole.ToolTipText: "tip_fg",
        QPalette.ColorRole.Highlight: "highlight",
        QPalette.ColorRole.HighlightedText: "highlight_fg",
        QPalette.ColorRole.PlaceholderText: "placeholder",
        QPalette.ColorRole.AlternateBase: "alt_base",
    }
    for role, name in roles.items():
        assert pal.color(role).name() == c[name], role
    sheet = qapp.styleSheet()
    for name in ("muted", "card", "accent", "focus", "approve", "warn_fg", "tip_bg", "tip_fg"):
        assert c[name] in sheet, name


# ---------------------------------------------------------------------------- what is drawn


def _pixels(image: QImage, area: QRect) -> Iterator[QColor]:
    area = area.intersected(image.rect())
    for y in range(area.top(), area.bottom() + 1):
        for x in range(area.left(), area.right() + 1):
            yield image.pixelColor(x, y)


def _strongest(image: QImage, area: QRect, against: QColor) -> float:
    """The highest contrast any pixel of ``area`` has with ``against``."""
    return max(ratio(p, against) for p in _pixels(image, area))


def _card(qtbot: QtBot, *children: QWidget) -> QFrame:
    card = QFrame()
    card.setProperty("role", "card")
    layout = QVBoxLayout(card)
    for child in children:
        layout.addWidget(child)
    qtbot.addWidget(card)
    card.resize(360, 60 * len(children))
    card.show()
    qtbot.waitExposed(card)
    return card


@pytest.mark.parametrize("kind", ["radio", "check"])
def test_an_unchecked_indicator_stands_out_from_its_card(
    qtbot: QtBot, dark: bool, kind: str
) -> None:
    button = QRadioButton("1 h") if kind == "radio" else QCheckBox("Also allow writing")
    card_frame = _card(qtbot, button)
    image = card_frame.grab().toImage()  # drawn on the card, as in the app
    option = QStyleOptionButton()
    option.initFrom(button)
    element = (
        QStyle.SubElement.SE_RadioButtonIndicator
        if kind == "radio"
        else QStyle.SubElement.SE_CheckBoxIndicator
    )
    indicator = button.style().subElementRect(element, option, button)
    indicator.translate(button.pos())
    card = QColor(colors(dark)["card"])
    beside = image.pixelColor(indicator.right() + 3, indicator.center().y())
    assert ratio(beside, card) < 1.05  # the card is what the indicator sits on
    measured = _strongest(image, indicator, card)
    assert measured >= NON_TEXT, f"the {kind} indicator: {measured:.2f}:1"
    card_frame.close()


def _text_contrast(frame: QFrame, label: QLabel, background: QColor) -> float:
    image = frame.grab().toImage()  # the label drawn on the card, as in the app
    return _strongest(image, label.contentsRect().translated(label.pos()), background)


def test_text_on_a_card(qtbot: QtBot, dark: bool) -> None:
    muted = PlainLabel("Location — reported by the broker")
    muted.setProperty("role", "muted")
    plain = PlainLabel("Someone wants to delete a key from office-hem.")
    frame = _card(qtbot, muted, plain)
    card = QColor(colors(dark)["card"])
    assert _text_contrast(frame, muted, card) >= TEXT
    assert _text_contrast(frame, plain, card) >= TEXT
    frame.close()


@pytest.mark.parametrize("kind", ["error", "warn", "alert", "ok", "info"])
def test_banner_text(qtbot: QtBot, dark: bool, kind: str) -> None:
    banner = Banner()
    banner.show_message("The request calls this key “X”, but the HEM calls it “Y”.", kind)  # type: ignore[arg-type]
    frame = _card(qtbot, banner)
    prefix = {"error": "err", "alert": "warn"}.get(kind, kind)
    background = QColor(colors(dark)[f"{prefix}_bg"])
    image = banner.grab().toImage()
    inside = banner.contentsRect().adjusted(4, 4, -4, -4)
    assert ratio(image.pixelColor(inside.topLeft()), background) < 1.05
    assert _strongest(image, inside, background) >= TEXT
    frame.close()


class QBalloonTip(QWidget):  # Qt's class name, which the style sheet matches
    """Stands in for Qt's private tray balloon (same class name, labels inside); the real one is
    measured under Xvfb with a tray host in ``tests/gui/desktop/test_balloon_contrast.py``."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.title = QLabel("A request is waiting", self)
        self.text = QLabel("Someone wants to list the keys on office-hem.", self)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        pal = self.palette()  # what Qt's balloon does: its own pale yellow
        pal.setColor(QPalette.ColorRole.Window, QColor(0xFF, 0xFF, 0xE1))
        self.setPalette(pal)
        self.setAutoFillBackground(True)


def test_the_tray_balloon(qtbot: QtBot, dark: bool) -> None:
    balloon = QBalloonTip()
    qtbot.addWidget(balloon)
    balloon.show()
    qtbot.waitExposed(balloon)
    image = balloon.grab().toImage()
    background = image.pixelColor(2, 2)
    assert background.name() == colors(dark)["tip_bg"]
    for label in (balloon.title, balloon.text):
        area = label.geometry()
        assert _strongest(image, area, background) >= TEXT, label.text()
    assert ratio(balloon.text.palette().color(QPalette.ColorRole.WindowText), background) >= TEXT


def test_the_focus_outline_on_a_button(qtbot: QtBot, dark: bool) -> None:
    from PySide6.QtWidgets import QPushButton

    button = QPushButton("&Deny")
    card = _card(qtbot, button)
    card.activateWindow()
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(button.hasFocus)
    image = button.grab().toImage()
    edge = image.pixelColor(button.width() // 2, 0)
    assert edge.name() == colors(dark)["focus"]
    assert ratio(edge, colors(dark)["card"]) >= NON_TEXT

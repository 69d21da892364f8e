"""Shows Qt's own tray balloon in the app's theme and reports the colours drawn (JSON on stdout).

Run by ``test_balloon_contrast.py`` as ``python -m tests.gui.desktop.balloon_side THEME`` inside a
private X session with a tray host (``QT_QPA_PLATFORM=xcb``): Qt then draws its own balloon
(``QBalloonTip``) next to the tray icon. The balloon is found among the top-level widgets by its
class name and grabbed; for each of its labels the report has the balloon's background pixel
beside the text and the pixel of the text that differs most from it.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtCore import QEventLoop
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QApplication, QLabel, QSystemTrayIcon, QWidget

from authenticator.gui.theme import apply_theme
from authenticator.resources import icon_path

DEADLINE_S = 10.0


def _luminance(c: QColor) -> float:
    def f(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * f(c.redF()) + 0.7152 * f(c.greenF()) + 0.0722 * f(c.blueF())


def _ratio(a: QColor, b: QColor) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _pump_until(app: QApplication, check: object) -> bool:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if check():  # type: ignore[operator]
            return True
    return False


def _balloon(app: QApplication) -> QWidget | None:
    for widget in app.topLevelWidgets():
        if widget.isVisible() and widget.metaObject().className() == "QBalloonTip":
            return widget
    return None


def main() -> int:
    app = QApplication(sys.argv[:1])
    apply_theme(app, sys.argv[1])  # type: ignore[arg-type]
    icon = QSystemTrayIcon(QIcon(str(icon_path(size=64))))
    icon.show()
    if not _pump_until(app, lambda: not icon.geometry().isEmpty()):
        print(json.dumps({"error": "the tray icon was not embedded"}), flush=True)
        return 1
    icon.showMessage(
        "A request is waiting",
        "Someone wants to list the keys on office-hem.",
        QSystemTrayIcon.MessageIcon.Information,
        20_000,
    )
    if not _pump_until(app, lambda: _balloon(app) is not None):
        print(json.dumps({"error": "no balloon was shown"}), flush=True)
        return 1
    balloon = _balloon(app)
    assert balloon is not None
    app.processEvents()
    image = balloon.grab().toImage()
    labels = []
    for label in balloon.findChildren(QLabel):
        if not label.text():
            continue
        area = label.geometry()
        background = image.pixelColor(area.center().x(), area.top() - 1)
        strongest = max(
            (
                image.pixelColor(x, y)
                for y in range(area.top(), area.bottom() + 1)
                for x in range(area.left(), area.right() + 1)
            ),
            key=lambda c: _ratio(c, background),
        )
        labels.append(
            {
                "text": label.text(),
                "background": background.name(),
                "text_pixel": strongest.name(),
                "ratio": _ratio(strongest, background),
                "palette_ratio": _ratio(
                    label.palette().color(label.foregroundRole()),
                    balloon.palette().color(balloon.backgroundRole()),
                ),
            }
        )
    print(json.dumps({"labels": labels}), flush=True)
    icon.hide()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Selecting a screen region: a frozen, dimmed picture of the screen with a rubber band.

The screen is captured *before* the overlay appears (so the overlay never captures itself), shown
full screen, and the person drags a rectangle around the QR code. Escape cancels. The chosen part
of the picture is handed back as a ``QImage`` in device pixels.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
)
from PySide6.QtWidgets import QRubberBand, QWidget

from authenticator.gui.qtfix import emit

__all__ = ["RegionPicker"]


class RegionPicker(QWidget):
    picked = Signal(QImage)
    cancelled = Signal()

    def __init__(self, shot: QImage, geometry: QRect) -> None:
        super().__init__(
            None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint
        )
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setAccessibleName(self.tr("Select the QR code"))
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.shot = shot
        self.setGeometry(geometry)
        self._origin = QPoint()
        self._band = QRubberBand(QRubberBand.Shape.Rectangle, self)
        self._done = False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.drawImage(self.rect(), self.shot)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 110))
        painter.setPen(QColor("#ffffff"))
        painter.drawText(
            self.rect().adjusted(0, 24, 0, 0),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
            self.tr("Drag a rectangle around the QR code · Esc to cancel"),
        )
        if self._band.isVisible():
            area = self._band.geometry()
            painter.drawImage(area, self.shot, self._to_image(area))
        painter.end()

    def _to_image(self, area: QRect) -> QRect:
        sx = self.shot.width() / max(1, self.width())
        sy = self.shot.height() / max(1, self.height())
        return QRect(
            int(area.x() * sx), int(area.y() * sy), int(area.width() * sx), int(area.height() * sy)
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._origin = event.position().toPoint()
        self._band.setGeometry(QRect(self._origin, QSize()))
        self._band.show()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._band.setGeometry(QRect(self._origin, event.position().toPoint()).normalized())
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        area = self._band.geometry()
        self._band.hide()
        if area.width() < 8 or area.height() < 8:
            self.update()
            return
        self._done = True
        emit(self.picked, self.shot.copy(self._to_image(area)))
        self.close()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: object) -> None:
        if not self._done:
            self._done = True
            emit(self.cancelled)
        super().closeEvent(event)  # type: ignore[arg-type]

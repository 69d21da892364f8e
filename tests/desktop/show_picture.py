"""Show a picture in a window of its own, as another program on the desktop would.

``python -m tests.desktop.show_picture PICTURE TITLE`` opens a plain Qt window titled TITLE with
the picture at its natural size (for the Wayland tests: the Manager's pairing QR code on
screen, or just "another window" to take the focus). It prints ``shown`` once the window is
exposed, and closes when its stdin closes.
"""

from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication, QLabel


class _StdinClosed(QObject):
    closed = Signal()


def main() -> None:
    picture, title = sys.argv[1], sys.argv[2]
    app = QApplication(["show-picture"])
    label = QLabel()
    label.setWindowTitle(title)
    label.setPixmap(QPixmap(picture))
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("background: white;")
    label.show()

    def exposed() -> None:
        handle = label.windowHandle()
        if handle is not None and handle.isExposed():
            print("shown", flush=True)
        else:
            QTimer.singleShot(10, exposed)

    QTimer.singleShot(0, exposed)
    stdin = _StdinClosed()
    stdin.closed.connect(app.quit, Qt.ConnectionType.QueuedConnection)
    threading.Thread(target=lambda: (sys.stdin.read(), stdin.closed.emit()), daemon=True).start()
    app.exec()


if __name__ == "__main__":
    main()

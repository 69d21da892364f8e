"""Reading a QR code from the screen or the clipboard (the wizard, ``pair --screen/--clipboard``).

Grabbing pixels needs Qt (``QScreen.grabWindow``) and must happen on the GUI thread; decoding
(zxing-cpp through ``core.qrimage``) is pure and may run on a worker. ``screen_qr_text`` and
``clipboard_qr_text`` do both for the command line, creating a ``QGuiApplication`` when the
process has none.
"""

from __future__ import annotations

import sys

from PIL import Image
from PySide6.QtGui import QGuiApplication, QImage

from authenticator.core.qrimage import decode_image
from authenticator.errors import DecodeError

__all__ = [
    "clipboard_image",
    "clipboard_qr_text",
    "decode_qimage",
    "grab_screens",
    "qimage_to_pil",
    "screen_qr_text",
]

_app: QGuiApplication | None = None  # created here for the command line, kept for the process


def _ensure_app() -> QGuiApplication:
    global _app  # noqa: PLW0603 - Qt wants exactly one application object per process
    existing = QGuiApplication.instance()
    if isinstance(existing, QGuiApplication):
        return existing
    _app = QGuiApplication(sys.argv[:1])
    return _app


def qimage_to_pil(image: QImage) -> Image.Image:
    """A PIL copy of ``image`` (RGBA); safe to hand to a worker thread."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    if width == 0 or height == 0:
        raise DecodeError("The picture is empty.")
    data = bytes(rgba.constBits())[: rgba.bytesPerLine() * height]
    return Image.frombuffer("RGBA", (width, height), data, "raw", "RGBA", rgba.bytesPerLine(), 1)


def decode_qimage(image: QImage) -> str:
    """The text of the first QR code in ``image`` (``DecodeError`` when there is none)."""
    return decode_image(qimage_to_pil(image))


def grab_screens() -> list[QImage]:
    """A picture of every screen (GUI thread only)."""
    pictures = []
    for screen in QGuiApplication.screens():
        pixmap = screen.grabWindow(0)
        if not pixmap.isNull():
            pictures.append(pixmap.toImage())
    return pictures


def decode_screens(pictures: list[QImage]) -> str:
    """The first QR code found on any of ``pictures``."""
    if not pictures:
        raise DecodeError("The screen could not be captured on this desktop.")
    for picture in pictures:
        try:
            return decode_qimage(picture)
        except DecodeError:
            continue
    raise DecodeError(
        "No QR code was found on the screen; show the code in full and try again, or select it."
    )


def clipboard_image() -> QImage | None:
    """The clipboard's picture, if it holds one."""
    clip = QGuiApplication.clipboard()
    data = clip.mimeData()
    if data is not None and data.hasImage():
        image = clip.image()
        if not image.isNull():
            return image
    return None


def clipboard_text() -> str:
    return QGuiApplication.clipboard().text().strip()


def screen_qr_text() -> str:
    """The text of a QR code shown anywhere on the screen."""
    _ensure_app()
    return decode_screens(grab_screens())


def clipboard_qr_text() -> str:
    """The QR code in the clipboard: a picture of it, or its text / link."""
    _ensure_app()
    image = clipboard_image()
    if image is not None:
        return decode_qimage(image)
    text = clipboard_text()
    if not text:
        raise DecodeError("The clipboard holds neither a QR code picture nor its text.")
    return text

"""Reading a QR code from the screen or the clipboard (the wizard, ``pair --screen/--clipboard``).

Two ways to see the screen, chosen once per grab by :func:`capture_method`:

- ``qt`` (X11, Windows, macOS): ``QScreen.grabWindow(0)`` on the GUI thread, one picture per
  screen;
- ``portal`` (Wayland, and always inside Flatpak): a Wayland client cannot read other windows,
  so the xdg-desktop-portal Screenshot interface takes the picture for us (``gui.portal``: quiet
  first, interactive when the portal asks the person). The desktop app asks through the portal
  helper process (the portal refuses an undumpable caller, see ``gui.portal``), from a worker
  thread; the GUI thread waits in a local event loop (as a modal dialog does), so windows keep
  painting. The file the portal wrote is read and removed.

Decoding (zxing-cpp through ``core.qrimage``) is pure and may run on a worker.
``screen_qr_text`` and ``clipboard_qr_text`` do both for the command line, creating a
``QGuiApplication`` only when the Qt way needs one. ``grab_screens`` never raises: a failed grab
is an empty :class:`Pictures` whose ``failure`` says why, and :func:`decode_screens` turns that
into the message the person sees.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Literal, TypeVar

from PIL import Image
from PySide6.QtCore import QEventLoop, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QScreen

from authenticator.core.qrimage import decode_image
from authenticator.errors import AuthenticatorError, DecodeError
from authenticator.gui import portal
from authenticator.gui.capabilities import display_status

__all__ = [
    "Pictures",
    "capture_method",
    "clipboard_image",
    "clipboard_qr_text",
    "decode_qimage",
    "decode_screens",
    "grab_primary",
    "grab_screens",
    "qimage_to_pil",
    "screen_qr_text",
]

log = logging.getLogger(__name__)

CaptureMethod = Literal["qt", "portal"]
PORTAL_WAIT_S = portal.INTERACTIVE_TIMEOUT + 5  # the person may be answering the portal's dialog
NOT_CAPTURED = "The screen could not be captured on this desktop."
T = TypeVar("T")

_app: QGuiApplication | None = None  # created here for the command line, kept for the process


class Pictures(list[QImage]):
    """Pictures of the screen; when empty, ``failure`` says why (a sentence for the person)."""

    def __init__(self, pictures: list[QImage] | None = None, failure: str = "") -> None:
        super().__init__(pictures or [])
        self.failure = failure


def _ensure_app() -> QGuiApplication:
    global _app  # noqa: PLW0603 - Qt wants exactly one application object per process
    existing = QGuiApplication.instance()
    if isinstance(existing, QGuiApplication):
        return existing
    _app = QGuiApplication(sys.argv[:1])
    return _app


def capture_method(platform: str | None = None) -> CaptureMethod:
    """``portal`` on Wayland and inside Flatpak, else ``qt``.

    ``platform`` is Qt's platform name; by default the running application's, or, with none
    running (the command line), the one Qt would pick from the environment.
    """
    if portal.in_flatpak():
        return "portal"
    if platform is None:
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            platform = QGuiApplication.platformName()
        else:
            platform = display_status(os.environ)[1]
    return "portal" if platform.startswith("wayland") else "qt"


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


# ---------------------------------------------------------------- grabbing


def grab_screens() -> Pictures:
    """A picture of every screen (GUI thread on the Qt path; on the portal path it waits for
    the portal's helper, so callers run it off the GUI thread; it returns the whole desktop)."""
    if capture_method() == "portal":
        try:
            return Pictures([portal_picture()])
        except AuthenticatorError as exc:
            log.info("the screenshot portal failed: %s", exc)
            return Pictures(failure=str(exc))
        except TimeoutError:
            return Pictures(failure="The desktop portal did not answer in time; try again.")
    pictures = Pictures()
    for screen in QGuiApplication.screens():
        pixmap = screen.grabWindow(0)
        if not pixmap.isNull():
            pictures.append(pixmap.toImage())
    if not pictures:
        pictures.failure = NOT_CAPTURED
    return pictures


def portal_desktop() -> QImage | None:
    """The whole desktop through the portal, or ``None`` (any thread: it waits on a helper)."""
    try:
        return portal_picture()
    except (AuthenticatorError, TimeoutError) as exc:
        log.info("the screenshot portal failed: %s", exc)
        return None


def grab_primary(whole: QImage | None = None) -> tuple[QImage, QRect] | None:
    """The primary screen's picture and geometry, for the region picker (GUI thread only).

    On the Qt path it grabs the screen; on the portal path ``whole`` is the desktop picture
    :func:`portal_desktop` got off the GUI thread, and the primary screen is cut out of it.
    """
    screen: QScreen | None = QGuiApplication.primaryScreen()  # None with no screen at all
    if screen is None:
        return None
    geometry = screen.geometry()
    if capture_method() == "qt":
        pixmap = screen.grabWindow(0)
        return None if pixmap.isNull() else (pixmap.toImage(), geometry)
    if whole is None:
        return None
    # The portal pictures the whole desktop: cut out the primary screen (device pixels).
    desktop = QRect()
    for other in QGuiApplication.screens():
        desktop = desktop.united(other.geometry())
    if desktop.isEmpty() or desktop == geometry:
        return whole, geometry
    sx, sy = whole.width() / desktop.width(), whole.height() / desktop.height()
    part = QRect(
        round((geometry.x() - desktop.x()) * sx),
        round((geometry.y() - desktop.y()) * sy),
        round(geometry.width() * sx),
        round(geometry.height() * sy),
    )
    return whole.copy(part), geometry


def portal_picture() -> QImage:
    """The whole desktop through the Screenshot portal (waits without blocking the GUI)."""
    data = _off_the_gui_thread(
        lambda: portal.take_screenshot_file(portal.screenshot_via_helper()), PORTAL_WAIT_S
    )
    image = QImage.fromData(data)
    if image.isNull():
        raise DecodeError("The desktop portal's screenshot is not a picture this app can read.")
    return image


class _Finished(QObject):
    done = Signal()


def _off_the_gui_thread(work: Callable[[], T], timeout: float) -> T:
    """Run ``work`` on a worker thread; the GUI thread keeps handling events until it ends."""
    box: dict[str, object] = {}
    finished = threading.Event()
    relay = _Finished()
    app = QGuiApplication.instance()
    loop = QEventLoop() if app is not None else None
    if loop is not None:
        relay.done.connect(loop.quit, Qt.ConnectionType.QueuedConnection)

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc
        finally:
            finished.set()
            relay.done.emit()

    threading.Thread(target=run, name="screenshot-portal", daemon=True).start()
    if loop is not None and not finished.is_set():
        QTimer.singleShot(int(timeout * 1000), loop.quit)
        loop.exec()
    if not finished.wait(0 if loop is not None else timeout):
        raise TimeoutError("the desktop portal did not answer")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def decode_screens(pictures: list[QImage]) -> str:
    """The first QR code found on any of ``pictures``."""
    if not pictures:
        raise DecodeError(getattr(pictures, "failure", "") or NOT_CAPTURED)
    for picture in pictures:
        try:
            return decode_qimage(picture)
        except DecodeError:
            continue
    raise DecodeError(
        "No QR code was found on the screen; show the code in full and try again, or select it."
    )


# ---------------------------------------------------------------- the clipboard


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


# ---------------------------------------------------------------- the command line


def screen_qr_text() -> str:
    """The text of a QR code shown anywhere on the screen."""
    if capture_method() == "portal" and QGuiApplication.instance() is None:
        # No Qt needed: the portal hands back a file. Through the helper process: a command
        # holding the vault is undumpable too (cli/context.py), and the portal refuses that.
        data = portal.take_screenshot_file(portal.screenshot_via_helper())
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            try:
                return decode_image(image)
            except DecodeError:
                raise DecodeError(
                    "No QR code was found on the screen; show the code in full and try again."
                ) from None
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

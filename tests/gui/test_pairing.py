"""The pairing wizard: from a QR picture file, from clipboard text, refusing, and its errors."""

from __future__ import annotations

from pathlib import Path

import qrcode
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.gui.context import AppContext
from authenticator.gui.windows.pairing import PairingWizard


def wizard(qtbot: QtBot, ctx: AppContext) -> PairingWizard:
    w = PairingWizard(ctx)
    qtbot.addWidget(w)
    w.show()
    return w


def qr_png(text: str, path: Path) -> Path:
    qrcode.make(text).save(path)
    return path


def test_pair_from_a_qr_picture_file(
    qtbot: QtBot, ctx: AppContext, core: Core, requester: Requester, tmp_path: Path
) -> None:
    session = requester.start_pairing()
    w = wizard(qtbot, ctx)
    w.read_image_file(str(qr_png(session.qr_text, tmp_path / "qr.png")))
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.preview_page, timeout=10_000)
    assert w.p_user.text() == session.qr.user
    assert w.p_email.text() == session.qr.email
    assert w.p_host.text() == session.qr.hostname
    assert "127.0.0.1" in w.p_where.text()
    assert not w.fingerprint_warning.isVisibleTo(w)  # the code carries the request's hash
    w.p_name.setText("office HEM")
    w.p_label.setText("test desk")
    with qtbot.waitSignal(w.paired, timeout=10_000) as blocker:
        qtbot.mouseClick(w.accept_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].name == "office HEM"
    assert w.pages.currentWidget() is w.done_page
    assert session.poll() == "paired"
    assert [h.name for h in core.hems()] == ["office HEM"]
    assert core.hems()[0].label == "test desk"


def test_pair_from_clipboard_text(
    qtbot: QtBot, ctx: AppContext, core: Core, requester: Requester
) -> None:
    session = requester.start_pairing()
    QApplication.clipboard().setText(session.qr_text)
    w = wizard(qtbot, ctx)
    qtbot.mouseClick(w.clipboard_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.preview_page, timeout=10_000)
    with qtbot.waitSignal(w.paired, timeout=10_000):
        qtbot.mouseClick(w.accept_button, Qt.MouseButton.LeftButton)
    assert session.poll() == "paired"


def test_pair_from_a_dropped_link_and_refuse(
    qtbot: QtBot, ctx: AppContext, core: Core, requester: Requester
) -> None:
    session = requester.start_pairing()
    w = wizard(qtbot, ctx)
    data = QMimeData()
    data.setText(session.pair_link)  # an encedo-auth:pair?… link
    w.drop(data)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.preview_page, timeout=10_000)
    qtbot.mouseClick(w.refuse_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.source_page, timeout=10_000)
    assert "refused" in w.source_banner.text()
    assert session.poll() == "refused"
    assert core.hems() == []


def test_a_dropped_picture_file(
    qtbot: QtBot, ctx: AppContext, requester: Requester, tmp_path: Path
) -> None:
    session = requester.start_pairing()
    w = wizard(qtbot, ctx)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(qr_png(session.qr_text, tmp_path / "code.png")))])
    w.drop(data)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.preview_page, timeout=10_000)


def test_failures_are_said_in_place_with_a_way_back(
    qtbot: QtBot, ctx: AppContext, requester: Requester, tmp_path: Path
) -> None:
    w = wizard(qtbot, ctx)
    blank = tmp_path / "blank.png"
    qrcode.make("").get_image().crop((0, 0, 5, 5)).save(blank)
    w.read_image_file(str(blank))
    qtbot.waitUntil(lambda: w.source_banner.kind == "error", timeout=10_000)
    assert "No QR code" in w.source_banner.text()
    assert w.file_button.isEnabled()  # try again with another source
    w.read_text("certainly not a pairing code")
    qtbot.waitUntil(lambda: w.source_banner.kind == "error", timeout=10_000)
    assert w.pages.currentWidget() is w.source_page
    # A code already used: the broker says so, in one sentence.
    session = requester.start_pairing()
    w.read_text(session.qr_text)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.preview_page, timeout=10_000)
    w.back_to_source()
    assert w.pages.currentWidget() is w.source_page


def test_pair_directly(qtbot: QtBot, ctx: AppContext, core: Core, emu: RunningEmulator) -> None:
    w = wizard(qtbot, ctx)
    qtbot.mouseClick(w.direct_button, Qt.MouseButton.LeftButton)
    assert w.pages.currentWidget() is w.direct_page
    w.d_url.setText(emu.urls.hems[1])
    qtbot.mouseClick(w.d_check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(w.d_pair.isEnabled, timeout=10_000)
    assert "plain HTTP" in w.d_cert.text()
    w.d_passphrase.setText("wrong")
    qtbot.mouseClick(w.d_pair, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.direct_banner.kind == "error", timeout=10_000)
    assert w.d_passphrase.text() == ""  # never kept
    w.d_passphrase.setText("demo")
    with qtbot.waitSignal(w.paired, timeout=10_000):
        qtbot.mouseClick(w.d_pair, Qt.MouseButton.LeftButton)
    assert core.hems()[0].source == "direct"


def test_region_picker_crops_the_qr_code(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtCore import QPoint, QRect
    from PySide6.QtGui import QColor, QImage, QPainter

    from authenticator.gui.capture import decode_qimage
    from authenticator.gui.widgets.region import RegionPicker

    code = QImage(str(qr_png("encedo-test-code", tmp_path / "c.png")))
    shot = QImage(800, 600, QImage.Format.Format_RGB32)
    shot.fill(QColor("#ffffff"))
    painter = QPainter(shot)
    painter.drawImage(QPoint(400, 200), code)
    painter.end()
    picker = RegionPicker(shot, QRect(0, 0, 800, 600))
    qtbot.addWidget(picker)
    picker.show()
    with qtbot.waitSignal(picker.picked) as blocker:
        qtbot.mousePress(picker, Qt.MouseButton.LeftButton, pos=QPoint(390, 190))
        qtbot.mouseMove(picker, QPoint(600, 400))
        qtbot.mouseMove(picker, QPoint(400 + code.width() + 10, 200 + code.height() + 10))
        qtbot.mouseRelease(
            picker,
            Qt.MouseButton.LeftButton,
            pos=QPoint(400 + code.width() + 10, 200 + code.height() + 10),
        )
    assert decode_qimage(blocker.args[0]) == "encedo-test-code"


def test_region_picker_escape_cancels(qtbot: QtBot) -> None:
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QImage

    from authenticator.gui.widgets.region import RegionPicker

    shot = QImage(200, 100, QImage.Format.Format_RGB32)
    picker = RegionPicker(shot, QRect(0, 0, 200, 100))
    picker.show()
    with qtbot.waitSignal(picker.cancelled):
        qtbot.keyClick(picker, Qt.Key.Key_Escape)


def test_read_from_the_screen_steps_aside_and_comes_back(
    qtbot: QtBot, ctx: AppContext, monkeypatch: object
) -> None:
    from PySide6.QtWidgets import QWidget

    from authenticator.gui import capture

    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    w = PairingWizard(ctx, parent)
    w.show()
    seen: list[bool] = []

    def grab() -> list[object]:
        seen.append(parent.isVisible() or w.isVisible())
        return []

    monkeypatch.setattr(capture, "grab_screens", grab)  # type: ignore[attr-defined]
    w.read_screen()
    qtbot.waitUntil(lambda: w.source_banner.kind == "error", timeout=5000)
    assert seen == [False]  # nothing of ours covered the screen while it was read
    assert parent.isVisible()
    assert w.isVisible()
    assert "could not be captured" in w.source_banner.text()

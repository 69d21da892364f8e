"""The pairing wizard: read the Manager's QR code (or reach the HEM directly), check, preview,
accept or refuse.

Sources: the whole screen, a selected screen region, the clipboard (picture or text), an image
file, drag-and-drop (a picture, an image file or text) and pasted text or an ``encedo-auth:``
link. Or "Pair directly": the HEM's address, its certificate fingerprint, the HEM passphrase
(used once, never stored).

Grabbing pixels happens on the GUI thread (Qt requires it); decoding and every core call run on
the ``TaskRunner``. Every failure is one sentence on the page where it happened, with the way
back (Back, or simply another source).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from authenticator.core.model import AccessRequest, DirectPreview, HemView, PairingPreview
from authenticator.core.qrimage import decode_image_file
from authenticator.errors import DecodeError
from authenticator.gui import capture
from authenticator.gui.context import AppContext
from authenticator.gui.icons import app_icon
from authenticator.gui.qtfix import emit
from authenticator.gui.widgets.banner import Banner
from authenticator.gui.widgets.passphrase import PassphraseField
from authenticator.gui.widgets.plain import PlainLabel
from authenticator.gui.widgets.region import RegionPicker

__all__ = ["PairingWizard"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
HIDE_BEFORE_GRAB_MS = 300


def _heading(text: str, parent: QWidget) -> QLabel:
    label = PlainLabel(text, parent)
    label.setProperty("role", "title")
    label.setWordWrap(True)
    return label


def _value(parent: QWidget, name: str) -> QLabel:
    label = PlainLabel(parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleName(name)
    return label


def _button_row(left: tuple[QPushButton, ...], right: tuple[QPushButton, ...] = ()) -> QHBoxLayout:
    """A page's bottom row: ``left`` buttons, a stretch, ``right`` buttons; Enter presses none of
    them by accident (the wizard decides what Enter means)."""
    row = QHBoxLayout()
    for button in (*left, *right):
        button.setAutoDefault(False)
    for button in left:
        row.addWidget(button)
    row.addStretch(1)
    for button in right:
        row.addWidget(button)
    return row


class PairingWizard(QDialog):
    paired = Signal(object)  # HemView
    requestOpened = Signal(object)  # AccessRequest (someone pasted a request, not a pairing)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.preview: PairingPreview | None = None
        self.direct: DirectPreview | None = None
        self.hem: HemView | None = None
        self._picker: RegionPicker | None = None
        self._parent_was_visible = False
        self.setWindowTitle(self.tr("Pair a HEM"))
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setMinimumSize(580, 500)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 18, 22, 18)
        self.pages = QStackedWidget(self)
        layout.addWidget(self.pages)
        self._build_source()
        self._build_preview()
        self._build_direct()
        self._build_done()
        self.pages.setCurrentWidget(self.source_page)

    # ================================================================== pages

    def _build_source(self) -> None:
        page = self.source_page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setSpacing(10)
        layout.addWidget(_heading(self.tr("Pair a HEM"), page))
        intro = PlainLabel(
            self.tr(
                "In the Encedo Manager, choose to pair an authenticator: it shows a QR code. "
                "Read that code with one of these:"
            ),
            page,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        grid.setSpacing(8)
        self.screen_button = QPushButton(self.tr("Read from the &screen"), page)
        self.region_button = QPushButton(self.tr("Select a screen &region…"), page)
        self.clipboard_button = QPushButton(self.tr("From the &clipboard"), page)
        self.file_button = QPushButton(self.tr("Open an &image file…"), page)
        self.screen_button.setToolTip(
            self.tr("This window hides for a moment while the screen is read.")
        )
        self.screen_button.clicked.connect(self.read_screen)
        self.region_button.clicked.connect(self.read_region)
        self.clipboard_button.clicked.connect(self.read_clipboard)
        self.file_button.clicked.connect(self.choose_file)
        buttons = (self.screen_button, self.region_button, self.clipboard_button, self.file_button)
        for index, button in enumerate(buttons):
            button.setAutoDefault(False)
            button.setMinimumHeight(36)
            grid.addWidget(button, index // 2, index % 2)
        layout.addLayout(grid)
        paste_label = PlainLabel(
            self.tr("…or &paste the code's text or an encedo-auth: link:"), page
        )
        layout.addWidget(paste_label)
        self.paste = QPlainTextEdit(page)
        self.paste.setAccessibleName(self.tr("Pairing code or link"))
        self.paste.setPlaceholderText(
            '{"link": "https://…", "hash": "…", …}  or  encedo-auth:pair?…'
        )
        self.paste.setTabChangesFocus(True)
        self.paste.setMaximumHeight(80)
        paste_label.setBuddy(self.paste)
        layout.addWidget(self.paste)
        row = QHBoxLayout()
        tip = PlainLabel(self.tr("You can also drop a picture of the code onto this window."), page)
        tip.setProperty("role", "muted")
        tip.setWordWrap(True)
        row.addWidget(tip, 1)
        self.continue_button = QPushButton(self.tr("C&ontinue"), page)
        self.continue_button.setAutoDefault(False)
        self.continue_button.clicked.connect(lambda: self.read_text(self.paste.toPlainText()))
        row.addWidget(self.continue_button)
        layout.addLayout(row)
        self.source_banner = Banner(page)
        layout.addWidget(self.source_banner)
        layout.addStretch(1)
        line = QFrame(page)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        self.direct_button = QPushButton(self.tr("Pair &directly with a HEM…"), page)
        self.direct_button.setToolTip(
            self.tr("For a HEM you can reach from this computer, with its passphrase.")
        )
        self.direct_button.clicked.connect(self.show_direct)
        self.close_button = QPushButton(self.tr("Close"), page)
        self.close_button.clicked.connect(self.reject)
        layout.addLayout(_button_row((self.direct_button,), (self.close_button,)))
        self.pages.addWidget(page)

    def _build_preview(self) -> None:
        page = self.preview_page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setSpacing(10)
        layout.addWidget(_heading(self.tr("Pair with this HEM?"), page))
        intro = PlainLabel(
            self.tr("Check that this is your HEM and that you asked for it in the Manager."), page
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        form.setHorizontalSpacing(18)
        self.p_user = _value(page, self.tr("HEM user"))
        self.p_email = _value(page, self.tr("E-mail"))
        self.p_host = _value(page, self.tr("Hostname"))
        self.p_where = _value(page, self.tr("Where the code was shown"))
        self.p_broker = _value(page, self.tr("Broker"))
        form.addRow(self.tr("User"), self.p_user)
        form.addRow(self.tr("E-mail"), self.p_email)
        form.addRow(self.tr("Hostname"), self.p_host)
        form.addRow(self.tr("Code shown from"), self.p_where)
        form.addRow(self.tr("Broker"), self.p_broker)
        self.fingerprint_warning = Banner(page)
        layout.addWidget(self.fingerprint_warning)
        names = form
        self.p_name = QLineEdit(page)
        self.p_name.setAccessibleName(self.tr("Name of the HEM in this app"))
        self.p_label = QLineEdit(page)
        self.p_label.setMaxLength(32)
        self.p_label.setAccessibleName(self.tr("Name of this computer on the HEM"))
        names.addRow(self.tr("&Call this HEM"), self.p_name)
        names.addRow(self.tr("This computer &on the HEM"), self.p_label)
        layout.insertLayout(layout.indexOf(self.fingerprint_warning), form)
        self.preview_banner = Banner(page)
        layout.addWidget(self.preview_banner)
        layout.addStretch(1)
        self.back_button = QPushButton(self.tr("&Back"), page)
        self.refuse_button = QPushButton(self.tr("&Refuse"), page)
        self.refuse_button.setProperty("role", "deny")
        self.accept_button = QPushButton(self.tr("&Accept and pair"), page)
        self.accept_button.setProperty("role", "primary")
        self.back_button.clicked.connect(self.back_to_source)
        self.refuse_button.clicked.connect(self.refuse)
        self.accept_button.clicked.connect(self.accept_pairing)
        layout.addLayout(_button_row((self.back_button,), (self.refuse_button, self.accept_button)))
        self.pages.addWidget(page)

    def _build_direct(self) -> None:
        page = self.direct_page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.setSpacing(10)
        layout.addWidget(_heading(self.tr("Pair directly with a HEM"), page))
        intro = PlainLabel(
            self.tr(
                "Enter the address of a HEM this computer can reach. The app shows its "
                "certificate before you enter the HEM passphrase."
            ),
            page,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.d_url = QLineEdit(page)
        self.d_url.setPlaceholderText("https://my-hem.local")
        self.d_url.setAccessibleName(self.tr("HEM address"))
        self.d_url.returnPressed.connect(self.check_direct)
        self.d_check = QPushButton(self.tr("C&heck"), page)
        self.d_check.setAutoDefault(False)
        self.d_check.clicked.connect(self.check_direct)
        url_label = PlainLabel(self.tr("&Address"), page)
        url_label.setBuddy(self.d_url)
        row.addWidget(url_label)
        row.addWidget(self.d_url, 1)
        row.addWidget(self.d_check)
        layout.addLayout(row)
        self.d_found = QWidget(page)
        form = QFormLayout(self.d_found)
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(18)
        self.d_host = _value(self.d_found, self.tr("Hostname"))
        self.d_firmware = _value(self.d_found, self.tr("Firmware"))
        self.d_cert = _value(self.d_found, self.tr("Certificate fingerprint"))
        font = self.d_cert.font()
        font.setFamily("monospace")
        self.d_cert.setFont(font)
        self.d_trust = _value(self.d_found, self.tr("Trust"))
        self.d_passphrase = PassphraseField(self.tr("HEM passphrase"), self.d_found)
        self.d_passphrase.returnPressed.connect(self.pair_direct)
        self.d_name = QLineEdit(self.d_found)
        self.d_name.setAccessibleName(self.tr("Name of the HEM in this app"))
        self.d_label = QLineEdit(self.d_found)
        self.d_label.setMaxLength(32)
        self.d_label.setAccessibleName(self.tr("Name of this computer on the HEM"))
        form.addRow(self.tr("Hostname"), self.d_host)
        form.addRow(self.tr("Firmware"), self.d_firmware)
        form.addRow(self.tr("Certificate SHA-256"), self.d_cert)
        form.addRow(self.tr("Trust"), self.d_trust)
        form.addRow(self.tr("HEM &passphrase"), self.d_passphrase)
        form.addRow(self.tr("Call this &HEM"), self.d_name)
        form.addRow(self.tr("This computer on the H&EM"), self.d_label)
        self.d_found.hide()
        layout.addWidget(self.d_found)
        self.direct_banner = Banner(page)
        layout.addWidget(self.direct_banner)
        layout.addStretch(1)
        self.d_back = QPushButton(self.tr("&Back"), page)
        self.d_back.clicked.connect(self.back_to_source)
        self.d_pair = QPushButton(self.tr("&Pair"), page)
        self.d_pair.setProperty("role", "primary")
        self.d_pair.clicked.connect(self.pair_direct)
        self.d_pair.setEnabled(False)
        layout.addLayout(_button_row((self.d_back,), (self.d_pair,)))
        self.pages.addWidget(page)

    def _build_done(self) -> None:
        page = self.done_page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        self.done_title = _heading("", page)
        self.done_title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.done_title)
        self.done_text = PlainLabel(page)
        self.done_text.setWordWrap(True)
        self.done_text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.done_text)
        layout.addStretch(1)
        self.done_button = QPushButton(self.tr("&Done"), page)
        self.done_button.setProperty("role", "primary")
        self.done_button.clicked.connect(self.accept)
        layout.addLayout(_button_row((), (self.done_button,)))
        self.pages.addWidget(page)

    # ================================================================== sources

    def _busy(self, text: str) -> None:
        self.source_banner.show_message(text, "info")
        for button in (
            self.screen_button,
            self.region_button,
            self.clipboard_button,
            self.file_button,
            self.continue_button,
        ):
            button.setEnabled(False)

    def _idle(self) -> None:
        for button in (
            self.screen_button,
            self.region_button,
            self.clipboard_button,
            self.file_button,
            self.continue_button,
        ):
            button.setEnabled(True)

    def _source_error(self, message: str, exc: BaseException | None = None) -> None:
        self._idle()
        self._come_back()
        self.source_banner.show_message(message, "error")

    def read_screen(self) -> None:
        """Hide, grab every screen, show again, decode off the GUI thread."""
        self._busy(self.tr("Reading the screen…"))
        self._step_aside()
        QTimer.singleShot(HIDE_BEFORE_GRAB_MS, self._grab_screen)

    def _step_aside(self) -> None:
        """Hide this wizard and the app's window so they do not cover the QR code."""
        parent = self.parentWidget()
        self._parent_was_visible = parent is not None and parent.isVisible()
        if parent is not None and self._parent_was_visible:
            parent.hide()
        self.hide()

    def _come_back(self) -> None:
        parent = self.parentWidget()
        if parent is not None and self._parent_was_visible:
            parent.show()
        self._parent_was_visible = False
        self.show()
        self.raise_()
        self.activateWindow()

    def _grab_screen(self) -> None:
        if capture.capture_method() == "portal":  # waits on the portal: off the GUI thread
            self.ctx.tasks.run(
                capture.grab_screens,
                self._decode_screens,
                self._grabbing_failed,
                owner=self,
                name="portal_screenshot",
            )
            return
        self._decode_screens(capture.grab_screens())

    def _grabbing_failed(self, message: str, _exc: BaseException) -> None:
        self._come_back()
        self._source_error(message)

    def _decode_screens(self, pictures: capture.Pictures) -> None:
        self._come_back()
        self.ctx.tasks.run(
            lambda: capture.decode_screens(pictures),
            self.read_text,
            self._source_error,
            owner=self,
            name="decode_screen",
        )

    def read_region(self) -> None:
        self._busy(self.tr("Select the QR code on the screen…"))
        self._step_aside()
        QTimer.singleShot(HIDE_BEFORE_GRAB_MS, self._pick_region)

    def _pick_region(self) -> None:
        if capture.capture_method() == "portal":  # waits on the portal: off the GUI thread
            self.ctx.tasks.run(
                capture.portal_desktop,
                self._show_picker,
                self._grabbing_failed,
                owner=self,
                name="portal_screenshot",
            )
            return
        self._show_picker(None)

    def _show_picker(self, whole: QImage | None) -> None:
        grabbed = capture.grab_primary(whole)
        picker = None if grabbed is None else RegionPicker(*grabbed)
        if picker is None:
            self._source_error(self.tr("The screen could not be captured on this desktop."))
            return
        self._picker = picker
        picker.picked.connect(self.read_image)
        picker.cancelled.connect(self._region_cancelled)
        picker.showFullScreen()
        picker.activateWindow()

    def _region_cancelled(self) -> None:
        self._idle()
        self._come_back()
        self.source_banner.clear_message()

    def read_image(self, image: QImage) -> None:
        self._come_back()
        self._busy(self.tr("Looking for a QR code…"))
        self.ctx.tasks.run(
            lambda: capture.decode_qimage(image),
            self.read_text,
            self._source_error,
            owner=self,
            name="decode_image",
        )

    def read_clipboard(self) -> None:
        image = capture.clipboard_image()
        if image is not None:
            self.read_image(image)
            return
        text = capture.clipboard_text()
        if not text:
            self._source_error(
                self.tr("The clipboard holds neither a QR code picture nor its text.")
            )
            return
        self.read_text(text)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Open a picture of the QR code"),
            str(Path.home()),
            self.tr("Pictures (*.png *.jpg *.jpeg *.gif *.bmp *.webp *.tif *.tiff);;All files (*)"),
        )
        if path:
            self.read_image_file(path)

    def read_image_file(self, path: str) -> None:
        self._busy(self.tr("Looking for a QR code…"))
        self.ctx.tasks.run(
            lambda: decode_image_file(path),
            self.read_text,
            self._source_error,
            owner=self,
            name="decode_file",
        )

    def read_text(self, text: str) -> None:
        """Check a code's text (or a link) with the broker, then show the preview."""
        text = text.strip()
        if not text:
            self._source_error(self.tr("Paste the code's text or link first."))
            return
        self._busy(self.tr("Checking the code…"))
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.open_pasted(text),
            self._opened,
            self._code_error,
            owner=self,
            name="preview",
        )

    def _code_error(self, message: str, exc: BaseException) -> None:
        """A code that does not decode: what to do, not the decoder's words ("the header is
        not valid JSON")."""
        if isinstance(exc, DecodeError):
            message = self.tr(
                "This is not a pairing code from the Encedo Manager. Show the QR code again "
                "(or copy its text again, whole) and read it once more."
            )
        self._source_error(message, exc)

    def _opened(self, result: PairingPreview | AccessRequest) -> None:
        self._idle()
        self.source_banner.clear_message()
        if isinstance(result, AccessRequest):
            emit(self.requestOpened, result)
            self.accept()
            return
        self.show_preview(result)

    # ------------------------------------------------------------------ drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._droppable(event.mimeData()) and self.pages.currentWidget() is self.source_page:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drop(event.mimeData())
        event.acceptProposedAction()

    @staticmethod
    def _droppable(data: QMimeData) -> bool:
        return data.hasImage() or data.hasUrls() or data.hasText()

    def drop(self, data: QMimeData) -> None:
        """A picture, an image file or text dropped on the wizard."""
        if data.hasImage():
            image = data.imageData()
            if isinstance(image, QImage) and not image.isNull():
                self.read_image(image)
                return
        if data.hasUrls():
            for url in data.urls():
                if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
                    self.read_image_file(url.toLocalFile())
                    return
        if data.hasText():
            self.read_text(data.text())
            return
        self._source_error(self.tr("Drop a picture of the QR code, or its text."))

    # ================================================================== preview

    def show_preview(self, preview: PairingPreview) -> None:
        self.preview = preview
        qr = preview.qr
        self.p_user.setText(qr.user or "—")
        self.p_email.setText(qr.email or "—")
        self.p_host.setText(qr.hostname or "—")
        self.p_where.setText(preview.location.describe() or self.tr("unknown"))
        self.p_broker.setText(preview.broker_url)
        if preview.has_fingerprint:
            self.fingerprint_warning.clear_message()
        else:
            self.fingerprint_warning.show_message(
                self.tr(
                    "This code carries no fingerprint of the pairing request, so nothing ties "
                    "it to your HEM. Accept only if you just made it in your own Manager."
                ),
                "warn",
            )
        self.p_name.setText(preview.suggested_name)
        self.p_label.setText(preview.default_label)
        self.preview_banner.clear_message()
        self._preview_enabled(True)
        self.pages.setCurrentWidget(self.preview_page)
        self.p_name.setFocus()

    def _preview_enabled(self, enabled: bool) -> None:
        for widget in (
            self.back_button,
            self.refuse_button,
            self.accept_button,
            self.p_name,
            self.p_label,
        ):
            widget.setEnabled(enabled)

    def accept_pairing(self) -> None:
        preview = self.preview
        if preview is None:
            return
        name, label = self.p_name.text().strip() or None, self.p_label.text().strip() or None
        self._preview_enabled(False)
        self.preview_banner.show_message(self.tr("Pairing…"), "info")
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.accept_pairing(preview, name=name, label=label),
            self._paired,
            self._preview_failed,
            owner=self,
            name="accept_pairing",
        )

    def refuse(self) -> None:
        preview = self.preview
        if preview is None:
            return
        self._preview_enabled(False)
        self.preview_banner.show_message(self.tr("Refusing…"), "info")
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.refuse_pairing(preview),
            lambda _: self._refused(),
            self._preview_failed,
            owner=self,
            name="refuse_pairing",
        )

    def _refused(self) -> None:
        self.preview = None
        self.pages.setCurrentWidget(self.source_page)
        self.source_banner.show_message(
            self.tr("The pairing was refused; the Manager is told so."), "info"
        )

    def _preview_failed(self, message: str, exc: BaseException) -> None:
        self._preview_enabled(True)
        self.preview_banner.show_message(message, "error")

    def back_to_source(self) -> None:
        self.pages.setCurrentWidget(self.source_page)
        self.d_passphrase.clear()

    # ================================================================== direct

    def show_direct(self) -> None:
        self.direct_banner.clear_message()
        self.pages.setCurrentWidget(self.direct_page)
        self.d_url.setFocus()

    def check_direct(self) -> None:
        url = self.d_url.text().strip()
        if not url:
            self.direct_banner.show_message(self.tr("Enter the HEM's address first."))
            return
        if "://" not in url:
            url = "https://" + url
        self.d_check.setEnabled(False)
        self.d_found.hide()
        self.d_pair.setEnabled(False)
        self.direct_banner.show_message(self.tr("Contacting the HEM…"), "info")
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.preview_direct(url),
            self._direct_found,
            self._direct_failed,
            owner=self,
            name="preview_direct",
        )

    def _direct_found(self, preview: DirectPreview) -> None:
        from authenticator.core.pairings import default_label

        self.direct = preview
        self.d_check.setEnabled(True)
        self.direct_banner.clear_message()
        self.d_host.setText(preview.hostname or "—")
        self.d_firmware.setText(preview.firmware or "—")
        cert = preview.certificate
        if cert is None:
            self.d_cert.setText(self.tr("none (plain HTTP)"))
            self.d_trust.setText(
                self.tr("Plain HTTP is accepted only for a HEM on this computer (e.g. the demo).")
            )
        else:
            grouped = cert.grouped
            half = len(grouped) // 2
            cut = grouped.rfind(":", 0, half + 1) + 1
            self.d_cert.setText(grouped[:cut] + "\n" + grouped[cut:])
            if preview.trusted_by_system:
                self.d_trust.setText(self.tr("Trusted by this computer's certificate authorities."))
            else:
                self.d_trust.setText(
                    self.tr(
                        "Not vouched for by any authority. Compare the fingerprint with the "
                        "one your HEM shows; pairing pins this certificate."
                    )
                )
        self.d_name.setText(preview.hostname or "HEM")
        self.d_label.setText(default_label())
        self.d_found.show()
        self.d_pair.setEnabled(True)
        self.d_passphrase.setFocus()

    def _direct_failed(self, message: str, exc: BaseException) -> None:
        self.d_check.setEnabled(True)
        self.d_pair.setEnabled(self.direct is not None and self.d_found.isVisible())
        self.direct_banner.show_message(message, "error")

    def pair_direct(self) -> None:
        preview = self.direct
        if preview is None:
            return
        passphrase = self.d_passphrase.take()
        if not passphrase:
            self.direct_banner.show_message(self.tr("Enter the HEM passphrase."))
            return
        name, label = self.d_name.text().strip() or None, self.d_label.text().strip() or None
        self.d_pair.setEnabled(False)
        self.direct_banner.show_message(self.tr("Pairing…"), "info")
        core = self.ctx.core
        self.ctx.tasks.run(
            lambda: core.pair_direct(preview, passphrase, name=name, label=label),
            self._paired,
            self._direct_failed,
            owner=self,
            name="pair_direct",
        )

    # ================================================================== done

    def _paired(self, hem: HemView) -> None:
        self.hem = hem
        self.done_title.setText(self.tr("Paired with {name}").format(name=hem.name))
        self.done_text.setText(
            self.tr(
                "Requests to {name} now appear in this app. You can rename it or unpair it "
                "on the HEMs page."
            ).format(name=hem.name)
        )
        self.pages.setCurrentWidget(self.done_page)
        self.done_button.setFocus()
        emit(self.paired, hem)

"""First run: no HEM yet. Pair one, or try the whole story with the built-in demo.

In demo mode the screen says the three steps of a first pairing and offers "Open the demo page"
(the page may not have opened by itself, or its tab was closed): the controller opens the
running demo's address in the browser.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from authenticator.gui.icons import app_icon
from authenticator.gui.widgets.card import centred_card
from authenticator.gui.widgets.plain import PlainLabel

__all__ = ["WelcomeView"]


class WelcomeView(QWidget):
    pairRequested = Signal()
    demoRequested = Signal()
    demoPageRequested = Signal()

    def __init__(self, *, demo_mode: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Welcome"))
        card, layout = centred_card(self, width=560, margins=(32, 28), spacing=14)
        icon = PlainLabel(card)
        icon.setPixmap(app_icon().pixmap(QSize(72, 72), self.devicePixelRatioF()))
        icon.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(icon)
        title = PlainLabel(self.tr("Welcome to Encedo Authenticator"), card)
        title.setProperty("role", "title")
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        title.setWordWrap(True)
        layout.addWidget(title)
        if demo_mode:
            text = self.tr(
                "This is the demo: a built-in HEM and broker run inside the app, and the demo "
                "page in your browser plays the Encedo Manager."
            )
        else:
            text = self.tr(
                "Pair this computer with your Encedo HEM once. From then on, whenever something "
                "asks your HEM for access, you see here what is asked, by whom, from where and "
                "until when — and you approve or deny it with one click."
            )
        body = PlainLabel(text, card)
        body.setWordWrap(True)
        body.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(body)
        self.steps: PlainLabel | None = None
        if demo_mode:
            self.steps = PlainLabel(
                self.tr(
                    "1. On the demo page, click “Pair an authenticator”: it shows a QR code.\n"
                    "2. Here, click “Pair a HEM…”, then “Read from the screen”.\n"
                    "3. Ask for access on the page, and answer the request here."
                ),
                card,
            )
            self.steps.setWordWrap(True)
            self.steps.setAccessibleName(self.tr("First steps"))
            layout.addWidget(self.steps)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.pair_button = QPushButton(self.tr("&Pair a HEM…"), card)
        self.pair_button.setProperty("role", "primary")
        self.pair_button.setAccessibleName(self.tr("Pair a HEM"))
        self.pair_button.clicked.connect(self.pairRequested)
        buttons.addWidget(self.pair_button)
        self.demo_page_button = QPushButton(self.tr("&Open the demo page"), card)
        self.demo_page_button.setAccessibleName(self.tr("Open the demo page"))
        self.demo_page_button.setToolTip(
            self.tr("Opens the demo's Encedo Manager page in your browser.")
        )
        self.demo_page_button.clicked.connect(self.demoPageRequested)
        self.demo_page_button.setVisible(demo_mode)
        buttons.addWidget(self.demo_page_button)
        self.demo_button = QPushButton(self.tr("Try the &demo"), card)
        self.demo_button.setAccessibleName(self.tr("Try the demo"))
        self.demo_button.setToolTip(
            self.tr(
                "Starts a built-in HEM and broker in a separate demo home; nothing is mixed "
                "with your real data."
            )
        )
        self.demo_button.clicked.connect(self.demoRequested)
        self.demo_button.setVisible(not demo_mode)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        for button in (self.pair_button, self.demo_page_button, self.demo_button):
            button.setAutoDefault(False)
        layout.addLayout(buttons)

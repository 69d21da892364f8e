"""The app's side of the newcomer test: ``authenticator --demo`` itself, run in this process on
the session's display (``QT_QPA_PLATFORM=xcb``), its widgets clicked as a person would on the
test's commands.

Run as ``python -m tests.gui.desktop.demo_app HOME``. The command line's own output (the demo
page's address) goes to stdout as it would to a terminal; this driver's events are JSON lines on
the same stdout (``{"event": …}``); commands come on stdin:

- ``pair``: the welcome screen's "Pair a HEM…", then the wizard's "Read from the screen" (a real
  grab of the X screen), then "Accept and pair" once the preview shows, then "Done";
  events ``preview`` (with the hostname read), ``paired``, or ``error`` (the wizard's banner);
- ``approve CODE``: wait for the request on the Requests page, report its ``title`` and the
  codes offered, click the code button showing ``CODE`` (the one the page shows: code matching),
  then the Allow button once it is enabled; events ``asking``, ``approved``;
- ``hide`` / ``visible``: hide the window / wait until it is visible again (a second
  ``--demo`` must bring it back);
- ``quit``: the tray menu's Quit.

"The browser" is this process's URL handler: the app's ``openUrl`` of the demo page becomes an
event ``browser`` (the test then opens the page in Chromium), so no real browser is launched.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton

from authenticator.cli.main import main as cli_main
from authenticator.gui.controller import AppController
from authenticator.gui.windows.main import MainWindow
from authenticator.gui.windows.pairing import PairingWizard

STEP_MS = 50
DEADLINE_S = 60.0


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **fields}), flush=True)


class Browser(QObject):
    """Where the app's ``QDesktopServices.openUrl`` of an http(s) address lands."""

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        emit("browser", url=url.toString())


class Driver(QObject):
    received = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.received.connect(self.run, Qt.ConnectionType.QueuedConnection)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            self.received.emit(line.strip())

    # ------------------------------------------------------------------ finding things

    @staticmethod
    def window() -> MainWindow | None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow):
                return widget
        return None

    @staticmethod
    def controller() -> AppController | None:
        """The app's controller (a plain QObject the app keeps; found among live objects)."""
        for thing in gc.get_objects():
            if isinstance(thing, AppController):
                return thing
        return None

    def wait(self, check: Callable[[], object], then: Callable[[], None], what: str) -> None:
        """Call ``then`` once ``check()`` is true (checked every 50 ms on the event loop)."""
        deadline = time.monotonic() + DEADLINE_S

        def tick() -> None:
            try:
                ready = check()
            except Exception as exc:  # reported to the test
                emit("error", message=f"{what}: {type(exc).__name__}: {exc}")
                return
            if ready:
                then()
            elif time.monotonic() > deadline:
                emit("error", message=f"timed out waiting for {what}")
            else:
                QTimer.singleShot(STEP_MS, tick)

        tick()

    @staticmethod
    def click(button: QPushButton) -> None:
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    # ------------------------------------------------------------------ commands

    @Slot(str)
    def run(self, command: str) -> None:
        window = self.window()
        if window is None:
            emit("error", message="no main window")
            return
        if command == "pair":
            self.pair(window)
        elif command.startswith("approve "):
            self.approve(window, command.split()[1])
        elif command == "hide":
            window.hide()
            emit("hidden")
        elif command == "visible":  # the window comes back (an agent "open" is queued)
            self.wait(window.isVisible, lambda: emit("visible"), "the window to come back")
        elif command == "quit":
            controller = self.controller()
            if controller is not None:
                controller.tray.actions["quit"].trigger()

    def pair(self, window: MainWindow) -> None:
        def wizard() -> PairingWizard | None:
            found = window.findChild(PairingWizard)
            return found if found is not None and found.isVisible() else None

        def read_screen() -> None:
            w = wizard()
            assert w is not None
            self.click(w.screen_button)
            self.wait(lambda: preview_or_error(w), lambda: accept(w), "the pairing preview")

        def preview_or_error(w: PairingWizard) -> bool:
            if w.pages.currentWidget() is w.preview_page:
                return True
            banner = w.source_banner
            if banner.kind == "error":
                raise RuntimeError(banner.text())
            return False

        def accept(w: PairingWizard) -> None:
            emit("preview", hostname=w.p_host.text())
            self.click(w.accept_button)
            self.wait(lambda: w.pages.currentWidget() is w.done_page, lambda: done(w), "paired")

        def done(w: PairingWizard) -> None:
            emit("paired", title=w.done_title.text())
            self.click(w.done_button)

        self.wait(
            lambda: window.screens.currentWidget() is window.welcome,
            lambda: (
                self.click(window.welcome.pair_button),
                self.wait(wizard, read_screen, "wizard"),
            ),
            "the welcome screen",
        )

    def approve(self, window: MainWindow, code: str) -> None:
        view = window.requests.view

        def pick() -> None:
            offered = [b.text() for b in view.code_buttons if b.isVisible()]
            emit("asking", title=view.title.text(), codes=offered)
            button = next(
                (b for b in view.code_buttons if b.isVisible() and b.text() == code), None
            )
            if button is None:
                emit("error", message=f"code {code} is not offered: {offered}")
                return
            self.click(button)
            self.wait(view.approve_button.isEnabled, allow, "Allow once the code is picked")

        def allow() -> None:
            self.click(view.approve_button)
            self.wait(lambda: view.state == "done", lambda: emit("approved"), "the approval")

        self.wait(lambda: view.state == "asking", pick, "a request on screen")


def main() -> int:
    home = Path(sys.argv[1])
    app = QApplication(["authenticator"])  # gui.app.make_application takes this one over
    browser = Browser()
    QDesktopServices.setUrlHandler("http", browser, "open")
    QDesktopServices.setUrlHandler("https", browser, "open")
    driver = Driver()
    QTimer.singleShot(0, lambda: emit("started"))
    code = cli_main(["--home", str(home), "--demo"])
    QDesktopServices.unsetUrlHandler("http")
    QDesktopServices.unsetUrlHandler("https")
    del driver, app
    emit("exited", code=code)
    return code


if __name__ == "__main__":
    sys.exit(main())

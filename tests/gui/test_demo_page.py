"""The demo page as a newcomer meets it: its code read from a real screen, its buttons in the
app's words, and what the app can know of the requester's own deadline.

- The page in Debian's Chromium, in a real window on Xvfb (not headless: the screen is grabbed
  with ``import -window root``), at device pixel ratios 1, 1.25 and 1.5: every module is a whole
  number of device pixels (4, 5, 6), the app's decoder reads the code from the whole grab, and
  from a region selected on it with the app's region picker (tight, with no quiet zone); the
  real core pairs with what was read and the page says "Paired ✓".
- Each button of the page is labelled with the title the app shows for the request it sends
  (through the real core), and "Log in to the Manager" asks for ``master``, the Manager's own
  login scope, which the app can approve.
- The requester's deadline: a broker event carries none (spec/protocol.md §5.4), so the app
  cannot show it for the page's requests; the demo requester states it in its note, which the
  app shows, as the requester's claim, where the protocol carries notes (a pasted ``authreq``).
- The app in demo mode opens the page at start, and again from the tray menu's "Open the demo
  page" and the welcome screen's button (which also says the first three steps); outside the
  demo neither is offered.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QObject, QRect, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from authenticator.cli.commands.demo import RunningDemo
from authenticator.core.app import Core
from authenticator.core.model import AccessRequest
from authenticator.core.qrimage import decode_image_file
from authenticator.emulator.demo.backend import DEMO_WAIT, DemoBackend, clock_text
from authenticator.emulator.server import RunningEmulator
from authenticator.gui.capture import decode_qimage
from authenticator.gui.context import AppContext
from authenticator.gui.controller import AppController
from authenticator.gui.widgets.region import RegionPicker
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.outside import Origin
from tests.desktop.session import private_desktop_session
from tests.support_emulator import PASSPHRASE, make_core, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-position=0,0",
]


@pytest.fixture
def page_api(emu: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.urls.demo, timeout=20) as client:
        yield client


def pair_through_the_page(api: httpx.Client, core: Core) -> None:
    started = api.post("api/pair", json={}).json()
    core.accept_pairing(core.preview_qr(started["qr_text"]))
    wait_for(lambda: api.get(f"api/pair/{started['id']}").json()["state"] == "paired")


def seen_by_the_app(core: Core, event_id: str) -> AccessRequest:
    found = wait_for(lambda: next((r for r in core.refresh() if r.id == event_id), None))
    assert isinstance(found, AccessRequest)
    return found


# ---------------------------------------------------------------- buttons and titles


def test_every_button_is_the_title_the_app_shows(
    page_api: httpx.Client, core: Core, emu: RunningEmulator
) -> None:
    pair_through_the_page(page_api, core)
    actions = page_api.get("api/hem").json()["actions"]
    assert [a["id"] for a in actions] == ["manager", "pgp", "disk", "list"]
    for action in actions:
        asked = page_api.post("api/request", json={"scope": action["scope"]}).json()
        request = seen_by_the_app(core, asked["event_id"])
        assert request.info.known, action
        assert request.title == action["label"] == asked["title"]
        core.deny(request.id)


def test_log_in_to_the_manager_asks_what_the_manager_asks(
    page_api: httpx.Client, core: Core
) -> None:
    pair_through_the_page(page_api, core)
    manager = page_api.get("api/hem").json()["actions"][0]
    assert (manager["label"], manager["scope"]) == ("Log in to the Manager", "master")
    asked = page_api.post("api/request", json={"scope": "master"}).json()
    request = seen_by_the_app(core, asked["event_id"])
    assert (
        request.text
        == f"Someone wants to log in to the Encedo Manager with full access to {request.hem}."
    )
    (code,) = [int(c) for c in re.findall(r"code:(\d+)", request.note.text if request.note else "")]
    assert code in request.codes  # the page shows it; the owner picks it among three
    assert page_api.get(f"api/request/{asked['id']}").json()["code"] == code
    core.approve(request.id, code=code)
    done = wait_for(
        lambda: (a := page_api.get(f"api/request/{asked['id']}").json())["state"] != "pending" and a
    )
    assert isinstance(done, dict)
    assert done["state"] == "approved", done
    assert Bearer.parse(done["token"]).scope == "master"


# ---------------------------------------------------------------- the requester's deadline


def test_the_requesters_deadline_where_the_protocol_carries_it(
    emu: RunningEmulator, core: Core, page_api: httpx.Client, tmp_path: Path
) -> None:
    other = make_core(tmp_path / "other")  # a second authenticator, handed the authreq itself
    other.create_store(passphrase=PASSPHRASE)
    pair_through_the_page(page_api, core)
    pair_through_the_page(page_api, other)
    backend = DemoBackend(emu.emulator)
    try:
        asked = backend.request("keymgmt:list")
        session = backend.session(asked["id"])
        stops = clock_text(session.deadline)
        # Through the broker (the page's way): the event's own expiry is the HEM's (an hour); the
        # emulated broker forwards the note (the live one's behaviour is undocumented), so the
        # page's deadline is shown there too, as the requester's claim.
        broker = seen_by_the_app(core, asked["event_id"])
        assert broker.expires_at - broker.created > DEMO_WAIT * 10
        assert broker.note is not None
        assert f"stops waiting at {stops}" in broker.note.text
        assert stops not in broker.text
        # The same authreq handed over directly (pasted into the other authenticator): its note
        # is shown, as the claim of the requester that wrote it.
        pasted = other.open_pasted(session.authreq)
        assert isinstance(pasted, AccessRequest)
        assert pasted.note is not None
        assert pasted.note.origin is Origin.REQUESTER
        rows = dict(pasted.claims())
        assert f"stops waiting at {stops}" in rows["Their note — not verified"].text
        assert stops not in pasted.text  # never in the sentence of what is asked
    finally:
        backend.close()
        other.close()


def test_clock_text_names_the_offset() -> None:
    text = clock_text(int(datetime(2026, 1, 2, 14, 5).timestamp()))
    assert text.startswith("14:05 (UTC")
    assert text.endswith(")")


# ---------------------------------------------------------------- the code on a real screen


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("screen")
    with private_desktop_session(root, tray=False, notifications=False, keyring=False) as env:
        yield env


def grab(env: dict[str, str], path: Path) -> Path:
    subprocess.run(["import", "-window", "root", str(path)], env=env, check=True, timeout=30)
    return path


@pytest.mark.desktop
@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
@pytest.mark.parametrize(("ratio", "module_px"), [(1, 4), (1.25, 5), (1.5, 6)])
def test_the_code_is_read_from_a_real_screen(  # noqa: PLR0917 - fixtures and parameters
    qtbot: QtBot,
    screen: dict[str, str],
    emu: RunningEmulator,
    core: Core,
    tmp_path: Path,
    ratio: float,
    module_px: int,
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            tmp_path / "profile",
            executable_path=CHROMIUM,
            headless=False,
            args=[
                *CHROMIUM_ARGS,
                f"--force-device-scale-factor={ratio}",
                # the whole 1280×800 screen, in the browser's own (scaled) pixels
                f"--window-size={round(1280 / ratio)},{round(800 / ratio)}",
            ],
            env={**os.environ, **screen},
            no_viewport=True,
        )
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            page.goto(emu.urls.demo)
            page.get_by_role("button", name="Pair an authenticator").click()
            qr = page.locator("#pair-qr")
            sync_api.expect(qr).to_have_attribute("data-module-px", str(module_px))
            modules = int(qr.get_attribute("data-modules") or 0)
            sync_api.expect(qr).to_have_js_property("naturalWidth", modules)
            sync_api.expect(qr).to_be_in_viewport(ratio=1)  # the page scrolls it fully in
            page.mouse.move(2, 2)
            box = on_screen(page, qr)
            assert box.width() == modules * module_px  # whole device pixels per module
            text = page.input_value("#pair-text")

            shot = grab(screen, tmp_path / "screen.png")
            assert decode_image_file(shot) == text  # the app's decoder, the whole screen

            # The region picker on the same grab, the selection cut tight round the modules
            # (the quiet zone left out): the app's other way of reading the screen.
            quiet = 4 * module_px
            tight = box.adjusted(quiet, quiet, -quiet, -quiet)
            picked = pick_region(qtbot, QImage(str(shot)), tight)
            assert picked.size().width() == tight.width()
            assert decode_qimage(picked) == text

            core.accept_pairing(core.preview_qr(text))
            sync_api.expect(page.locator("#pair-status")).to_have_text("Paired ✓", timeout=15_000)
        finally:
            browser.close()


def on_screen(page: Any, locator: Any) -> QRect:
    """The picture's box on the screen, in device pixels (its border left out: a 1 px border is
    drawn one device pixel wide at any ratio, so it is read from the computed style)."""
    box = page.evaluate(
        """el => {
            const r = el.getBoundingClientRect(), d = window.devicePixelRatio;
            const b = parseFloat(getComputedStyle(el).borderLeftWidth);
            const top = window.screenY + window.outerHeight - window.innerHeight;
            return [Math.round((window.screenX + r.left + b) * d),
                    Math.round((top + r.top + b) * d),
                    Math.round((r.width - 2 * b) * d), Math.round((r.height - 2 * b) * d)];
        }""",
        locator.element_handle(),
    )
    return QRect(*box)


def pick_region(qtbot: QtBot, shot: QImage, area: QRect) -> QImage:
    """Drag ``area`` on the region picker shown over ``shot`` (as the wizard shows it)."""
    picker = RegionPicker(shot, QRect(0, 0, shot.width(), shot.height()))
    qtbot.addWidget(picker)
    picker.resize(shot.width(), shot.height())
    picker.show()
    qtbot.waitExposed(picker)
    with qtbot.waitSignal(picker.picked) as blocker:
        qtbot.mousePress(picker, Qt.MouseButton.LeftButton, pos=area.topLeft())
        qtbot.mouseMove(picker, area.center())
        end = area.bottomRight()
        qtbot.mouseMove(picker, end)
        qtbot.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=end)
    image = blocker.args[0]
    assert isinstance(image, QImage)
    return image


# ---------------------------------------------------------------- the app in demo mode


class Browser(QObject):
    """Where the app's ``QDesktopServices.openUrl`` lands in these tests (no real browser)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


@pytest.fixture
def browser() -> Iterator[Browser]:
    sink = Browser()
    QDesktopServices.setUrlHandler("http", sink, "open")
    yield sink
    QDesktopServices.unsetUrlHandler("http")


def test_the_demo_page_from_the_start_the_tray_and_the_welcome_screen(
    qtbot: QtBot, ctx: AppContext, qapp: QApplication, emu: RunningEmulator, browser: Browser
) -> None:
    demo = RunningDemo(emu)  # the command line's own wrapper round the running emulator
    controller = AppController(
        qapp, replace(ctx, demo=demo), watch_session=False, open_browser=True
    )
    qtbot.addWidget(controller.window)
    try:
        controller.start(show=True)
        assert browser.opened == [demo.demo_url]  # the demo opens its page by itself
        action = controller.tray.actions["demo"]
        assert action.isVisible()
        assert action.text() == "Open the &demo page"
        action.trigger()
        assert browser.opened == [demo.demo_url] * 2

        welcome = controller.window.welcome
        qtbot.waitUntil(lambda: controller.window.screens.currentWidget() is welcome)
        assert welcome.demo_page_button.isVisible()
        assert not welcome.demo_button.isVisible()  # already the demo
        assert welcome.steps is not None
        assert welcome.steps.textFormat() == Qt.TextFormat.PlainText
        steps = welcome.steps.text()
        assert "“Pair an authenticator”" in steps
        assert "“Pair a HEM…”, then “Read from the screen”" in steps
        qtbot.mouseClick(welcome.demo_page_button, Qt.MouseButton.LeftButton)
        assert browser.opened == [demo.demo_url] * 3
    finally:
        controller.shutdown()


def test_outside_the_demo_there_is_no_demo_page(
    qtbot: QtBot, ctx: AppContext, qapp: QApplication, browser: Browser
) -> None:
    controller = AppController(qapp, ctx, watch_session=False, open_browser=True)
    qtbot.addWidget(controller.window)
    try:
        controller.start(show=True)
        assert not controller.tray.actions["demo"].isVisible()
        assert not controller.window.welcome.demo_page_button.isVisible()
        assert controller.window.welcome.steps is None
        controller.open_demo_page()
        assert browser.opened == []
    finally:
        controller.shutdown()

"""The desktop portal, as the app uses it, against a scriptable portal on a private bus.

Screenshot: quiet first, interactive when the portal refuses the quiet way; a cancel is the
person's; the portal's file is read and removed; a portal that never answers costs a bounded
wait. The desktop app asks through the helper process (the portal refuses undumpable callers),
and the picture decodes to the pairing QR that was on it. Background: the Flatpak way to start
at login. ``portal_info`` reports what is there and starts nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import qrcode
from pytestqt.qtbot import QtBot

from authenticator.errors import StateError, UserCancelled
from authenticator.gui import capture, portal
from tests.desktop.fakeportal import FakePortal
from tests.gui.desktop.fakebus import private_bus


def png(text: str = "encedo-auth:pair?test") -> bytes:
    out = io.BytesIO()
    code = qrcode.QRCode(border=4, box_size=6)
    code.add_data(text)
    code.make_image().save(out)
    return out.getvalue()


@pytest.fixture
def bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with private_bus(tmp_path / "bus") as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address


@pytest.fixture
def fake(bus: str, tmp_path: Path) -> Iterator[FakePortal]:
    with FakePortal(bus, tmp_path) as server:
        yield server


def test_a_quiet_screenshot(fake: FakePortal) -> None:
    fake.answers = [("ok", png())]
    path = portal.screenshot()
    assert portal.take_screenshot_file(path) == png()
    assert not path.exists()  # nobody asked for a screenshot to be kept
    assert fake.options(0)["interactive"] is False
    assert fake.options(0)["handle_token"].startswith("encedo_")


def test_refused_quietly_it_asks_interactively(fake: FakePortal) -> None:
    fake.answers = [("refuse",), ("ok", png())]
    assert portal.take_screenshot_file(portal.screenshot()) == png()
    assert [fake.options(i)["interactive"] for i in (0, 1)] == [False, True]


def test_a_cancel_is_the_persons_and_a_refusal_says_what_to_do(fake: FakePortal) -> None:
    fake.answers = [("refuse",), ("cancel",)]
    with pytest.raises(UserCancelled):
        portal.screenshot()
    fake.answers = [("refuse",), ("refuse",)]
    with pytest.raises(StateError, match="picture file or paste its text"):
        portal.screenshot()


def test_a_silent_portal_costs_a_bounded_wait(fake: FakePortal) -> None:
    fake.answers = [("silent",)]
    with pytest.raises(TimeoutError):
        portal.screenshot(interactive=False, timeout=0.3)
    fake.wait_for("Close")  # the portal is told we gave up (it closes its dialog)


def test_no_portal_and_no_bus(bus: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StateError, match="refused"):
        portal.screenshot()  # a bus without the portal: the call is refused by the bus
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    with pytest.raises(StateError, match="no session bus"):
        portal.screenshot()


def test_the_helper_process_speaks_for_the_app(fake: FakePortal) -> None:
    fake.answers = [("ok", png())]
    assert portal.take_screenshot_file(portal.screenshot_via_helper(timeout=30)) == png()
    fake.answers = [("refuse",), ("cancel",)]
    with pytest.raises(UserCancelled):
        portal.screenshot_via_helper(timeout=30)
    fake.answers = [("ok",)]
    assert portal.background_via_helper(
        autostart=True, commandline=["authenticator"], reason="Requests reach you", timeout=30
    )
    options = fake.options(-1)
    assert options["commandline"] == ["authenticator"]
    assert options["reason"] == "Requests reach you"


def test_the_app_reads_a_pairing_qr_through_the_portal(qtbot: QtBot, fake: FakePortal) -> None:
    fake.answers = [("ok", png("encedo-auth:pair?from-the-portal"))]
    picture = capture.portal_picture()  # the GUI thread keeps running meanwhile
    assert capture.decode_screens(capture.Pictures([picture])) == (
        "encedo-auth:pair?from-the-portal"
    )


def test_background_for_start_at_login(fake: FakePortal) -> None:
    fake.answers = [("ok",)]
    assert portal.request_background(autostart=True, commandline=["authenticator"], reason="r")
    assert fake.options(0)["autostart"] is True
    fake.answers = [("cancel",)]
    with pytest.raises(UserCancelled):
        portal.request_background(autostart=True, commandline=["authenticator"], reason="r")


def test_portal_info_reports_and_starts_nothing(fake: FakePortal, bus: str) -> None:
    assert portal.portal_info(bus) == portal.PortalInfo(True, False, 2, 1)
    fake.screenshot_version = None
    assert portal.portal_info(bus).screenshot_version is None


def test_which_way_the_screen_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLATPAK_ID", raising=False)
    assert capture.capture_method("xcb") == "qt"
    assert capture.capture_method("wayland") == "portal"
    assert capture.capture_method("wayland-egl") == "portal"
    monkeypatch.setenv("FLATPAK_ID", "com.encedo.Authenticator")
    assert capture.capture_method("xcb") == "portal"  # inside Flatpak, the portal only
    assert portal.in_flatpak()


def test_a_failed_grab_says_why() -> None:
    failed = capture.Pictures(failure="The desktop portal did not answer in time; try again.")
    with pytest.raises(Exception, match="did not answer in time"):
        capture.decode_screens(failed)

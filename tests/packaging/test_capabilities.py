"""``desktop_capabilities()``: honest without a desktop, complete with one, never hanging."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from authenticator.gui.capabilities import desktop_capabilities, display_status
from tests.desktop.session import desktop_session, private_desktop_session

__all__ = ["desktop_session"]  # the fixture, imported for the desktop test below

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json; from authenticator.gui.capabilities import desktop_capabilities; "
    "print(json.dumps(desktop_capabilities()))"
)


def _probe_in_child(env: dict[str, str]) -> dict[str, object]:
    """The report from a fresh process (its own QApplication on the session's display)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout)
    assert isinstance(report, dict)
    return report


def test_no_display_and_no_bus() -> None:
    report = desktop_capabilities({"QT_QPA_PLATFORM": "xcb", "PATH": "/usr/bin"})
    assert report["display"] == {"available": False, "kind": "no display"}
    assert report["tray"] == {"available": False, "reason": "no display"}
    assert report["session_bus"] == {
        "available": False,
        "reason": "DBUS_SESSION_BUS_ADDRESS is not set",
    }
    for part in ("notifications", "status_notifier_watcher", "secret_service"):
        assert report[part] == {"available": False, "reason": "no session bus"}
    json.dumps(report)  # JSON-ready for --diagnostics --json


def test_no_display_in_a_fresh_process_does_not_abort() -> None:
    """Qt's xcb plugin would abort the process on a missing display: it is never asked."""
    report = _probe_in_child({"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "xcb", "HOME": "/tmp"})
    assert report["display"] == {"available": False, "kind": "no display"}


def test_offscreen_has_a_display_but_no_tray(qapp: object) -> None:
    report = desktop_capabilities({"QT_QPA_PLATFORM": "offscreen"})
    assert report["display"] == {"available": True, "kind": "offscreen"}
    tray = report["tray"]
    assert isinstance(tray, dict)
    assert tray["available"] is False
    assert tray["qt_platform"] == "offscreen"


@pytest.mark.parametrize(
    "environ",
    [
        {"DISPLAY": ":65000"},  # no such X server
        {"DISPLAY": "garbage"},
        {"QT_QPA_PLATFORM": "wayland", "WAYLAND_DISPLAY": "wayland-65000", "XDG_RUNTIME_DIR": "/"},
        {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "/nonexistent/wayland-0"},
        {},
    ],
)
def test_unreachable_displays(environ: dict[str, str]) -> None:
    assert display_status(environ) == (False, "no display")


def test_a_hung_bus_is_reported_not_waited_for(silent_bus: str) -> None:
    started = time.monotonic()
    report = desktop_capabilities(
        {"QT_QPA_PLATFORM": "xcb", "DBUS_SESSION_BUS_ADDRESS": silent_bus}, timeout=0.5
    )
    assert time.monotonic() - started < 5
    bus = report["session_bus"]
    assert isinstance(bus, dict)
    assert bus["available"] is not True
    assert "reason" in bus


def test_nothing_is_activated_on_a_bare_bus(tmp_path: Path) -> None:
    """Notifications can be D-Bus-activated here (dunst), yet reporting must not start them."""
    with private_desktop_session(tmp_path, tray=False, notifications=False, keyring=False) as env:
        report = desktop_capabilities({**env, "QT_QPA_PLATFORM": "xcb"})
        notifications = report["notifications"]
        assert isinstance(notifications, dict)
        assert notifications["available"] is False
        again = desktop_capabilities({**env, "QT_QPA_PLATFORM": "xcb"})["notifications"]
        assert isinstance(again, dict)
        assert again["available"] is False  # still nobody: the probe did not activate dunst
        assert report["session_bus"] == {"available": True}
        secrets = report["secret_service"]
        assert isinstance(secrets, dict)
        assert secrets["available"] is False  # gnome-keyring is activatable, and was not started


@pytest.mark.desktop
def test_real_desktop_session(desktop_session: dict[str, str]) -> None:
    report = _probe_in_child(desktop_session)
    assert report["display"] == {"available": True, "kind": "x11"}
    assert report["tray"] == {"available": True, "messages": True, "qt_platform": "xcb"}
    assert report["session_bus"] == {"available": True}
    notifications = report["notifications"]
    assert isinstance(notifications, dict)
    assert notifications["available"] is True
    assert notifications["server"]["name"] == "dunst"
    assert notifications["actions"] is True
    assert "body" in notifications["capabilities"]
    secrets = report["secret_service"]
    assert isinstance(secrets, dict)
    assert secrets["available"] is True


def test_the_portal_the_tray_watcher_and_screen_savers_are_reported(tmp_path: Path) -> None:
    """What the "This desktop" report needs from the session bus, asked without starting
    anything: the portal's Screenshot/Background versions, whether a tray host registered with
    the StatusNotifierWatcher, which screen savers and idle monitors are there."""
    import threading

    from jeepney import MessageType, message_bus, new_method_return
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.io.threading import DBusRouter, ReceiveStopped
    from jeepney.io.threading import open_dbus_connection as open_threaded

    from tests.desktop.fakeportal import FakePortal
    from tests.gui.desktop.fakebus import private_bus

    def serve_watcher(conn: object) -> None:  # answers IsStatusNotifierHostRegistered: false
        try:
            while True:
                msg = conn.receive()  # type: ignore[attr-defined]
                if msg.header.message_type is MessageType.method_call:
                    conn.send(new_method_return(msg, "v", (("b", False),)))  # type: ignore[attr-defined]
        except (ReceiveStopped, OSError, ValueError):
            return

    with (
        private_bus(tmp_path / "bus") as bus,
        FakePortal(bus, tmp_path, background_version=None),
        open_dbus_connection(bus) as others,
    ):
        for name in ("org.gnome.ScreenSaver", "org.gnome.Mutter.IdleMonitor"):
            others.send_and_get_reply(message_bus.RequestName(name), timeout=5)
        watcher = open_threaded(bus=bus)
        with DBusRouter(watcher) as router:
            name = "org.kde.StatusNotifierWatcher"
            router.send_and_get_reply(message_bus.RequestName(name), timeout=5)
        thread = threading.Thread(target=serve_watcher, args=(watcher,), daemon=True)
        thread.start()
        try:
            report = desktop_capabilities(
                {"QT_QPA_PLATFORM": "offscreen", "DBUS_SESSION_BUS_ADDRESS": bus}, qt=False
            )
        finally:
            watcher.close()
            thread.join(5)
    assert "tray" not in report  # qt=False: left to the GUI thread
    assert report["portal"] == {
        "available": True,
        "activatable": False,
        "screenshot": 2,
        "background": None,
    }
    tray_watcher = report["status_notifier_watcher"]
    assert isinstance(tray_watcher, dict)
    assert tray_watcher["available"] is True
    assert tray_watcher["host_registered"] is False  # a watcher, but no tray shows its items
    assert report["screensavers"] == ["org.gnome.ScreenSaver"]
    assert report["mutter_idle"] is True

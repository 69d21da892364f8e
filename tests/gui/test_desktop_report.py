""" "This desktop": each part works / is missing, with the fix in one line, in Settings and on the
command line. The rows are judged from facts (what ``gather`` found) and from what the running
app found (``Live``); the Settings section probes off the GUI thread and shows plain text.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from authenticator.gui.desktop import Check, Live, checks, gather, render, tray_install_hint
from authenticator.gui.windows.main import MainWindow


def facts(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "display": {"available": True, "kind": "wayland"},
        "desktop": "GNOME",
        "flatpak": False,
        "tray": {"available": False},
        "status_notifier_watcher": {"available": False, "activatable": False},
        "xembed_tray": None,
        "notifications": {
            "available": True,
            "server": {"name": "gnome-shell", "version": "44"},
            "actions": True,
        },
        "portal": {"available": True, "screenshot": 2, "background": 1},
        "secret_service": {"available": True},
        "keychain": {"available": True},
        "logind": {"available": True, "session": "/org/freedesktop/login1/session/_32"},
        "screensavers": ["org.gnome.ScreenSaver"],
        "mutter_idle": True,
        "idle": {"source": "mutter"},
    }
    base.update(over)
    return base


def rows(data: dict[str, Any], live: Live | None = None) -> dict[str, Check]:
    return {row.key: row for row in checks(data, live)}


def test_gnome_on_wayland_without_the_appindicator_extension() -> None:
    found = rows(facts())
    assert found["display"].detail == "Wayland (GNOME)"
    assert found["tray"].state == "missing"
    assert "gnome-shell-extension-appindicator" in found["tray"].fix
    assert found["notifications"].state == "works"
    assert found["screen"].state == "works"
    assert "Screenshot (version 2)" in found["screen"].detail
    assert found["lock"].state == "works"
    assert found["idle"].state == "works"
    assert "GNOME's idle monitor" in found["idle"].detail
    assert "background" not in found  # outside Flatpak, autostart needs no portal


def test_the_tray_hint_fits_the_desktop() -> None:
    assert "AppIndicator" in tray_install_hint("ubuntu:GNOME")
    assert "waybar" in tray_install_hint("sway")
    assert "System Tray" in tray_install_hint("KDE")
    assert "Xfce" in tray_install_hint("XFCE")
    assert "trayer" in tray_install_hint("")


@pytest.mark.parametrize(
    ("notifications", "live", "state", "words"),
    [
        ({"available": False, "reason": "no session bus"}, None, "missing", "no session bus"),
        (
            {"available": True, "server": {"name": "dunst"}, "actions": True},
            None,
            "partly",
            "context menu",
        ),
        ({"available": True, "server": {"name": "q"}, "actions": False}, None, "partly", "q"),
        ({"available": False}, Live(notifier="window"), "missing", "window comes forward"),
        ({"available": False}, Live(notifier="tray"), "partly", "balloon"),
        (
            {"available": True, "server": {"name": "mako", "version": "1.7"}, "actions": True},
            Live(notifier="freedesktop"),
            "works",
            "mako 1.7, with Approve / Deny",
        ),
    ],
    ids=["none", "dunst", "no-actions", "window", "balloon", "mako"],
)
def test_notifications_say_whether_the_bubble_can_be_answered(
    notifications: dict[str, Any], live: Live | None, state: str, words: str
) -> None:
    row = rows(facts(notifications=notifications), live)["notifications"]
    assert row.state == state
    assert words in row.detail
    assert bool(row.fix) == (state != "works")


def test_x11_reads_the_screen_itself_and_flatpak_needs_the_portal() -> None:
    x11 = facts(
        display={"available": True, "kind": "x11"}, xembed_tray=True, desktop="XFCE", tray={}
    )  # Qt not asked (off the GUI thread): the XEmbed selection's owner decides
    found = rows(x11)
    assert found["screen"].detail == "read directly (X11)"
    assert found["tray"].state == "works"
    assert "XEmbed" in found["tray"].detail
    sandboxed = rows(facts(flatpak=True, portal={"available": True, "background": None}))
    assert sandboxed["screen"].state == "missing"
    assert "xdg-desktop-portal" in sandboxed["screen"].fix
    assert sandboxed["background"].state == "missing"


def test_no_lock_signal_and_no_idle_time_are_said_honestly() -> None:
    found = rows(
        facts(
            logind={"available": False},
            screensavers=[],
            mutter_idle=False,
            idle={"source": "in-app"},
        )
    )
    assert found["lock"].state == "missing"
    assert "idle timer only" in found["lock"].detail
    assert found["idle"].state == "partly"
    assert "this app's windows only" in found["idle"].detail
    live = Live(idle_source="x11-screensaver", lock={"logind": "watching /s", "screensaver": "x"})
    found = rows(facts(), live)
    assert found["idle"].state == "works"
    assert found["lock"].state == "partly"  # logind only: the screen saver is not watched


def test_render_puts_each_fix_under_its_row() -> None:
    text = render(checks(facts()))
    lines = text.splitlines()
    assert lines[0] == "This desktop:"
    tray = next(i for i, line in enumerate(lines) if "Tray" in line)
    assert "missing" in lines[tray]
    assert lines[tray + 1].strip().startswith("fix: Install the")


def test_gather_without_a_desktop_never_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/system")
    data = gather(
        {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin"}, qt=False, keychain=False, timeout=1
    )
    found = rows(data)
    assert found["notifications"].state == "missing"
    assert found["keychain"].state == "missing"
    assert data["logind"]["available"] is False


def test_settings_show_this_desktop(qtbot: QtBot, window: MainWindow) -> None:
    page = window.settings
    window.show_page("settings")
    section = page.desktop
    qtbot.waitUntil(lambda: bool(section.rows), timeout=15_000)
    keys = [row.key for row in section.rows]
    assert keys[:7] == ["display", "tray", "notifications", "screen", "keychain", "lock", "idle"]
    title, state, detail = section.labels["tray"]
    assert title.text() == "Tray"
    assert state.text() == "missing"  # offscreen: no tray
    assert "Fix:" in detail.text()
    assert all(
        label.textFormat() == Qt.TextFormat.PlainText
        for labels in section.labels.values()
        for label in labels
    )
    section.set_live(lambda: Live(idle_source="x11-screensaver"), lambda: None)
    section.check_button.click()
    qtbot.waitUntil(section.check_button.isEnabled, timeout=15_000)
    assert section.labels["idle"][1].text() == "works"

"""The fallbacks, on a real headless sway: no tray at all, a notification server without actions.

The session has no bar (so no StatusNotifierWatcher: nothing hosts tray items, as on GNOME
without the AppIndicator extension) and, instead of mako, a notification server that shows
bubbles but offers no actions (``fakebus.FakeNotificationServer`` with ``body`` only, owned by
the test on the session's bus). The app must stay reachable (closing minimises, with a note
saying once what to install), bring its window forward for each request, and say all of it in
the "This desktop" report.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from tests.desktop.logind import FakeLogind
from tests.desktop.wayland import WaylandSession, poll, private_system_bus, wayland_session
from tests.gui.desktop.fakebus import FakeNotificationServer
from tests.gui.desktop.wayland_support import ROOT, ChildApp, make_home, start_app

pytestmark = pytest.mark.desktop


@pytest.fixture(scope="module")
def session() -> Iterator[WaylandSession]:
    with wayland_session(tray=False, notifications=None) as live:
        yield live


@pytest.fixture(scope="module")
def server(session: WaylandSession) -> Iterator[FakeNotificationServer]:
    with FakeNotificationServer(session.bus, capabilities=("body",), name="quiet") as fake:
        yield fake


@pytest.fixture(scope="module")
def logind(session: WaylandSession) -> Iterator[FakeLogind]:
    with private_system_bus(session) as address, FakeLogind(address) as fake:
        yield fake


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("WAYLAND_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def app(
    session: WaylandSession,
    server: FakeNotificationServer,
    logind: FakeLogind,
    emu: RunningEmulator,
    requester: Requester,
) -> Iterator[ChildApp]:
    child = start_app(session, make_home(session, requester), system_bus=logind.address)
    try:
        child.expect("ready")
        child.send("unlock")
        child.expect("lock", locked=False)
        yield child
    finally:
        child.stop()


def test_without_a_tray_closing_minimises_and_says_once_what_to_install(
    app: ChildApp, session: WaylandSession, shots: Path
) -> None:
    state = app.state()
    assert state["tray"] is False
    app.send("close-window")
    state = poll(lambda: (s := app.state())["notes_open"] and s, 10, "the note", step=0.02)
    # Never hidden: nothing could bring it back. (It asked to be minimised; a Wayland client
    # is not told whether that happened, and sway has no minimised state: it stays in place.)
    assert state["window_visible"] is True
    (note,) = state["notes_open"]
    assert "shows no tray" in note
    assert "waybar" in note  # the fix for this desktop (sway)
    poll(
        lambda: [w["name"] for w in session.windows()].count("Encedo Authenticator") == 2,
        10,
        "sway to show the note beside the window",
        step=0.02,
    )
    session.grim(shots / "wayland-no-tray-note.png")
    app.send("dismiss-notes")
    poll(lambda: not app.state()["notes_open"], 10, "the note to close", step=0.02)
    app.send("close-window")  # again: still there, and no second note
    state = app.state()
    assert state["window_visible"] is True
    assert state["notes_open"] == []


def test_a_server_without_actions_gets_a_bubble_and_the_window_comes_forward(
    app: ChildApp,
    session: WaylandSession,
    server: FakeNotificationServer,
    requester: Requester,
    shots: Path,
) -> None:
    state = app.state()
    assert state["notifier"] == "freedesktop+window"
    assert "shows no actions" in state["notifier_reason"]
    other = session.spawn(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "tests.desktop.show_picture",
         str(ROOT / "resources" / "icons" / "hicolor" / "128x128" / "apps"
             / "com.encedo.Authenticator.png"), "Other work"],
        {"QT_QPA_PLATFORM": "wayland", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert other.stdout is not None
        assert other.stdout.readline().strip() == "shown"
        poll(
            lambda: [w["name"] for w in session.windows() if w.get("focused")] == ["Other work"],
            10,
            "the other window to have the focus",
        )
        before = len(server.notifies())
        access = requester.request_access("keymgmt:list")
        arrived = app.expect("request", id=access.event_id)["t"]
        server.wait(lambda: len(server.notifies()) == before + 1, 10)
        assert server.notifies()[-1].body[5] == []  # no actions offered: the server has none
        ours = poll(
            lambda: [
                w
                for w in session.windows()
                if w["name"] == "Encedo Authenticator" and (w["urgent"] or w["focused"])
            ],
            10,
            "sway to be asked to activate the window",
            step=0.02,
        )
        took = time.monotonic() - arrived
        # sway's default policy for an activation request is to mark the window urgent
        # (focus_on_window_activation urgent); other compositors raise it.
        assert ours
        state = app.state()
        assert state["window_visible"] is True
        assert state["screen"] == "QWidget"  # the app's pages, on the request
        assert state["requests"] == 1
        session.grim(shots / "wayland-no-actions-window-forward.png")
        print(f"\nno actions: request in the app → window asked forward in {took * 1000:.0f} ms")
        access.cancel()
    finally:
        for stream in (other.stdin, other.stdout):
            if stream is not None:
                stream.close()
        other.wait(10)


def test_the_this_desktop_report_names_every_gap_and_its_fix(
    session: WaylandSession, server: FakeNotificationServer, logind: FakeLogind
) -> None:
    home = make_home(session)
    done = session.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "authenticator", "--home", str(home),
         "--json", "--diagnostics"],
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
            "QT_QPA_PLATFORM": "wayland",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "DBUS_SYSTEM_BUS_ADDRESS": logind.address,
        },
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {row["key"]: row for row in json.loads(done.stdout)["this_desktop"]}
    assert rows["display"]["state"] == "works"
    assert rows["display"]["detail"] == "Wayland (sway)"
    assert rows["tray"]["state"] == "missing"
    assert "waybar" in rows["tray"]["fix"]
    assert rows["notifications"]["state"] == "partly"
    assert "window comes forward" in rows["notifications"]["detail"]
    assert rows["screen"]["state"] == "works"
    assert "Screenshot" in rows["screen"]["detail"]
    assert rows["keychain"]["state"] == "missing"
    assert rows["lock"]["state"] == "partly"  # logind only: sway has no screen saver service
    assert rows["idle"]["state"] == "partly"
    assert "only" in rows["idle"]["detail"]
    print("\n" + "\n".join(f"{r['title']}: {r['state']} — {r['detail']}" for r in rows.values()))

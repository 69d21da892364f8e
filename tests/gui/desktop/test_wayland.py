"""The real app on a real headless Wayland session: sway with its tray, mako, the desktop portal.

One session for the module (``tests/desktop/wayland.py``; started in well under a second when
the portal's backend starts cleanly), a fresh app per test (``wayland_app.py``: the app as
``authenticator --home`` runs it, ``QT_QPA_PLATFORM=wayland``, as the session's user), the
emulator and the Manager here. logind is played on a private system-like bus
(``tests/desktop/logind.py``). What the person sees is checked on sway's screen (``grim``):
the pictures go to ``$WAYLAND_SHOTS`` when set (for a person to look at), else to the test's
temporary folder.

Measured figures are printed (``-s`` shows them); tests never assert timings.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from tests.desktop.logind import FakeLogind
from tests.desktop.wayland import (
    WaylandSession,
    poll,
    private_system_bus,
    wayland_session,
)
from tests.gui.desktop.wayland_support import (
    ROOT,
    ChildApp,
    item_property,
    make_home,
    qr_picture,
    start_app,
    tray_items,
)
from tests.support_emulator import PASSPHRASE, finished

pytestmark = pytest.mark.desktop


@pytest.fixture(scope="module")
def session() -> Iterator[WaylandSession]:
    started = time.monotonic()
    with wayland_session(tray=True, notifications="mako") as live:
        print(
            f"\nWayland session ready in {time.monotonic() - started:.2f} s "
            f"(sway {live.timings['sway'] * 1000:.0f} ms, portal {live.timings['portal']:.2f} s)"
        )
        yield live


@pytest.fixture(scope="module")
def logind(session: WaylandSession) -> Iterator[FakeLogind]:
    with private_system_bus(session) as address, FakeLogind(address) as fake:
        yield fake


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("WAYLAND_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def launch(session: WaylandSession, home: Path, logind: FakeLogind) -> ChildApp:
    app = start_app(session, home, system_bus=logind.address)
    try:
        ready = app.expect("ready")
        assert ready["platform"] == "wayland"
        app.send("unlock")
        app.expect("lock", locked=False)
    except BaseException:
        app.stop()  # a start that failed leaves no process behind for later tests to trip on
        raise
    return app


@pytest.fixture
def app(
    session: WaylandSession, logind: FakeLogind, emu: RunningEmulator, requester: Requester
) -> Iterator[ChildApp]:
    """The app on a home paired with the emulator's HEM, unlocked."""
    child = launch(session, make_home(session, requester), logind)
    try:
        yield child
    finally:
        child.stop()


def bubble(session: WaylandSession, summary_part: str) -> dict[str, object]:
    found = poll(
        lambda: [n for n in session.notifications() if summary_part in str(n["summary"])],
        20,
        "mako's bubble",
        step=0.05,
    )
    assert len(found) == 1
    return found[0]


def test_the_app_has_its_tray_item_mako_and_logind(
    app: ChildApp, session: WaylandSession, shots: Path
) -> None:
    state = app.state()
    assert state["tray"] is True
    assert state["notifier"] == "freedesktop"  # mako: actions, reached by a click or its menu
    assert state["lock_watch"]["logind"].startswith("watching /org/freedesktop/login1/session/")
    assert state["idle_source"] == "in-app"  # sway offers nothing the app can read: said so
    items = tray_items(session.bus)
    assert len(items) == 1
    assert item_property(session.bus, items[0], "Status") == "Active"
    shot = Image.open(session.grim(shots / "wayland-app.png")).convert("RGB")
    assert shot.size == (1280, 800)
    # The tray icon sits at the bar's right end: the app icon's blue, not the bar's black.
    tray = shot.crop((1280 - 40, 0, 1280, 24))
    pixels = [tray.getpixel((x, y)) for x in range(tray.width) for y in range(tray.height)]
    blue = [p for p in pixels if isinstance(p, tuple) and p[2] > 120 and p[2] > p[0] + 60]
    assert len(blue) > 20


def test_a_pairing_qr_on_the_screen_is_read_through_the_portal(
    session: WaylandSession, logind: FakeLogind, requester: Requester, shots: Path
) -> None:
    app = launch(session, make_home(session), logind)
    pairing = requester.start_pairing()
    picture = qr_picture(pairing.qr_text, session.root / "pairing-qr.png")
    shown = session.spawn(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "tests.desktop.show_picture",
            str(picture),
            "Encedo Manager — pair",
        ],
        {"QT_QPA_PLATFORM": "wayland", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert shown.stdout is not None
        assert shown.stdout.readline().strip() == "shown"
        session.grim(shots / "wayland-qr-on-screen.png")
        app.send("read-screen")
        preview = app.expect("preview")
        assert preview["hostname"] == pairing.qr.hostname
        print(f"\nscreen read through the portal and decoded in {preview['seconds'] * 1000:.0f} ms")
        session.grim(shots / "wayland-pairing-preview.png")
        app.send("accept")
        app.expect("paired")
        assert poll(lambda: pairing.poll() == "paired", 20, "the Manager to see the pairing")
    finally:
        for stream in (shown.stdin, shown.stdout):
            if stream is not None:
                stream.close()
        shown.wait(10)
        app.stop()
    assert not Path("/tmp/out.png").exists()  # the portal's file was read and removed


def test_a_region_picked_on_the_wayland_screen_is_read_through_the_portal(
    session: WaylandSession, logind: FakeLogind, requester: Requester, shots: Path
) -> None:
    """Region select on Wayland: the portal's picture (waited for off the GUI thread) under the
    picker, the person drags a rectangle, the code in it is read and paired."""
    app = launch(session, make_home(session), logind)
    pairing = requester.start_pairing()
    picture = qr_picture(pairing.qr_text, session.root / "pairing-qr-region.png")
    shown = session.spawn(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "tests.desktop.show_picture",
            str(picture),
            "Encedo Manager — pair",
        ],
        {"QT_QPA_PLATFORM": "wayland", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert shown.stdout is not None
        assert shown.stdout.readline().strip() == "shown"
        app.send("read-region")
        preview = app.expect("preview")
        assert preview["hostname"] == pairing.qr.hostname
        app.send("accept")
        app.expect("paired")
        assert poll(lambda: pairing.poll() == "paired", 20, "the Manager to see the pairing")
    finally:
        for stream in (shown.stdin, shown.stdout):
            if stream is not None:
                stream.close()
        shown.wait(10)
        app.stop()


def test_the_command_line_reads_the_qr_from_the_wayland_screen_too(
    session: WaylandSession, requester: Requester
) -> None:
    """``authenticator pair --screen`` on Wayland: the portal, asked by the command itself."""
    home = make_home(session)
    pairing = requester.start_pairing()
    picture = qr_picture(pairing.qr_text, session.root / "cli-qr.png")
    shown = session.spawn(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "tests.desktop.show_picture",
         str(picture), "Encedo Manager — pair"],
        {"QT_QPA_PLATFORM": "wayland", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert shown.stdout is not None
        assert shown.stdout.readline().strip() == "shown"
        done = session.run(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "authenticator", "--home", str(home),
             "--json", "pair", "--screen", "--yes"],
            {
                "PYTHONPATH": str(ROOT),
                "PYTHONDONTWRITEBYTECODE": "1",
                "AUTHENTICATOR_PASSPHRASE": PASSPHRASE,
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            },
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert poll(lambda: pairing.poll() == "paired", 20, "the Manager to see the pairing")
    finally:
        for stream in (shown.stdin, shown.stdout):
            if stream is not None:
                stream.close()
        shown.wait(10)


def test_a_request_is_a_mako_bubble_and_approve_answers_it(
    app: ChildApp, session: WaylandSession, requester: Requester, shots: Path
) -> None:
    access = requester.request_access("keymgmt:list")
    app.expect("request", id=access.event_id)
    found = bubble(session, "List the keys")
    assert found["actions"] == {
        "approve": "Approve",
        "deny": "Deny",
        "open": "Open",
        "default": "Open",
    }
    state = app.state()
    assert (state["tray_state"], state["tray_tooltip"]) == ("pending", "1 request waiting")
    items = tray_items(session.bus)
    tooltip = item_property(session.bus, items[0], "ToolTip")
    assert "1 request waiting" in str(tooltip)  # what the bar shows on hover
    session.grim(shots / "wayland-mako-bubble.png")
    clicked = time.monotonic()
    session.makoctl("invoke", "-n", str(found["id"]), "approve")
    result = finished(access)
    took = time.monotonic() - clicked
    assert result.state == "approved"
    assert result.claims["exp"] - result.claims["iat"] in (900, 899)
    poll(lambda: not session.notifications(), 10, "the bubble to close")
    print(f"\nmako: Approve → token at the Manager in {took * 1000:.0f} ms")


def test_open_from_the_bubble_brings_the_window_forward(
    app: ChildApp, session: WaylandSession, requester: Requester
) -> None:
    app.send("close-window")  # to the tray
    poll(lambda: not app.state()["window_visible"], 10, "the window to hide")
    access = requester.request_access("keymgmt:list")
    app.expect("request", id=access.event_id)
    found = bubble(session, "List the keys")
    clicked = time.monotonic()
    session.makoctl("invoke", "-n", str(found["id"]), "open")
    state = poll(
        lambda: (s := app.state())["window_visible"] and s["window_active"] and s,
        20,
        "the window to come back",
        step=0.02,
    )
    print(f"\nmako: Open → the window is back, active, in {(state['t'] - clicked) * 1000:.0f} ms")
    assert state["screen"] != "LockView"
    assert state["requests"] == 1
    poll(
        lambda: (
            [w["name"] for w in session.windows() if w.get("focused")] == ["Encedo Authenticator"]
        ),
        10,
        "sway to give the window the focus",
        step=0.02,
    )
    access.cancel()


def test_the_app_locks_on_logind_lock_on_locked_hint_on_sleep_and_on_resume(
    app: ChildApp, logind: FakeLogind
) -> None:
    for say, source in (
        (logind.lock, "Lock"),
        (lambda: logind.set_locked_hint(True), "LockedHint"),
        (lambda: logind.prepare_for_sleep(True), "going to sleep"),
        (lambda: logind.prepare_for_sleep(False), "waking up"),
    ):
        sent = time.monotonic()
        say()
        locked = app.expect("lock", locked=True)
        print(f"\nlogind {source} → app locked in {(locked['t'] - sent) * 1000:.0f} ms")
        assert app.state()["screen"] == "LockView"
        logind.set_locked_hint(False)
        app.send("unlock")
        app.expect("lock", locked=False)

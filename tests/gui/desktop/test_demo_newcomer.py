"""A newcomer's first minute, on a real X11 desktop: from ``authenticator --demo`` to a token on
the demo page, without zooming.

The desktop is a private session (Xvfb 1280×800, a session bus, dunst, trayer). The app is
``authenticator --demo`` itself, run by ``demo_app.py`` on the session's display and clicked as a
person would (its "browser" is the test: the app's request to open the demo page is handed to a
Chromium window on the same screen, at 100 % zoom). The person:

1. reads the page's address on the terminal (the command prints it) and sees the page;
2. clicks "Pair an authenticator" on the page, then "Pair a HEM…" and "Read from the screen" in
   the app (a real grab of the X screen, with the page under the app's windows), then "Accept";
3. clicks "Log in to the Manager" on the page, picks in the app the code the page shows (code
   matching) and Allow, where the request has the same title;
4. sees the token on the page.

The elapsed time is printed (the issue's target for a person is under 90 s), never asserted.
Then a second ``authenticator --demo`` says the demo already runs, with the same address, and
brings the hidden window back.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from authenticator.protocol.bearer import Bearer
from tests.desktop.session import private_desktop_session

pytestmark = [pytest.mark.desktop, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[3]
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
    "--window-size=1280,800",
    "--force-device-scale-factor=1",
]
TIMEOUT = 60.0
URL_LINE = re.compile(r"^The demo is running\. .*: (http://127\.0\.0\.1:\d+/demo/)$")


class DemoApp:
    """``authenticator --demo`` under the driver: terminal lines and JSON events, kept apart."""

    def __init__(self, env: dict[str, str], home: Path, log: Path) -> None:
        self._stderr = log.open("w")
        self._log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.gui.desktop.demo_app", str(home)],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.terminal: list[str] = []
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            if isinstance(event, dict) and "event" in event:
                self._events.put(event)
            else:
                self.terminal.append(line.rstrip("\n"))
                self._events.put({"event": "terminal", "line": line.rstrip("\n")})
        self._events.put(None)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def expect(self, name: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        for event in self._seen:
            if event["event"] == name:
                self._seen.remove(event)
                return event
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self._events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {name!r} from the app; {self.stderr()}") from None
            if event is None:
                raise AssertionError(f"the app exited before {name!r}; {self.stderr()}")
            if event["event"] == "error":
                raise AssertionError(f"the app's driver: {event['message']}; {self.stderr()}")
            if event["event"] == name:
                return event
            self._seen.append(event)

    def stderr(self) -> str:
        self._stderr.flush()
        return self._log.read_text()[-3000:]

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.send("quit")
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._stderr.close()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[dict[str, str]]:
    with private_desktop_session(tmp_path / "desktop", keyring=False) as env:
        yield env


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_a_newcomer_gets_a_token_from_the_demo(session: dict[str, str], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    env = {
        **session,
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    home = tmp_path / "home"
    started = time.monotonic()
    app = DemoApp(env, home, tmp_path / "app.log")
    try:
        # 1. The terminal says where the page is; the app asks "the browser" to open it.
        line = app.expect("terminal")["line"]
        match = URL_LINE.match(line)
        assert match, line
        url = match.group(1)
        assert app.expect("browser")["url"] == url
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                tmp_path / "profile",
                executable_path=CHROMIUM,
                headless=False,
                args=CHROMIUM_ARGS,
                env={**os.environ, **session},
                no_viewport=True,
            )
            try:
                page = browser.pages[0] if browser.pages else browser.new_page()
                page.goto(url)
                expect = sync_api.expect
                expect(page.locator("#hem-paired")).to_have_text("0 paired")

                # 2. Pair: the page shows the code, the app reads it from the screen.
                page.get_by_role("button", name="Pair an authenticator").click()
                qr = page.locator("#pair-qr")
                expect(qr).to_have_attribute("data-module-px", "4")  # 4 device px a module
                expect(qr).to_have_js_property(
                    "naturalWidth", int(qr.get_attribute("data-modules") or 0)
                )
                page.mouse.move(1270, 790)  # the pointer off the code, as a person's would be
                app.send("pair")
                assert app.expect("preview")["hostname"] == "hem0.emulator.test"
                app.expect("paired")
                expect(page.locator("#pair-status")).to_have_text("Paired ✓", timeout=15_000)

                # 3. Ask on the page, answer in the app: the same words on both sides.
                button = page.locator("button[data-action=manager]")
                label = button.locator(".action-label").inner_text()
                assert label == "Log in to the Manager"
                button.click()
                item = page.locator(".request").first
                expect(item).to_have_attribute("data-state", "pending")
                # The page shows a code; the person picks the same one in the app.
                expect(item.locator(".request-code")).to_be_visible()
                code = item.locator(".code").inner_text().strip()
                assert re.fullmatch(r"\d\d", code), code
                app.send(f"approve {code}")
                asking = app.expect("asking")
                assert asking["title"] == label
                assert code in asking["codes"]
                assert len(asking["codes"]) == 3
                app.expect("approved")

                # 4. The token is on the page.
                expect(item).to_have_attribute("data-state", "approved", timeout=15_000)
                token = item.locator(".token").input_value()
                elapsed = time.monotonic() - started
                assert Bearer.parse(token).scope == "master"
                print(
                    f"\nnewcomer flow: `authenticator --demo` to a token on the page in "
                    f"{elapsed:.1f} s (driven; the issue's target for a person is < 90 s)"
                )
            finally:
                browser.close()

        # A second --demo: says so, with the same address, and brings the window back.
        app.send("hide")
        app.expect("hidden")
        second = subprocess.run(
            [sys.executable, "-m", "authenticator", "--home", str(home), "--demo"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == (
            f"The demo is already running; its window was brought to the front. Its page: {url}"
        )
        app.send("visible")
        app.expect("visible")
        app.send("quit")
        assert app.expect("exited")["code"] == 0
    finally:
        app.close()

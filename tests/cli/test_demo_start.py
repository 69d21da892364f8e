"""``authenticator --demo`` on a terminal: it says where the demo page is, and a second
``--demo`` says the demo already runs (with the same address) instead of exiting silently.

The command runs as a person runs it, in a subprocess (Qt's offscreen platform; the test hook
``AUTHENTICATOR_GUI_QUIT_AFTER`` keeps it from opening a browser and ends it).
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.cli.conftest import base_env

URL_LINE = re.compile(r"^The demo is running\. .*: (http://127\.0\.0\.1:\d+/demo/)$")
START_TIMEOUT = 60.0


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's stdout, line by line, as it comes (``None`` at the end)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_demo_prints_its_page_and_a_second_demo_says_it_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**base_env(home), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("AUTHENTICATOR_HOME")
    env.pop("AUTHENTICATOR_PASSPHRASE")  # the demo has its own store and passphrase
    first = subprocess.Popen(
        [sys.executable, "-m", "authenticator", "--home", str(home), "--demo"],
        env={**env, "AUTHENTICATOR_GUI_QUIT_AFTER": "120"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = lines_of(first)
        deadline = time.monotonic() + START_TIMEOUT
        said: list[str] = []
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the demo ended before saying where its page is: {said}"
            said.append(line)
            if match := URL_LINE.match(line):
                break
        url = match.group(1)
        page = httpx.get(url, timeout=10)  # the address is the running demo's page
        assert page.status_code == 200
        assert "Encedo Manager (demo)" in page.text
        more = [lines.get(timeout=10) for _ in range(2)]
        assert any("Pair an authenticator" in (line or "") for line in more), more

        second = subprocess.run(
            [sys.executable, "-m", "authenticator", "--home", str(home), "--demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert second.stdout == (
            f"The demo is already running; its window was brought to the front. Its page: {url}\n"
        )
        assert first.poll() is None, "the first demo still runs"
        assert httpx.get(url, timeout=10).status_code == 200
    finally:
        first.terminate()
        first.wait(30)
        if first.stdout is not None:
            first.stdout.close()

"""Smoke checks shared by the wheel and bundle tests: run an installed ``authenticator``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from authenticator import __version__

ROOT = Path(__file__).resolve().parents[2]


def check_version(exe: Path, env: Mapping[str, str]) -> None:
    result = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, timeout=120, env=env, check=True
    )
    assert result.stdout.strip() == f"authenticator {__version__}"


def check_emulator(exe: Path, env: Mapping[str, str]) -> None:
    """``emulator --json``: one JSON line with the URLs, the demo page served, SIGTERM → exit 0."""
    process = subprocess.Popen(
        [str(exe), "emulator", "--json", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the emulator prints it once it listens
        assert line, process.stderr.read() if process.stderr else ""
        urls = json.loads(line)
        assert urls["hem"].startswith("http://127.0.0.1:")
        with urllib.request.urlopen(urls["demo"], timeout=30) as response:  # noqa: S310 - loopback
            assert response.status == 200
            assert b"<html" in response.read().lower()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def check_gui_starts(exe: Path, env: Mapping[str, str]) -> None:
    """The desktop app starts offscreen, shows its first screen and quits cleanly (the GUI's
    self-test hook, docs/gui.md), on a fresh home and then once more on the store it made."""
    run_env = {**env, "AUTHENTICATOR_GUI_SELFTEST": "1", "AUTHENTICATOR_PASSPHRASE": "smoke"}
    for _ in range(2):
        done = subprocess.run(
            [str(exe)], env=run_env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr, done.stderr


def base_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no checkout on the path, a private home, no keychain, no display."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AUTHENTICATOR_HOME": str(tmp_path / "app-home"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "QT_QPA_PLATFORM": "offscreen",
    }

"""A private D-Bus session with an unlocked gnome-keyring, for tests of the real keychain.

Reusable by any test package (``from tests.store.keyring_session import private_keyring_session``).
Follows the recipe of the shared desktop-testing notes: our own ``dbus-daemon`` (not
``dbus-run-session``, which leaves daemons behind), ``DISPLAY`` cleared in the activation
environment so no password prompter can hang a call, ``gnome-keyring-daemon --unlock`` fed its
password on stdin, and a wait on ``NameOwnerChanged`` until ``org.freedesktop.secrets`` has an
owner. Everything started is stopped by PID, in reverse order, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.desktop.session import wait_for_bus_name

SECRETS_NAME = "org.freedesktop.secrets"
KEYRING_PASSWORD = "session-pw"  # unlocks the throw-away login keyring
_TOOLS = ("dbus-daemon", "dbus-update-activation-environment", "gnome-keyring-daemon")


@contextmanager
def private_keyring_session(
    root: Path, password: str = KEYRING_PASSWORD
) -> Iterator[dict[str, str]]:
    """Yield the environment (HOME, XDG dirs, bus address) of a fresh session with a keyring.

    Skips the test when the needed programs are not installed.
    """
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install gnome-keyring dbus dbus-x11)")
    env = _private_environment(root)
    started: list[subprocess.Popen[bytes] | int] = []
    try:
        bus = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        address, pid = bus.stdout.split()
        started.append(int(pid))
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        subprocess.run(
            ["dbus-update-activation-environment", "DISPLAY="], env=env, timeout=20, check=True
        )
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(daemon)
        assert daemon.stdin is not None
        daemon.stdin.write(password.encode())
        daemon.stdin.close()
        wait_for_bus_name(address, SECRETS_NAME, timeout=20)
        yield env
    finally:
        for process in reversed(started):
            _stop(process)


def _private_environment(root: Path) -> dict[str, str]:
    runtime = root / "run"
    runtime.mkdir(mode=0o700, parents=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(root / "home"),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CONFIG_HOME": str(root / "home" / ".config"),
        "XDG_DATA_HOME": str(root / "home" / ".local" / "share"),
        "XDG_CACHE_HOME": str(root / "home" / ".cache"),
    }
    for directory in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        Path(env[directory]).mkdir(mode=0o700, parents=True, exist_ok=True)
    return env


def _stop(process: subprocess.Popen[bytes] | int) -> None:
    if isinstance(process, int):
        with suppress(ProcessLookupError):
            os.kill(process, signal.SIGTERM)
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)

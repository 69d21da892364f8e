"""A private, real desktop session for tests: Xvfb, a session bus, dunst, a tray host, a keyring.

Use the ``desktop_session`` fixture (import it into a conftest or a test module) or the
``private_desktop_session(root, …)`` context manager for options. Both give the environment of
the session as a dict (``DISPLAY``, ``DBUS_SESSION_BUS_ADDRESS``, ``QT_QPA_PLATFORM=xcb``, a
private ``HOME`` and XDG directories) to pass to a child process, e.g. the app under test.

The recipe follows the shared desktop-testing notes:

- ``Xvfb -displayfd`` picks a free display; ``-noreset`` keeps root-window properties alive;
- our own ``dbus-daemon`` (not ``dbus-run-session``, which leaves daemons behind), with ``DISPLAY``
  cleared in its activation environment so an activated password prompter can never hang a call;
- dunst with its own configuration, started before anything could activate the default one
  (``dmenu`` set to a script of the caller's choice lets a test pick a notification action);
- trayer as the XEmbed tray host, waited for until ``_NET_SYSTEM_TRAY_S0`` has an owner;
- ``gnome-keyring-daemon --unlock`` fed its password on stdin.

Every wait is on an event with a deadline (``NameOwnerChanged`` on the bus, the tray's
``MANAGER`` message on the root window, the display number on a pipe); everything started is
stopped by PID in reverse order, also when the test process gets SIGTERM, and each child gets
SIGTERM from the kernel should this process die first (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest
from jeepney import MatchRule, message_bus
from jeepney.io.blocking import open_dbus_connection

__all__ = [
    "KEYRING_PASSWORD",
    "desktop_session",
    "private_desktop_session",
    "wait_for_bus_name",
    "wait_for_tray",
]

NOTIFICATIONS = "org.freedesktop.Notifications"
SECRETS = "org.freedesktop.secrets"
KEYRING_PASSWORD = "session-pw"  # unlocks the throw-away login keyring
START_TIMEOUT = 20.0
_PR_SET_PDEATHSIG = 1
TRAYER = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "24"]

DUNSTRC = """\
[global]
    monitor = 0
    follow = none
    idle_threshold = 0
    show_indicators = yes
    history_length = 20
    dmenu = {dmenu}
    browser = /bin/true
    mouse_left_click = do_action, close_current
"""


@contextmanager
def private_desktop_session(
    root: Path,
    *,
    tray: bool = True,
    notifications: bool = True,
    keyring: bool = True,
    dmenu: str = "/bin/true",
    screen: str = "1280x800x24",
) -> Iterator[dict[str, str]]:
    """Start the session's parts under ``root``; yield its environment; stop everything.

    Skips the test when a needed program is not installed (``bootstrap.py test`` installs them).
    """
    tools = ["Xvfb", "dbus-daemon", "dbus-update-activation-environment"]
    tools += ["dunst"] if notifications else []
    tools += ["trayer"] if tray else []
    tools += ["gnome-keyring-daemon"] if keyring else []
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb dbus-x11 dunst trayer …)")

    env = _private_environment(root)
    started: list[subprocess.Popen[bytes]] = []
    with _stop_on_sigterm(), contextlib.ExitStack() as stack:
        stack.callback(_stop_all, started)

        display = _start_xvfb(env, screen, started)
        env["DISPLAY"] = display
        address = _start_bus(env, started)
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        subprocess.run(
            ["dbus-update-activation-environment", "DISPLAY="],
            env=env,
            timeout=START_TIMEOUT,
            check=True,
            capture_output=True,
        )
        if notifications:
            config = root / "dunstrc"
            config.write_text(DUNSTRC.format(dmenu=dmenu))
            started.append(_spawn(["dunst", "-config", str(config)], env))
            wait_for_bus_name(address, NOTIFICATIONS, START_TIMEOUT)
        if tray:
            started.append(_spawn([*TRAYER, "--SetDockType", "true"], env))
            wait_for_tray(display, START_TIMEOUT)
        if keyring:
            daemon = _spawn(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                env,
                stdin=subprocess.PIPE,
            )
            started.append(daemon)
            assert daemon.stdin is not None
            daemon.stdin.write(KEYRING_PASSWORD.encode())
            daemon.stdin.close()
            wait_for_bus_name(address, SECRETS, START_TIMEOUT)
        yield dict(env)


@pytest.fixture
def desktop_session(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a fresh private desktop session (tray, dunst, keyring), per test."""
    with private_desktop_session(tmp_path / "desktop") as env:
        yield env


# ---------------------------------------------------------------- starting


def _private_environment(root: Path) -> dict[str, str]:
    runtime = root / "run"
    runtime.mkdir(mode=0o700, parents=True)
    home = root / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_SESSION_TYPE": "x11",
        "QT_QPA_PLATFORM": "xcb",
        "NO_AT_BRIDGE": "1",  # no accessibility bus to look for
    }
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        Path(env[name]).mkdir(mode=0o700, parents=True, exist_ok=True)
    return env


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies (Linux only)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(
    argv: list[str],
    env: dict[str, str],
    *,
    stdin: int | None = subprocess.DEVNULL,
    stdout: int | None = subprocess.DEVNULL,
    pass_fds: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        env=env,
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        pass_fds=pass_fds,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - only async-signal-safe work (one prctl)
    )


def _read_line(fd: int, timeout: float, what: str) -> str:
    """One line from a pipe, within ``timeout`` seconds (the fd stays open)."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(remaining, 0))
        if not ready:
            raise TimeoutError(f"{what} did not start within {timeout} s")
        chunk = os.read(fd, 256)
        if not chunk:
            raise RuntimeError(f"{what} exited while starting")
        data += chunk
    return data.decode().strip()


def _start_xvfb(env: dict[str, str], screen: str, started: list[subprocess.Popen[bytes]]) -> str:
    read_end, write_end = os.pipe()
    try:
        argv = ["Xvfb", "-displayfd", str(write_end), "-noreset", "-nolisten", "tcp"]
        started.append(_spawn([*argv, "-screen", "0", screen], env, pass_fds=(write_end,)))
        os.close(write_end)
        write_end = -1
        return ":" + _read_line(read_end, START_TIMEOUT, "Xvfb")
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def _start_bus(env: dict[str, str], started: list[subprocess.Popen[bytes]]) -> str:
    bus = _spawn(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"], env, stdout=subprocess.PIPE
    )
    started.append(bus)
    assert bus.stdout is not None
    return _read_line(bus.stdout.fileno(), START_TIMEOUT, "dbus-daemon")


# ---------------------------------------------------------------- waiting


def wait_for_bus_name(address: str, name: str, timeout: float, *, gone: bool = False) -> None:
    """Block until ``name`` has an owner on the bus (with ``gone``: until it has none);
    event-driven, via NameOwnerChanged."""
    rule = MatchRule(
        type="signal",
        sender="org.freedesktop.DBus",
        interface="org.freedesktop.DBus",
        member="NameOwnerChanged",
        path="/org/freedesktop/DBus",
    )
    rule.add_arg_condition(0, name)
    deadline = time.monotonic() + timeout
    with open_dbus_connection(bus=address) as connection, connection.filter(rule) as queue:
        connection.send_and_get_reply(message_bus.AddMatch(rule), timeout=timeout)
        reply = connection.send_and_get_reply(message_bus.NameHasOwner(name), timeout=timeout)
        if bool(reply.body[0]) is not gone:
            return
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                state = "kept its owner" if gone else "got no owner"
                raise TimeoutError(f"{name} {state} within {timeout} s")
            changed = connection.recv_until_filtered(queue, timeout=remaining)
            if bool(changed.body[2]) is not gone:  # (name, old owner, new owner)
                return


def wait_for_tray(display: str, timeout: float) -> None:
    """Block until an XEmbed tray owns ``_NET_SYSTEM_TRAY_S0`` on ``display``.

    Event-driven: a tray announces itself with a MANAGER client message to the root window, so
    we listen for structure events on the root and re-check the owner whenever one arrives.
    """
    x11 = _xlib()
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        raise RuntimeError(f"cannot open the X display {display}")
    try:
        selection = x11.XInternAtom(dpy, b"_NET_SYSTEM_TRAY_S0", 0)
        x11.XSelectInput(dpy, x11.XDefaultRootWindow(dpy), 1 << 17)  # StructureNotifyMask
        event = ctypes.create_string_buffer(256)
        deadline = time.monotonic() + timeout
        while not x11.XGetSelectionOwner(dpy, selection):  # a round trip: also flushes
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no tray host appeared within {timeout} s")
            select.select([x11.XConnectionNumber(dpy)], [], [], remaining)
            while x11.XPending(dpy):
                x11.XNextEvent(dpy, event)
    finally:
        x11.XCloseDisplay(dpy)


def _xlib() -> ctypes.CDLL:
    x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
    x11.XGetSelectionOwner.restype = ctypes.c_ulong
    x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XConnectionNumber.argtypes = [ctypes.c_void_p]
    x11.XPending.argtypes = [ctypes.c_void_p]
    x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return x11


# ---------------------------------------------------------------- stopping


def _stop_all(started: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(started):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
    started.clear()


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit while the session runs, so its clean-up still happens."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous: Callable[[int, FrameType | None], object] | int | None = signal.signal(
        signal.SIGTERM, handler
    )
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

"""A real headless Wayland session for tests: sway, its tray, mako, the desktop portal, PipeWire.

``wayland_session(…)`` starts, under a throwaway user (sway refuses to run as root):

- a session bus of our own (``dbus-daemon`` with a private service directory holding only the
  desktop portal's services: nothing else — no other notification server, no keyring — can be
  activated behind the test's back; any user may connect, so the test process can watch it);
- ``sway`` with the headless backend and software rendering (``WLR_BACKENDS=headless``,
  ``WLR_RENDERER=pixman``), one 1280×800 output, and with ``tray=True`` a ``swaybar`` whose tray
  hosts StatusNotifierItems (it owns ``org.kde.StatusNotifierWatcher``);
- ``pipewire`` (``xdg-desktop-portal-wlr`` exits without it), the display in the bus's
  activation environment, and the desktop portal, as a login starts it: ``xdg-desktop-portal``
  with the wlr backend for Screenshot and the gtk one for its Access dialog (without an Access
  backend the portal has no Screenshot interface at all). ``xdg-desktop-portal-wlr`` 0.7 hangs
  at start in about one run of three on a fresh headless session (its event loop stops after
  the first PipeWire event; measured 3/10): it is started first and asked once, and started
  again when it does not answer within a second, so a hung backend never costs a test the
  portal's 25 s activation timeout;
- with ``notifications="mako"``, mako as the notification server.

It yields a :class:`WaylandSession`: the environment for programs of that user, and helpers to
run them (``spawn``/``run``), take a real screenshot (``grim``), ask sway (``swaymsg``) and mako
(``makoctl``). Everything is stopped by pid on the way out, also the services the bus started,
and the session's files are removed. The Debian packages (``sway``, ``xdg-desktop-portal``,
``xdg-desktop-portal-wlr``, ``xdg-desktop-portal-gtk``, ``pipewire``, ``mako-notifier``,
``grim``) are installed by ``packaging/bootstrap.py test``; without them the tests skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.desktop.session import _die_with_parent, _read_line, wait_for_bus_name

__all__ = ["USER", "WaylandSession", "poll", "private_system_bus", "wayland_session"]

USER = "encedo-waytest"
NOTIFICATIONS = "org.freedesktop.Notifications"
WATCHER = "org.kde.StatusNotifierWatcher"
START_TIMEOUT = 20.0
TOOLS = ("sway", "swaymsg", "grim", "pipewire", "dbus-daemon", "setpriv", "useradd")
PORTAL_SERVICES = (
    "org.freedesktop.portal.Desktop.service",
    "org.freedesktop.impl.portal.desktop.wlr.service",
    "org.freedesktop.impl.portal.desktop.gtk.service",
    "org.freedesktop.impl.portal.PermissionStore.service",
)
PORTAL_BACKENDS = ("/usr/libexec/xdg-desktop-portal", "/usr/libexec/xdg-desktop-portal-wlr")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{kind}</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  {services}
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

SWAY_CONFIG = """\
output HEADLESS-1 resolution {resolution} background #3b4252 solid_color
default_border normal 2
{bar}
"""
BAR = """\
bar {
    position top
    mode dock
    tray_output *
    tray_padding 2
    font monospace 11
}
"""


def poll(check: Callable[[], Any], timeout: float, what: str, step: float = 0.01) -> Any:
    """Poll another process's state until ``check`` is truthy, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def ensure_user() -> pwd.struct_passwd:
    """The throwaway user the session runs as (created once, no home, no login shell)."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return pwd.getpwnam(USER)


def _missing() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    missing += [path for path in PORTAL_BACKENDS if not os.path.exists(path)]
    return missing


class WaylandSession:
    """A running session (see the module docstring)."""

    def __init__(self, root: Path, user: pwd.struct_passwd) -> None:
        self.root = root
        self.user = user
        self.runtime = root / "run"
        self.home = root / "home"
        self.env: dict[str, str] = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "USER": user.pw_name,
            "XDG_RUNTIME_DIR": str(self.runtime),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_CURRENT_DESKTOP": "sway",
            "XDG_SESSION_TYPE": "wayland",
            "NO_AT_BRIDGE": "1",
            "GTK_A11Y": "none",
        }
        self.started: list[subprocess.Popen[bytes]] = []
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------ running programs as the user

    def _argv(self, argv: list[str]) -> list[str]:
        return [
            "setpriv",
            f"--reuid={self.user.pw_uid}",
            f"--regid={self.user.pw_gid}",
            "--clear-groups",
            *argv,
        ]

    def spawn(
        self,
        argv: list[str],
        env: dict[str, str] | None = None,
        **kw: Any,
    ) -> subprocess.Popen[Any]:
        """Start ``argv`` as the session's user with the session's environment (+ ``env``)."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return subprocess.Popen(
            self._argv(argv),
            env={**self.env, **(env or {})},
            cwd=str(self.home),
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - one prctl, async-signal-safe
            **kw,
        )

    def run(
        self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._argv(argv),
            env={**self.env, **(env or {})},
            cwd=str(self.home),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def own(self, path: Path) -> None:
        """Hand ``path`` (recursively) to the session's user."""
        for place in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.chown(place, self.user.pw_uid, self.user.pw_gid, follow_symlinks=False)

    # ------------------------------------------------------------ looking at the session

    def grim(self, path: Path) -> Path:
        """A real screenshot of the whole output (PNG), readable by the test."""
        shot = self.runtime / "grim.png"
        done = self.run(["grim", str(shot)])
        assert done.returncode == 0, done.stderr
        shutil.copyfile(shot, path)
        shot.unlink()
        return path

    def swaymsg(self, *args: str) -> Any:
        done = self.run(["swaymsg", "--raw", *args])
        assert done.returncode == 0, done.stderr or done.stdout
        return json.loads(done.stdout) if done.stdout.strip() else None

    def windows(self) -> list[dict[str, Any]]:
        """Every window sway manages (the tree's leaves with an app id or a name)."""
        found: list[dict[str, Any]] = []

        def walk(node: dict[str, Any]) -> None:
            if node.get("type") in ("con", "floating_con") and node.get("pid"):
                found.append(node)
            for child in node.get("nodes", []) + node.get("floating_nodes", []):
                walk(child)

        walk(self.swaymsg("-t", "get_tree"))
        return found

    def makoctl(self, *args: str) -> str:
        done = self.run(["makoctl", *args])
        assert done.returncode == 0, done.stderr
        return done.stdout

    def notifications(self) -> list[dict[str, Any]]:
        """mako's bubbles on screen: id, summary, body, actions ({key: label})."""
        data = json.loads(self.makoctl("list"))
        out = []
        for item in data.get("data", [[]])[0]:
            out.append(
                {
                    "id": item["id"]["data"],
                    "app": item["app-name"]["data"],
                    "summary": item["summary"]["data"],
                    "body": item["body"]["data"],
                    "actions": dict(item.get("actions", {}).get("data", {})),
                }
            )
        return out

    @property
    def bus(self) -> str:
        return self.env["DBUS_SESSION_BUS_ADDRESS"]

    # ------------------------------------------------------------ stopping

    def _session_pids(self) -> list[int]:
        """Processes of this session that we did not start ourselves (bus-activated services,
        swaybar): found by the runtime directory in their environment."""
        mine = {p.pid for p in self.started}
        marker = f"XDG_RUNTIME_DIR={self.runtime}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in mine:
                continue
            try:
                if entry.stat().st_uid != self.user.pw_uid:
                    continue
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        # First what the bus and sway started (their parents are still there to reap them).
        others = self._session_pids()
        for pid in others:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(AssertionError):
            poll(
                lambda: not [p for p in others if Path(f"/proc/{p}/environ").exists()],
                5,
                "the session's services to end",
                step=0.02,
            )
        for process in reversed(self.started):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        for pid in self._session_pids():  # anything left: killed, by pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.started.clear()


def _bus(session: WaylandSession, kind: str, directory: Path, services: str) -> str:
    directory.mkdir(mode=0o700, exist_ok=True)
    session.own(directory)
    config = session.root / f"{kind}-bus.conf"
    config.write_text(BUS_CONFIG.format(kind=kind, dir=directory, services=services))
    config.chmod(0o644)
    with (session.root / f"{kind}-bus.log").open("wb") as log:  # what activated services say
        bus = session.spawn(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=log,
        )
    session.started.append(bus)
    assert bus.stdout is not None
    return _read_line(bus.stdout.fileno(), START_TIMEOUT, f"the {kind} bus")


@contextmanager
def wayland_session(
    *,
    tray: bool = True,
    notifications: str | None = "mako",
    resolution: str = "1280x800",
) -> Iterator[WaylandSession]:
    """Start the session (see the module docstring); yield it; stop everything."""
    missing = _missing()
    if notifications == "mako" and shutil.which("mako") is None:
        missing.append("mako")
    if missing:
        pytest.skip(
            f"needs {', '.join(missing)} (python3 packaging/bootstrap.py test installs them)"
        )
    user = ensure_user()
    root = Path(tempfile.mkdtemp(prefix="encedo-wayland-"))
    session = WaylandSession(root, user)
    try:
        started = time.monotonic()
        for path in (session.runtime, session.home):
            path.mkdir(mode=0o700)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            Path(session.env[name]).mkdir(parents=True, exist_ok=True)
        services = root / "services"
        services.mkdir()
        for name in PORTAL_SERVICES:
            source = Path("/usr/share/dbus-1/services") / name
            if source.exists():
                (services / name).symlink_to(source)
        session.own(root)
        root.chmod(0o711)

        address = _bus(session, "session", root / "bus", f"<servicedir>{services}</servicedir>")
        session.env["DBUS_SESSION_BUS_ADDRESS"] = address

        config = root / "sway.cfg"
        config.write_text(SWAY_CONFIG.format(resolution=resolution, bar=BAR if tray else ""))
        config.chmod(0o644)
        sway_env = {"WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman"}
        sway_env["WLR_LIBINPUT_NO_DEVICES"] = "1"
        log = (root / "sway.log").open("wb")
        session.started.append(
            session.spawn(["sway", "--config", str(config)], sway_env, stderr=log, stdout=log)
        )
        log.close()
        socket = poll(
            lambda: next(iter(sorted(session.runtime.glob("wayland-[0-9]"))), None),
            START_TIMEOUT,
            "sway's Wayland socket",
        )
        ipc = poll(
            lambda: next(iter(session.runtime.glob("sway-ipc.*.sock")), None),
            START_TIMEOUT,
            "sway's IPC socket",
        )
        session.env["WAYLAND_DISPLAY"] = socket.name
        session.env["SWAYSOCK"] = str(ipc)
        session.timings["sway"] = time.monotonic() - started

        done = session.run(
            [
                "dbus-update-activation-environment",
                "WAYLAND_DISPLAY",
                "XDG_CURRENT_DESKTOP",
                "XDG_SESSION_TYPE",
                "NO_AT_BRIDGE",
                "GTK_A11Y",
            ]
        )
        assert done.returncode == 0, done.stderr
        session.started.append(session.spawn(["pipewire"]))
        poll((session.runtime / "pipewire-0").exists, START_TIMEOUT, "PipeWire")
        _start_portal(session)
        session.timings["portal"] = time.monotonic() - started
        if tray:
            wait_for_bus_name(address, WATCHER, START_TIMEOUT)
        if notifications == "mako":
            mako_config = root / "mako.cfg"
            mako_config.write_text("default-timeout=0\nmax-visible=5\n")
            mako_config.chmod(0o644)
            session.started.append(session.spawn(["mako", "--config", str(mako_config)]))
            wait_for_bus_name(address, NOTIFICATIONS, START_TIMEOUT)
        session.timings["ready"] = time.monotonic() - started
        yield session
    finally:
        session.stop()
        shutil.rmtree(root, ignore_errors=True)


def _start_portal(session: WaylandSession, attempts: int = 5) -> None:
    """xdg-desktop-portal-wlr (answering), then the portal itself, on the session bus."""
    from jeepney import DBusAddress, Properties, message_bus
    from jeepney.io.blocking import open_dbus_connection

    backend = "org.freedesktop.impl.portal.desktop.wlr"
    with open_dbus_connection(session.bus) as conn:
        for _ in range(attempts):
            process = session.spawn(["/usr/libexec/xdg-desktop-portal-wlr"])
            session.started.append(process)
            wait_for_bus_name(session.bus, backend, START_TIMEOUT)
            target = DBusAddress(
                "/org/freedesktop/portal/desktop",
                bus_name=backend,
                interface="org.freedesktop.impl.portal.Screenshot",
            )
            try:
                conn.send_and_get_reply(Properties(target).get_all(), timeout=1.0)
                break
            except TimeoutError:
                process.kill()  # hung in its event loop: start it again
                process.wait(10)
                session.started.remove(process)
                wait_for_bus_name(session.bus, backend, START_TIMEOUT, gone=True)
        else:
            raise AssertionError("xdg-desktop-portal-wlr never answered")
        start = message_bus.StartServiceByName("org.freedesktop.portal.Desktop")
        conn.send_and_get_reply(start, timeout=START_TIMEOUT)


@contextmanager
def private_system_bus(session: WaylandSession) -> Iterator[str]:
    """A bus for the session's user that plays the system bus (the test owns logind on it)."""
    directory = session.root / "system"
    address = _bus(session, "system", directory, "")
    yield address

"""What this desktop offers the app: a display, a tray, notifications, a Secret Service.

``desktop_capabilities()`` is what ``authenticator --diagnostics`` prints under "Desktop support"
and what a bug report needs to explain "I see no tray icon" or "the notification has no
buttons". It only reports: it opens no window, sends no notification, activates no D-Bus service
(every call carries NO_AUTO_START) and reads nothing secret. It never hangs and never aborts:

- the display is checked by connecting to its socket *before* Qt is asked anything (Qt's xcb
  plugin aborts the process when the display is unreachable);
- the tray needs a ``QApplication``: the running one, or one created here with the current
  ``QT_QPA_PLATFORM`` when there is none (kept alive, as Qt wants one per process);
- the session bus is asked on a daemon thread (jeepney, blocking I/O, one overall deadline of
  ``timeout`` seconds, 2 by default); a bus that does not answer in time is reported as such.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["desktop_capabilities", "display_status"]

NOTIFICATIONS = "org.freedesktop.Notifications"
SECRETS = "org.freedesktop.secrets"
STATUS_NOTIFIER_WATCHER = "org.kde.StatusNotifierWatcher"
PORTAL = "org.freedesktop.portal.Desktop"
MUTTER_IDLE = "org.gnome.Mutter.IdleMonitor"
SCREENSAVERS = ("org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver", "org.mate.ScreenSaver")
_HEADLESS_PLATFORMS = {
    "offscreen",
    "minimal",
    "minimalegl",
    "vnc",
    "eglfs",
    "linuxfb",
    "vkkhrdisplay",
}
_SOCKET_TIMEOUT = 0.5
_app: Any = None  # the QApplication created here, kept alive for the process


def desktop_capabilities(
    environ: Mapping[str, str] | None = None, *, timeout: float = 2.0, qt: bool = True
) -> dict[str, object]:
    """A JSON-ready report of the desktop's display, tray, notifications and Secret Service.

    Also, on the session bus: the status-notifier watcher's host, the desktop portal's
    Screenshot and Background interfaces, screen savers and GNOME's idle monitor. ``qt=False``
    leaves out the tray check, which needs Qt's GUI thread (the caller fills it in).
    """
    env = os.environ if environ is None else environ
    display_ok, display_kind = display_status(env)
    report: dict[str, object] = {
        "platform": sys.platform,
        "display": {"available": display_ok, "kind": display_kind},
    }
    if qt:
        report["tray"] = _tray(display_ok)
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        report.update(_session_bus(env, timeout))
    else:
        report["notifications"] = {"available": None, "reason": "native (not checked here)"}
        report["secret_service"] = {"available": None, "reason": "native keychain"}
    return report


# ---------------------------------------------------------------- display and tray


def display_status(environ: Mapping[str, str]) -> tuple[bool, str]:
    """(usable, what): whether Qt can open its platform here, without letting Qt try."""
    if sys.platform in ("darwin", "win32"):
        return True, "native"
    qpa = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if qpa in _HEADLESS_PLATFORMS:
        return True, qpa
    wayland = _wayland_reachable(environ)
    x11 = _x11_reachable(environ)
    if qpa == "xcb" or (not qpa and environ.get("XDG_SESSION_TYPE") != "wayland"):
        return (True, "x11") if x11 else (False, "no display")
    if qpa.startswith("wayland"):
        return (True, "wayland") if wayland else (False, "no display")
    if wayland:  # unset on a Wayland session: Qt tries Wayland, then X11
        return True, "wayland"
    return (True, "x11") if x11 else (False, "no display")


def _connects(family: int, address: str | bytes | tuple[str, int]) -> bool:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(_SOCKET_TIMEOUT)
            sock.connect(address)
        return True
    except OSError:
        return False


def _x11_reachable(environ: Mapping[str, str]) -> bool:
    display = environ.get("DISPLAY", "")
    host, sep, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not sep or not number.isdigit():
        return False
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"  # noqa: S108 - the X11 socket's fixed place
        return _connects(socket.AF_UNIX, path) or _connects(socket.AF_UNIX, "\0" + path)
    if host.startswith("/"):  # macOS XQuartz launchd socket
        return _connects(socket.AF_UNIX, f"{host}:{rest}")
    return _connects(socket.AF_INET, (host, 6000 + int(number)))


def _wayland_reachable(environ: Mapping[str, str]) -> bool:
    name = environ.get("WAYLAND_DISPLAY", "")
    if not name:
        return False
    if not os.path.isabs(name):
        runtime = environ.get("XDG_RUNTIME_DIR", "")
        if not runtime:
            return False
        name = os.path.join(runtime, name)
    return _connects(socket.AF_UNIX, name)


def _tray(display_ok: bool) -> dict[str, object]:
    if not display_ok:
        return {"available": False, "reason": "no display"}
    global _app  # noqa: PLW0603 - one QApplication per process, kept alive
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    app = QCoreApplication.instance()
    if app is None:
        _app = app = QApplication(["authenticator"])
    if not isinstance(app, QApplication):
        return {"available": None, "reason": "the running Qt application has no widgets"}
    return {
        "available": bool(QSystemTrayIcon.isSystemTrayAvailable()),
        "messages": bool(QSystemTrayIcon.supportsMessages()),
        "qt_platform": QApplication.platformName(),
    }


# ---------------------------------------------------------------- session bus


def _session_bus(environ: Mapping[str, str], timeout: float) -> dict[str, object]:
    address = environ.get("DBUS_SESSION_BUS_ADDRESS", "")
    if not address:
        none = {"available": False, "reason": "no session bus"}
        return {
            "session_bus": {"available": False, "reason": "DBUS_SESSION_BUS_ADDRESS is not set"},
            "notifications": dict(none),
            "status_notifier_watcher": dict(none),
            "secret_service": dict(none),
            "portal": dict(none),
            "screensavers": [],
            "mutter_idle": False,
        }
    result: dict[str, object] = {}
    failure: list[str] = []

    def probe() -> None:
        try:
            result.update(_probe_bus(address, timeout))
        except Exception as exc:  # noqa: BLE001 - any failure is a line in the report
            failure.append(type(exc).__name__)

    worker = threading.Thread(target=probe, name="desktop-capabilities", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if worker.is_alive():
        reason = f"the session bus did not answer within {timeout:g} s"
        return {"session_bus": {"available": None, "reason": reason}}
    if failure:
        return {"session_bus": {"available": False, "reason": f"could not connect ({failure[0]})"}}
    return result


def _probe_bus(address: str, timeout: float) -> dict[str, object]:
    import time

    from jeepney import DBusAddress, MessageFlag, message_bus, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    deadline = time.monotonic() + timeout

    with open_dbus_connection(bus=address, auth_timeout=timeout) as connection:

        def call(message: Any) -> tuple[Any, ...]:
            message.header.flags |= MessageFlag.no_auto_start  # report, never start a service
            remaining = max(deadline - time.monotonic(), 0.05)
            reply = connection.send_and_get_reply(message, timeout=remaining)
            return tuple(unwrap_msg(reply))

        activatable = set(call(message_bus.ListActivatableNames())[0])

        def owned(name: str) -> dict[str, object]:
            return {
                "available": bool(call(message_bus.NameHasOwner(name))[0]),
                "activatable": name in activatable,
            }

        notifications = owned(NOTIFICATIONS)
        if notifications["available"]:
            target = DBusAddress(
                "/org/freedesktop/Notifications", bus_name=NOTIFICATIONS, interface=NOTIFICATIONS
            )
            try:
                name, vendor, version, spec = call(new_method_call(target, "GetServerInformation"))
                notifications["server"] = {
                    "name": name,
                    "vendor": vendor,
                    "version": version,
                    "spec_version": spec,
                }
                capabilities = sorted(call(new_method_call(target, "GetCapabilities"))[0])
                notifications["capabilities"] = capabilities
                notifications["actions"] = "actions" in capabilities
            except DBusErrorResponse as exc:
                notifications["error"] = exc.name
        watcher = owned(STATUS_NOTIFIER_WATCHER)
        if watcher["available"]:
            watcher["host_registered"] = _property(
                call,
                STATUS_NOTIFIER_WATCHER,
                "/StatusNotifierWatcher",
                STATUS_NOTIFIER_WATCHER,
                "IsStatusNotifierHostRegistered",
            )
        portal = owned(PORTAL)
        if portal["available"]:
            for interface, key in (
                ("org.freedesktop.portal.Screenshot", "screenshot"),
                ("org.freedesktop.portal.Background", "background"),
            ):
                portal[key] = _property(
                    call, PORTAL, "/org/freedesktop/portal/desktop", interface, "version"
                )
        return {
            "session_bus": {"available": True},
            "notifications": notifications,
            "status_notifier_watcher": watcher,
            "secret_service": owned(SECRETS),
            "portal": portal,
            "screensavers": [n for n in SCREENSAVERS if owned(n)["available"]],
            "mutter_idle": bool(owned(MUTTER_IDLE)["available"]),
        }


def _property(call: Any, name: str, path: str, interface: str, prop: str) -> object:
    """A property's value (``None`` when the object or the property is missing)."""
    from jeepney import DBusAddress, Properties
    from jeepney.wrappers import DBusErrorResponse

    try:
        (value,) = call(Properties(DBusAddress(path, bus_name=name, interface=interface)).get(prop))
    except DBusErrorResponse:
        return None
    signature, data = value
    return data if signature in ("b", "u", "i", "s") else None

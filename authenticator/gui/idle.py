"""Idle lock: lock the app after N minutes without input *on the whole desktop*.

A tray app is rarely touched: counting only input inside its own window would lock it while the
person works in other windows, and a request arriving then goes unseen. So "idle" is the
desktop session's idle time, read from the first source this desktop offers:

1. X11: the MIT-SCREEN-SAVER extension (``XScreenSaverQueryInfo`` from libXss, through ctypes,
   on a display connection of our own) — every key press or pointer move on the X server resets
   it, whichever window gets it;
2. GNOME (X11 or Wayland): ``org.gnome.Mutter.IdleMonitor.GetIdletime`` on the session bus;
3. KDE Plasma and other screen savers: ``org.freedesktop.ScreenSaver.GetSessionIdleTime``
   (milliseconds; KWin does not answer it on Wayland);
4. otherwise — other Wayland compositors (the ``ext-idle-notify`` protocol is not reachable
   from Python without a Wayland client library), Windows, macOS — only input in the app's own
   windows counts. :attr:`IdleWatcher.source_name` says which, and the "This desktop" report
   shows it so the person knows.

The app's own input always counts too (an application-wide event filter); the effective idle
time is the smaller of the two. A timer checks every few seconds; the D-Bus sources are asked
on a daemon thread (a D-Bus call never runs on the GUI thread), which keeps the latest answer.
``idle_lock_min = 0`` means never.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication

from authenticator.gui.qtfix import emit

__all__ = [
    "DBusIdle",
    "DesktopIdle",
    "IdleWatcher",
    "XScreenSaverIdle",
    "auto_source",
    "describe_source",
]

log = logging.getLogger(__name__)

_INPUT = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}
CHECK_MS = 5000
IN_APP = "in-app"
SOURCE_TEXT = {
    "x11-screensaver": "the whole desktop (X11 screen saver extension)",
    "mutter": "the whole desktop (GNOME's idle monitor)",
    "screensaver": "the whole desktop (org.freedesktop.ScreenSaver)",
    IN_APP: "input in this app's windows only",
}


def describe_source(name: str) -> str:
    """What the idle lock measures, in words (for the "This desktop" report)."""
    return SOURCE_TEXT.get(name, name)


class DesktopIdle(Protocol):
    """A source of the desktop session's idle time."""

    @property
    def name(self) -> str:
        """``x11-screensaver``, ``mutter``, ``screensaver`` or ``in-app`` (nothing found)."""
        ...

    def idle_seconds(self) -> float | None:
        """Seconds since the last input anywhere on the desktop; ``None`` when unknown."""
        ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- X11: MIT-SCREEN-SAVER


class _XScreenSaverInfo(ctypes.Structure):
    _fields_ = [
        ("window", ctypes.c_ulong),
        ("state", ctypes.c_int),
        ("kind", ctypes.c_int),
        ("til_or_since", ctypes.c_ulong),
        ("idle", ctypes.c_ulong),
        ("eventMask", ctypes.c_ulong),
    ]


def _load(names: tuple[str, ...]) -> ctypes.CDLL | None:
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


class XScreenSaverIdle:
    """The X server's idle time through the MIT-SCREEN-SAVER extension (libXss).

    Opens its own connection to the display (Qt's is not shared) and is used on one thread
    (the GUI thread: a query is one round trip to the local X server).
    """

    name = "x11-screensaver"

    def __init__(self, x11: ctypes.CDLL, xss: ctypes.CDLL, display: int) -> None:
        self._x11 = x11
        self._xss = xss
        self._display: int | None = display
        self._root = x11.XDefaultRootWindow(display)
        self._info = xss.XScreenSaverAllocInfo()

    @classmethod
    def open(cls, display_name: str | None = None) -> XScreenSaverIdle | None:
        """Connect to ``display_name`` (default ``$DISPLAY``); ``None`` when that fails or the
        server lacks the extension (or libXss, Debian package ``libxss1``, is not installed)."""
        name = display_name if display_name is not None else os.environ.get("DISPLAY", "")
        if not name:
            return None
        x11 = _load(tuple(n for n in (ctypes.util.find_library("X11"), "libX11.so.6") if n))
        xss = _load(tuple(n for n in (ctypes.util.find_library("Xss"), "libXss.so.1") if n))
        if x11 is None or xss is None:
            log.info("idle: libX11 or libXss is missing; the desktop's idle time is not read")
            return None
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultRootWindow.restype = ctypes.c_ulong
        x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        x11.XFree.argtypes = [ctypes.c_void_p]
        xss.XScreenSaverQueryExtension.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_int),
        ]
        xss.XScreenSaverAllocInfo.restype = ctypes.POINTER(_XScreenSaverInfo)
        xss.XScreenSaverQueryInfo.argtypes = [
            ctypes.c_void_p,
            ctypes.c_ulong,
            ctypes.POINTER(_XScreenSaverInfo),
        ]
        display = x11.XOpenDisplay(name.encode())
        if not display:
            return None
        event_base, error_base = ctypes.c_int(), ctypes.c_int()
        if not xss.XScreenSaverQueryExtension(
            display, ctypes.byref(event_base), ctypes.byref(error_base)
        ):
            x11.XCloseDisplay(display)
            log.info("idle: the X server has no MIT-SCREEN-SAVER extension")
            return None
        return cls(x11, xss, display)

    def idle_seconds(self) -> float | None:
        if self._display is None:
            return None
        if not self._xss.XScreenSaverQueryInfo(self._display, self._root, self._info):
            return None
        return float(self._info.contents.idle) / 1000.0

    def close(self) -> None:
        display, self._display = self._display, None
        if display is not None:
            self._x11.XFree(self._info)
            self._x11.XCloseDisplay(display)


# ---------------------------------------------------------------- D-Bus: Mutter, ScreenSaver

_MUTTER = ("org.gnome.Mutter.IdleMonitor", "/org/gnome/Mutter/IdleMonitor/Core", "GetIdletime")
_SCREENSAVER = ("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", "GetSessionIdleTime")
_CALL_TIMEOUT = 2.0


class DBusIdle:
    """The session's idle time from GNOME's idle monitor or the freedesktop screen saver.

    A daemon thread finds which one answers, then asks it every ``poll_s`` seconds and keeps
    the latest answer; :meth:`idle_seconds` only reads it. :attr:`name` is ``in-app`` until a
    service answered (and stays so when none does).
    """

    def __init__(self, bus: str = "SESSION", *, poll_s: float = CHECK_MS / 1000) -> None:
        self._bus = bus
        self._poll_s = poll_s
        self._stop = threading.Event()
        self.found = threading.Event()
        """Set once the probe is over (whether or not a service answered)."""
        self._lock = threading.Lock()
        self._value: float | None = None
        self.name = IN_APP
        self._thread = threading.Thread(target=self._run, name="desktop-idle", daemon=True)
        self._thread.start()

    def idle_seconds(self) -> float | None:
        with self._lock:
            return self._value

    def close(self) -> None:
        self._stop.set()
        self._thread.join(_CALL_TIMEOUT + 1)

    def _run(self) -> None:
        try:
            from jeepney import DBusAddress, new_method_call
            from jeepney.io.blocking import open_dbus_connection
            from jeepney.wrappers import unwrap_msg

            conn = open_dbus_connection(self._bus, auth_timeout=_CALL_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - no bus: in-app only
            log.info("idle: no session bus (%s); only input in the app counts", type(exc).__name__)
            self.found.set()
            return
        with conn:

            def ask(service: tuple[str, str, str]) -> float:
                name, path, method = service
                message = new_method_call(DBusAddress(path, bus_name=name, interface=name), method)
                reply = conn.send_and_get_reply(message, timeout=_CALL_TIMEOUT)
                return float(unwrap_msg(reply)[0]) / 1000.0

            chosen: tuple[str, str, str] | None = None
            for label, service in (("mutter", _MUTTER), ("screensaver", _SCREENSAVER)):
                try:
                    value = ask(service)
                except Exception:  # noqa: BLE001, S112 - not there, not implemented: the next one
                    continue
                chosen = service
                with self._lock:
                    self._value = value
                self.name = label
                break
            self.found.set()
            if chosen is None:
                log.info("idle: no desktop idle service answered; only input in the app counts")
                return
            log.info("idle: the desktop's idle time comes from %s", chosen[0])
            while not self._stop.wait(self._poll_s):
                try:
                    value = ask(chosen)
                except Exception as exc:  # noqa: BLE001 - a hiccup: keep the last answer
                    log.debug("idle: %s did not answer: %s", chosen[0], type(exc).__name__)
                    continue
                with self._lock:
                    self._value = value


def auto_source(platform: str | None = None) -> DesktopIdle | None:
    """The desktop idle source for Qt's ``platform`` (default: the running application's)."""
    if platform is None:
        platform = QGuiApplication.platformName() if QGuiApplication.instance() else ""
    if platform == "xcb":
        x11 = XScreenSaverIdle.open()
        if x11 is not None:
            return x11
        return DBusIdle()
    if platform.startswith("wayland"):
        return DBusIdle()
    return None  # offscreen, minimal, Windows, macOS: the app's own input only


# ---------------------------------------------------------------- the watcher


class IdleWatcher(QObject):
    """Emits :attr:`idle` once the desktop (or, without a source, the app) has been idle for
    ``minutes()`` minutes; checks every ``check_ms``.

    ``source="auto"`` picks one with :func:`auto_source` at :meth:`start`; ``None`` counts only
    the app's own input (install the watcher as an application event filter for that).
    """

    idle = Signal()

    def __init__(
        self,
        minutes: Callable[[], float],
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        check_ms: int = CHECK_MS,
        source: DesktopIdle | Literal["auto"] | None = "auto",
    ) -> None:
        super().__init__(parent)
        self._minutes = minutes
        self._clock = clock
        self._auto = source == "auto"
        self.source: DesktopIdle | None = None if source == "auto" else source
        self.last_input = clock()
        self._timer = QTimer(self)
        self._timer.setInterval(check_ms)
        self._timer.timeout.connect(self.check)

    @property
    def source_name(self) -> str:
        """Where the idle time comes from (see :data:`SOURCE_TEXT`)."""
        return self.source.name if self.source is not None else IN_APP

    def start(self) -> None:
        if self._auto and self.source is None:
            self.source = auto_source()
        self.last_input = self._clock()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        source = self.source
        if self._auto and source is not None:
            self.source = None
            source.close()

    def touch(self) -> None:
        self.last_input = self._clock()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT:
            self.last_input = self._clock()
        return False

    def idle_seconds(self) -> float:
        """How long nothing happened: on the desktop when known, and in the app."""
        in_app = self._clock() - self.last_input
        desktop = self.source.idle_seconds() if self.source is not None else None
        return in_app if desktop is None else min(in_app, desktop)

    def check(self) -> None:
        minutes = self._minutes()
        if minutes > 0 and self.idle_seconds() >= minutes * 60:
            self.last_input = self._clock()
            emit(self.idle)

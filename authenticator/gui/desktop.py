"""The "This desktop" report: what works here, what is missing, and the fix in one line.

Shown in Settings (:class:`DesktopSection`) and by ``authenticator --diagnostics``
(:func:`gather` + :func:`checks` + :func:`render`). One row per part the app relies on:

=================  ================================================================
display            X11, Wayland (and which compositor), or none
tray               a tray host: StatusNotifierItem (``org.kde.StatusNotifierWatcher``
                   with a host registered) or XEmbed (``_NET_SYSTEM_TRAY_S0`` on X11)
notifications      the server, and whether the person can answer in its bubble
screen reading     X11 reads the screen itself; Wayland and Flatpak need the
                   Screenshot portal
keychain           the Secret Service (else the passphrase is used)
lock signals       logind (our session's ``Lock``/``LockedHint``, sleep/resume) and
                   screen savers (``ActiveChanged``)
idle               whether the idle lock sees the whole desktop or only this app
start at login     inside Flatpak only: the Background portal
=================  ================================================================

:func:`gather` only reports: it starts no D-Bus service, opens no window, and waits at most
``timeout`` seconds per bus (each asked on a daemon thread). The running app knows more than a
probe (which notifier it chose, what its idle watcher and lock watcher found): it passes that
as :class:`Live` and it wins over the probe.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from authenticator.gui.capabilities import desktop_capabilities, display_status
from authenticator.gui.idle import describe_source

__all__ = [
    "Check",
    "DesktopSection",
    "Live",
    "checks",
    "gather",
    "render",
    "tray_install_hint",
]

LOGIND = "org.freedesktop.login1"
STATES = {True: "works", False: "missing", None: "partly"}


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the report."""

    key: str
    title: str
    ok: bool | None  # True works, False missing, None works only partly / not known
    detail: str
    fix: str = ""  # one line; empty when nothing is to be done

    @property
    def state(self) -> str:
        return STATES[self.ok]


@dataclass(frozen=True, slots=True)
class Live:
    """What the running app found (wins over a probe)."""

    notifier: str = ""  # freedesktop, freedesktop+window, tray, window
    notifier_reason: str = ""
    tray: bool | None = None
    idle_source: str = ""  # x11-screensaver, mutter, screensaver, in-app
    lock: Mapping[str, str] = field(default_factory=dict)  # SessionLockWatcher.status
    keychain: bool | None = None


# ---------------------------------------------------------------- probing


def gather(
    environ: Mapping[str, str] | None = None,
    *,
    timeout: float = 2.0,
    qt: bool = True,
    keychain: bool | None = None,
) -> dict[str, Any]:
    """The facts (JSON-ready). ``qt=False`` when not on the GUI thread (no tray check)."""
    env = dict(os.environ if environ is None else environ)
    facts: dict[str, Any] = dict(desktop_capabilities(env, timeout=timeout, qt=qt))
    facts["desktop"] = env.get("XDG_CURRENT_DESKTOP", "")
    facts["flatpak"] = bool(env.get("FLATPAK_ID")) or os.path.exists("/.flatpak-info")
    kind = display_status(env)[1]
    facts["xembed_tray"] = _xembed_tray(env.get("DISPLAY", "")) if kind == "x11" else None
    facts["logind"] = _bounded(lambda: _logind(timeout), timeout, {"available": None})
    facts["idle"] = {"source": _idle_source(kind, env, facts)}
    facts["keychain"] = {"available": keychain}
    return facts


def _bounded(work: Callable[[], dict[str, Any]], timeout: float, late: dict[str, Any]) -> Any:
    box: list[dict[str, Any]] = []

    def run() -> None:
        try:
            box.append(work())
        except Exception as exc:  # noqa: BLE001 - a line in the report
            box.append({"available": False, "reason": type(exc).__name__})

    worker = threading.Thread(target=run, name="desktop-report", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    return box[0] if box else {**late, "reason": f"no answer within {timeout:g} s"}


def _logind(timeout: float) -> dict[str, Any]:
    """Whether logind answers on the system bus and knows our session (nothing is started)."""
    from jeepney import DBusAddress, MessageFlag, message_bus, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    try:
        conn = open_dbus_connection("SYSTEM", auth_timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        return {"available": False, "reason": f"no system bus ({type(exc).__name__})"}
    with conn:
        ask = message_bus.NameHasOwner(LOGIND)
        ask.header.flags |= MessageFlag.no_auto_start
        if not unwrap_msg(conn.send_and_get_reply(ask, timeout=timeout))[0]:
            return {"available": False, "reason": "logind is not running"}
        manager = DBusAddress(
            "/org/freedesktop/login1", bus_name=LOGIND, interface="org.freedesktop.login1.Manager"
        )
        try:
            reply = conn.send_and_get_reply(
                new_method_call(manager, "GetSessionByPID", "u", (os.getpid(),)), timeout=timeout
            )
            session = str(unwrap_msg(reply)[0])
        except DBusErrorResponse:
            session = ""
        return {"available": True, "session": session}


def _xembed_tray(display: str) -> bool | None:
    """Whether an XEmbed tray owns ``_NET_SYSTEM_TRAY_S0`` on ``display`` (None: unknown)."""
    if not display:
        return None
    try:
        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    except OSError:
        return None
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XGetSelectionOwner.restype = ctypes.c_ulong
    x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    if not dpy:
        return None
    try:
        atom = x11.XInternAtom(dpy, b"_NET_SYSTEM_TRAY_S0", 0)
        return bool(x11.XGetSelectionOwner(dpy, atom))
    finally:
        x11.XCloseDisplay(dpy)


def _idle_source(kind: str, env: Mapping[str, str], facts: Mapping[str, Any]) -> str:
    """What the idle lock would measure here (see ``gui.idle``)."""
    if kind == "x11":
        from authenticator.gui.idle import XScreenSaverIdle

        source = XScreenSaverIdle.open(env.get("DISPLAY", ""))
        if source is not None:
            source.close()
            return "x11-screensaver"
    if kind in ("x11", "wayland"):
        if facts.get("mutter_idle"):
            return "mutter"
        if "org.freedesktop.ScreenSaver" in (facts.get("screensavers") or []):
            return "screensaver"  # asked at run time; KWin on Wayland does not answer it
    return "in-app"


# ---------------------------------------------------------------- judging


def tray_install_hint(desktop: str) -> str:
    """What to install or switch on for a tray on this desktop (one line)."""
    names = {part.strip().lower() for part in desktop.split(":")}
    if names & {"gnome", "ubuntu", "unity", "pop"}:
        return (
            "Install the “AppIndicator and KStatusNotifierItem Support” GNOME Shell extension "
            "(Debian/Ubuntu: gnome-shell-extension-appindicator), then log in again."
        )
    if names & {"sway", "wlroots", "hyprland", "river", "wayfire"}:
        return "Show a tray in your bar (swaybar: “tray_output *”; waybar: its “tray” module)."
    if "kde" in names:
        return "Add the “System Tray” widget to a Plasma panel."
    if "xfce" in names:
        return "Add the “Status Tray Plugin” (or “Notification Area”) to an Xfce panel."
    if names & {"lxqt", "lxde", "mate", "x-cinnamon", "cinnamon", "budgie"}:
        return "Add the notification area / status tray applet to a panel."
    return "Run a panel with a system tray (StatusNotifierItem or XEmbed, e.g. trayer)."


def checks(facts: Mapping[str, Any], live: Live | None = None) -> list[Check]:
    """The report's rows from :func:`gather`'s facts and what the running app knows."""
    live = live or Live()
    rows = [
        _display(facts),
        _tray(facts, live),
        _notifications(facts, live),
        _screen(facts),
        _keychain(facts, live),
        _lock(facts, live),
        _idle(facts, live),
    ]
    if facts.get("flatpak"):
        rows.append(_background(facts))
    return rows


def _display(facts: Mapping[str, Any]) -> Check:
    display = facts.get("display") or {}
    kind = display.get("kind", "")
    desktop = facts.get("desktop") or ""
    where = f" ({desktop})" if desktop else ""
    names = {"x11": "X11", "wayland": "Wayland", "native": "the system's own"}
    if display.get("available"):
        return Check("display", "Display server", True, names.get(kind, kind) + where)
    return Check(
        "display",
        "Display server",
        False,
        "none found",
        "Start the app inside a desktop session (neither DISPLAY nor WAYLAND_DISPLAY works).",
    )


def _tray(facts: Mapping[str, Any], live: Live) -> Check:
    watcher = facts.get("status_notifier_watcher") or {}
    qt = (facts.get("tray") or {}).get("available")
    available = live.tray if live.tray is not None else qt
    hosts = []
    if watcher.get("available") and watcher.get("host_registered") is not False:
        hosts.append("StatusNotifierItem host")
    if facts.get("xembed_tray"):
        hosts.append("XEmbed tray")
    if available is None and hosts:
        available = True
    fix = tray_install_hint(facts.get("desktop") or "")
    if available:
        detail = " and ".join(hosts) or "the system tray"
        return Check("tray", "Tray", True, detail + "; requests waiting show on the icon")
    if watcher.get("available") and watcher.get("host_registered") is False:
        return Check("tray", "Tray", False, "a watcher runs but no tray shows its items", fix)
    return Check("tray", "Tray", False, "no tray: closing the window minimises it instead", fix)


def _notifications(facts: Mapping[str, Any], live: Live) -> Check:
    info = facts.get("notifications") or {}
    server = info.get("server") or {}
    name = server.get("name") or ""
    version = server.get("version") or ""
    who = f"{name} {version}".strip() or "a notification server"
    install = (
        "Install a notification server (your desktop's own, mako, dunst, xfce4-notifyd); "
        "until then the window comes forward for each request."
    )
    if live.notifier == "freedesktop":
        return Check("notifications", "Notifications", True, f"{who}, with Approve / Deny")
    if live.notifier == "freedesktop+window" or (info.get("available") and not live.notifier):
        from authenticator.gui.notify.freedesktop import BUTTONLESS

        if info.get("available") and info.get("actions") and name not in BUTTONLESS:
            return Check("notifications", "Notifications", True, f"{who}, with Approve / Deny")
        reason = live.notifier_reason or BUTTONLESS.get(name, f"{who} shows no buttons")
        return Check(
            "notifications",
            "Notifications",
            None,
            f"{reason}; the window comes forward for each request",
            "For answers from the bubble, use a server that draws buttons (GNOME, KDE, "
            "xfce4-notifyd, swaync).",
        )
    if live.notifier == "tray":
        return Check(
            "notifications", "Notifications", None, "the tray's balloon (no buttons)", install
        )
    if live.notifier == "window":
        return Check(
            "notifications",
            "Notifications",
            False,
            "none: the window comes forward for each request",
            install,
        )
    reason = info.get("reason") or "no notification server on the session bus"
    if info.get("activatable"):
        return Check("notifications", "Notifications", None, "starts when first used", "")
    return Check("notifications", "Notifications", False, reason, install)


def _screen(facts: Mapping[str, Any]) -> Check:
    kind = (facts.get("display") or {}).get("kind")
    portal = facts.get("portal") or {}
    fix = (
        "Install xdg-desktop-portal and your desktop's backend (-gnome, -kde, or -wlr with "
        "-gtk and PipeWire running)."
    )
    if kind == "x11" and not facts.get("flatpak"):
        return Check("screen", "Reading a QR code on screen", True, "read directly (X11)")
    if kind in ("offscreen", "minimal", "no display"):
        return Check("screen", "Reading a QR code on screen", False, "no screen to read", "")
    if portal.get("screenshot"):
        return Check(
            "screen",
            "Reading a QR code on screen",
            True,
            f"through the desktop portal's Screenshot (version {portal['screenshot']})",
        )
    if portal.get("available"):
        return Check(
            "screen",
            "Reading a QR code on screen",
            False,
            "the desktop portal has no Screenshot interface here",
            fix,
        )
    if portal.get("activatable"):
        return Check(
            "screen",
            "Reading a QR code on screen",
            None,
            "the desktop portal starts when first used (not checked)",
        )
    return Check("screen", "Reading a QR code on screen", False, "no desktop portal", fix)


def _keychain(facts: Mapping[str, Any], live: Live) -> Check:
    available = live.keychain if live.keychain is not None else facts["keychain"]["available"]
    service = facts.get("secret_service") or {}
    if available is None:
        available = service.get("available") or None
    if available:
        return Check("keychain", "Keychain", True, "the Secret Service unlocks the store")
    return Check(
        "keychain",
        "Keychain",
        False,
        "none: the store is protected by your passphrase",
        "Install gnome-keyring (or KeePassXC's Secret Service) to unlock without typing.",
    )


def _lock(facts: Mapping[str, Any], live: Live) -> Check:
    parts = []
    logind_live = live.lock.get("logind", "")
    saver_live = live.lock.get("screensaver", "")
    logind = facts.get("logind") or {}
    if logind_live.startswith("watching") or (not logind_live and logind.get("session")):
        parts.append("logind (lock, sleep and resume)")
    savers = facts.get("screensavers") or []
    if saver_live.startswith("watching") or (not saver_live and savers):
        parts.append("the screen saver")
    if parts:
        ok = True if len(parts) == 2 else None
        return Check("lock", "Lock signals", ok, " and ".join(parts))
    return Check(
        "lock",
        "Lock signals",
        False,
        "none: the app locks on its idle timer only",
        "Keep “Lock after idle” on, or lock from the tray (Ctrl+L) when you leave.",
    )


def _idle(facts: Mapping[str, Any], live: Live) -> Check:
    source = live.idle_source or (facts.get("idle") or {}).get("source", "in-app")
    if source != "in-app":
        return Check("idle", "Idle lock counts", True, describe_source(source))
    return Check(
        "idle",
        "Idle lock counts",
        None,
        describe_source(source) + " (this desktop offers no idle time the app can read)",
        "Lock from the tray (Ctrl+L) when you leave, or rely on the desktop's own lock.",
    )


def _background(facts: Mapping[str, Any]) -> Check:
    portal = facts.get("portal") or {}
    if portal.get("background"):
        return Check("background", "Start at login", True, "through the Background portal")
    return Check(
        "background",
        "Start at login",
        False,
        "no Background portal",
        "Add the app in your desktop's startup-applications settings.",
    )


def render(rows: list[Check]) -> str:
    """The report as text lines (the command line)."""
    lines = ["This desktop:"]
    width = max(len(row.title) for row in rows)
    for row in rows:
        lines.append(f"  {row.title:<{width}}  {row.state:<7}  {row.detail}")
        if row.fix:
            lines.append(f"  {'':<{width}}  {'':<7}  fix: {row.fix}")
    return "\n".join(lines)


def as_json(rows: list[Check]) -> list[dict[str, object]]:
    return [
        {"key": r.key, "title": r.title, "state": r.state, "detail": r.detail, "fix": r.fix}
        for r in rows
    ]


# ---------------------------------------------------------------- the Settings section


class DesktopSection(QGroupBox):
    """ "This desktop" in Settings: one row per part, with its state and its fix.

    ``refresh()`` probes off the GUI thread (the tray is asked here, on the GUI thread) through
    ``run_in_background(work, done)``; ``live()`` (set with :meth:`set_live`) is what the
    running app found.
    """

    def __init__(
        self,
        run_in_background: Callable[[Callable[[], Any], Callable[[Any], None]], object],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(self.tr("This desktop"), parent)
        self._run = run_in_background
        self._live: Callable[[], Live] = Live
        self._keychain: Callable[[], bool | None] = lambda: None
        self.rows: list[Check] = []
        outer = QVBoxLayout(self)
        intro = QLabel(
            self.tr("What the app can use on this desktop, and what to install where it cannot."),
            self,
        )
        intro.setWordWrap(True)
        intro.setProperty("role", "muted")
        outer.addWidget(intro)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(6)
        self.grid.setColumnStretch(2, 1)
        outer.addLayout(self.grid)
        row = QHBoxLayout()
        self.check_button = QPushButton(self.tr("Check a&gain"), self)
        self.check_button.setAutoDefault(False)
        self.check_button.clicked.connect(self.refresh)
        row.addWidget(self.check_button)
        row.addStretch(1)
        outer.addLayout(row)
        self.labels: dict[str, tuple[QLabel, QLabel, QLabel]] = {}

    def showEvent(self, event: QShowEvent) -> None:
        """Checked the first time it is seen (the probe costs up to a few seconds)."""
        super().showEvent(event)
        if not self.rows and self.check_button.isEnabled():
            self.refresh()

    def set_live(self, live: Callable[[], Live], keychain: Callable[[], bool | None]) -> None:
        self._live = live
        self._keychain = keychain

    def refresh(self) -> None:
        from PySide6.QtWidgets import QSystemTrayIcon

        self.check_button.setEnabled(False)
        tray = bool(QSystemTrayIcon.isSystemTrayAvailable())
        keychain = self._keychain()

        def work() -> dict[str, Any]:
            facts = gather(qt=False, keychain=keychain)
            facts["tray"] = {"available": tray}
            return facts

        self._run(work, self._show)

    def _show(self, facts: Any) -> None:
        self.check_button.setEnabled(True)
        self.show_rows(checks(facts, self._live()))

    def show_rows(self, rows: list[Check]) -> None:
        self.rows = rows
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.labels.clear()
        for index, check in enumerate(rows):
            title = QLabel(check.title, self)
            state = QLabel(self.tr(check.state), self)
            kind = {"works": "ok", "missing": "error"}.get(check.state, "warn")
            state.setProperty("role", f"banner-{kind}")  # the theme's coloured pill
            state.setContentsMargins(6, 0, 6, 0)
            text = check.detail + (f"\n{self.tr('Fix:')} {check.fix}" if check.fix else "")
            detail = QLabel(text, self)
            detail.setWordWrap(True)
            for label in (title, detail):  # level with the text inside the pill
                label.setContentsMargins(0, 4, 0, 0)
            for label in (title, state, detail):
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            top = Qt.AlignmentFlag.AlignTop
            self.grid.addWidget(title, index, 0, top)
            self.grid.addWidget(state, index, 1, top | Qt.AlignmentFlag.AlignLeft)
            self.grid.addWidget(detail, index, 2, top)
            self.labels[check.key] = (title, state, detail)

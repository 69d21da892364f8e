"""The xdg-desktop-portal interfaces the app uses: Screenshot and Background (no Qt here).

Why a portal: on Wayland a client cannot read the screen (``QScreen.grabWindow`` returns nothing
useful), and inside Flatpak it cannot write ``~/.config/autostart``. The portal
(``org.freedesktop.portal.Desktop`` on the session bus) does both on the desktop's behalf, asking
the person where the desktop's policy wants it.

How a portal call goes: the method returns a *request* object path at once; the answer comes
later as the ``Response(u code, a{sv} results)`` signal of that request (code 0 = done, 1 = the
person cancelled, 2 = failed or refused). The request's path is predictable from our unique bus
name and a ``handle_token`` we choose, so the signal is subscribed to *before* the call and
cannot be missed. Every call here is blocking jeepney with a deadline: run them on a worker
thread, never on the GUI thread (a person may take a minute in an interactive dialog).

``screenshot()`` asks for a non-interactive picture first; when the portal refuses it (code 2 —
recent portals want a permission for that, which the person grants in the interactive dialog),
it asks again interactively. The picture comes back as a file the portal wrote (usually in the
Pictures folder; ``/tmp/out.png`` with the wlr backend); :func:`take_screenshot_file` reads it
and removes it, since the person never asked for a screenshot to be kept.

**Why the desktop app asks through a helper process.** The portal identifies its caller by
opening ``/proc/<pid>/root`` (is it a Flatpak? which one?), and refuses with ``AccessDenied``
("Unable to open /proc/…/root") when it cannot. The desktop app makes itself undumpable
(``core.hardening``: other processes of the user must not read its memory), which makes its
``/proc`` entry unreadable to them, the portal included. So the app runs the call in a short-lived
child (:func:`screenshot_via_helper`, :func:`background_via_helper`): ``python -m
authenticator.gui.portal screenshot`` — a fresh process, dumpable, holding no secret — which
answers with one JSON line. The bundle runs the same through ``authenticator --portal-helper``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from authenticator.errors import StateError, UserCancelled

__all__ = [
    "PORTAL",
    "PortalInfo",
    "background_via_helper",
    "helper_command",
    "helper_main",
    "in_flatpak",
    "portal_info",
    "request_background",
    "screenshot",
    "screenshot_via_helper",
    "take_screenshot_file",
]

log = logging.getLogger(__name__)

PORTAL = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SCREENSHOT = "org.freedesktop.portal.Screenshot"
BACKGROUND = "org.freedesktop.portal.Background"
REQUEST = "org.freedesktop.portal.Request"
CALL_TIMEOUT = 10.0  # the first call may start the portal and its backend
QUIET_TIMEOUT = 15.0  # a non-interactive screenshot
INTERACTIVE_TIMEOUT = 180.0  # the person answers a dialog
_DONE, _CANCELLED = 0, 1


@dataclass(frozen=True, slots=True)
class PortalInfo:
    """What the portal offers here (for the "This desktop" report)."""

    running: bool
    activatable: bool
    screenshot_version: int | None  # None: the Screenshot interface is missing
    background_version: int | None


def in_flatpak(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process runs inside a Flatpak sandbox (the portal is then the only way)."""
    env = os.environ if environ is None else environ
    return bool(env.get("FLATPAK_ID")) or os.path.exists("/.flatpak-info")


# ---------------------------------------------------------------- plumbing


def _connect(bus: str, timeout: float) -> Any:
    from jeepney.io.blocking import open_dbus_connection

    return open_dbus_connection(bus=bus, auth_timeout=timeout)


def _request_path(unique_name: str, token: str) -> str:
    sender = unique_name.lstrip(":").replace(".", "_")
    return f"{PORTAL_PATH}/request/{sender}/{token}"


def _call_with_response(
    conn: Any,
    interface: str,
    method: str,
    *,
    signature: str,
    args: tuple[Any, ...],
    token: str,
    timeout: float,
) -> tuple[int, dict[str, Any]]:
    """Call a portal method that answers through a Request; (code, results)."""
    from jeepney import DBusAddress, MatchRule, message_bus, new_method_call
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    path = _request_path(conn.unique_name, token)
    queue: deque[Any] = deque()
    rule = MatchRule(type="signal", interface=REQUEST, member="Response", path=path)
    conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT)
    handles = [conn.filter(rule, queue=queue, bufsize=4)]
    target = DBusAddress(PORTAL_PATH, bus_name=PORTAL, interface=interface)
    try:
        reply = conn.send_and_get_reply(
            new_method_call(target, method, signature, args), timeout=CALL_TIMEOUT
        )
        (handle,) = unwrap_msg(reply)
    except DBusErrorResponse as exc:
        log.info("the desktop portal refused %s.%s: %s %s", interface, method, exc.name, exc.data)
        raise StateError(
            f"The desktop portal refused the request ({exc.name}); see Settings → This desktop."
        ) from exc
    if handle != path:  # portals before 0.9 chose the path themselves
        other = MatchRule(type="signal", interface=REQUEST, member="Response", path=handle)
        conn.send_and_get_reply(message_bus.AddMatch(other), timeout=CALL_TIMEOUT)
        handles.append(conn.filter(other, queue=queue, bufsize=4))
    try:
        message = conn.recv_until_filtered(queue, timeout=timeout)
    except TimeoutError:
        with contextlib.suppress(Exception):  # tell the portal we gave up (closes a dialog)
            close = DBusAddress(handle, bus_name=PORTAL, interface=REQUEST)
            conn.send(new_method_call(close, "Close"))
        raise
    finally:
        for filter_handle in handles:
            filter_handle.close()
    code, results = message.body
    return int(code), {key: value[1] for key, value in dict(results).items()}


def _property(conn: Any, interface: str, name: str) -> Any:
    from jeepney import DBusAddress, MessageFlag, Properties
    from jeepney.wrappers import unwrap_msg

    target = DBusAddress(PORTAL_PATH, bus_name=PORTAL, interface=interface)
    message = Properties(target).get(name)
    message.header.flags |= MessageFlag.no_auto_start
    (value,) = unwrap_msg(conn.send_and_get_reply(message, timeout=CALL_TIMEOUT))
    return value[1]


# ---------------------------------------------------------------- what is there


def portal_info(bus: str = "SESSION", *, timeout: float = 2.0) -> PortalInfo:
    """Whether the portal runs (or can be started) and which of our interfaces it has.

    Starts nothing: when the portal is not running, only "activatable" is known.
    """
    from jeepney import MessageFlag, message_bus
    from jeepney.wrappers import DBusErrorResponse, unwrap_msg

    with _connect(bus, timeout) as conn:

        def ask(message: Any) -> Any:
            message.header.flags |= MessageFlag.no_auto_start
            return unwrap_msg(conn.send_and_get_reply(message, timeout=timeout))[0]

        running = bool(ask(message_bus.NameHasOwner(PORTAL)))
        activatable = PORTAL in ask(message_bus.ListActivatableNames())
        versions: dict[str, int | None] = {SCREENSHOT: None, BACKGROUND: None}
        if running:
            for interface in versions:
                with contextlib.suppress(DBusErrorResponse, TimeoutError):
                    versions[interface] = int(_property(conn, interface, "version"))
        return PortalInfo(running, activatable, versions[SCREENSHOT], versions[BACKGROUND])


# ---------------------------------------------------------------- Screenshot


def screenshot(
    *,
    interactive: bool | None = None,
    bus: str = "SESSION",
    parent_window: str = "",
    timeout: float | None = None,
) -> Path:
    """Ask the portal for a picture of the screen; the file it wrote.

    ``interactive=None`` (the default) asks quietly first and interactively when the portal
    refuses the quiet way. Raises ``UserCancelled`` when the person cancels, ``StateError`` when
    there is no portal or it fails, ``TimeoutError`` when it does not answer in time.
    """
    attempts = [False, True] if interactive is None else [interactive]
    try:
        conn = _connect(bus, CALL_TIMEOUT)
    except Exception as exc:  # no bus at all
        raise StateError(
            "The screen cannot be read here: no session bus to reach the desktop portal."
        ) from exc
    with conn:
        last = 0
        for quietly_or_not in attempts:
            token = "encedo_" + secrets.token_hex(8)
            options = {
                "handle_token": ("s", token),
                "modal": ("b", True),
                "interactive": ("b", quietly_or_not),
            }
            wait = timeout or (INTERACTIVE_TIMEOUT if quietly_or_not else QUIET_TIMEOUT)
            started = time.monotonic()
            code, results = _call_with_response(
                conn,
                SCREENSHOT,
                "Screenshot",
                signature="sa{sv}",
                args=(parent_window, options),
                token=token,
                timeout=wait,
            )
            log.info(
                "screenshot portal (%s): code %d in %.0f ms",
                "interactive" if quietly_or_not else "quiet",
                code,
                (time.monotonic() - started) * 1000,
            )
            if code == _DONE and results.get("uri"):
                return _file_of(str(results["uri"]))
            if code == _CANCELLED:
                raise UserCancelled("The screenshot was cancelled.")
            last = code
    raise StateError(
        f"The desktop portal could not take a screenshot (code {last}); select the QR code in a "
        "picture file or paste its text instead."
    )


def _file_of(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.scheme != "file":
        raise StateError(
            "The desktop portal returned the screenshot in a form this app cannot read."
        )
    return Path(unquote(parts.path))


def take_screenshot_file(path: Path) -> bytes:
    """The bytes of the portal's screenshot file, which is then removed (best effort)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StateError("The screenshot the desktop portal made could not be read.") from exc
    with contextlib.suppress(OSError):
        path.unlink()
    return data


# ---------------------------------------------------------------- Background


def request_background(
    *,
    autostart: bool,
    commandline: list[str],
    reason: str,
    bus: str = "SESSION",
    timeout: float = INTERACTIVE_TIMEOUT,
) -> bool:
    """Ask to run in the background and (not) be started at login; whether autostart is on.

    The Flatpak way of "start at login": the portal writes the autostart entry for the sandboxed
    app. Raises ``UserCancelled`` when the person says no, ``StateError`` when there is no portal.
    """
    token = "encedo_" + secrets.token_hex(8)
    options = {
        "handle_token": ("s", token),
        "reason": ("s", reason),
        "autostart": ("b", autostart),
        "commandline": ("as", list(commandline)),
        "dbus-activatable": ("b", False),
    }
    try:
        conn = _connect(bus, CALL_TIMEOUT)
    except Exception as exc:  # no bus at all
        raise StateError("No session bus to reach the desktop portal.") from exc
    with conn:
        code, results = _call_with_response(
            conn,
            BACKGROUND,
            "RequestBackground",
            signature="sa{sv}",
            args=("", options),
            token=token,
            timeout=timeout,
        )
    if code == _CANCELLED:
        raise UserCancelled("Running in the background was not allowed.")
    if code != _DONE:
        raise StateError(
            f"The desktop portal refused to run the app in the background (code {code})."
        )
    return bool(results.get("autostart", False))


# ---------------------------------------------------------------- the helper process


def helper_command() -> list[str]:
    """How to start the portal helper: this Python with ``-m``, or the bundle's own program."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--portal-helper"]
    return [sys.executable, "-m", "authenticator.gui.portal"]


def _helper(args: list[str], timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(  # noqa: S603 - our own program with fixed arguments
            [*helper_command(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError("the desktop portal did not answer") from exc
    except OSError as exc:
        raise StateError(f"The desktop portal helper could not start ({exc.strerror}).") from exc
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        log.info("portal helper exited %s: %s", done.returncode, done.stderr.strip()[-500:])
        raise StateError("The desktop portal helper failed; see the log.")
    if "cancelled" in answer:
        raise UserCancelled(str(answer["cancelled"]))
    if "timeout" in answer:
        raise TimeoutError(str(answer["timeout"]))
    if "error" in answer:
        raise StateError(str(answer["error"]))
    return answer


def screenshot_via_helper(*, timeout: float = INTERACTIVE_TIMEOUT + QUIET_TIMEOUT) -> Path:
    """:func:`screenshot`, asked by a helper process (see the module docstring)."""
    return Path(str(_helper(["screenshot"], timeout)["path"]))


def background_via_helper(
    *, autostart: bool, commandline: list[str], reason: str, timeout: float = INTERACTIVE_TIMEOUT
) -> bool:
    """:func:`request_background`, asked by a helper process (see the module docstring)."""
    args = ["background", "--autostart" if autostart else "--no-autostart", "--reason", reason]
    answer = _helper([*args, "--", *commandline], timeout + 5)
    return bool(answer["autostart"])


class PortalAutostart:
    """ "Start at login" inside Flatpak: the Background portal writes the autostart entry for the
    sandboxed app (the core's :class:`~authenticator.core.autostart.Autostart`)."""

    REASON = "Encedo Authenticator waits in the tray for access requests to your HEM."

    def enable(self) -> None:
        if not background_via_helper(
            autostart=True, commandline=["authenticator"], reason=self.REASON
        ):
            raise StateError(
                "The desktop did not allow Encedo Authenticator to start at login; allow it in "
                "your desktop's background-apps settings, then try again."
            )

    def disable(self) -> None:
        background_via_helper(autostart=False, commandline=["authenticator"], reason=self.REASON)


def helper_main(argv: list[str]) -> int:
    """The helper: one portal call, one JSON line on stdout (exit 0 unless the line is missing)."""
    import argparse

    parser = argparse.ArgumentParser(prog="authenticator-portal-helper")
    sub = parser.add_subparsers(dest="call", required=True)
    sub.add_parser("screenshot")
    background = sub.add_parser("background")
    background.add_argument("--autostart", action=argparse.BooleanOptionalAction, default=False)
    background.add_argument("--reason", default="")
    background.add_argument("commandline", nargs="*")
    args = parser.parse_args(argv)
    answer: dict[str, object]
    try:
        if args.call == "screenshot":
            answer = {"path": str(screenshot())}
        else:
            answer = {
                "autostart": request_background(
                    autostart=args.autostart, commandline=args.commandline, reason=args.reason
                )
            }
    except UserCancelled as exc:
        answer = {"cancelled": str(exc)}
    except TimeoutError:
        answer = {"timeout": "the desktop portal did not answer"}
    except StateError as exc:
        answer = {"error": str(exc)}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(helper_main(sys.argv[1:]))

"""Start the desktop app: ``authenticator`` (and ``authenticator --demo``) end up in :func:`run`.

Order matters:

1. one ``QApplication`` (app name, organisation, desktop file name ``com.encedo.Authenticator``,
   the window icon) and the log file;
2. the home: the user's, or with ``--demo`` a separate demo home (``<data dir>/demo``, emptied at
   each demo start; never the real one);
3. **single instance**: the local agent's socket is the app's identity for its home. If another
   app already serves it, the links given on the command line are forwarded to it (it raises its
   window) and this process exits 0; otherwise the core starts its background work (agent,
   broker poller, expiry clock);
4. ``--demo``: the emulator is started by the command line layer (the app never imports it) and
   the demo home's broker points at it;
5. the controller: window, tray, notifications; then the event loop; on the way out
   everything stops in order (the core stops its poller, agent and expiry clock).

Test hook (packaging smoke tests): ``AUTHENTICATOR_GUI_QUIT_AFTER=SECONDS`` quits the event loop
after that many seconds with exit code 0; ``AUTHENTICATOR_GUI_SELFTEST=1`` is the same with one
second. Neither opens a browser.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys

from PySide6.QtCore import QCoreApplication, QLocale, Qt, QTimer, QTranslator
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from authenticator import APP_ID, APP_NAME, __version__
from authenticator.core.agent.server import AlreadyRunningError
from authenticator.core.agent_client import AgentClient, AgentNotRunning
from authenticator.core.app import Core
from authenticator.errors import AuthenticatorError, UnsafeFolderError
from authenticator.gui.bridge import Bridge
from authenticator.gui.clipboard import ClipboardGuard
from authenticator.gui.context import AppContext, DemoServer, DemoStarter
from authenticator.gui.icons import app_icon
from authenticator.gui.portal import PortalAutostart, in_flatpak
from authenticator.gui.tasks import TaskRunner
from authenticator.gui.widgets.plain import plain_box
from authenticator.resources import data_dir
from authenticator.store.atomic import write_private_atomic
from authenticator.store.paths import AppPaths

__all__ = [
    "DEMO_PASSPHRASE",
    "demo_paths",
    "demo_running_message",
    "forward_to_running",
    "make_application",
    "run",
]

log = logging.getLogger(__name__)

DEMO_PASSPHRASE = "demo"  # noqa: S105 - the demo store's documented passphrase
DEMO_MARKER = ".encedo-demo-home"
DEMO_PAGE_FILE = "demo-page.url"
QUIT_AFTER_ENV = "AUTHENTICATOR_GUI_QUIT_AFTER"
SELFTEST_ENV = "AUTHENTICATOR_GUI_SELFTEST"


def make_application() -> QApplication:
    """The process's ``QApplication`` (created once), named and iconed for the desktop."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(sys.argv[:1])
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setOrganizationName("Encedo")
    QCoreApplication.setOrganizationDomain("encedo.com")
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName(APP_ID)
    QGuiApplication.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)  # the tray keeps the app alive
    _install_translations(app)
    return app


def _install_translations(app: QApplication) -> None:
    """Load ``translations/authenticator_<locale>.qm`` from the data files, when shipped."""
    try:
        folder = data_dir() / "translations"
    except AuthenticatorError:
        return
    if not folder.is_dir() or app.property("encedo_translator") is not None:
        return
    translator = QTranslator(app)
    if translator.load(QLocale.system(), "authenticator", "_", str(folder)):
        app.installTranslator(translator)
        app.setProperty("encedo_translator", True)


def demo_paths(real: AppPaths) -> AppPaths:
    """The demo's own home, beside (never inside the files of) the real one."""
    return real.demo()


def _reset_demo_home(paths: AppPaths) -> None:
    """Empty the demo home (pairings of an earlier demo point at a port long gone)."""
    home = paths.data_dir
    if home.exists() and (home / DEMO_MARKER).is_file():
        shutil.rmtree(home, ignore_errors=True)
    elif home.exists() and any(home.iterdir()):
        raise AuthenticatorError(f"{home} is not a demo home; move it away to run the demo.")
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    (home / DEMO_MARKER).write_text(
        "This directory is the demo's; it is emptied on each demo start.\n"
    )


def forward_to_running(paths: AppPaths, links: list[str]) -> bool:
    """If an app already serves ``paths``, hand it ``links`` (it raises its window); ``True``
    when it did.

    Only to this user's own app: the socket folder must pass ``check_runtime_dir`` (else
    ``UnsafeFolderError``) and the process serving the socket must run as this user (else
    ``ForeignAgentError``); the caller shows the error and stops.
    """
    if not paths.check_runtime():
        return False
    try:
        AgentClient(paths.agent_socket).open_links(list(links))
    except AgentNotRunning:
        return False
    return True


def _remember_demo_page(paths: AppPaths, url: str) -> None:
    """Write the demo page's address into the demo home, for a second ``--demo`` to print."""
    try:
        write_private_atomic(paths.data_dir / DEMO_PAGE_FILE, (url + "\n").encode("utf-8"))
    except (OSError, AuthenticatorError) as exc:
        log.info("could not note the demo page's address: %s", exc)


def demo_running_message(paths: AppPaths) -> str:
    """What a second ``authenticator --demo`` says: the demo runs (its window was brought up
    by the agent's ``open``), and where its page is."""
    try:
        url = (paths.data_dir / DEMO_PAGE_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        url = ""
    if not url.startswith(("http://", "https://")) or not url.isprintable() or len(url) > 200:
        return "The demo is already running; its window was brought to the front."
    return f"The demo is already running; its window was brought to the front. Its page: {url}"


def _setup_logging(paths: AppPaths) -> None:
    try:
        from authenticator.core.logs import setup_logging
    except ImportError:  # pragma: no cover - the packaging engineer's module
        return
    try:
        setup_logging(paths)
    except AuthenticatorError as exc:
        log.warning("no log file: %s", exc)


def _quit_after() -> float | None:
    value = os.environ.get(QUIT_AFTER_ENV, "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    if os.environ.get(SELFTEST_ENV, "").strip() in ("1", "true", "yes"):
        return 1.0
    return None


def _fatal(app: QApplication, message: str) -> int:
    print(f"authenticator: {message}", file=sys.stderr)
    if QGuiApplication.platformName() not in ("offscreen", "minimal") and _quit_after() is None:
        box = plain_box(QMessageBox(QMessageBox.Icon.Critical, APP_NAME, message))
        box.exec()
    return 1


def run(args: argparse.Namespace, *, demo_starter: DemoStarter | None = None) -> int:
    """The desktop app; returns the process's exit code."""
    from authenticator.core.hardening import protect_process
    from authenticator.gui.controller import AppController

    protect_process()  # no core dumps, not dumpable (unless AUTHENTICATOR_ALLOW_CORE_DUMPS=1)

    app = make_application()
    links = [str(a) for a in (getattr(args, "links", None) or [])]
    quit_after = _quit_after()
    demo_mode = bool(getattr(args, "demo", False))
    try:
        paths = AppPaths.resolve(getattr(args, "home", None), os.environ)
        if demo_mode:
            paths = demo_paths(paths)
        if forward_to_running(paths, links):
            log.info("another app serves this home; forwarded %d argument(s)", len(links))
            if demo_mode:
                print(demo_running_message(paths), flush=True)
            return 0
        if demo_mode:
            if demo_starter is None:
                return _fatal(app, "The demo is not available in this installation.")
            _reset_demo_home(paths)
        paths.ensure()
        _setup_logging(paths)
        core = Core(paths, autostart=PortalAutostart() if in_flatpak() else None)
    except AuthenticatorError as exc:
        return _fatal(app, str(exc))

    bridge = Bridge()
    core.add_listener(bridge)
    try:
        core.start(on_open=bridge.open_links)
    except AlreadyRunningError:
        core.close()
        return 0 if forward_to_running(paths, links) else _fatal(app, str(AlreadyRunningError()))
    except UnsafeFolderError as exc:  # another user may stand in for the app: never start
        core.close()
        return _fatal(app, str(exc))
    except OSError as exc:
        log.warning("the local agent could not start: %s", exc)
        core.start(agent=False)

    demo: DemoServer | None = None
    if demo_mode and demo_starter is not None:
        try:
            demo = demo_starter()
            core.update_settings(default_broker_url=demo.broker_url.rstrip("/"))
            _remember_demo_page(paths, demo.demo_url)
        except AuthenticatorError as exc:
            core.close()
            return _fatal(app, f"The demo could not start: {exc}")

    tasks = TaskRunner()
    ctx = AppContext(
        core=core,
        tasks=tasks,
        bridge=bridge,
        clipboard=ClipboardGuard(),
        demo=demo,
        demo_passphrase=DEMO_PASSPHRASE if demo is not None else None,
    )
    controller = AppController(app, ctx, open_browser=quit_after is None)
    if demo is not None:
        controller.on_quit(demo.stop)
    controller.start(show=True)
    if links:
        QTimer.singleShot(0, lambda: controller.open_args(links))
    if quit_after is not None:
        QTimer.singleShot(int(quit_after * 1000), controller.quit)
    app.aboutToQuit.connect(controller.shutdown)
    code = app.exec()
    controller.shutdown()
    return int(code)

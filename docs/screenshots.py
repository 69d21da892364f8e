#!/usr/bin/env python3
"""Render every screen of the desktop app to PNG, in light and dark theme.

    .venv/bin/python docs/screenshots.py [--out docs/screenshots] [--scale 1] [--only NAME]

The app runs on the real core against the built-in emulator (in this process, on a free
loopback port), offscreen by default (``QT_QPA_PLATFORM=offscreen``: no display needed; set it to
``xcb`` under Xvfb to render with the X11 platform instead). Each screen is driven into place
through the same methods the tests use, then captured with ``QWidget.grab()``; ``--scale 2``
renders at 200 % (``QT_SCALE_FACTOR``) to check for clipped text. The approval screens are also
rendered at the window's minimum size (``*-min-*.png``): the grant must read in full there too.
Nothing here touches the real home or keychain: every run uses temporary homes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--only", default="", help="render only screens whose name contains this")
    p.add_argument("--themes", default="light,dark")
    return p.parse_args()


ARGS = _parse()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
if ARGS.scale != 1.0:
    os.environ["QT_SCALE_FACTOR"] = str(ARGS.scale)

from PySide6.QtCore import QCoreApplication, QEventLoop  # noqa: E402
from PySide6.QtGui import QFont  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from authenticator.core.app import Core  # noqa: E402
from authenticator.core.model import Program  # noqa: E402
from authenticator.core.netfactory import NetFactory  # noqa: E402
from authenticator.core.programs import ProgramAsk, Ticket  # noqa: E402
from authenticator.emulator.requester import Requester  # noqa: E402
from authenticator.emulator.server import serve_in_thread  # noqa: E402
from authenticator.gui.app import make_application  # noqa: E402
from authenticator.gui.bridge import Bridge  # noqa: E402
from authenticator.gui.clipboard import ClipboardGuard  # noqa: E402
from authenticator.gui.context import AppContext  # noqa: E402
from authenticator.gui.tasks import TaskRunner  # noqa: E402
from authenticator.gui.theme import apply_theme  # noqa: E402
from authenticator.gui.windows.approval import ApprovalView  # noqa: E402
from authenticator.gui.windows.main import MainWindow  # noqa: E402
from authenticator.gui.windows.pairing import PairingWizard  # noqa: E402
from authenticator.gui.windows.unpair import UnpairDialog  # noqa: E402
from authenticator.protocol.b64 import b64encode  # noqa: E402
from authenticator.protocol.periods import Period  # noqa: E402
from authenticator.store.keychain import SystemKeychain  # noqa: E402
from authenticator.store.paths import AppPaths  # noqa: E402
from authenticator.store.vault import KdfParams  # noqa: E402

PASSPHRASE = "correct horse battery staple"  # noqa: S105 - a throw-away test store
HEM_PASSPHRASE = "demo"  # noqa: S105 - the emulator's documented demo passphrase
SIZE = (1000, 680)


def pump(check: Callable[[], object], timeout: float = 15.0) -> None:
    """Run the event loop until ``check()`` is true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not get ready in time")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def settle(ms: int = 150) -> None:
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


class Shooter:
    def __init__(self, out: Path, theme: str) -> None:
        self.out = out
        self.theme = theme
        self.written: list[Path] = []

    def __call__(
        self, name: str, widget: QWidget, *, minimum: bool = False, reveal: QWidget | None = None
    ) -> None:
        """Save ``widget`` as ``name-theme.png``; with ``minimum`` also at the window's minimum
        size as ``name-min-theme.png``, scrolled so that ``reveal`` shows."""
        self._one(name, widget)
        if minimum:
            size = widget.size()
            widget.resize(widget.minimumSize())
            if reveal is not None:
                settle()
                view = widget.findChild(ApprovalView)
                if view is not None:
                    view.scroller.ensureWidgetVisible(reveal, 0, 12)
            self._one(f"{name}-min", widget)
            widget.resize(size)

    def _one(self, name: str, widget: QWidget) -> None:
        if ARGS.only and ARGS.only not in name:
            return
        settle()
        path = self.out / f"{name}-{self.theme}.png"
        widget.grab().save(str(path))
        self.written.append(path)
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def run_theme(app: QApplication, theme: str, out: Path) -> list[Path]:
    shoot = Shooter(out, theme)
    apply_theme(app, theme)  # type: ignore[arg-type]
    running = serve_in_thread(hem_count=2, passphrase=HEM_PASSPHRASE)
    broker = running.emulator.broker
    if broker is None:
        raise RuntimeError("the emulator runs without a broker")
    broker.set_location("Warsaw", "PL")
    tmp = Path(tempfile.mkdtemp(prefix="encedo-shots-"))
    core = Core(
        AppPaths.for_home(tmp / "home"),
        keychain=SystemKeychain(timeout=0.5),
        net=NetFactory(hem_timeout=5.0, broker_timeout=5.0),
        kdf=KdfParams.minimum(),
    )
    core.create_store(passphrase=PASSPHRASE)
    bridge = Bridge()
    core.add_listener(bridge)
    ctx = AppContext(core=core, tasks=TaskRunner(), bridge=bridge, clipboard=ClipboardGuard())
    ctx.flags["keychain_available"] = False
    requester = Requester(
        running.urls.hems[0], running.urls.broker, backend_url=running.urls.backend,
        passphrase=HEM_PASSPHRASE,
    )  # fmt: skip
    window = MainWindow(ctx)
    window.quitting = True
    window.resize(*SIZE)
    window.enter_unlocked()
    window.show()
    try:
        # ---------------------------------------------------------------- first run
        shoot("welcome", window)
        wizard = PairingWizard(ctx)
        wizard.resize(640, 560)
        wizard.show()
        shoot("pairing-source", wizard)
        session = requester.start_pairing()
        wizard.read_text(session.qr_text)
        pump(lambda: wizard.pages.currentWidget() is wizard.preview_page)
        wizard.p_name.setText("office-hem")
        shoot("pairing-preview", wizard)
        wizard.accept_pairing()
        pump(lambda: wizard.pages.currentWidget() is wizard.done_page)
        session.poll()
        shoot("pairing-done", wizard)
        wizard.close()
        window.enter_unlocked()
        pump(lambda: window.hems.table.rowCount() == 1)

        def ask(scope: str, *, note: str | None = None) -> str:
            s = requester.request_access(scope, note=note)
            pump(lambda: s.event_id in [r.id for r in core.refresh()])
            pump(lambda: window.requests.count >= 1 and s.event_id in window.requests._requests)
            return s.event_id

        def show(rid: str) -> None:
            window.show_request(rid)
            pump(lambda: window.requests.view.request is not None
                 and window.requests.view.request.id == rid)  # fmt: skip

        def asked(ticket: Ticket) -> str:
            if ticket.request is None:
                raise RuntimeError("the program's request could not be asked for")
            return ticket.request.id

        def clear() -> None:
            for request in core.pending():
                core.deny(request.id)
            pump(lambda: window.requests.count == 0)

        # ---------------------------------------------------------------- approvals
        rid = ask("keymgmt:list")
        show(rid)
        window.requests.view.period.set_period(window.requests.view.period.period())
        shoot("approval-broker", window)
        window.requests.view.details_toggle.setChecked(True)
        shoot("approval-broker-details", window)
        window.requests.view.details_toggle.setChecked(False)
        clear()

        entry = core.ask_hem(
            "keymgmt:list",
            program=Program("backup.sh", pid=48213, path="/usr/local/bin/backup.sh",
                            user="alice", chain=("backup.sh", "bash", "sshd"), remote=True),
            reason="nightly backup of the key list",
        )  # fmt: skip
        show(entry.request.id)
        shoot("approval-local", window)
        # approved: the app now knows the HEM's own key names (kept in memory until locked)
        window.requests.view.approve()
        pump(lambda: window.requests.view.state == "done")
        clear()

        kid = requester.find_key("PGP main")
        meta = b64encode(b'{"t":"AC16","l":"Backup signing key"}')
        rid = ask(f"keymgmt:use:{kid}#{meta}")
        show(rid)
        shoot("approval-key-use", window)
        clear()

        rid = ask("storage:disk1:rw")
        show(rid)
        view = window.requests.view
        view.period.set_period(view.period.period().__class__.H24)
        view.write.setChecked(True)
        shoot("approval-drive", window, minimum=True, reveal=view.approve_button)
        view.approve()
        pump(lambda: view.state == "done")
        shoot("approval-approved", window)

        sessions = [requester.request_access(s) for s in ("system:config", "keymgmt:gen")]
        for one in sessions:
            pump(lambda one=one: one.event_id in [r.id for r in core.refresh()])
        ids = [one.event_id for one in sessions] + [ask("logger:get")]
        show(ids[0])
        shoot("approval-queue", window, minimum=True, reveal=view.approve_button)
        sessions[0].cancel()
        core.refresh()
        pump(lambda: view.state == "done")
        shoot("approval-ended", window, minimum=True)
        clear()

        rid = ask("system:config")
        show(rid)
        view.deny(report=True)  # "I didn't ask for this": the HEM is muted for a while
        pump(lambda: view.state == "done" and window.requests.mute_bar.isVisible())
        shoot("approval-reported", window, minimum=True)
        core.unmute(core.hems()[0].name)
        pump(lambda: not window.requests.mute_bar.isVisible())
        clear()

        # ------------------------------------------- several scopes, renewal, code matching
        tunnel = Program(
            "wg-provision", pid=51234, path="/usr/local/bin/wg-provision", uid=1000, user="alice",
            chain=("wg-provision", "bash", "gnome-terminal"),
        )  # fmt: skip
        scopes = ("keymgmt:list", "keymgmt:gen", "system:config", "logger:get", "storage:disk0")
        ticket = core.ask_program(
            ProgramAsk(scopes, program=tunnel, period=Period.H1, write=True,
                       reason="provision the WireGuard tunnel wg0")
        )  # fmt: skip
        show(asked(ticket))
        pump(view.approve_button.isEnabled)  # after the input delay
        shoot("approval-bundle", window, minimum=True, reveal=view.approve_button)
        view.renew_box.setChecked(True)
        view.part_writes["storage:disk0"].setChecked(True)
        running.emulator.faults.add("/api/auth/ext/token", status=406, times=1)  # one part fails
        pump(view.approve_button.isEnabled)
        view.approve()
        pump(lambda: view.state == "done")
        shoot("approval-bundle-done", window)

        held = tuple(r.scope for r in view.grant.results if r.ok)[:2] if view.grant else ()
        ticket = core.ask_program(ProgramAsk(held, program=tunnel, period=Period.H8))
        show(asked(ticket))  # longer than approved: asked, as a renewal
        pump(view.approve_button.isEnabled)
        shoot("approval-renewal", window, minimum=True, reveal=view.approve_button)
        view.approve()
        pump(lambda: view.state == "done")

        core.update_settings(code_matching="always")
        deploy = Program(
            "deploy.sh", pid=60412, path="/home/alice/bin/deploy.sh", uid=1000, user="alice",
            chain=("deploy.sh", "bash", "sshd"), remote=True,
        )  # fmt: skip
        ticket = core.ask_program(ProgramAsk(("logger:get",), program=deploy, code=47))
        show(asked(ticket))
        shoot("approval-code", window, minimum=True, reveal=view.approve_button)
        view.pick_code(47)
        pump(view.approve_button.isEnabled)
        shoot("approval-code-picked", window)
        clear()
        core.update_settings(code_matching="remote")

        window.show_page("grants")
        window.grants.reload()
        shoot("grants", window, minimum=True)

        # ---------------------------------------------------------------- pages
        window.show_page("hems")
        window.hems.reload()
        shoot("hems", window)

        path = core.paths.journal
        lines = path.read_bytes().splitlines()
        entry_json = json.loads(lines[3])
        entry_json["text"] = "nothing happened here"
        lines[3] = json.dumps(entry_json, separators=(",", ":")).encode()
        path.write_bytes(b"\n".join(lines) + b"\n")
        window.show_page("history")
        window.history.reload()
        pump(lambda: bool(window.history.entries) and not window.history._loading)
        window.history.verify()
        pump(lambda: window.history.banner.kind == "error")
        shoot("history", window)

        window.show_page("settings")
        window.settings.reload()
        shoot("settings", window)

        core.pair_direct(core.preview_direct(running.urls.hems[1]), HEM_PASSPHRASE,
                         name="desk-hem")  # fmt: skip
        dialog = UnpairDialog(ctx, next(h for h in core.hems() if h.source == "direct"), window)
        dialog.show()
        shoot("unpair-direct", dialog)
        dialog.close()

        core.lock()
        pump(lambda: core.locked)
        window.refresh_screen()
        shoot("lock", window)
    finally:
        ctx.tasks.close()
        window.close()
        core.close()
        requester.close()
        running.stop()
    return shoot.written


def main() -> int:
    out = Path(ARGS.out)
    out.mkdir(parents=True, exist_ok=True)
    app = make_application()
    font = QFont("DejaVu Sans", 10)
    app.setFont(font)
    written: list[Path] = []
    for theme in ARGS.themes.split(","):
        written += run_theme(app, theme.strip(), out)
    print(f"{len(written)} screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GUI figures, each in a fresh process (``benchmarks/run.py`` starts this script; offscreen Qt).

    python benchmarks/gui_bench.py cold-start           prints CLOCK_MONOTONIC when the tray icon
                                                        is shown and when the event loop runs
    python benchmarks/gui_bench.py load [--quick]       RSS, GUI stall with 1 000 pending requests
                                                        over 50 HEMs, RSS after they are handled,
                                                        idle CPU with 50 pairings (one JSON line)

``cold-start`` runs the real ``authenticator`` entry point on a fresh home with two probes: the
tray icon class is replaced by a subclass that reports its ``show()``, and the application class
by one that reports the first turn of its event loop; it quits after 2 s (the app's own
``AUTHENTICATOR_GUI_QUIT_AFTER`` hook).

``load`` builds the app as ``authenticator.gui.app.run`` does (bridge, task runner, controller,
window, tray, notifications, the real poller), on an unlocked core paired with 50 emulated HEMs
(the emulator in a process of its own). A 10 ms ``QTimer`` on the GUI thread records the longest
gap between its ticks: the longest time the GUI thread could not react.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def cold_start() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import authenticator.gui.app as gui_app
    from authenticator.gui import tray

    class ProbeIcon(tray.QSystemTrayIcon):  # type: ignore[misc, name-defined]
        def show(self) -> None:
            super().show()
            print(f"TRAY {time.monotonic():.6f}", flush=True)

    class ProbeApp(QApplication):
        def exec(self) -> int:  # type: ignore[override]
            QTimer.singleShot(0, lambda: print(f"LOOP {time.monotonic():.6f}", flush=True))
            return super().exec()

    tray.QSystemTrayIcon = ProbeIcon  # type: ignore[attr-defined]
    gui_app.QApplication = ProbeApp  # type: ignore[attr-defined, misc]
    from authenticator.cli.main import main

    return main(sys.argv[2:])


def probe() -> int:
    """The real app (``authenticator --home H``) with a probe on its GUI thread.

    Every 0.5 s it prints ``STATE <pending> <longest gap ms since last report>``; a line on stdin
    ``deny-all`` denies every pending request (off the GUI thread, as the task runner would),
    ``ticker-off`` stops the 10 ms timer (so it costs nothing while idle CPU is measured),
    ``quit`` ends the app.
    """
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    import authenticator.gui.app as gui_app

    cores: list[object] = []

    class ProbeCore(gui_app.Core):  # type: ignore[misc, name-defined]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            cores.append(self)

    class ProbeApp(QApplication):
        def exec(self) -> int:  # type: ignore[override]
            clock = QElapsedTimer()
            clock.start()
            state = {"last": clock.nsecsElapsed(), "gap": 0.0}

            def tick() -> None:
                now = clock.nsecsElapsed()
                state["gap"] = max(state["gap"], (now - state["last"]) / 1e6)
                state["last"] = now

            def report() -> None:
                core = cores[0] if cores else None
                pending = len(core.inbox) if core is not None else -1  # type: ignore[attr-defined]
                print(f"STATE {pending} {state['gap']:.1f}", flush=True)
                state["gap"] = 0.0

            ticker, reporter = QTimer(self), QTimer(self)
            ticker.setInterval(10)
            ticker.timeout.connect(tick)
            ticker.start()
            reporter.setInterval(500)
            reporter.timeout.connect(report)
            reporter.start()
            commands: list[str] = []

            def read_stdin() -> None:
                for line in sys.stdin:
                    commands.append(line.strip())

            def obey() -> None:
                while commands:
                    command = commands.pop(0)
                    core = cores[0]
                    if command == "deny-all":
                        ids = [r.id for r in core.pending()]  # type: ignore[attr-defined]
                        threading.Thread(target=_deny_all, args=(core, ids), daemon=True).start()
                    elif command == "ticker-off":
                        ticker.stop()
                        reporter.stop()
                    elif command == "quit":
                        self.exit(0)

            threading.Thread(target=read_stdin, daemon=True).start()
            listener = QTimer(self)
            listener.setInterval(100)
            listener.timeout.connect(obey)
            listener.start()
            return super().exec()

    gui_app.Core = ProbeCore  # type: ignore[attr-defined, misc]
    gui_app.QApplication = ProbeApp  # type: ignore[attr-defined, misc]
    from authenticator.cli.main import main

    return main(sys.argv[2:])


def _deny_all(core: Any, ids: list[str]) -> None:
    for request_id in ids:
        core.deny(request_id)


def _proc_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(quick: bool) -> int:
    """Prepare a home paired with 50 emulated HEMs (keychain mode, the benchmark keyring), start
    the real app on it with the probe, and measure it from outside."""
    import keyring

    from authenticator.core.app import Core
    from authenticator.emulator.requester import Requester
    from authenticator.store.keychain import SystemKeychain
    from authenticator.store.paths import AppPaths
    from benchmarks.filekeyring import FileKeyring
    from tests.load.harness import HEM_PASSPHRASE, World, _pair_all

    pending = 200 if quick else 1000
    idle_s = 15.0 if quick else 60.0
    out: dict[str, float] = {}
    tmp = Path(tempfile.mkdtemp(prefix="eda-guib-"))
    os.environ["BENCH_KEYRING_FILE"] = str(tmp / "keyring.json")
    keyring.set_keyring(FileKeyring())
    world = World(50)
    app = None
    try:
        home = tmp / "home"
        core = Core(AppPaths.for_home(home), keychain=SystemKeychain())
        core.create_store()  # keychain mode: the app opens it without a prompt
        requesters = [
            Requester(u, world.urls.broker, passphrase=HEM_PASSPHRASE) for u in world.urls.hems
        ]
        _pair_all(core, requesters)
        for r in requesters:
            r.close()
        core.close()
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONPATH": str(ROOT),
            "PYTHON_KEYRING_BACKEND": "benchmarks.filekeyring.FileKeyring",
            "AUTHENTICATOR_HOME": str(home),
            "XDG_RUNTIME_DIR": str(tmp),
        }
        env.pop("AUTHENTICATOR_GUI_QUIT_AFTER", None)
        app = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "probe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        states: list[tuple[float, int, float]] = []

        def read() -> None:
            assert app is not None
            assert app.stdout is not None
            for line in app.stdout:
                if line.startswith("STATE "):
                    _, n, gap = line.split()
                    states.append((time.monotonic(), int(n), float(gap)))

        threading.Thread(target=read, daemon=True).start()

        def wait_state(check: Callable[[int], bool], timeout: float) -> bool:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if states and check(states[-1][1]):
                    return True
                time.sleep(0.1)
            return False

        def send(command: str) -> None:
            assert app is not None
            assert app.stdin is not None
            app.stdin.write(command + "\n")
            app.stdin.flush()

        wait_state(lambda n: n == 0, 60)
        time.sleep(3)  # unlocked, first rounds done, window drawn
        out["rss_after_start_mib"] = _proc_rss_mib(app.pid)
        mark = len(states)
        started = time.monotonic()
        made, _ = world.ask("produce", pending, 8.0 if quick else 20.0, time.monotonic())
        out["all_arrived"] = float(wait_state(lambda n: n >= len(made), 300))
        out["pending_arrival_s"] = time.monotonic() - started
        out["pending_shown"] = float(states[-1][1])
        out["gui_longest_stall_ms"] = max(s[2] for s in states[mark:])
        out["rss_with_pending_mib"] = _proc_rss_mib(app.pid)
        mark = len(states)
        send("deny-all")
        wait_state(lambda n: n == 0, 600)
        out["gui_longest_stall_answering_ms"] = max(s[2] for s in states[mark:])
        time.sleep(3)
        out["rss_after_handled_mib"] = _proc_rss_mib(app.pid)
        # the same again: a leak grows a second time, a one-off peak does not
        made, _ = world.ask("produce", pending, 8.0 if quick else 20.0, time.monotonic())
        wait_state(lambda n: n >= len(made), 300)
        send("deny-all")
        wait_state(lambda n: n == 0, 600)
        time.sleep(3)
        out["rss_after_second_cycle_mib"] = _proc_rss_mib(app.pid)
        send("ticker-off")
        time.sleep(1)
        cpu0, wall0 = _proc_cpu_s(app.pid), time.monotonic()
        time.sleep(idle_s)
        out["idle_cpu_percent"] = 100 * (_proc_cpu_s(app.pid) - cpu0) / (time.monotonic() - wall0)
        out["idle_seconds"] = idle_s
        out["rss_after_idle_mib"] = _proc_rss_mib(app.pid)
        send("quit")
        app.wait(30)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        world.close()
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid> prints every thread's stack
    mode = sys.argv[1] if len(sys.argv) > 1 else "load"
    if mode == "cold-start":
        sys.exit(cold_start())
    if mode == "probe":
        sys.exit(probe())
    sys.exit(load("--quick" in sys.argv))

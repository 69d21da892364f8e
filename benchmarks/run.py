"""Every benchmark of the app, in one run, as one table: ``python benchmarks/run.py [--quick]``.

Sections (the targets are ``design.md``'s):

1. **Protocol** — opening a broker event and building the approval (authreply + MAC), per
   operation, next to the bare primitives they are made of (X25519, AES-128-CBC, HMAC-SHA256):
   the ratio says what our code adds to the cryptography.
2. **Broker path** — a request created at the emulated broker until it is in the inbox
   (``request_added``), p50/p95 over >= 200 requests (60 with ``--quick``), with the real poller
   at the default 2 s interval and 50 pairings; and the broker calls per minute.
3. **Direct path** — a program asks the agent until the approval is shown (``request_added``);
   the click (``core.approve``) until the program has its token; p50/p95, next to a bare loopback
   HTTP round trip to the emulated HEM (the floor: the direct path needs two).
4. **Emulator** — a keep-alive request to the broker with TCP_NODELAY (the fix) and without it.
5. **GUI** — cold start to the tray icon, RSS, the longest GUI-thread stall while 1 000
   requests over 50 HEMs arrive, RSS after they are handled, idle CPU with 50 pairings
   (``benchmarks/gui_bench.py``, each in a fresh process).

The HEMs, the broker and the Manager run in a process of their own (``tests/load/harness.py``'s
``World``), as they are other machines in real life. Results are printed and, with ``--json
FILE``, written as JSON. Nothing here is a test: tests never assert timings.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authenticator.core.agent.ratelimit import RateLimiter  # noqa: E402
from authenticator.core.agent.server import AgentServer  # noqa: E402
from authenticator.core.agent_client import AgentClient  # noqa: E402
from authenticator.core.app import Core  # noqa: E402
from authenticator.core.model import AccessRequest, Outcome  # noqa: E402
from authenticator.core.netfactory import NetFactory  # noqa: E402
from authenticator.emulator.requester import Requester  # noqa: E402
from authenticator.net.hem import HemClient  # noqa: E402
from authenticator.protocol.access import (  # noqa: E402
    BrokerEvent,
    authreply_mac,
    build_authreply,
    open_event,
)
from authenticator.protocol.b64 import b64encode  # noqa: E402
from authenticator.protocol.crypto import (  # noqa: E402
    aes128_cbc_decrypt,
    aes128_cbc_encrypt,
    hmac_sha256,
)
from authenticator.protocol.keys import KeyPair  # noqa: E402
from authenticator.protocol.periods import Period  # noqa: E402
from authenticator.protocol.sealing import event_master, seal_scope  # noqa: E402
from authenticator.store.keychain import SystemKeychain  # noqa: E402
from authenticator.store.paths import AppPaths  # noqa: E402
from authenticator.store.vault import KdfParams  # noqa: E402
from tests.load.harness import HEM_PASSPHRASE, PASSPHRASE, World, _pair_all  # noqa: E402

LISTINGS = "POST /notify/event/data/allbypid"


@dataclass
class Row:
    section: str
    name: str
    value: str
    target: str = ""
    verdict: str = ""


ROWS: list[Row] = []
RESULTS: dict[str, Any] = {}


def row(section: str, name: str, value: str, target: str = "", met: bool | None = None) -> None:
    verdict = "" if met is None else ("met" if met else "MISSED")
    ROWS.append(Row(section, name, value, target, verdict))
    print(f"  {name:<52} {value:>22}  {target:<18} {verdict}", flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def per_op(fn: Callable[[], object], n: int, repeat: int = 5) -> float:
    """Seconds per call: the best of ``repeat`` runs of ``n`` calls."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - started) / n)
    return best


# ---------------------------------------------------------------------------- 1. protocol


def protocol(quick: bool) -> None:
    print("\n1. Protocol, per operation", flush=True)
    n = 300 if quick else 2000
    hem, app, epk = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    pid = b64encode(bytes(range(32)))
    jti = bytes(range(32, 64))
    keys = keys_of_pair(app, hem, pid)
    sealed = seal_scope(event_master(hem.exchange(app.public), jti), "keymgmt:list")
    obj = {
        "jti": b64encode(jti),
        "scope": sealed,
        "epk": epk.public.b64,
        "exp": 2**40,
        "ipinfo_eid": {"city": "Warsaw"},
    }
    now = int(time.time())

    def open_one() -> str:
        return open_event(BrokerEvent.from_json("5X8YX", obj), keys, now=now)

    def answer_one() -> str:
        reply = build_authreply(
            keys, jti=obj["jti"], granted="keymgmt:list", period=Period.MIN15, now=now
        )
        return authreply_mac(keys.aid, epk.public, reply)

    key16, iv16, block = bytes(16), bytes(range(16)), b"keymgmt:list"
    x25519 = per_op(lambda: app.exchange(hem.public), n)
    aes = per_op(lambda: aes128_cbc_decrypt(key16, iv16, aes128_cbc_encrypt(key16, iv16, block)), n)
    mac = per_op(lambda: hmac_sha256(key16, block), n)
    floor = x25519 + aes + mac
    t_open = per_op(open_one, n)
    t_answer = per_op(answer_one, n)
    row("protocol", "X25519 (one shared secret)", f"{x25519 * 1e6:.1f} µs")
    row("protocol", "AES-128-CBC encrypt + decrypt, 1 block", f"{aes * 1e6:.1f} µs")
    row("protocol", "HMAC-SHA256", f"{mac * 1e6:.1f} µs")
    row("protocol", "floor: X25519 + AES-CBC + HMAC", f"{floor * 1e6:.1f} µs")
    row(
        "protocol",
        "open a broker event (parse + expiry + tag)",
        f"{t_open * 1e6:.1f} µs",
        f"ratio {t_open / floor:.1f}× floor",
    )
    row(
        "protocol",
        "authreply + broker MAC",
        f"{t_answer * 1e6:.1f} µs",
        f"ratio {t_answer / floor:.1f}× floor",
    )
    RESULTS["protocol"] = {
        "x25519_us": x25519 * 1e6,
        "aes_us": aes * 1e6,
        "hmac_us": mac * 1e6,
        "open_us": t_open * 1e6,
        "answer_us": t_answer * 1e6,
    }


def keys_of_pair(app: KeyPair, hem: KeyPair, pid: str) -> Any:
    from authenticator.protocol.access import PairingKeys

    return PairingKeys(aid=app, eid=hem.public, pid=pid)


# ---------------------------------------------------------------------------- 2 + 3. app paths


class Timing:
    """A listener that timestamps what the front end would be told, and clicks Approve."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.added: dict[str, float] = {}
        self.clicked: dict[str, float] = {}
        self.lock = threading.Lock()

    def request_added(self, request: AccessRequest) -> None:
        at = time.monotonic()
        with self.lock:
            self.added[request.id] = at
        threading.Thread(target=self._click, args=(request.id,), daemon=True).start()

    def _click(self, request_id: str) -> None:
        with self.lock:
            self.clicked[request_id] = time.monotonic()
        self.core.approve(request_id)

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None: ...
    def connection_changed(self, state: object) -> None: ...
    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


def app_paths(quick: bool) -> None:
    hems = 10 if quick else 50
    events = 60 if quick else 240
    spread = 20.0 if quick else 72.0
    world = World(hems)
    tmp = Path(tempfile.mkdtemp(prefix="eda-bench-"))
    short = Path(tempfile.mkdtemp(prefix="eda-bn-", dir="/tmp"))
    try:
        core = Core(
            AppPaths.for_home(tmp / "home"),
            keychain=SystemKeychain(timeout=0.5),
            net=NetFactory(),
            kdf=KdfParams.minimum(),
        )
        core.create_store(passphrase=PASSPHRASE)
        requesters = [
            Requester(u, world.urls.broker, passphrase=HEM_PASSPHRASE) for u in world.urls.hems
        ]
        names = _pair_all(core, requesters)
        for r in requesters:
            r.close()
        timing = Timing(core)
        core.add_listener(timing)
        assert core.settings.poll_interval_s == 2  # the default, unchanged

        print(
            f"\n2. Broker path ({hems} pairings, poll every {core.settings.poll_interval_s} s)",
            flush=True,
        )
        core.start(agent=False)
        time.sleep(3)  # let the poller reach its steady rhythm before measuring
        calls_before = world.ask("calls")
        started = time.monotonic()
        made, errors = world.ask("produce", events, spread, time.monotonic() + 0.5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(e in timing.added for e in made):
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        calls_after = world.ask("calls")
        latencies = [timing.added[e] - at for e, at in made.items() if e in timing.added]
        listings = calls_after.get(LISTINGS, 0) - calls_before.get(LISTINGS, 0)
        total_calls = sum(calls_after.values()) - sum(calls_before.values())
        per_min = max(listings - 1, 0) / elapsed * 60  # intervals between calls, per minute
        p50, p95 = pct(latencies, 0.5), pct(latencies, 0.95)
        row("broker", f"created → in the inbox, p50 ({len(latencies)} requests)", f"{p50:.2f} s")
        row("broker", "created → in the inbox, p95", f"{p95:.2f} s", "≤ 2 s p95", p95 <= 2.0)
        row(
            "broker",
            "polling calls (allbypid) per minute",
            f"{per_min:.1f}",
            "≤ 30 (1 per 2 s)",
            per_min <= 30.5,
        )
        row(
            "broker",
            "all broker calls per minute (incl. Manager, answers)",
            f"{total_calls / elapsed * 60:.0f}",
        )
        if errors:
            row("broker", "errors", str(len(errors)))
        RESULTS["broker"] = {
            "p50_s": p50,
            "p95_s": p95,
            "n": len(latencies),
            "listings_per_min": per_min,
            "hems": hems,
        }
        core.stop()

        print("\n3. Direct path (agent)", flush=True)
        agent = AgentServer(
            core, short / "a.sock", limiter=RateLimiter(concurrent=10, per_minute=100_000)
        )
        agent.start()
        client = AgentClient(agent.path)
        shown, clicked = [], []
        rounds = 30 if quick else 200
        name = names[0]
        for _ in range(rounds):
            asked = time.monotonic()
            before = set(timing.added)
            client.token("keymgmt:list", hem=name)
            got = time.monotonic()
            (new,) = set(timing.added) - before
            shown.append(timing.added[new] - asked)
            clicked.append(got - timing.clicked[new])
        agent.stop()
        hem_url = world.urls.hems[0]
        parts = urlsplit(hem_url)

        def bare() -> None:
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
            conn.request("GET", "/api/system/status", headers={"Connection": "close"})
            conn.getresponse().read()
            conn.close()

        def ours() -> None:
            with HemClient(hem_url) as hem:
                hem.status()

        floor = statistics.median([timed(bare) for _ in range(rounds)])
        ours_rt = statistics.median([timed(ours) for _ in range(rounds)])
        s50, s95 = pct(shown, 0.5), pct(shown, 0.95)
        c50, c95 = pct(clicked, 0.5), pct(clicked, 0.95)
        row("direct", "floor: bare loopback HTTP round trip (p50)", f"{floor * 1000:.2f} ms")
        row(
            "direct",
            "HemClient round trip (p50)",
            f"{ours_rt * 1000:.2f} ms",
            f"ratio {ours_rt / floor:.1f}× floor",
        )
        row(
            "direct",
            f"request → approval shown, p50 ({rounds} requests)",
            f"{s50 * 1000:.1f} ms",
            f"ratio {s50 / floor:.1f}× floor",
        )
        row(
            "direct",
            "request → approval shown, p95",
            f"{s95 * 1000:.1f} ms",
            "≤ 150 ms p95",
            s95 <= 0.150,
        )
        row(
            "direct",
            "click → token returned, p50",
            f"{c50 * 1000:.1f} ms",
            f"ratio {c50 / floor:.1f}× floor",
        )
        row(
            "direct",
            "click → token returned, p95",
            f"{c95 * 1000:.1f} ms",
            "≤ 100 ms p95",
            c95 <= 0.100,
        )
        RESULTS["direct"] = {
            "floor_ms": floor * 1000,
            "hemclient_ms": ours_rt * 1000,
            "shown_p50_ms": s50 * 1000,
            "shown_p95_ms": s95 * 1000,
            "click_p50_ms": c50 * 1000,
            "click_p95_ms": c95 * 1000,
        }
        core.close()
    finally:
        world.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(short, ignore_errors=True)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- 4. emulator


def emulator_nodelay() -> None:
    print("\n4. Emulator: keep-alive requests to the broker", flush=True)
    from authenticator.emulator import server
    from authenticator.net.broker import BrokerClient

    def keepalive_ms() -> float:
        with server.serve_in_thread() as running, BrokerClient(running.urls.broker) as broker:
            broker.session()
            return statistics.median(timed(lambda: broker.allbypid([])) for _ in range(20)) * 1000

    fixed = keepalive_ms()
    original = server._bind

    def without_tcp(host: str, port: int) -> socket.socket:  # the emulator before the fix
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        return sock

    server._bind = without_tcp  # type: ignore[assignment]
    try:
        before = keepalive_ms()
    finally:
        server._bind = original  # type: ignore[assignment]
    row("emulator", "keep-alive broker call, TCP_NODELAY (now)", f"{fixed:.2f} ms")
    row(
        "emulator",
        "keep-alive broker call, without (before)",
        f"{before:.2f} ms",
        f"{before / fixed:.0f}× slower",
    )
    RESULTS["emulator"] = {"nodelay_ms": fixed, "without_ms": before}


# ---------------------------------------------------------------------------- 5. GUI


def gui(quick: bool) -> None:
    print("\n5. GUI", flush=True)
    if not (ROOT / "authenticator" / "gui" / "app.py").exists():
        row("gui", "cold start, RSS, idle CPU, stall", "needs the GUI")
        return
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "AUTHENTICATOR_GUI_QUIT_AFTER": "2",
        "AUTHENTICATOR_PASSPHRASE": "cold start",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    starts = []
    for _ in range(3 if quick else 5):
        with tempfile.TemporaryDirectory() as home:
            t0 = time.monotonic()
            script = str(ROOT / "benchmarks" / "gui_bench.py")
            proc = subprocess.run(
                [sys.executable, script, "cold-start", "--home", home],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )
            marks = dict(
                line.split()
                for line in proc.stdout.splitlines()
                if line.startswith(("TRAY", "LOOP"))
            )
            if "TRAY" in marks:
                starts.append((float(marks["TRAY"]) - t0, float(marks.get("LOOP", "nan")) - t0))
    tray = statistics.median(s[0] for s in starts) if starts else float("nan")
    loop = statistics.median(s[1] for s in starts) if starts else float("nan")
    row(
        "gui",
        f"cold start → tray icon shown (median of {len(starts)})",
        f"{tray:.2f} s",
        "≤ 1.5 s",
        tray <= 1.5,
    )
    row("gui", "cold start → event loop running", f"{loop:.2f} s")
    command = [sys.executable, str(ROOT / "benchmarks" / "gui_bench.py"), "load"]
    proc = subprocess.run(
        [*command, *(["--quick"] if quick else [])],
        capture_output=True,
        text=True,
        env={**env, "AUTHENTICATOR_GUI_QUIT_AFTER": ""},
        timeout=1800,
        check=False,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        row("gui", "load run", "failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:60])
        return
    r = json.loads(line[len("RESULT ") :])
    n = int(r["pending_shown"])
    row(
        "gui",
        "RSS after start (50 pairings)",
        f"{r['rss_after_start_mib']:.0f} MiB",
        "≤ 150 MB",
        r["rss_after_start_mib"] * 1.048576 <= 150,
    )
    row(
        "gui",
        f"longest GUI-thread stall while {n} requests arrive",
        f"{r['gui_longest_stall_ms']:.0f} ms",
        "≤ 100 ms",
        r["gui_longest_stall_ms"] <= 100,
    )
    row("gui", f"time for {n} requests over 50 HEMs to be shown", f"{r['pending_arrival_s']:.1f} s")
    row(
        "gui",
        "longest GUI-thread stall while they are answered",
        f"{r['gui_longest_stall_answering_ms']:.0f} ms",
        "≤ 100 ms",
        r["gui_longest_stall_answering_ms"] <= 100,
    )
    row(
        "gui",
        f"RSS with {n} pending",
        f"{r['rss_with_pending_mib']:.0f} MiB",
        "≤ 150 MB",
        r["rss_with_pending_mib"] * 1.048576 <= 150,
    )
    growth = r["rss_after_handled_mib"] - r["rss_after_start_mib"]
    row(
        "gui",
        f"RSS after {n} handled (growth since start)",
        f"{r['rss_after_handled_mib']:.0f} MiB (+{growth:.0f})",
        "≤ 150 MB",
        r["rss_after_handled_mib"] * 1.048576 <= 150,
    )
    second = r["rss_after_second_cycle_mib"]
    row(
        "gui",
        f"RSS after {n} more pending and handled",
        f"{second:.0f} MiB (+{second - r['rss_after_handled_mib']:.0f})",
        "no growth",
        second - r["rss_after_handled_mib"] < 5,
    )
    row(
        "gui",
        f"idle CPU over {r['idle_seconds']:.0f} s, 50 pairings",
        f"{r['idle_cpu_percent']:.2f} %",
        "≈ 0",
        r["idle_cpu_percent"] < 1.0,
    )
    RESULTS["gui"] = {"cold_start_tray_s": tray, "cold_start_loop_s": loop, **r}


# ---------------------------------------------------------------------------- main


def machine() -> dict[str, str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = next(
            int(x.split()[1])
            for x in Path("/proc/meminfo").read_text().splitlines()
            if x.startswith("MemTotal")
        )
        ram = f"{mem_kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        ram = "?"
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "ram": ram,
        "python": platform.python_version(),
        "os": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmark; print one table.")
    parser.add_argument("--quick", action="store_true", help="fewer samples (about a minute)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--only", choices=["protocol", "paths", "emulator", "gui"], action="append")
    args = parser.parse_args(argv)
    info = machine()
    print(f"Machine: {info['cpus']} × {info['cpu']}, {info['ram']} RAM, ", end="")
    print(f"Python {info['python']}, {info['date']}")
    sections = args.only or ["protocol", "paths", "emulator", "gui"]
    if "protocol" in sections:
        protocol(args.quick)
    if "paths" in sections:
        app_paths(args.quick)
    if "emulator" in sections:
        emulator_nodelay()
    if "gui" in sections:
        gui(args.quick)
    print("\n| section | measure | value | target | verdict |\n|---|---|---|---|---|")
    for r in ROWS:
        print(f"| {r.section} | {r.name} | {r.value} | {r.target} | {r.verdict} |")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"machine": info, "results": RESULTS, "rows": [r.__dict__ for r in ROWS]}, indent=1
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

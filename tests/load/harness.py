"""A load run: 50 HEMs, a stream of broker requests, 20 local programs asking at once.

Used by ``tests/load/test_load.py`` (a short run in CI) and ``benchmarks/load.py`` (5 minutes):

* "the world" in a process of its own, as in real life (the HEMs and the broker are other
  machines, the Manager another program): one emulator with ``hems`` HEMs (32 at start, the rest
  added) and its broker, and the Manager making the broker requests;
* the real core, paired with every HEM through the broker (QR), with its real poller at
  ``poll_interval_s`` and its real agent on a Unix socket;
* the owner (a listener) approves every request as soon as it appears, from a small pool of
  threads, like clicks;
* ``events`` broker requests spread evenly over ``seconds``, each by the Manager of a random HEM
  (4 Manager threads in the world's process);
* ``clients`` programs (threads of a third process), each asking the agent for a token again and
  again until the time is up;
* a sampler reads, every half second, the poller's round counter, the process's RSS and thread
  count.

:func:`run` returns a :class:`LoadReport`; the caller decides what is acceptable.
"""

from __future__ import annotations

import multiprocessing
import random
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.core.model import AccessRequest, ConnectionState, Outcome
from authenticator.core.netfactory import NetFactory
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import Emulator, serve_in_thread
from authenticator.emulator.urls import EmulatorUrls
from authenticator.errors import AuthenticatorError
from authenticator.store.keychain import SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.vault import KdfParams

HEM_PASSPHRASE = "load"
PASSPHRASE = "load test passphrase"
APPROVALS = "POST /notify/event/data/{event_id}/{pidx}"
LISTINGS = "POST /notify/event/data/allbypid"


@dataclass
class LoadConfig:
    hems: int = 50
    events: int = 1000
    clients: int = 20
    seconds: float = 20.0
    poll_interval_s: int = 2
    home: Path | None = None


@dataclass
class Sample:
    at: float
    rounds: int
    rss_kib: int
    threads: int


@dataclass
class LoadReport:
    config: LoadConfig
    setup_s: float = 0.0
    run_s: float = 0.0
    events_made: int = 0
    events_approved_at_broker: int = 0
    approvals_posted: int = 0
    listings: int = 0
    tokens: int = 0
    errors: list[str] = field(default_factory=list)
    broker_latency_s: list[float] = field(default_factory=list)
    agent_latency_s: list[float] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    threads_before: int = 0
    threads_after: int = 0
    offline_states: int = 0
    inbox_left: int = -1

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def longest_round_gap_s(self) -> float:
        """The longest time the poller's round counter did not move (sampled every 0.5 s)."""
        longest, since = 0.0, None
        last_rounds = None
        for s in self.samples:
            if last_rounds is None or s.rounds != last_rounds:
                if since is not None:
                    longest = max(longest, s.at - since)
                since, last_rounds = s.at, s.rounds
        if since is not None and self.samples:
            longest = max(longest, self.samples[-1].at - since)
        return longest

    def rounds_made(self) -> int:
        """How many poller rounds the sampler saw during the run."""
        if not self.samples:
            return 0
        return self.samples[-1].rounds - self.samples[0].rounds

    def rss_growth_kib(self) -> int:
        """RSS at the end minus RSS once a third of the run was done (warm caches, full pools)."""
        if len(self.samples) < 3:
            return 0
        third = self.samples[len(self.samples) // 3]
        return self.samples[-1].rss_kib - third.rss_kib

    def summary(self) -> str:
        b, a = self.broker_latency_s, self.agent_latency_s
        return (
            f"{self.config.hems} HEMs, {self.events_made} broker requests, {self.tokens} agent tokens "
            f"({self.config.clients} programs) in {self.run_s:.0f} s (setup {self.setup_s:.0f} s); "
            f"shown after p50 {self.pct(b, 0.5):.2f} s / p95 {self.pct(b, 0.95):.2f} s; agent "
            f"p50 {self.pct(a, 0.5) * 1000:.0f} ms / p95 {self.pct(a, 0.95) * 1000:.0f} ms / "
            f"max {max(a, default=0) * 1000:.0f} ms; {self.listings} listings "
            f"({self.listings / max(self.run_s, 1) * 60:.0f}/min); RSS +{self.rss_growth_kib() / 1024:.1f} MiB "
            f"after warm-up; longest poller gap {self.longest_round_gap_s():.1f} s; threads "
            f"{self.threads_before} → {self.threads_after}; errors {len(self.errors)}"
        )


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Owner:
    """Approves every request as soon as it is shown, on a small pool (like clicks)."""

    def __init__(self, core: Core, report: LoadReport) -> None:
        self.core = core
        self.report = report
        self.shown: dict[str, float] = {}  # broker request id → when it was shown
        self.pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="owner")
        self.lock = threading.Lock()

    def request_added(self, request: AccessRequest) -> None:
        if request.source == "broker":
            with self.lock:
                self.shown.setdefault(request.id, time.monotonic())
        self.pool.submit(self._approve, request.id)

    def _approve(self, request_id: str) -> None:
        try:
            self.core.approve(request_id)
        except AuthenticatorError as exc:
            self.report.errors.append(f"approve {request_id}: {exc.code}: {exc}")

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None: ...

    def connection_changed(self, state: ConnectionState) -> None:
        if not state.online:
            self.report.offline_states += 1

    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


def _world(conn: Connection, hems: int) -> None:
    """The world's process: emulator + broker + Manager; answers commands on ``conn``."""
    emulator = Emulator(hem_count=min(32, hems), passphrase=HEM_PASSPHRASE, demo=False)
    with serve_in_thread(emulator) as running:
        for _ in range(hems - len(emulator.hems)):
            emulator.add_hem()
        for hem in emulator.hems:
            hem.set_pacing(0, 0)
        broker = emulator.broker
        assert broker is not None
        conn.send(running.urls)
        while True:
            command, args = conn.recv()
            if command == "calls":
                conn.send(broker.calls)
            elif command == "summary":
                conn.send(broker.summary())
            elif command == "produce":
                conn.send(_produce(running.urls.hems, running.urls.broker, *args))
            else:
                conn.send(None)
                return


def _produce(
    hem_urls: tuple[str, ...], broker_url: str, events: int, seconds: float, start_at: float
) -> tuple[dict[str, float], list[str]]:
    """``events`` broker requests spread evenly from ``start_at`` (monotonic) over ``seconds``,
    by 4 Manager threads; returns when each event was created, and the errors."""
    created: dict[str, float] = {}
    errors: list[str] = []
    producers = 4

    def producer(index: int) -> None:
        rng = random.Random(index)
        own = [Requester(u, broker_url) for u in hem_urls[index::producers]]
        count = events // producers + (1 if index < events % producers else 0)
        spacing = seconds / max(count, 1)
        first = start_at + rng.uniform(0, spacing)
        try:
            for n in range(count):
                wait = first + n * spacing - time.monotonic()
                if wait > 0:
                    time.sleep(wait)  # pacing the stream, not waiting for a condition
                try:
                    session = rng.choice(own).request_access("keymgmt:list")
                except AuthenticatorError as exc:
                    errors.append(f"request_access: {exc.code}: {exc}")
                    continue
                created[session.event_id] = time.monotonic()
        finally:
            for requester in own:
                requester.close()

    threads = [threading.Thread(target=producer, args=(i,), daemon=True) for i in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return created, errors


def _programs(
    conn: Connection, path: Path, names: list[str], clients: int, deadline: float
) -> None:
    """The programs' process: ``clients`` threads, each asking the agent for a token again and
    again until ``deadline`` (monotonic); sends back every latency and the errors."""
    latencies: list[float] = []
    errors: list[str] = []

    def program(index: int) -> None:
        rng = random.Random(1000 + index)
        client = AgentClient(path, connect_timeout=10.0)
        while time.monotonic() < deadline:
            asked = time.monotonic()
            try:
                client.token("keymgmt:list", hem=rng.choice(names), timeout=60)
            except AuthenticatorError as exc:
                errors.append(f"agent: {exc.code}: {exc}")
                continue
            latencies.append(time.monotonic() - asked)

    threads = [threading.Thread(target=program, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.send((latencies, errors))


class Programs:
    """The local programs asking the agent, in a process of their own as in real life (so their
    work does not compete with the app's threads for one interpreter)."""

    def __init__(self, path: Path, names: list[str], clients: int, deadline: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_programs,
            args=(child, path, names, clients, deadline),
            name="load-programs",
            daemon=True,
        )
        self._process.start()
        child.close()

    def result(self, timeout: float) -> tuple[list[float], list[str]]:
        try:
            if not self._conn.poll(timeout):
                return [], ["the programs did not finish in time"]
            latencies, errors = self._conn.recv()
            return latencies, errors
        finally:
            self._process.join(15)
            if self._process.is_alive():
                self._process.kill()


class World:
    """The world's process, started with ``spawn`` (a clean interpreter, its own GIL)."""

    def __init__(self, hems: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_world, args=(child, hems), name="load-world", daemon=True
        )
        self._process.start()
        child.close()
        if not self._conn.poll(120):
            raise RuntimeError("the emulator process did not start")
        self.urls: EmulatorUrls = self._conn.recv()

    def ask(self, command: str, *args: object) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def close(self) -> None:
        try:
            self.ask("stop")
        finally:
            self._process.join(15)
            if self._process.is_alive():
                self._process.kill()


def _pair_all(core: Core, requesters: list[Requester]) -> list[str]:
    """Pair the core with every HEM through the broker; the HEM logins run in parallel."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        sessions = list(pool.map(lambda r: r.start_pairing(), requesters))
    for session in sessions:
        core.accept_pairing(core.preview_qr(session.qr_text))
    with ThreadPoolExecutor(max_workers=4) as pool:
        states = list(pool.map(lambda s: s.poll(), sessions))
    assert states == ["paired"] * len(sessions), states
    return [h.name for h in core.hems()]


def run(config: LoadConfig) -> LoadReport:
    report = LoadReport(config=config)
    report.threads_before = threading.active_count()
    started = time.monotonic()
    world = World(config.hems)
    short = Path(tempfile.mkdtemp(prefix="eda-ld-", dir="/tmp"))
    tmp = Path(tempfile.mkdtemp(prefix="eda-load-"))
    try:
        urls = world.urls
        core = Core(
            AppPaths.for_home(config.home or tmp / "home"),
            keychain=SystemKeychain(timeout=0.5),
            net=NetFactory(hem_timeout=10.0, broker_timeout=10.0),
            kdf=KdfParams.minimum(),
        )
        core.create_store(passphrase=PASSPHRASE)
        requesters = [Requester(u, urls.broker, passphrase=HEM_PASSPHRASE) for u in urls.hems]
        try:
            names = _pair_all(core, requesters)
        finally:
            for requester in requesters:
                requester.close()
        core.update_settings(poll_interval_s=config.poll_interval_s)
        owner = Owner(core, report)
        core.add_listener(owner)
        agent = AgentServer(
            core,
            short / "agent.sock",
            limiter=RateLimiter(concurrent=1000, per_minute=1_000_000),
            read_deadline=5.0,
        )
        agent.start()
        core.start(agent=False)
        report.setup_s = time.monotonic() - started
        stop = threading.Event()
        run_started = time.monotonic()
        deadline = run_started + config.seconds
        listings_before = world.ask("calls").get(LISTINGS, 0)

        def sampler() -> None:
            poller = core.poller  # its round counter, read only
            while not stop.is_set():
                rounds = getattr(poller, "rounds", 0)
                report.samples.append(
                    Sample(time.monotonic(), rounds, rss_kib(), threading.active_count())
                )
                stop.wait(0.5)

        threads = [threading.Thread(target=sampler, name="load-sampler", daemon=True)]
        for t in threads:
            t.start()
        programs = Programs(agent.path, names, config.clients, deadline)
        # the Manager's stream runs in the world's process; this returns once it is done
        made, errors = world.ask("produce", config.events, config.seconds, run_started)
        report.errors += errors
        latencies, program_errors = programs.result(config.seconds + 120)
        report.agent_latency_s += latencies
        report.tokens = len(latencies)
        report.errors += program_errors
        # every request made must be shown and approved: wait (with a deadline) for the tail
        end_by = time.monotonic() + 6 * config.poll_interval_s + 30
        while time.monotonic() < end_by:
            if world.ask("summary")["events"]["approved"] >= len(made) and len(core.inbox) == 0:
                break
            stop.wait(0.2)
        report.run_s = time.monotonic() - run_started
        stop.set()
        threads[0].join(5)
        calls = world.ask("calls")
        report.events_made = len(made)
        report.events_approved_at_broker = world.ask("summary")["events"]["approved"]
        report.approvals_posted = calls.get(APPROVALS, 0)
        report.listings = calls.get(LISTINGS, 0) - listings_before
        report.inbox_left = len(core.inbox)
        with owner.lock:
            # from the Manager's request to the owner's screen, for each request that was shown
            report.broker_latency_s = [
                owner.shown[event_id] - at
                for event_id, at in made.items()
                if event_id in owner.shown
            ]
        core.stop()
        agent.stop()
        owner.pool.shutdown(wait=True)
        core.close()
    finally:
        world.close()
        shutil.rmtree(short, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    # every thread the run started must be gone
    gone_by = time.monotonic() + 10
    while threading.active_count() > report.threads_before and time.monotonic() < gone_by:
        time.sleep(0.05)
    report.threads_after = threading.active_count()
    return report

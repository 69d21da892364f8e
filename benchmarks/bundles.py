"""Several scopes, one click: ``python benchmarks/bundles.py [--quick] [--json FILE]``.

Measures, through the real agent socket and the real core against the emulated HEM (in a process
of its own, as a HEM is another machine):

* **click → every token returned** for a request of 1, 3 and 5 scopes (p50/p95), and the ratio
  to one scope (design.md: ≤ 1.5× for 5 scopes); the click is ``core.approve`` called by a
  listener the moment the prompt appears, the end is the client holding every token;
* the same for 5 scopes with the ``authreply``s redeemed one after the other (what the
  concurrent redeem in ``core/bundles.py`` replaced), for comparison;
* both again with 20 ms added to every ``/api/auth/ext/token`` answer (the emulator's latency
  knob; a HEM across a network, or a slow device, rather than one on this computer);
* **request → prompt shown** for 1 and 5 scopes (the app asks the HEM for one ``authreq`` per
  scope: the first alone, the rest at once);
* **prompts needed** for a 5-scope task: one request per scope (before) and one bundle (after).

Nothing here is a test: tests never assert timings.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from authenticator.core import bundles  # noqa: E402
from authenticator.core.agent.ratelimit import RateLimiter  # noqa: E402
from authenticator.core.agent.server import AgentServer  # noqa: E402
from authenticator.core.agent_client import AgentClient  # noqa: E402
from authenticator.core.app import Core  # noqa: E402
from authenticator.core.model import AccessRequest, Outcome  # noqa: E402
from authenticator.core.netfactory import NetFactory  # noqa: E402
from authenticator.store.keychain import SystemKeychain  # noqa: E402
from authenticator.store.paths import AppPaths  # noqa: E402
from authenticator.store.vault import KdfParams  # noqa: E402
from tests.load.harness import HEM_PASSPHRASE, PASSPHRASE, World  # noqa: E402

SCOPES = ["keymgmt:list", "system:config", "logger:get", "keymgmt:search", "keymgmt:get"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Clicker:
    """The owner: approves each request the moment it is shown, noting when."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.shown: dict[str, float] = {}
        self.clicked: dict[str, float] = {}
        self.prompts = 0

    def request_added(self, request: AccessRequest) -> None:
        self.shown[request.id] = time.monotonic()
        self.prompts += 1
        threading.Thread(target=self._click, args=(request.id,)).start()

    def _click(self, request_id: str) -> None:
        self.clicked[request_id] = time.monotonic()
        self.core.approve(request_id)

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None: ...
    def connection_changed(self, state: object) -> None: ...
    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


@contextmanager
def one_at_a_time() -> Iterator[None]:
    """Redeem a bundle's parts one after the other (the way before the concurrent redeem)."""
    real = bundles.ThreadPoolExecutor

    def single(_workers: int, **kw: Any) -> concurrent.futures.ThreadPoolExecutor:
        return real(1, **kw)

    bundles.ThreadPoolExecutor = single  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        bundles.ThreadPoolExecutor = real  # type: ignore[misc]


def measure(
    client: AgentClient, clicker: Clicker, scopes: list[str], rounds: int
) -> dict[str, Any]:
    click, shown = [], []
    for _ in range(rounds):
        before = set(clicker.shown)
        asked = time.monotonic()
        answer = client.tokens(scopes)
        done = time.monotonic()
        assert answer.ok, answer.results
        (rid,) = set(clicker.shown) - before
        shown.append(clicker.shown[rid] - asked)
        click.append(done - clicker.clicked[rid])
    return {
        "scopes": len(scopes),
        "rounds": rounds,
        "click_p50_ms": pct(click, 0.5) * 1000,
        "click_p95_ms": pct(click, 0.95) * 1000,
        "shown_p50_ms": pct(shown, 0.5) * 1000,
        "shown_p95_ms": pct(shown, 0.95) * 1000,
    }


def run(quick: bool) -> dict[str, Any]:
    rounds = 15 if quick else 60
    world = World(1)
    tmp = Path(tempfile.mkdtemp(prefix="eda-bundles-"))
    short = Path(tempfile.mkdtemp(prefix="eda-bu-", dir="/tmp"))
    results: dict[str, Any] = {}
    try:
        core = Core(
            AppPaths.for_home(tmp / "home"),
            keychain=SystemKeychain(timeout=0.5),
            net=NetFactory(),
            kdf=KdfParams.minimum(),
        )
        core.create_store(passphrase=PASSPHRASE)
        core.update_settings(default_broker_url=world.urls.broker.rstrip("/"))
        core.pair_direct(core.preview_direct(world.urls.hems[0]), HEM_PASSPHRASE)
        clicker = Clicker(core)
        core.add_listener(clicker)
        agent = AgentServer(
            core, short / "a.sock", limiter=RateLimiter(concurrent=10, per_minute=100_000)
        )
        agent.start()
        client = AgentClient(agent.path)
        client.tokens(SCOPES)  # warm up (the first request may check the HEM in)
        for n in (1, 3, 5):
            results[f"s{n}"] = measure(client, clicker, SCOPES[:n], rounds)
        with one_at_a_time():
            results["s5_sequential"] = measure(client, clicker, SCOPES[:5], rounds)
        slow = max(5, rounds // 3)
        with latency(world.urls.admin, "/api/auth/ext/token", 0.020):
            results["net_s1"] = measure(client, clicker, SCOPES[:1], slow)
            results["net_s5"] = measure(client, clicker, SCOPES[:5], slow)
            with one_at_a_time():
                results["net_s5_sequential"] = measure(client, clicker, SCOPES[:5], slow)
        before = clicker.prompts
        for scope in SCOPES:
            client.token(scope)
        results["prompts_before"] = clicker.prompts - before
        before = clicker.prompts
        client.tokens(SCOPES)
        results["prompts_after"] = clicker.prompts - before
        agent.stop()
        core.close()
    finally:
        world.close()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(short, ignore_errors=True)
    for key, base in (
        ("s3", "s1"),
        ("s5", "s1"),
        ("s5_sequential", "s1"),
        ("net_s5", "net_s1"),
        ("net_s5_sequential", "net_s1"),
    ):
        results[key]["ratio_p50"] = results[key]["click_p50_ms"] / results[base]["click_p50_ms"]
        results[key]["ratio_p95"] = results[key]["click_p95_ms"] / results[base]["click_p95_ms"]
    return results


@contextmanager
def latency(admin: str, prefix: str, seconds: float) -> Iterator[None]:
    """The emulator's fault knob: every answer under ``prefix`` waits ``seconds`` first."""

    def post(path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the emulator's admin API on loopback
            f"{admin}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            answer.read()

    post("/faults", {"prefix": prefix, "latency_s": seconds})
    try:
        yield
    finally:
        post("/faults/clear", {"prefix": prefix})


def report(results: dict[str, Any]) -> None:
    print("| measure | p50 | p95 | ratio to 1 scope (p50 / p95) |\n|---|---|---|---|")
    for key, name in (
        ("s1", "click → all tokens, 1 scope"),
        ("s3", "click → all tokens, 3 scopes"),
        ("s5", "click → all tokens, 5 scopes"),
        ("s5_sequential", "the same, 5 scopes redeemed one after the other"),
        ("net_s1", "HEM answers +20 ms: click → all tokens, 1 scope"),
        ("net_s5", "HEM answers +20 ms: 5 scopes"),
        ("net_s5_sequential", "HEM answers +20 ms: 5 scopes one after the other"),
    ):
        r = results[key]
        ratio = f"{r['ratio_p50']:.2f}× / {r['ratio_p95']:.2f}×" if "ratio_p50" in r else "1×"
        print(f"| {name} | {r['click_p50_ms']:.1f} ms | {r['click_p95_ms']:.1f} ms | {ratio} |")
    for key in ("s1", "s5"):
        r = results[key]
        print(
            f"| request → prompt shown, {r['scopes']} scope(s) | {r['shown_p50_ms']:.1f} ms "
            f"| {r['shown_p95_ms']:.1f} ms | |"
        )
    print(
        f"| prompts for a 5-scope task | before: {results['prompts_before']} "
        f"| after: {results['prompts_after']} | |"
    )
    verdict = "met" if results["s5"]["ratio_p50"] <= 1.5 else "MISSED"
    print(f"\n5 scopes vs 1: {results['s5']['ratio_p50']:.2f}× (target ≤ 1.5×): {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    results = run(args.quick)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

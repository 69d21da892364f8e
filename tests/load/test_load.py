"""Load: 50 HEMs, a stream of broker requests, 20 programs asking the agent at once.

CI runs a short variant (about half a minute, setup included); ``benchmarks/load.py`` runs the
full one (1 000 requests over 5 minutes). Environment: ``LOAD_SECONDS`` (default 15),
``LOAD_EVENTS`` (150), ``LOAD_CLIENTS`` (20), ``LOAD_HEMS`` (50).

No error (every request the Manager made is shown and approved exactly once, every program gets
its tokens), no leak (RSS after warm-up stays within bounds, every thread ends), no stall (the
poller keeps making rounds, requests are shown and programs answered within bounds).
"""

from __future__ import annotations

import os

import pytest

from tests.load.harness import LoadConfig, LoadReport, run

SECONDS = float(os.environ.get("LOAD_SECONDS", "15"))
EVENTS = int(os.environ.get("LOAD_EVENTS", "150"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "20"))
HEMS = int(os.environ.get("LOAD_HEMS", "50"))

# Bounds: generous for a loaded 2-core CI machine, far below what a stall or a leak produces.
MAX_POLLER_GAP_S = 12.0  # the poll interval is 2 s
MAX_SHOWN_P95_S = 12.0
MAX_AGENT_S = 15.0
MAX_RSS_GROWTH_MIB = 64


def check(report: LoadReport) -> None:
    print(report.summary())
    assert report.errors == []
    assert report.events_made == report.config.events
    assert report.events_approved_at_broker == report.events_made  # every one, and
    assert report.approvals_posted == report.events_made  # each exactly once
    assert report.inbox_left == 0
    assert report.tokens >= report.config.clients  # every program got at least one token
    assert report.offline_states == 0
    assert report.longest_round_gap_s() <= MAX_POLLER_GAP_S
    assert report.pct(report.broker_latency_s, 0.95) <= MAX_SHOWN_P95_S
    assert max(report.agent_latency_s) <= MAX_AGENT_S
    assert report.rss_growth_kib() <= MAX_RSS_GROWTH_MIB * 1024
    assert report.threads_after <= report.threads_before


@pytest.mark.timeout(SECONDS * 4 + 240)
def test_load() -> None:
    config = LoadConfig(hems=HEMS, events=EVENTS, clients=CLIENTS, seconds=SECONDS)
    check(run(config))

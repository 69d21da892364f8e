"""Fault knobs, as a client sees them: slow answers, wrong statuses, garbage, truncated and
dropped answers, and a listener that is down."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from authenticator.emulator.faults import FaultRule, Faults
from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread
from authenticator.errors import DecodeError, TransportError, Unavailable
from authenticator.net.hem import HemClient
from tests.emulator.conftest import Kit

STATUS = "/api/system/status"


def test_latency(emu: Kit) -> None:
    emu.emulator.faults.add(STATUS, latency_s=2.0, times=1)
    with emu.client(timeout=0.3) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get(STATUS)
        assert c.get(STATUS).status_code == 200  # only the next call was slow


def test_latency_then_the_real_answer(emu: Kit) -> None:
    emu.emulator.faults.add(STATUS, latency_s=0.2)
    started = time.monotonic()
    assert emu.get(STATUS).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_status_for_the_next_n_calls(emu: Kit) -> None:
    emu.emulator.faults.add(STATUS, status=503, times=2)
    assert [emu.get(STATUS).status_code for _ in range(3)] == [503, 503, 200]


def test_status_with_a_body(emu: Kit) -> None:
    emu.emulator.faults.add("/api/auth/ext/token", status=418, body='{"err":"teapot"}', times=1)
    r = emu.post("/api/auth/ext/token", {"authreply": "x"})
    assert (r.status_code, r.json()) == (418, {"err": "teapot"})
    assert r.headers["connection"] == "close"


def test_garbage(emu: Kit) -> None:
    emu.emulator.faults.add(STATUS, garbage=True, times=1)
    r = emu.get(STATUS)
    assert r.status_code == 200
    with pytest.raises(ValueError, match=r"."):
        r.json()


def test_truncated_answer(emu: Kit) -> None:
    emu.emulator.faults.add(STATUS, truncate=True, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        emu.get(STATUS)
    assert emu.get(STATUS).status_code == 200


def test_dropped_connection(emu: Kit) -> None:
    emu.emulator.faults.add("/api/auth/ext/request", drop=True, times=1, method="POST")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        emu.request("keymgmt:list")
    assert emu.request("keymgmt:list")[0].status_code == 200


def test_a_lost_answer_still_took_effect(emu: Kit) -> None:
    """lose_answer: the endpoint runs (here the broker opens a session) but the client only sees
    the connection close — the request landed, the answer did not."""
    broker = emu.emulator.broker
    assert broker is not None
    before = broker.summary()["sessions"]
    emu.emulator.faults.add("/notify/session", lose_answer=True, times=1, method="GET")
    with httpx.Client(base_url=emu.origin) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/notify/session")
        assert broker.summary()["sessions"] == before + 1  # it took effect
        assert c.get("/notify/session").status_code == 200  # and only once
    assert FaultRule.from_json({"prefix": "/x", "lose_answer": True}).action == "lose_answer"
    with pytest.raises(DecodeError, match="one thing"):
        FaultRule(prefix="/x", drop=True, lose_answer=True)


def test_the_net_layer_maps_faults_to_our_errors(emu: Kit) -> None:
    faults = emu.emulator.faults
    with HemClient(emu.url, timeout=5) as hem:
        faults.add(STATUS, drop=True, times=1)
        with pytest.raises(TransportError):
            hem.status()
        faults.add(STATUS, status=500, times=1)
        with pytest.raises(Unavailable):
            hem.status()
        assert "fls_state" in hem.status()


def test_rules_match_prefix_and_method(emu: Kit) -> None:
    faults = emu.emulator.faults
    faults.add("/hem/1/api", status=500)
    faults.add("/api/auth/token", status=502, method="post")
    assert emu.get(STATUS).status_code == 200
    assert emu.get("/api/auth/token").status_code == 200
    assert emu.post("/api/auth/token", {}).status_code == 502
    with httpx.Client(base_url=emu.origin) as c:
        assert c.get("/hem/1/api/system/status").status_code == 500
        assert c.get("/hem/1/api/system/version").status_code == 500
    assert [f["prefix"] for f in faults.active()] == ["/hem/1/api", "/api/auth/token"]
    assert faults.clear("/hem/1/api") == 1
    assert faults.clear() == 1


def test_broker_paths_can_be_faulted_too(emu: Kit) -> None:
    emu.emulator.faults.add("/notify/", status=503, times=1)
    with httpx.Client(base_url=emu.origin) as c:
        assert c.get("/notify/session").status_code == 503
        assert c.get("/notify/session").status_code == 200


def test_the_admin_api_sets_and_clears_faults(emu: Kit) -> None:
    with httpx.Client(base_url=emu.running.urls.admin) as admin:
        r = admin.post("/faults", json={"prefix": STATUS, "status": 500, "times": 5})
        assert r.status_code == 200
        assert r.json()["fault"]["action"] == "status"
        assert emu.get(STATUS).status_code == 500
        assert admin.get("/").json()["faults"][0]["remaining"] == 4
        assert admin.post("/faults", json={"prefix": "/_emulator", "drop": True}).status_code == 400
        assert admin.post("/faults", json={"prefix": STATUS, "drop": "yes"}).status_code == 400
        assert admin.post("/faults", json={"prefix": STATUS, "nonsense": 1}).status_code == 400
        assert admin.post("/faults/clear").json()["cleared"] == 1
    assert emu.get(STATUS).status_code == 200


def test_a_rule_cannot_catch_the_admin_api(emu: Kit) -> None:
    emu.emulator.faults.add("/", drop=True)
    with httpx.Client(base_url=emu.running.urls.admin) as admin:
        assert admin.post("/faults/clear").status_code == 200
    assert emu.get(STATUS).status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefix": "api"},
        {"prefix": "/api"},
        {"prefix": "/api", "status": 500, "drop": True},
        {"prefix": "/api", "status": 99},
        {"prefix": "/api", "latency_s": -1},
        {"prefix": "/api", "drop": True, "times": 0},
        {"prefix": "/api", "garbage": True, "body": "x"},
    ],
)
def test_rules_that_make_no_sense_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(DecodeError):
        FaultRule(**kwargs)  # type: ignore[arg-type]


def test_rules_are_counted_down() -> None:
    faults = Faults()
    faults.add("/a", drop=True, times=2)
    faults.add("/", latency_s=1)
    assert [r.action if r else None for r in (faults.take("GET", "/a/b") for _ in range(3))] == [
        "drop",
        "drop",
        "latency",
    ]
    assert faults.take("GET", "/_emulator/") is None
    assert faults.applied == 3


# ---------------------------------------------------------------------------- down / up


@pytest.fixture
def own() -> Iterator[RunningEmulator]:
    with serve_in_thread(Emulator(broker=False, demo=False)) as running:
        yield running


def test_down_and_up(own: RunningEmulator) -> None:
    url = own.urls.hems[0]
    port = own.port
    own.down()
    assert not own.is_up
    with httpx.Client(base_url=url) as c:
        with pytest.raises(httpx.ConnectError):
            c.get(STATUS)
        own.up()
        assert own.port == port
        assert c.get(STATUS).status_code == 200


def test_down_through_the_admin_api(own: RunningEmulator) -> None:
    with httpx.Client(base_url=own.urls.admin) as admin:
        assert admin.post("/down", json={"seconds": 0}).status_code == 400
        assert admin.post("/down", json={"seconds": 0.3}).json() == {"ok": True, "down_for": 0.3}
    deadline = time.monotonic() + 10
    seen_down = False
    while time.monotonic() < deadline:
        try:
            httpx.get(own.urls.hems[0] + STATUS, timeout=1)
        except httpx.ConnectError:
            seen_down = True
            continue
        if seen_down:
            break
    assert seen_down
    assert httpx.get(own.urls.hems[0] + STATUS).status_code == 200

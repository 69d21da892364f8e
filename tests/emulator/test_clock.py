"""The HEM clock's rate knob (it runs fast from its last check-in, like a real RTC), the movable
host clock that lets a test run an emulated day without waiting, and their admin API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from authenticator.emulator.clock import EmuClock, MovableClock, check_rate
from authenticator.emulator.server import Emulator, RunningEmulator, main, serve_in_thread
from authenticator.errors import DecodeError
from authenticator.net.broker import BrokerClient
from authenticator.protocol.access import AuthReq
from authenticator.protocol.keys import KeyPair
from tests.emulator.conftest import Kit

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400
START = 1_800_000_000.0


# ---------------------------------------------------------------------------- EmuClock alone


def test_a_fast_clock_drifts_from_its_last_check_in() -> None:
    host = MovableClock(START)
    clock = EmuClock(host, rate=1.08)
    assert (clock.now(), clock.skew, clock.rate) == (int(START), 0.0, 1.08)
    host.advance(1000)
    assert clock.now() == int(START) + 1080
    assert clock.skew == pytest.approx(80)
    clock.set_time(host())  # a check-in sets it right...
    assert clock.skew == 0
    assert clock.anchored_at == START + 1000
    host.advance(DAY)  # ...and it runs fast again from there
    assert clock.skew == pytest.approx(0.08 * DAY)
    assert clock.now() == int(START + 1000 + 1.08 * DAY)


def test_a_slow_clock_falls_behind() -> None:
    host = MovableClock(START)
    clock = EmuClock(host, rate=0.92)
    host.advance(DAY)
    assert clock.skew == pytest.approx(-0.08 * DAY)
    assert clock.now() == int(START + 0.92 * DAY)


def test_changing_the_rate_or_the_skew_never_jumps_backwards_in_between() -> None:
    host = MovableClock(START)
    clock = EmuClock(host)
    clock.set_skew(30)
    host.advance(100)
    assert clock.skew == 30  # rate 1: the skew stays put, exactly
    clock.set_rate(2.0)
    assert clock.now() == int(START) + 130  # no jump when the rate changes
    host.advance(10)
    assert clock.now() == int(START) + 150
    clock.set_skew(-5)  # a skew starts a new anchor; the rate stays
    host.advance(10)
    assert clock.skew == pytest.approx(5)
    assert clock.rate == 2.0


def test_uptime_follows_the_movable_host_clock() -> None:
    host = MovableClock(START)
    clock = EmuClock(host, rate=1.08)
    host.advance(3600)
    assert clock.uptime() == 3600  # rate and skew never move uptime
    clock.restart()
    assert clock.uptime() == 0


@pytest.mark.parametrize("rate", [0, 0.05, 11, -1, float("nan"), float("inf"), True, "1.08", None])
def test_rates_outside_the_range_are_refused(rate: object) -> None:
    with pytest.raises(DecodeError):
        check_rate(rate)
    with pytest.raises(DecodeError):
        EmuClock(rate=rate)  # type: ignore[arg-type]


def test_movable_clock() -> None:
    host = MovableClock(START)
    assert (host(), host.now()) == (START, int(START))
    assert host.advance(1.5) == START + 1.5
    host.set(10)
    assert host.now() == 10


# ---------------------------------------------------------------------------- a whole emulator


@pytest.fixture
def day() -> Iterator[tuple[RunningEmulator, MovableClock]]:
    """An emulator whose HEM runs 8 % fast, on a host clock only the test moves."""
    host = MovableClock(START)
    emulator = Emulator(hem_count=1, clock_rate=1.08, clock=host, demo=False)
    with serve_in_thread(emulator) as running:
        yield running, host


def hem_time(url: str) -> int:
    body = httpx.get(f"{url}/api/system/status").json()
    assert isinstance(body["time"], int)
    return body["time"]


def check_in(running: RunningEmulator) -> dict[str, object]:
    url = running.urls.hems[0]
    check = httpx.get(f"{url}/api/system/checkin").json()["check"]
    checked = BrokerClient.post_checkin(running.urls.backend, check)
    return dict(httpx.post(f"{url}/api/system/checkin", json={"checked": checked}).json())


def test_an_emulated_day_drifts_and_a_check_in_heals_it(
    day: tuple[RunningEmulator, MovableClock],
) -> None:
    running, host = day
    url = running.urls.hems[0]
    assert hem_time(url) == int(START)
    host.advance(DAY)
    assert hem_time(url) - host() == pytest.approx(0.08 * DAY, abs=1)  # about 1 h 55 min ahead
    epk = KeyPair.generate()
    r = httpx.post(f"{url}/api/auth/ext/request", json={"epk": epk.public.b64, "scope": "x:y"})
    assert AuthReq.parse(r.json()["authreq"]).iat == hem_time(url)  # requests carry its time
    assert check_in(running) == {"status": "OK"}
    assert abs(hem_time(url) - host()) <= 1  # the backend's (host) time, not the real one
    host.advance(3600)
    assert hem_time(url) - host() == pytest.approx(288, abs=1)  # drifting again from there


def test_the_broker_and_backend_run_on_the_same_movable_clock(
    day: tuple[RunningEmulator, MovableClock],
) -> None:
    running, host = day
    url, broker = running.urls.hems[0], BrokerClient(running.urls.broker)
    with broker:
        host.advance(3600)  # the HEM is now 288 s ahead of the broker
        epk = broker.session()["epk"]
        r = httpx.post(f"{url}/api/auth/ext/request", json={"epk": epk, "scope": "keymgmt:list"})
        with pytest.raises(httpx.HTTPError) as refused:
            httpx.post(
                f"{running.urls.broker}/notify/event/new",
                json={"authreq": r.json()["authreq"], "epk": epk},
            ).raise_for_status()
        assert isinstance(refused.value, httpx.HTTPStatusError)
        assert refused.value.response.status_code == 401
        assert "Cannot handle token prior to" in refused.value.response.json()["err"]
        check_in(running)
        r = httpx.post(f"{url}/api/auth/ext/request", json={"epk": epk, "scope": "keymgmt:list"})
        assert broker.event_new(r.json()["authreq"], epk)["eventid"]


def test_reset_puts_the_rate_back_to_the_emulators(
    day: tuple[RunningEmulator, MovableClock],
) -> None:
    running, host = day
    device = running.emulator.hems[0]
    device.clock.set_rate(3.0)
    running.emulator.reset()
    assert device.clock.rate == 1.08
    host.advance(100)
    assert device.clock.skew == pytest.approx(8)


# ---------------------------------------------------------------------------- admin API


def test_admin_clock_knobs(emu: Kit) -> None:
    with httpx.Client(base_url=emu.running.urls.admin) as admin:
        r = admin.post("/hem/0/clock", json={"rate": 1.08, "skew": 0})
        assert r.status_code == 200
        assert r.json()["rate"] == 1.08
        assert r.json()["skew"] == pytest.approx(0, abs=1)  # real time runs on, 8 % fast
        assert emu.device.clock.rate == 1.08
        summary = admin.get("/").json()
        assert summary["hems"][0]["clock_rate"] == 1.08
        assert summary["clock"]["movable"] is False
        skewed = admin.post("/hem/0/clock", json={"skew": 120}).json()["skew"]
        assert skewed == pytest.approx(120, abs=1)
        assert admin.post("/hem/0/clock", json={}).status_code == 400
        assert admin.post("/hem/0/clock", json={"rate": 0}).status_code == 400
        assert admin.post("/hem/0/clock", json={"rate": "fast"}).status_code == 400
        assert admin.post("/hem/7/clock", json={"rate": 1}).status_code == 404
        # the shared emulator runs on the real clock: it cannot be moved
        assert admin.post("/clock", json={"advance": 60}).status_code == 409
    emu.emulator.reset()
    assert emu.device.clock.rate == 1.0


def test_admin_moves_a_movable_host_clock(day: tuple[RunningEmulator, MovableClock]) -> None:
    running, host = day
    with httpx.Client(base_url=running.urls.admin) as admin:
        r = admin.post("/clock", json={"advance": DAY})
        assert (r.status_code, r.json()["host"]) == (200, START + DAY)
        assert admin.get("/").json()["clock"] == {"host": START + DAY, "movable": True}
        assert admin.post("/clock", json={"set": START}).json()["host"] == START
        assert admin.post("/clock", json={}).status_code == 400
        assert admin.post("/clock", json={"advance": 1, "set": 2}).status_code == 400
    assert host() == START


# ---------------------------------------------------------------------------- command line


def test_command_line_hardware_and_clock_rate() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "authenticator.emulator.server",
        "--json",
        "--hardware",
        "epa",
        "--clock-rate",
        "1.08",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            version = httpx.get(info["hem"] + "/api/system/version").json()
            assert version["hwv"] == "EPA rev 1.0 (emulated)"
            hem = httpx.get(info["admin"] + "/").json()["hems"][0]
            assert (hem["hardware"], hem["clock_rate"]) == ("epa", 1.08)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
            assert proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_command_line_refuses_a_rate_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--clock-rate", "0"]) == 1
    assert "clock rate must be between 0.1 and 10" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--hardware", "xpa"])

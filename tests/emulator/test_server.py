"""The composed server: paths, several HEMs, the admin API, reset, ``--state``, HTTPS and the
``authenticator emulator`` command."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from authenticator.emulator.server import Emulator, main, serve_in_thread
from authenticator.emulator.state import StateFile
from authenticator.errors import CorruptStoreError, StateError
from authenticator.protocol.bearer import Bearer
from tests.emulator.conftest import Kit

ROOT = Path(__file__).resolve().parents[2]


def test_everything_on_one_origin(emu: Kit) -> None:
    urls = emu.running.urls
    assert urls.hems == (urls.origin, f"{urls.origin}/hem/1")
    with httpx.Client(base_url=urls.origin) as c:
        home = c.get("/", follow_redirects=False)
        assert (home.status_code, home.headers["location"]) == (307, "/demo/")
        assert c.get("/demo/").status_code == 200
        assert c.get("/notify/session").status_code == 200
        assert c.post("/checkin", json={"check": "x"}).status_code == 400
        assert c.get("/_emulator/").json()["ok"] is True
        # the second HEM is another device
        one = c.get("/hem/1/api/auth/token").json()["eid"]
        zero = c.get("/api/auth/token").json()["eid"]
        assert one != zero
        assert c.get("/hem/1/api/system/status").json()["hostname"] == "hem1.emulator.test"
        assert c.get("/hem/9/api/system/status").status_code == 404
        assert c.get("/hem/0/api/system/status").status_code == 404


def test_second_hem_full_flow(emu: Kit) -> None:
    second = Kit(emu.running, 1)
    pairing = second.pair()
    token = second.approve("keymgmt:list", pairing)
    assert second.get("/api/keymgmt/list", token).status_code == 200
    assert emu.get("/api/keymgmt/list", token).status_code == 401


def test_add_hem_and_reset(emu: Kit) -> None:
    device = emu.emulator.add_hem(passphrase="other")
    assert device.index == 2
    assert emu.running.urls.hems[2].endswith("/hem/2")
    third = Kit(emu.running, 2)
    assert third.login_response(passphrase="other").status_code == 200
    emu.pair()
    emu.emulator.faults.add("/x", drop=True)
    emu.emulator.reset()
    assert len(emu.emulator.hems) == 2
    assert emu.device.pairings() == []
    assert emu.emulator.faults.active() == []
    assert len(emu.running.urls.hems) == 2


def test_admin_knobs(emu: Kit) -> None:
    token = emu.login("system:config")
    with httpx.Client(base_url=emu.running.urls.admin) as admin:
        summary = admin.get("/").json()
        assert [h["eid"] for h in summary["hems"]] == [d.eid.b64 for d in emu.emulator.hems]
        assert summary["hems"][0]["url"] == emu.url
        assert summary["backend"]["action"] == "OK"
        assert "events" in json.dumps(summary["broker"])
        assert admin.post("/hem/0/reboot").status_code == 200
        assert emu.get("/api/system/config", token).status_code == 401
        assert admin.post("/hem/0/skew", json={"seconds": 600}).json()["skew"] == 600
        assert emu.device.clock.skew == 600
        assert admin.post("/hem/0/rtc", json={"set": False}).json()["rtc_set"] is False
        assert emu.get("/api/auth/token").status_code == 403
        assert admin.post("/hem/0/rtc", json={"set": True, "at_boot": False}).status_code == 200
        assert emu.device.rtc_at_boot is False
        r = admin.post("/hem/0/pacing", json={"pacing_s": 0.25})
        assert r.json()["pacing_s"] == 0.25
        assert admin.post("/hem/0/fls", json={"state": 2}).status_code == 200
        assert emu.get("/api/auth/token").status_code == 409
        assert admin.post("/hem/0/fls", json={"state": 0}).status_code == 200
        assert admin.post("/hem/0/tls", json={"required": True}).json()["tls_required"] is True
        assert admin.post("/hem/0/checkin", json={"honour": ["OK", "L"]}).status_code == 200
        assert emu.device.checkin_actions == {"OK", "L"}
        assert admin.post("/backend/action", json={"action": "L"}).status_code == 200
        assert emu.emulator.backend.action == "L"
        assert admin.post("/hems", json={}).json()["index"] == 2
        assert admin.post("/reset").status_code == 200
        assert len(emu.emulator.hems) == 2
        assert emu.emulator.backend.action == "OK"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/hem/7/reboot", {}, 404),
        ("/hem/0/skew", {"seconds": "x"}, 400),
        ("/hem/0/rtc", {}, 400),
        ("/hem/0/fls", {"state": 999}, 400),
        ("/hem/0/checkin", {"honour": ["Z"]}, 400),
        ("/backend/action", {"action": "Z"}, 400),
        ("/broker/events/nope/cancel", {}, 404),
        ("/broker/events/nope/expire", {}, 404),
        ("/broker/location", {"city": 1}, 400),
        ("/hems", {"fresh": "yes"}, 400),
    ],
)
def test_admin_refusals(emu: Kit, path: str, body: dict[str, object], status: int) -> None:
    with httpx.Client(base_url=emu.running.urls.admin) as admin:
        r = admin.post(path, json=body)
    assert r.status_code == status
    assert "error" in r.json()


def test_admin_broker_location(emu: Kit) -> None:
    with httpx.Client(base_url=emu.running.urls.admin) as admin:
        r = admin.post("/broker/location", json={"city": "Kraków", "country": "PL"})
    assert r.json() == {"ok": True, "city": "Kraków", "country": "PL"}


def test_without_broker_and_demo() -> None:
    with (
        serve_in_thread(Emulator(broker=False, demo=False)) as running,
        httpx.Client(base_url=running.urls.origin) as c,
    ):
        assert c.get("/notify/session").status_code == 404
        assert c.get("/demo/").status_code == 404
        assert c.get("/", follow_redirects=False).headers["location"] == "/_emulator/"
        location = {"city": "a", "country": "b"}
        assert c.post("/_emulator/broker/location", json=location).status_code == 404


def test_not_listening_yet() -> None:
    emulator = Emulator(broker=False, demo=False)
    assert emulator.urls is None
    assert emulator.summary()["urls"] is None
    with pytest.raises(StateError):
        Emulator(hem_count=0)


def test_state_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with serve_in_thread(Emulator(state_file=path, broker=False, demo=False)) as running:
        kit = Kit(running)
        kit.device.set_pacing(0, 0)
        eid = kit.device.eid.b64
        pairing = kit.pair(label="Kept")
        token = kit.login("system:config")
        assert kit.post("/api/system/config", {"user": "Persisted"}, token).status_code == 200
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"], len(doc["hems"])) == ("encedo-emulator-state", 1, 1)
    assert "session" not in json.dumps(doc)
    with serve_in_thread(Emulator(state_file=path, hem_count=2, broker=False, demo=False)) as again:
        kit = Kit(again)
        kit.device.set_pacing(0, 0)
        assert kit.device.eid.b64 == eid
        assert kit.device.config.user == "Persisted"
        stored = kit.device.key(pairing.kid)
        assert stored is not None
        assert stored.label == "Kept"
        # the old pairing still approves, the old token died with the old "boot"
        assert Bearer.parse(kit.approve("keymgmt:list", pairing)).kid == pairing.kid
        assert kit.get("/api/system/config", token).status_code == 401
        assert len(again.emulator.hems) == 2
    assert len(json.loads(path.read_text())["hems"]) == 2


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"format": "other", "version": 1, "hems": []}',
        '{"format": "encedo-emulator-state", "version": 2, "hems": []}',
        '{"format": "encedo-emulator-state", "version": 1, "hems": [{"eid": 1}]}',
    ],
)
def test_a_damaged_state_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(CorruptStoreError):
        StateFile(path).load()


def test_https_with_a_pinned_certificate() -> None:
    with serve_in_thread(Emulator(broker=False, demo=False), https=True) as running:
        urls = running.urls
        assert urls.origin.startswith("https://127.0.0.1:")
        assert running.cert_path is not None
        assert urls.cert_sha256 == running.cert_sha256
        context = ssl.create_default_context(cafile=str(running.cert_path))
        with httpx.Client(base_url=urls.hems[0], verify=context) as c:
            r = c.get("/api/system/status")
            assert (r.status_code, r.json()["https"]) == (200, True)
        with (
            httpx.Client(base_url=urls.hems[0], verify=False) as c,  # noqa: S501 - pinned below
            c.stream("GET", "/api/system/version") as r,
        ):
            der = r.extensions["network_stream"].get_extra_info("ssl_object").getpeercert(True)
        assert hashlib.sha256(der).hexdigest() == urls.cert_sha256
        # dropping a connection on purpose works through TLS too
        running.emulator.faults.add("/api/system/status", drop=True, times=1)
        with (
            httpx.Client(base_url=urls.hems[0], verify=context) as c,
            pytest.raises(httpx.RemoteProtocolError),
        ):
            c.get("/api/system/status")
        cert_dir = running.cert_path.parent
    assert not cert_dir.exists()


def test_main_prints_urls_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "authenticator.emulator.server", "--json", "--hems", "2"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=ROOT, env=env) as proc:  # fmt: skip
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            assert set(info) >= {"origin", "hem", "hems", "broker", "backend", "demo", "admin",
                                 "cert_sha256", "passphrase"}  # fmt: skip
            assert info["passphrase"] == "demo"
            assert len(info["hems"]) == 2
            assert httpx.get(info["hem"] + "/api/system/status").status_code == 200
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
            assert proc.returncode == 0, err
            assert out == ""
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_main_refuses_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    with serve_in_thread(Emulator(broker=False, demo=False)) as running:
        assert main(["--port", str(running.port), "--host", "127.0.0.1"]) == 1
    assert "could not start" in capsys.readouterr().err

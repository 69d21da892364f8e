"""System endpoints: status, version, configuration (with passphrase rotation), and the
check-in through the emulator's own backend."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from authenticator.emulator.backend import encode_status, make_checked, read_check
from authenticator.emulator.hem.device import FLS_LOCKED
from authenticator.errors import DecodeError
from authenticator.protocol.b64 import b64decode
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.login import userkey_rotation_hmac
from tests.emulator.conftest import Kit, user_key

REQUIRED_CONFIG = ["iat", "uts", "devid", "eid", "eid_sign", "user", "email", "hostname", "dnsd",
                   "trusted_ts", "trusted_backend", "allow_keysearch", "origin", "ctx",
                   "http_option_hsts", "http_option_dosprot_mode", "ip", "spk", "nonce"]  # fmt: skip
PPA_CONFIG = ["genuine_id", "storage_mode", "storage_disk0size", "storage_capacity"]
"""Optional fields a PPA sends (its secure enclave and microSD card), between ``ip`` and ``spk``."""


def test_status(emu: Kit) -> None:
    r = emu.get("/api/system/status")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["https", "hostname", "ctx", "uptime", "ts", "time", "temp", "fls_state",
                          "storage"]  # fmt: skip
    assert body["storage"] == ["8388607:-", "112590844:-"]  # a PPA's two disks, both locked
    assert (body["https"], body["hostname"], body["ctx"], body["fls_state"]) == (
        False,
        "hem0.emulator.test",
        0,
        0,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["ts"])
    assert abs(body["time"] - time.time()) < 5


def test_status_without_hostname_when_the_host_matches(emu: Kit) -> None:
    body = emu.get("/api/system/status", headers={"Host": "hem0.emulator.test"}).json()
    assert "hostname" not in body


def test_status_without_rtc(emu: Kit) -> None:
    emu.device.set_rtc(False)
    body = emu.get("/api/system/status").json()
    assert "ts" not in body
    assert "time" not in body


def test_version_names_the_ppa_by_default(emu: Kit) -> None:
    body = emu.get("/api/system/version").json()
    assert list(body) == ["hwv", "fwv", "fwk", "fws", "blv", "blk", "bls", "uis"]
    assert body["hwv"] == "PPA rev 2.2 (emulated)"
    assert "PPA" in body["hwv"]  # how clients tell the forms apart
    assert "EPA" not in body["hwv"]
    assert body["fwv"] == "Encedo nGINE FW v1.2.2 (emulated)"
    sizes = [len(b64decode(body[k])) for k in ("fwk", "fws", "blk", "bls", "uis")]
    assert sizes == [32, 64, 32, 64, 32]


def test_an_epa_says_so_and_leaves_out_what_only_a_ppa_has(emu: Kit) -> None:
    emu.device.set_hardware("EPA")
    version = emu.get("/api/system/version").json()
    assert list(version) == ["hwv", "fwv", "fwk", "fws", "blv", "blk", "bls"]
    assert version["hwv"] == "EPA rev 1.0 (emulated)"
    assert "PPA" not in version["hwv"]
    assert "storage" not in emu.get("/api/system/status").json()
    config = emu.get("/api/system/config", emu.login("system:config")).json()
    assert [k for k in config if k != "instanceid"] == REQUIRED_CONFIG
    # the same HEM otherwise: the flows work
    assert emu.approve("keymgmt:list", emu.pair())
    emu.emulator.reset()
    assert emu.get("/api/system/version").json()["hwv"].startswith("PPA")


def test_hardware_form_knob_refuses_anything_else(emu: Kit) -> None:
    with pytest.raises(DecodeError):
        emu.device.set_hardware("XPA")
    with httpx.Client(base_url=emu.origin) as c:
        assert c.post("/_emulator/hem/0/hardware", json={"form": "xpa"}).status_code == 400
        assert c.post("/_emulator/hem/9/hardware", json={"form": "epa"}).status_code == 404
        r = c.post("/_emulator/hem/0/hardware", json={"form": "epa"})
        assert (r.status_code, r.json()) == (200, {"ok": True, "hardware": "epa"})
        assert c.get("/_emulator/").json()["hems"][0]["hardware"] == "epa"
    assert emu.get("/api/system/version").json()["hwv"].startswith("EPA")


def test_config(emu: Kit) -> None:
    r = emu.get("/api/system/config", emu.login("system:config"))
    assert r.status_code == 200
    body = r.json()
    expected = REQUIRED_CONFIG[:-2] + PPA_CONFIG + REQUIRED_CONFIG[-2:]
    assert [k for k in body if k != "instanceid"] == expected  # the docs sample's order
    assert re.fullmatch(r"[0-9a-f]{18}", body["genuine_id"])
    assert body["storage_capacity"] > body["storage_disk0size"] > 0
    assert body["eid"] == emu.device.eid.b64
    assert re.fullmatch(r"[0-9a-f]{16}", body["devid"])
    assert len(b64decode(body["eid_sign"])) == 32
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", body["instanceid"])
    again = emu.get("/api/system/config", emu.login("logger:get")).json()
    assert again["nonce"] != body["nonce"]
    assert emu.get("/api/system/config").status_code == 401
    assert emu.get("/api/system/config", emu.login("keymgmt:list")).status_code == 403


def test_config_update(emu: Kit) -> None:
    token = emu.login("system:config")
    r = emu.post("/api/system/config", {"user": "Bob", "ctx": 3, "hostname": "hem0.emulator.test"},
                 token)  # fmt: skip
    assert (r.status_code, r.json()) == (200, {"updated": True})
    body = emu.get("/api/system/config", token).json()
    assert (body["user"], body["ctx"]) == ("Bob", 3)
    assert emu.get("/api/auth/token").json()["lbl"] == "Bob"
    assert emu.post("/api/system/config", {"user": "Bob"}, token).json() == {"updated": False}


@pytest.mark.parametrize(
    "body",
    [
        {"user": "x" * 33},
        {"trusted_ts": "no"},
        {"hostname": "other.example"},
        {"ip": "10.0.0.1/8"},
        {"http_option_dosprot_mode": 9},
        {"user": "fine", "ctx": "bad"},
        {"userkey": KeyPair.generate().public.b64},
    ],
)
def test_config_update_is_all_or_nothing(emu: Kit, body: dict[str, object]) -> None:
    token = emu.login("system:config")
    r = emu.post("/api/system/config", body, token)
    assert (r.status_code, r.json()) == (400, {"updated": False})
    assert emu.get("/api/system/config", token).json()["user"] == "Demo user"


def test_approval_tokens_may_read_but_not_write_config(emu: Kit) -> None:
    pairing = emu.pair()
    token = emu.approve("system:config", pairing)
    assert emu.get("/api/system/config", token).status_code == 200
    assert emu.post("/api/system/config", {"user": "Mallory"}, token).status_code == 403


def rotation(emu: Kit, token: str, new_passphrase: str) -> dict[str, str]:
    config = emu.get("/api/system/config", token).json()
    new = user_key(new_passphrase, config["eid"])
    return {
        "userkey": new.public.b64,
        "userkey_nonce": config["nonce"],
        "userkey_hmac": userkey_rotation_hmac(new, config["spk"], config["nonce"]),
    }


def test_passphrase_rotation(emu: Kit) -> None:
    token = emu.login("system:config")
    body = rotation(emu, token, "a new passphrase")
    r = emu.post("/api/system/config", body, token)
    assert (r.status_code, r.json()) == (200, {"updated": True})
    assert emu.login_response(passphrase="demo").status_code == 401
    assert emu.login_response(passphrase="a new passphrase").status_code == 200
    # the nonce was used up
    assert emu.post("/api/system/config", body, token).status_code == 406


def test_rotation_refusals(emu: Kit) -> None:
    token = emu.login("system:config")
    body = rotation(emu, token, "x")
    wrong = {**body, "userkey_hmac": body["userkey_hmac"][:-4] + "AAA="}
    assert emu.post("/api/system/config", wrong, token).status_code == 406
    master = emu.device.issue_token("system:config", sub="M")
    assert emu.post("/api/system/config", rotation(emu, token, "y"), master).status_code == 406
    assert emu.login_response(passphrase="demo").status_code == 200


def test_wipeout_returns_the_hem_to_the_factory(emu: Kit) -> None:
    r = emu.post("/api/system/config", {"wipeout": True}, emu.login("system:config"))
    assert (r.status_code, r.content) == (200, b"")
    assert emu.get("/api/system/status").json()["inited"] is False
    assert emu.get("/api/auth/init").status_code == 200


# ---------------------------------------------------------------------------- check-in


def check_in(emu: Kit) -> httpx.Response:
    """As a client does it: HEM challenge → backend → HEM."""
    check = emu.get("/api/system/checkin").json()["check"]
    with httpx.Client(base_url=emu.origin) as c:
        answer = c.post("/checkin", json={"check": check})
    assert answer.status_code == 200, answer.text
    return emu.post("/api/system/checkin", answer.json())


def test_check_in_sets_the_clock(emu: Kit) -> None:
    emu.device.set_rtc(False)
    emu.device.clock.set_skew(-5000)
    assert emu.request("keymgmt:list")[0].status_code == 403
    r = check_in(emu)
    assert (r.status_code, r.json()) == (200, {"status": "OK"})
    assert emu.device.rtc_set
    assert abs(emu.device.clock.skew) < 5
    assert "ts" in emu.get("/api/system/status").json()
    assert emu.request("keymgmt:list")[0].status_code == 200
    assert emu.emulator.backend.count == 1


def test_check_in_is_the_last_rtc_update_in_the_config(emu: Kit) -> None:
    token = emu.login("system:config")
    before = emu.get("/api/system/config", token).json()["uts"]
    emu.device.clock.set_skew(600)  # drifted ahead (less than the token's hour)
    assert emu.post("/api/system/config", {"user": "Bob"}, token).json() == {"updated": True}
    assert emu.get("/api/system/config", token).json()["uts"] == before  # not a clock update
    assert check_in(emu).status_code == 200
    uts = emu.get("/api/system/config", token).json()["uts"]
    assert abs(uts - time.time()) < 5  # the backend's time, not the HEM's drifted one


def test_check_in_refusals(emu: Kit) -> None:
    check = emu.get("/api/system/checkin").json()["check"]
    with httpx.Client(base_url=emu.origin) as c:
        answer = c.post("/checkin", json={"check": check}).json()
        assert c.post("/checkin", json={"check": "x.y.z"}).status_code == 400
        assert c.post("/checkin", content=b"[]").status_code == 400
    assert emu.post("/api/system/checkin", answer).status_code == 200
    assert emu.post("/api/system/checkin", answer).status_code == 401  # nonce used
    assert emu.post("/api/system/checkin", {"checked": "x.y.z"}).status_code == 401
    assert emu.post("/api/system/checkin", {}).status_code == 400
    # an answer from a backend the HEM does not trust
    rogue = KeyPair.generate()
    check = emu.get("/api/system/checkin").json()["check"]
    spk = read_check(emu.emulator.backend.key, check)
    forged = make_checked(rogue, spk, iat=1, status=encode_status("OK"))
    assert emu.post("/api/system/checkin", {"checked": forged}).status_code == 401


def test_check_in_actions_are_honoured_only_when_enabled(emu: Kit) -> None:
    emu.emulator.backend.set_action("L")
    assert check_in(emu).json() == {"status": "OK"}
    assert emu.login_response().status_code == 200
    emu.device.checkin_actions = frozenset({"OK", "L"})
    emu.device.config.trusted_backend = False
    assert check_in(emu).json() == {"status": "OK"}
    emu.device.config.trusted_backend = True
    assert check_in(emu).json() == {"status": "L"}
    assert emu.device.fls_state & FLS_LOCKED
    assert emu.get("/api/system/status").json()["fls_state"] == FLS_LOCKED
    assert emu.get("/api/auth/token").status_code == 409


def test_check_in_wipe(emu: Kit) -> None:
    emu.emulator.backend.set_action("W")
    emu.device.checkin_actions = frozenset({"W"})
    assert check_in(emu).json() == {"status": "W"}
    assert emu.get("/api/system/status").json()["inited"] is False

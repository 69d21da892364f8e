"""Personalisation and passphrase login (spec/hem-api.md §2, §4, §5) over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from authenticator.emulator.server import RunningEmulator, serve_in_thread
from authenticator.protocol.b64 import b64decode
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.ejwt import encode
from authenticator.protocol.keys import KeyPair, PublicKey
from authenticator.protocol.login import LoginChallenge, build_login_proof
from tests.emulator.conftest import Kit, user_key


def test_login_challenge(emu: Kit) -> None:
    r = emu.get("/api/auth/token")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["exp", "spk", "jti", "lbl", "eid"]
    assert body["lbl"] == "Demo user"
    assert body["eid"] == emu.device.eid.b64
    assert len(b64decode(body["jti"])) == 32
    assert body["exp"] - emu.device.clock.now() in (59, 60)


def test_login_gives_a_user_token(emu: Kit) -> None:
    token = emu.login("keymgmt:list", ctx="my-ctx")
    bearer = Bearer.parse(token)
    assert token.split(".")[0] == "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9"
    assert (bearer.scope, bearer.sub, bearer.ctx, bearer.role) == (
        "keymgmt:list",
        "U",
        "my-ctx",
        "user",
    )
    assert bearer.exp - bearer.iat in (3599, 3600)  # the proof and the token may straddle a second
    assert len(b64decode(bearer.jti)) == 32


def test_exp_zero_means_eight_hours(emu: Kit) -> None:
    bearer = Bearer.parse(emu.login("keymgmt:list", exp=0))
    assert bearer.exp - bearer.iat == 8 * 3600


def test_login_without_scope(emu: Kit) -> None:
    bearer = Bearer.parse(emu.login(None))
    assert bearer.scope == ""


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"passphrase": "wrong"}, 401),
        ({"exp": 1}, 401),
    ],
)
def test_login_refusals(emu: Kit, kwargs: dict[str, Any], status: int) -> None:
    assert emu.login_response(**kwargs).status_code == status


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({}, 200),
        ({"scope": "x" * 127}, 200),
        ({"ctx": 12}, 200),
        ({"scope": "x" * 128}, 400),
        ({"scope": 5}, 400),
        ({"ctx": {"a": 1}}, 400),
        ({"ctx": "c" * 64}, 400),
        ({"exp": "soon"}, 400),
        ({"exp": ...}, 400),
        ({"iss": KeyPair.generate().public.b64}, 401),
        ({"jti": ...}, 401),
    ],
)
def test_login_claims(emu: Kit, claims: dict[str, Any], status: int) -> None:
    assert emu.post("/api/auth/token", {"auth": emu.raw_proof(**claims)}).status_code == status


def test_a_proof_is_single_use(emu: Kit) -> None:
    proof = emu.proof("keymgmt:list")
    assert emu.post("/api/auth/token", {"auth": proof}).status_code == 200
    assert emu.post("/api/auth/token", {"auth": proof}).status_code == 401


def test_a_proof_for_an_unknown_challenge_is_refused(emu: Kit) -> None:
    ch = emu.challenge()
    forged = LoginChallenge(exp=ch.exp, spk=ch.spk, jti="AAAA" * 11, eid=ch.eid)
    now = emu.device.clock.now()
    proof = build_login_proof(user_key("demo", ch.eid), forged, now=now, exp=now + 60)
    assert emu.post("/api/auth/token", {"auth": proof}).status_code == 401


def test_a_tampered_proof_is_refused(emu: Kit) -> None:
    proof = emu.proof("keymgmt:list")
    head, body, sig = proof.split(".")
    bad = f"{head}.{body}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"
    assert emu.post("/api/auth/token", {"auth": bad}).status_code == 401
    assert emu.post("/api/auth/token", {"auth": "garbage"}).status_code == 401
    assert emu.post("/api/auth/token", {"nope": 1}).status_code == 400
    assert emu.post("/api/auth/token", content=b"[1]",
                    headers={"content-type": "application/json"}).status_code == 400  # fmt: skip


def test_a_proof_for_another_session_is_refused(emu: Kit) -> None:
    ch = emu.challenge()
    other = LoginChallenge(exp=ch.exp, spk=KeyPair.generate().public.b64, jti=ch.jti, eid=ch.eid)
    now = emu.device.clock.now()
    proof = build_login_proof(user_key("demo", ch.eid), other, now=now, exp=now + 60)
    assert emu.post("/api/auth/token", {"auth": proof}).status_code == 401


def test_reboot_invalidates_tokens_and_challenges(emu: Kit) -> None:
    token = emu.login("system:config")
    proof = emu.proof("keymgmt:list")
    spk = emu.challenge().spk
    assert emu.get("/api/system/config", token).status_code == 200
    emu.device.reboot()
    assert emu.get("/api/system/config", token).status_code == 401
    assert emu.get("/api/system/status", token).status_code == 401
    assert emu.post("/api/auth/token", {"auth": proof}).status_code == 401
    assert emu.challenge().spk != spk
    assert emu.get("/api/system/config", emu.login("system:config")).status_code == 200


def test_skew_moves_the_device_clock(emu: Kit) -> None:
    emu.device.clock.set_skew(7200)
    bearer = Bearer.parse(emu.login("keymgmt:list"))
    assert bearer.iat - time.time() > 7000
    status = emu.get("/api/system/status").json()
    assert status["time"] - time.time() > 7000
    emu.device.clock.set_skew(-86400)
    assert (
        emu.get("/api/system/config", emu.login("system:config")).json()["iat"]
        < time.time() - 80000
    )


def test_a_token_expires_on_the_device_clock(emu: Kit) -> None:
    token = emu.login("system:config", lifetime=60)
    emu.device.clock.set_skew(120)
    assert emu.get("/api/system/config", token).status_code == 401


def test_pacing(emu: Kit) -> None:
    """The one test that waits for real: 0.5 s per login, more after 3 failures."""
    emu.device.set_pacing(0.5, 0.8)
    started = time.monotonic()
    assert emu.login_response("keymgmt:list").status_code == 200
    assert time.monotonic() - started >= 0.5
    emu.device.set_pacing(0, 1.0)
    for _ in range(3):
        assert emu.login_response(passphrase="wrong").status_code == 401
    started = time.monotonic()
    assert emu.login_response("keymgmt:list").status_code == 200
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    assert emu.get("/api/system/status").status_code == 200
    assert time.monotonic() - started < 1.0  # other calls are not paced


# ---------------------------------------------------------------------------- a fresh HEM


@pytest.fixture(scope="module")
def fresh() -> Iterator[RunningEmulator]:
    with serve_in_thread(fresh=True) as running:
        yield running


@pytest.fixture
def blank(fresh: RunningEmulator) -> Kit:
    fresh.emulator.reset()
    fresh.emulator.hems[0].set_pacing(0, 0)
    return Kit(fresh)


def init_jwt(kit: Kit, master: KeyPair, user: PublicKey, **cfg: Any) -> str:
    ch = kit.get("/api/auth/init").json()
    now = kit.device.clock.now()
    config = {
        "user": "Alice",
        "masterkey": master.public.b64,
        "userkey": user.b64,
        "hostname": "alice.example",
        "origin": "*",
        "trusted_ts": True,
        "trusted_backend": True,
        "allow_keysearch": True,
        "email": "alice@example.com",
        "ctx": 7,
        **cfg,
    }
    config = {k: v for k, v in config.items() if v is not ...}
    claims = {"jti": ch["jti"], "aud": ch["spk"], "exp": ch["exp"], "iat": now,
              "iss": master.public.b64, "cfg": config}  # fmt: skip
    return encode(claims, master.exchange(PublicKey.from_b64(ch["spk"])))


def test_a_fresh_hem_says_so(blank: Kit) -> None:
    status = blank.get("/api/system/status").json()
    assert status["inited"] is False
    assert blank.get("/api/auth/token").status_code == 409
    assert blank.post("/api/auth/token", {"auth": "x.y.z"}).status_code == 409
    assert blank.post("/api/auth/ext/request", {"epk": KeyPair.generate().public.b64,
                                                "scope": "keymgmt:list"}).status_code == 409  # fmt: skip
    ch = blank.get("/api/auth/init").json()
    assert list(ch) == ["exp", "spk", "jti", "genuine", "eid"]
    assert ch["genuine"].count(".") == 2


def test_personalisation_then_user_and_master_logins(blank: Kit) -> None:
    master = KeyPair.generate()
    ch_eid = blank.device.eid.b64
    user = user_key("s3cret passphrase", ch_eid)
    r = blank.post("/api/auth/init", {"init": init_jwt(blank, master, user.public)})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["instanceid", "token", "genuine"]
    token = Bearer.parse(body["token"])
    assert (token.scope, token.sub, token.exp - token.iat) == ("system:config", "U", 8 * 3600)
    config = blank.get("/api/system/config", body["token"]).json()
    assert (config["user"], config["hostname"], config["ctx"]) == ("Alice", "alice.example", 7)
    assert "inited" not in blank.get("/api/system/status").json()
    assert blank.get("/api/auth/init").status_code == 406
    assert blank.post("/api/auth/init", {"init": "x.y.z"}).status_code == 406
    # the user logs in with the passphrase, the master with the master key
    user_token = blank.login("keymgmt:list", passphrase="s3cret passphrase")
    assert blank.get("/api/keymgmt/list", user_token).status_code == 200
    master_token = blank.login("keymgmt:list", key=master)
    assert Bearer.parse(master_token).sub == "M"
    assert blank.get("/api/keymgmt/list", master_token).status_code == 403
    assert blank.get("/api/keymgmt/list", user_token).json()["total"] == 0
    assert (
        blank.get("/api/system/config", blank.login("system:config", key=master)).status_code == 200
    )


def test_personalisation_refusals(blank: Kit) -> None:
    master, user = KeyPair.generate(), KeyPair.generate()
    missing = init_jwt(blank, master, user.public)
    # a cfg without email is incomplete, one with a bad value invalid
    assert blank.post("/api/auth/init", {"init": init_jwt(blank, master, user.public, email=...)}
                      ).status_code == 400  # fmt: skip
    assert blank.post("/api/auth/init", {"init": init_jwt(blank, master, user.public, email=None)}
                      ).status_code == 400  # fmt: skip
    # signed by another key than the master key it names
    other = KeyPair.generate()
    assert blank.post("/api/auth/init",
                      {"init": init_jwt(blank, master, user.public, masterkey=other.public.b64)}
                      ).status_code == 401  # fmt: skip
    assert blank.post("/api/auth/init", {"init": "x.y.z"}).status_code == 401
    assert (
        blank.post(
            "/api/auth/init", {"init": init_jwt(blank, master, user.public, ip="x")}
        ).status_code
        == 400
    )
    assert blank.post("/api/auth/init", {"init": missing}).status_code == 200
    assert blank.post("/api/auth/init", {"init": missing}).status_code == 406


@pytest.fixture
def no_rtc(fresh: RunningEmulator) -> Kit:
    fresh.emulator.reset()
    device = fresh.emulator.hems[0]
    device.set_rtc(False)
    return Kit(fresh)


def test_personalisation_needs_the_rtc(no_rtc: Kit) -> None:
    assert no_rtc.get("/api/auth/init").status_code == 403
    assert no_rtc.post("/api/auth/init", {"init": "x.y.z"}).status_code == 403
    assert "ts" not in no_rtc.get("/api/system/status").json()


def test_login_needs_the_rtc_only_with_trusted_time(emu: Kit) -> None:
    emu.device.set_rtc(False)
    assert emu.get("/api/auth/token").status_code == 403
    emu.device.config.trusted_ts = False
    assert emu.get("/api/auth/token").status_code == 200
    assert emu.get("/api/system/status").json()["tts"] is False


def test_httpx_clients_reusing_connections_still_work(emu: Kit) -> None:
    """httpx honours Connection: close and opens a new connection for each request."""
    with httpx.Client(base_url=emu.url) as client:
        for _ in range(3):
            assert client.get("/api/system/status").status_code == 200

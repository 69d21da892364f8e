"""The emulated broker over real HTTP: every endpoint, every status, every MAC it checks.

The HEM side (pairing request, ``code``, ``authreq``, ``ext/mac`` proofs) and the app side
(reply, MACs, authreply) are computed with ``authenticator.protocol``, exactly as the real
peers do; the broker runs alone under uvicorn on 127.0.0.1 with a fake clock.
"""

from __future__ import annotations

import os
import socket
import string
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from authenticator.emulator.broker import Broker, broker_routes
from authenticator.protocol import ejwt
from authenticator.protocol.access import (
    BrokerEvent,
    PairingKeys,
    authreply_mac,
    build_authreply,
    open_event,
    unpair_body,
)
from authenticator.protocol.b64 import b64decode, b64encode, pidx
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.keys import KeyPair, PublicKey
from authenticator.protocol.pairing import answer_pairing, check_pairing_request, request_hash
from authenticator.protocol.periods import Period
from authenticator.protocol.sealing import event_master, seal_scope

T0 = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class QueuedRng:
    """``os.urandom`` unless a test queued the next answer (to force a pid with ``+`` and ``/``)."""

    def __init__(self) -> None:
        self.queued: list[bytes] = []

    def __call__(self, n: int) -> bytes:
        if self.queued and len(self.queued[0]) == n:
            return self.queued.pop(0)
        return os.urandom(n)


@dataclass
class Env:
    broker: Broker
    clock: FakeClock
    rng: QueuedRng
    url: str
    http: httpx.Client

    def get(self, path: str) -> httpx.Response:
        return self.http.get(self.url + path)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.http.post(self.url + path, json=body)

    def delete(self, path: str, body: Any = None) -> httpx.Response:
        if body is None:
            return self.http.delete(self.url + path)
        return self.http.request("DELETE", self.url + path, json=body)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Broker, FakeClock, QueuedRng, str]]:
    clock, rng = FakeClock(), QueuedRng()
    broker = Broker(clock=clock, rng=rng)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that name it, and without
    # it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue from now on: no need to wait for the server to start
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        Starlette(routes=broker_routes(broker)), log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield broker, clock, rng, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def env(served: tuple[Broker, FakeClock, QueuedRng, str]) -> Iterator[Env]:
    broker, clock, rng, url = served
    broker.reset()
    clock.now = T0
    rng.queued.clear()
    with httpx.Client(timeout=10) as http:
        yield Env(broker, clock, rng, url, http)


# ---------------------------------------------------------------------------- the peers


class Hem:
    """The HEM-side computations (what /api/auth/ext/init, /validate, /request, /mac produce)."""

    def __init__(self) -> None:
        self.keys = KeyPair.generate()
        self.eid = self.keys.public.b64
        self.jtis = 0

    def secret(self, epk: str) -> bytes:
        return self.keys.exchange(PublicKey.from_b64(epk))

    def pairing_request(self, epk: str, *, now: float = T0) -> str:
        payload = {"jti": b64encode(os.urandom(32)), "exp": int(now) + 86400, "aud": epk}
        payload["iss"] = self.eid
        return ejwt.encode(payload, self.secret(epk), header=ejwt.HEM_HEADER)

    def code(self, reply: str) -> str:
        epk = ejwt.read_unverified(reply)["epk"]
        return b64encode(hmac_sha256(self.secret(epk), reply.encode("ascii")))

    def authreq(
        self,
        epk: str,
        pairings: list[App],
        scope: str = "keymgmt:list",
        *,
        iat: float = T0,
        lifetime: int = 3600,
        secret: bytes | None = None,
    ) -> str:
        jti = b64encode(os.urandom(32))
        entries = {}
        for app in pairings:
            master = event_master(self.keys.exchange(app.keys.public), b64decode(jti))
            entries[app.pid] = seal_scope(master, scope)
        payload = {
            "iss": self.eid,
            "aud": epk,
            "iat": int(iat),
            "exp": int(iat) + lifetime,
            "jti": jti,
            "scope": entries,
        }
        key = secret if secret is not None else self.secret(epk)
        return ejwt.encode(payload, key, header=ejwt.HEM_HEADER)

    def mac_proof(self, epk: str) -> dict[str, str]:
        nonce = os.urandom(32)
        mac = b64encode(hmac_sha256(self.secret(epk), nonce))
        return {"nonce": b64encode(nonce), "mac": mac, "eid": self.eid, "epk": epk}


class App:
    """One authenticator pairing, simulated with the protocol package."""

    def __init__(self, label: str = "Desk (Linux)") -> None:
        self.keys = KeyPair.generate()
        self.label = label
        self.pid = ""
        self.eid: PublicKey | None = None

    def answer(self, env: Env, link: str, qr_hash: str | None = None) -> dict[str, str]:
        served = env.http.get(link).json()
        request = check_pairing_request(served["request"], qr_hash=qr_hash, now=int(T0))
        self.eid = request.eid
        return answer_pairing(request, self.keys, label=self.label).body()

    @property
    def pairing(self) -> PairingKeys:
        assert self.eid is not None
        return PairingKeys(aid=self.keys, eid=self.eid, pid=self.pid)


def pair(env: Env, hem: Hem, app: App, *, pid_bytes: bytes | None = None) -> str:
    """A full broker pairing; returns the pid (``pid_bytes`` forces the broker's choice)."""
    epk = env.post("/notify/session", {"eid": hem.eid}).json()["epk"]
    request = hem.pairing_request(epk)
    init = env.post("/notify/register/init", {"request": request, "eid": hem.eid, "epk": epk})
    assert init.status_code == 200, init.text
    link, rid = init.json()["link"], init.json()["rid"]
    body = app.answer(env, link, request_hash(request))
    if pid_bytes is not None:
        env.rng.queued.append(pid_bytes)
    accepted = env.http.post(link, json=body)
    assert accepted.status_code == 200, accepted.text
    app.pid = accepted.json()["pid"]
    check = env.get(f"/notify/register/check/{rid}").json()
    kid = os.urandom(16).hex()
    fin = env.post(
        f"/notify/register/finalise/{rid}", {"kid": kid, "code": hem.code(check["reply"])}
    )
    assert fin.status_code == 200, fin.text
    return app.pid


def new_event(env: Env, hem: Hem, apps: list[App], scope: str = "keymgmt:list") -> str:
    epk = env.get("/notify/session").json()["epk"]
    r = env.post("/notify/event/new", {"authreq": hem.authreq(epk, apps, scope), "epk": epk})
    assert r.status_code == 200, r.text
    return str(r.json()["eventid"])


def approve(env: Env, app: App, event_id: str, *, mac: str | None = None) -> httpx.Response:
    data = env.get(f"/notify/event/data/{event_id}/{pidx(app.pid)}").json()
    event = BrokerEvent.from_json(event_id, data)
    scope = open_event(event, app.pairing, now=int(T0))
    authreply = build_authreply(
        app.pairing, jti=event.jti, granted=scope, period=Period.MIN15, now=int(T0)
    )
    body = {"authreply": authreply, "mac": mac or authreply_mac(app.keys, event.epk, authreply)}
    return env.post(f"/notify/event/data/{event_id}/{pidx(app.pid)}", body)


# ---------------------------------------------------------------------------- sessions


def test_sessions_hand_out_fresh_keys_and_the_paired_count(env: Env) -> None:
    a = env.get("/notify/session")
    b = env.get("/notify/session")
    assert a.status_code == b.status_code == 200
    assert a.json()["epk"] != b.json()["epk"]
    assert a.json()["exp"] == int(T0) + 600
    PublicKey.from_b64(a.json()["epk"])
    hem = Hem()
    assert env.post("/notify/session", {"eid": hem.eid}).json()["paired"] == 0
    pair(env, hem, App())
    assert env.post("/notify/session", {"eid": hem.eid}).json()["paired"] == 1
    by_aid = env.post("/notify/session", {"aid": App().keys.public.b64}).json()
    assert set(by_aid) == {"epk", "exp"}


@pytest.mark.parametrize(
    "body", [{}, {"eid": "short"}, {"aid": 5}, {"eid": Hem().eid, "aid": Hem().eid}]
)
def test_session_refuses_malformed_bodies(env: Env, body: dict[str, Any]) -> None:
    r = env.post("/notify/session", body)
    assert (r.status_code, r.json()) == (400, {})


def test_malformed_json_and_wrong_methods_and_unknown_paths_answer_json(env: Env) -> None:
    r = env.http.post(env.url + "/notify/session", content=b"{not json")
    assert (r.status_code, r.json()) == (400, {})
    r = env.http.post(env.url + "/notify/session", content=b'{"eid":1,"eid":2}')
    assert r.status_code == 400
    r = env.http.put(env.url + "/notify/session")
    assert (r.status_code, r.json()) == (405, {})
    r = env.get("/notify/no/such/thing")
    assert (r.status_code, r.json()) == (404, {})
    assert r.headers["content-type"] == "application/json"


def test_subscribers_token_is_not_deployed(env: Env) -> None:
    r = env.post("/notify/subscribers/token", {"pid": "x", "aid": "y"})
    assert (r.status_code, r.json()) == (404, {})


# ---------------------------------------------------------------------------- pairing


def test_full_pairing_with_every_intermediate_status(env: Env) -> None:
    hem, app = Hem(), App()
    epk = env.post("/notify/session", {"eid": hem.eid}).json()["epk"]
    request = hem.pairing_request(epk)
    init = env.post("/notify/register/init", {"request": request, "eid": hem.eid, "epk": epk})
    assert init.status_code == 200
    rid, link = init.json()["rid"], init.json()["link"]
    assert link.startswith(env.url + "/notify/pairing/")
    assert env.get(f"/notify/register/check/{rid}").status_code == 202

    served = env.http.get(link)
    assert served.status_code == 200
    assert served.json() == {
        "request": request,
        "ipinfo_eid": {"city": "This computer", "country": "", "ip": "127.0.0.1"},
    }
    body = app.answer(env, link, request_hash(request))
    bad = dict(body, mac=b64encode(os.urandom(32)))
    assert env.http.post(link, json=bad).status_code == 401
    assert env.get(f"/notify/register/check/{rid}").status_code == 202

    accepted = env.http.post(link, json=body)
    assert accepted.status_code == 200
    pid = accepted.json()["pid"]
    assert len(b64decode(pid)) == 32
    assert pid == b64encode(b64decode(pid))  # std base64, padded
    assert env.http.get(link).status_code == 404  # answered: the code is spent
    assert env.http.post(link, json=body).status_code == 404

    check = env.get(f"/notify/register/check/{rid}")
    assert check.status_code == 200
    assert check.json() == {"pid": pid, "reply": body["reply"]}
    kid = os.urandom(16).hex()
    wrong = env.post(f"/notify/register/finalise/{rid}", {"kid": kid, "code": b64encode(b"x" * 32)})
    assert (wrong.status_code, wrong.json()) == (401, {})
    good = {"kid": kid, "code": hem.code(body["reply"])}
    assert env.post(f"/notify/register/finalise/{rid}", good).json() == {}
    assert env.post(f"/notify/register/finalise/{rid}", good).status_code == 409

    listed = env.post("/notify/subscribers/list", hem.mac_proof(epk)).json()
    assert listed == [
        {
            "pid": pid,
            "aid": app.keys.public.b64,
            "kid": kid,
            "label": app.label,
            "created": int(T0),
        }
    ]


def test_register_init_checks_session_issuer_and_signature(env: Env) -> None:
    hem = Hem()
    epk = env.get("/notify/session").json()["epk"]
    request = hem.pairing_request(epk)
    stranger = KeyPair.generate().public.b64
    cases = [
        {"request": request, "eid": hem.eid, "epk": stranger},  # not our session
        {"request": request, "eid": Hem().eid, "epk": epk},  # another HEM's eid
        {"request": Hem().pairing_request(epk), "eid": hem.eid, "epk": epk},  # iss ≠ eid
    ]
    for body in cases:
        assert env.post("/notify/register/init", body).status_code == 401
    forged = request[: request.rindex(".") + 1] + ejwt.b64url_encode(os.urandom(32))
    r = env.post("/notify/register/init", {"request": forged, "eid": hem.eid, "epk": epk})
    assert r.status_code == 401
    r = env.post("/notify/register/init", {"request": "nope", "eid": hem.eid, "epk": epk})
    assert r.status_code == 400
    env.clock.now += 601  # the session expired
    r = env.post("/notify/register/init", {"request": request, "eid": hem.eid, "epk": epk})
    assert r.status_code == 401


def test_a_reply_for_another_broker_key_is_refused(env: Env) -> None:
    hem, app = Hem(), App()
    epk = env.get("/notify/session").json()["epk"]
    request = hem.pairing_request(epk)
    link = env.post("/notify/register/init", {"request": request, "eid": hem.eid, "epk": epk})
    link_url = link.json()["link"]
    other_epk = env.get("/notify/session").json()["epk"]
    other = check_pairing_request(hem.pairing_request(other_epk), qr_hash=None, now=int(T0))
    # A reply made for another session key, with a MAC that is right for this link's key.
    reply = answer_pairing(other, app.keys, label="x").reply
    fid = "no-push-token"
    mac = b64encode(hmac_sha256(app.keys.exchange(PublicKey.from_b64(epk)), (reply + fid).encode()))
    body = {"reply": reply, "fid": fid, "mac": mac, "aid": app.keys.public.b64}
    assert env.http.post(link_url, json=body).status_code == 401
    # …and a correct reply from one aid presented under another is refused too.
    good = app.answer(env, link_url)
    imposter = KeyPair.generate()
    mac2 = b64encode(
        hmac_sha256(
            imposter.exchange(PublicKey.from_b64(epk)), (good["reply"] + good["fid"]).encode()
        )
    )
    body2 = dict(good, aid=imposter.public.b64, mac=mac2)
    assert env.http.post(link_url, json=body2).status_code == 401
    assert env.http.post(link_url, json=good).status_code == 200


def test_refuse_then_check_answers_410(env: Env) -> None:
    hem, app = Hem(), App()
    epk = env.get("/notify/session").json()["epk"]
    request = hem.pairing_request(epk)
    init = env.post("/notify/register/init", {"request": request, "eid": hem.eid, "epk": epk})
    rid, link = init.json()["rid"], init.json()["link"]
    body = app.answer(env, link)
    bad = dict(body, mac=b64encode(os.urandom(32)))
    assert env.http.request("DELETE", link, json=bad).status_code == 401
    assert env.http.request("DELETE", link, json={}).status_code == 400
    refused = env.http.request("DELETE", link, json=body)
    assert (refused.status_code, refused.json()) == (200, {})
    assert env.get(f"/notify/register/check/{rid}").status_code == 410
    assert env.http.get(link).status_code == 404
    fin = env.post(f"/notify/register/finalise/{rid}", {"kid": "0" * 32, "code": body["mac"]})
    assert fin.status_code == 410
    assert env.broker.summary()["registrations"]["refused"] == 1


def test_registrations_expire_and_unknown_ids_are_404(env: Env) -> None:
    hem = Hem()
    epk = env.get("/notify/session").json()["epk"]
    init = env.post(
        "/notify/register/init", {"request": hem.pairing_request(epk), "eid": hem.eid, "epk": epk}
    )
    rid, link = init.json()["rid"], init.json()["link"]
    assert (
        env.post(
            f"/notify/register/finalise/{rid}", {"kid": "0" * 32, "code": b64encode(bytes(32))}
        ).status_code
        == 409
    )
    env.clock.now += 601
    assert env.get(f"/notify/register/check/{rid}").status_code == 404
    assert env.http.get(link).status_code == 404
    assert env.get("/notify/register/check/nope").status_code == 404
    assert env.http.get(env.url + "/notify/pairing/nope").status_code == 404
    assert (
        env.post(
            "/notify/register/finalise/nope", {"kid": "0" * 32, "code": b64encode(bytes(32))}
        ).status_code
        == 404
    )
    assert env.broker.summary()["registrations"]["expired"] == 1


def test_expire_registration_knob(env: Env) -> None:
    hem = Hem()
    epk = env.get("/notify/session").json()["epk"]
    body = {"request": hem.pairing_request(epk), "eid": hem.eid, "epk": epk}
    init = env.post("/notify/register/init", body).json()
    rid, link = init["rid"], init["link"]
    assert env.broker.expire_registration(rid) is True
    assert env.broker.expire_registration(rid) is False
    assert env.broker.expire_registration("nope") is False
    assert env.get(f"/notify/register/check/{rid}").status_code == 404
    assert env.http.get(link).status_code == 404
    # a finalised pairing no longer expires
    app = App()
    epk = env.get("/notify/session").json()["epk"]
    body = {"request": hem.pairing_request(epk), "eid": hem.eid, "epk": epk}
    init = env.post("/notify/register/init", body).json()
    rid, link = init["rid"], init["link"]
    app.pid = env.http.post(link, json=app.answer(env, link)).json()["pid"]
    reply = env.get(f"/notify/register/check/{rid}").json()["reply"]
    env.post(f"/notify/register/finalise/{rid}", {"kid": "0" * 32, "code": hem.code(reply)})
    assert env.broker.expire_registration(rid) is False
    assert env.get(f"/notify/register/check/{rid}").status_code == 200


def test_link_follows_the_host_the_requester_used(env: Env) -> None:
    hem = Hem()
    epk = env.get("/notify/session").json()["epk"]
    body = {"request": hem.pairing_request(epk), "eid": hem.eid, "epk": epk}
    port = env.url.rsplit(":", 1)[1]
    r = env.http.post(f"http://localhost:{port}/notify/register/init", json=body)
    assert r.json()["link"].startswith(f"http://localhost:{port}/notify/pairing/")


# ---------------------------------------------------------------------------- events


def test_event_flow_two_authenticators_one_answers(env: Env) -> None:
    hem, one, two = Hem(), App("One"), App("Two")
    pair(env, hem, one)
    pair(env, hem, two)
    stranger = App()  # paired to another HEM: never addressed
    pair(env, Hem(), stranger)

    assert env.post("/notify/event/data/allbypid", {"pid": [one.pid]}).json() == {"eventid": []}
    epk = env.get("/notify/session").json()["epk"]
    authreq = hem.authreq(epk, [one, two, stranger], "keymgmt:list")
    created = env.post("/notify/event/new", {"authreq": authreq, "epk": epk})
    assert created.status_code == 200
    event_id = created.json()["eventid"]
    assert len(event_id) == 5
    assert set(event_id) <= set(string.ascii_letters + string.digits)
    here = {"city": "This computer", "country": "", "ip": "127.0.0.1"}
    assert created.json()["ipinfo_you"] == created.json()["ipinfo_eid"] == here
    assert created.json()["ipinfo_aid"] == here

    pending = env.post("/notify/event/data/allbypid", {"pid": [one.pid, two.pid, stranger.pid]})
    assert pending.json() == {"eventid": {event_id: [one.pid, two.pid]}}
    assert env.post("/notify/event/data/allbypid", {"pid": [two.pid]}).json() == {
        "eventid": {event_id: [two.pid]}
    }
    assert env.get(f"/notify/event/check/{event_id}").status_code == 202

    data = env.get(f"/notify/event/data/{event_id}/{pidx(one.pid)}").json()
    parsed = ejwt.read_unverified(authreq)
    assert data == {
        "jti": parsed["jti"],
        "scope": parsed["scope"][one.pid],
        "epk": epk,
        "exp": parsed["exp"],
        "ipinfo_eid": here,
    }
    # The stranger is not addressed: 404, as for an unknown event.
    assert env.get(f"/notify/event/data/{event_id}/{pidx(stranger.pid)}").status_code == 404

    assert approve(env, one, event_id, mac=b64encode(os.urandom(32))).status_code == 401
    assert env.get(f"/notify/event/check/{event_id}").status_code == 202
    ok = approve(env, one, event_id)
    assert (ok.status_code, ok.json()) == (200, {})

    gone = env.get(f"/notify/event/data/{event_id}/{pidx(two.pid)}")
    assert (gone.status_code, gone.json()) == (410, {})  # handled elsewhere
    again = env.get(f"/notify/event/data/{event_id}/{pidx(one.pid)}")
    assert (again.status_code, again.json()) == (410, {})
    deny = env.delete(f"/notify/event/data/{event_id}/{pidx(two.pid)}", {})
    assert deny.status_code == 410
    check = env.get(f"/notify/event/check/{event_id}")
    assert check.status_code == 200
    authreply = check.json()["authreply"]
    assert ejwt.read_unverified(authreply)["pid"] == one.pid
    assert env.post("/notify/event/data/allbypid", {"pid": [one.pid, two.pid]}).json() == {
        "eventid": []
    }
    assert env.broker.summary()["events"]["approved"] == 1


def test_deny_answers_deny_true(env: Env) -> None:
    hem, app = Hem(), App()
    pair(env, hem, app)
    event_id = new_event(env, hem, [app])
    path = f"/notify/event/data/{event_id}/{pidx(app.pid)}"
    r = env.delete(path, {})
    assert (r.status_code, r.json()) == (200, {})
    assert env.get(f"/notify/event/check/{event_id}").json() == {"deny": True}
    assert env.get(path).status_code == 410
    assert env.get(path).json() == {}


def test_cancel_reaches_the_authenticator_as_410_cancelled(env: Env) -> None:
    hem, app = Hem(), App()
    pair(env, hem, app)
    event_id = new_event(env, hem, [app])
    path = f"/notify/event/data/{event_id}/{pidx(app.pid)}"
    assert env.get(path).status_code == 200
    r = env.delete(f"/notify/event/{event_id}")
    assert (r.status_code, r.json()) == (200, {})
    for resp in (env.get(path), approve_raw(env, path), env.delete(path, {})):
        assert (resp.status_code, resp.json()) == (410, {"reason": "cancelled"})
    check = env.get(f"/notify/event/check/{event_id}")
    assert (check.status_code, check.json()) == (410, {"reason": "cancelled"})
    assert env.post("/notify/event/data/allbypid", {"pid": [app.pid]}).json() == {"eventid": []}
    assert env.delete("/notify/event/nope").status_code == 404


def approve_raw(env: Env, path: str) -> httpx.Response:
    return env.post(path, {"authreply": "a.b.c", "mac": b64encode(bytes(32))})


def test_cancel_knob_and_expire_knob(env: Env) -> None:
    hem, app = Hem(), App()
    pair(env, hem, app)
    first, second = new_event(env, hem, [app]), new_event(env, hem, [app])
    assert env.broker.cancel_event(first) is True
    assert env.broker.cancel_event(first) is False
    assert env.get(f"/notify/event/data/{first}/{pidx(app.pid)}").json() == {"reason": "cancelled"}
    assert env.broker.expire_event(second) is True
    assert env.broker.expire_event(second) is False
    assert env.broker.expire_event("nope") is False
    assert env.broker.cancel_event(second) is False
    assert env.get(f"/notify/event/data/{second}/{pidx(app.pid)}").status_code == 404
    assert env.get(f"/notify/event/check/{second}").status_code == 404
    assert env.broker.summary()["events"] == {
        "pending": 0,
        "approved": 0,
        "denied": 0,
        "cancelled": 1,
        "expired": 1,
    }


def test_events_expire_with_their_authreq(env: Env) -> None:
    hem, app = Hem(), App()
    pair(env, hem, app)
    event_id = new_event(env, hem, [app])
    path = f"/notify/event/data/{event_id}/{pidx(app.pid)}"
    env.clock.now = T0 + 3600  # exp itself is still valid
    assert env.get(path).status_code == 200
    env.clock.now = T0 + 3601
    for resp in (
        env.get(path),
        env.get(f"/notify/event/check/{event_id}"),
        approve_raw(env, path),
        env.delete(path, {}),
        env.delete(f"/notify/event/{event_id}"),
    ):
        assert (resp.status_code, resp.json()) == (404, {})
    assert env.post("/notify/event/data/allbypid", {"pid": [app.pid]}).json() == {"eventid": []}


def test_event_new_refusals(env: Env) -> None:
    hem, app = Hem(), App()
    pair(env, hem, app)
    epk = env.get("/notify/session").json()["epk"]
    other = env.get("/notify/session").json()["epk"]

    future = env.post(
        "/notify/event/new", {"authreq": hem.authreq(epk, [app], iat=T0 + 30), "epk": epk}
    )
    assert future.status_code == 401
    assert future.json()["err"].startswith("Cannot handle token prior to ")
    assert "iat 1800000030" in future.json()["err"]
    # One second ahead is absorbed (rounding); the live service has no more tolerance.
    near = env.post(
        "/notify/event/new", {"authreq": hem.authreq(epk, [app], iat=T0 + 1), "epk": epk}
    )
    assert near.status_code == 200

    cases = [
        {"authreq": hem.authreq(epk, [app]), "epk": other},  # aud ≠ epk
        {"authreq": hem.authreq(epk, [app], secret=os.urandom(32)), "epk": epk},  # bad signature
        {"authreq": hem.authreq(epk, [app], iat=T0 - 7200), "epk": epk},  # expired
        {"authreq": hem.authreq(epk, [app]), "epk": KeyPair.generate().public.b64},  # no session
    ]
    for body in cases:
        r = env.post("/notify/event/new", body)
        assert (r.status_code, r.json()) == (401, {}), body
    assert env.post("/notify/event/new", {"authreq": "x.y.z", "epk": epk}).status_code == 400
    assert env.post("/notify/event/new", {"epk": epk}).status_code == 400


def test_event_for_nobody_stays_pending_until_it_expires(env: Env) -> None:
    hem = Hem()
    event_id = new_event(env, hem, [])
    assert env.get(f"/notify/event/check/{event_id}").status_code == 202
    assert env.get(f"/notify/event/data/{event_id}/abc").status_code == 404


def test_pidx_addressing_with_plus_slash_and_padding(env: Env) -> None:
    hem, app = Hem(), App()
    pid = pair(env, hem, app, pid_bytes=bytes.fromhex("fbffbf") * 10 + b"\xfb\xff")
    assert "+" in pid
    assert "/" in pid
    assert pid.endswith("=")
    event_id = new_event(env, hem, [app])
    assert env.post("/notify/event/data/allbypid", {"pid": [pid]}).json() == {
        "eventid": {event_id: [pid]}
    }
    # the app may list its pid in the URL-safe flavour too
    assert env.post("/notify/event/data/allbypid", {"pid": [pidx(pid)]}).json() == {
        "eventid": {event_id: [pid]}
    }
    assert env.get(f"/notify/event/data/{event_id}/{pidx(pid)}").status_code == 200
    assert approve(env, app, event_id).status_code == 200


def test_allbypid_refuses_malformed_lists(env: Env) -> None:
    for body in ({}, {"pid": [1]}, {"pid": {"a": 1}}, {"pid": ["x"] * 65}):
        assert env.post("/notify/event/data/allbypid", body).status_code == 400
    assert env.post("/notify/event/data/allbypid", {"pid": []}).json() == {"eventid": []}


def test_an_approval_must_be_a_jwt_with_a_mac(env: Env) -> None:
    hem, app = Hem(), App()
    pair(env, hem, app)
    event_id = new_event(env, hem, [app])
    path = f"/notify/event/data/{event_id}/{pidx(app.pid)}"
    assert (
        env.post(path, {"authreply": "not a jwt", "mac": b64encode(bytes(32))}).status_code == 400
    )
    assert env.post(path, {"authreply": "a.b.c"}).status_code == 400


# ---------------------------------------------------------------------------- subscribers


def test_subscribers_list_and_hem_side_delete(env: Env) -> None:
    hem, app = Hem(), App()
    pair(env, hem, app)
    pair(env, Hem(), App())
    epk = env.post("/notify/session", {"eid": hem.eid}).json()["epk"]
    bad = dict(hem.mac_proof(epk), mac=b64encode(os.urandom(32)))
    assert env.post("/notify/subscribers/list", bad).status_code == 401
    assert [s["pid"] for s in env.post("/notify/subscribers/list", hem.mac_proof(epk)).json()] == [
        app.pid
    ]
    # Another HEM cannot delete it.
    other = Hem()
    r = env.post("/notify/subscribers/delete", dict(other.mac_proof(epk), pid=app.pid))
    assert r.status_code == 404
    r = env.post("/notify/subscribers/delete", dict(bad, pid=app.pid))
    assert r.status_code == 401
    r = env.post("/notify/subscribers/delete", dict(hem.mac_proof(epk), pid=app.pid))
    assert (r.status_code, r.json()) == (200, {})
    assert env.post("/notify/subscribers/list", hem.mac_proof(epk)).json() == []
    assert env.post("/notify/session", {"eid": hem.eid}).json()["paired"] == 0
    assert env.broker.summary()["subscribers"] == 1


def test_app_side_unpair(env: Env) -> None:
    hem, app, other = Hem(), App(), App()
    pair(env, hem, app)
    pair(env, hem, other)
    epk = PublicKey.from_b64(
        env.post("/notify/session", {"aid": app.keys.public.b64}).json()["epk"]
    )
    # another pairing's key cannot remove this one
    forged = unpair_body(PairingKeys(other.keys, other.pairing.eid, app.pid), epk, os.urandom(32))
    assert env.post("/notify/subscribers/delete", forged).status_code == 401
    body = unpair_body(app.pairing, epk, os.urandom(32))
    assert (
        env.post("/notify/subscribers/delete", dict(body, mac=b64encode(bytes(32)))).status_code
        == 401
    )
    env.broker.subscribers_delete_live_404 = True
    assert env.post("/notify/subscribers/delete", body).status_code == 404
    env.broker.subscribers_delete_live_404 = False
    r = env.post("/notify/subscribers/delete", body)
    assert (r.status_code, r.json()) == (200, {})
    assert env.post("/notify/subscribers/delete", body).status_code == 404
    assert env.broker.subscriber_pids(hem.eid) == [other.pid]
    both = dict(body, eid=hem.eid)
    assert env.post("/notify/subscribers/delete", both).status_code == 400


# ---------------------------------------------------------------------------- knobs, counters


def test_location_knob_and_call_counters(env: Env) -> None:
    env.broker.set_location("Warsaw", "PL")
    hem = Hem()
    epk = env.get("/notify/session").json()["epk"]
    init = env.post(
        "/notify/register/init", {"request": hem.pairing_request(epk), "eid": hem.eid, "epk": epk}
    )
    served = env.http.get(init.json()["link"]).json()
    assert served["ipinfo_eid"] == {"city": "Warsaw", "country": "PL", "ip": "127.0.0.1"}
    calls = env.broker.calls
    assert calls["GET /notify/session"] == 1
    assert calls["POST /notify/register/init"] == 1
    assert calls["GET /notify/pairing/{link_id}"] == 1
    summary = env.broker.summary()
    assert summary["sessions"] == 1
    assert summary["registrations"]["pending"] == 1
    assert summary["calls"] == 3
    env.broker.reset()
    assert env.broker.calls == {}
    assert env.broker.ipinfo("127.0.0.1")["city"] == "This computer"
    assert env.broker.ipinfo("192.0.2.7") == {"city": "", "country": "", "ip": "192.0.2.7"}
    assert env.broker.ipinfo("not an ip")["city"] == ""


def test_concurrent_callers_are_all_counted(env: Env) -> None:
    hem, app = Hem(), App()
    pair(env, hem, app)
    before = env.broker.calls.get("POST /notify/event/data/allbypid", 0)

    def poll(_: int) -> int:
        with httpx.Client(timeout=10) as c:
            r = c.post(env.url + "/notify/event/data/allbypid", json={"pid": [app.pid]})
            return r.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(poll, range(40)))
    assert codes == [200] * 40
    assert env.broker.calls["POST /notify/event/data/allbypid"] == before + 40

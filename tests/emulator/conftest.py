"""Fixtures for the emulator's tests: one real emulator over HTTP, reset before every test.

Nothing here is autouse: the broker's and the demo page's tests run their own servers. The HEM,
server and fault tests ask for :func:`emu`, which hands them a :class:`Kit` bound to a shared
emulator (started once per session, reset per test, pacing off) and the helpers that play the
other side of the protocol the way real peers do — with ``authenticator.protocol``.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from authenticator.emulator.hem.device import HemDevice
from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread
from authenticator.protocol.access import AuthReq, PairingKeys, build_authreply, open_authreq
from authenticator.protocol.ejwt import encode
from authenticator.protocol.keys import KeyPair, PublicKey
from authenticator.protocol.login import LoginChallenge, build_login_proof, derive_user_key
from authenticator.protocol.pairing import (
    PairingRequest,
    ValidateResult,
    answer_pairing,
    check_pairing_code,
    new_pid,
)
from authenticator.protocol.periods import Period

PASSPHRASE = "demo"


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, read without verification."""
    body = token.split(".")[1]
    result = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert isinstance(result, dict)
    return result


@functools.cache
def user_key(passphrase: str, eid: str) -> KeyPair:
    """The PBKDF2 derivation is slow on purpose; the emulator keeps its eid across resets."""
    return derive_user_key(passphrase, eid)


@dataclass
class Pairing:
    """What the authenticator side keeps after a direct pairing."""

    keys: PairingKeys
    kid: str
    code: str
    reply: str = field(repr=False)

    @property
    def aid(self) -> KeyPair:
        return self.keys.aid


@dataclass
class Request:
    """An ``authreq`` fetched with our own ephemeral key, opened for one pairing."""

    authreq: AuthReq
    epk: KeyPair
    scope: str


class Kit:
    """A client of one emulated HEM, doing each step as the real peers do."""

    def __init__(self, running: RunningEmulator, index: int = 0) -> None:
        self.running = running
        self.index = index

    @property
    def emulator(self) -> Emulator:
        return self.running.emulator

    @property
    def device(self) -> HemDevice:
        device = self.emulator.hem(self.index)
        assert device is not None
        return device

    @property
    def url(self) -> str:
        return self.running.urls.hems[self.index]

    @property
    def origin(self) -> str:
        return self.running.urls.origin

    def client(self, timeout: float = 10.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def request_(
        self, method: str, path: str, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with self.client() as c:
            return c.request(method, path, headers=headers, **kw)

    def get(self, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        return self.request_("GET", path, token, **kw)

    def post(
        self, path: str, body: Mapping[str, Any] | None = None, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        if "content" not in kw:
            kw["json"] = dict(body or {})
        return self.request_("POST", path, token, **kw)

    def delete(self, path: str, token: str | None = None) -> httpx.Response:
        return self.request_("DELETE", path, token)

    # ---------------------------------------------------------------- login

    def challenge(self) -> LoginChallenge:
        r = self.get("/api/auth/token")
        assert r.status_code == 200, r.status_code
        return LoginChallenge.from_json(r.json())

    def proof(
        self,
        scope: str | None = "auth:ext:pair",
        *,
        passphrase: str = PASSPHRASE,
        key: KeyPair | None = None,
        lifetime: int = 3600,
        exp: int | None = None,
        ctx: str | int | None = None,
    ) -> str:
        ch = self.challenge()
        now = self.device.clock.now()
        key = key or user_key(passphrase, ch.eid)
        return build_login_proof(
            key, ch, now=now, exp=now + lifetime if exp is None else exp, scope=scope, ctx=ctx
        )

    def raw_proof(self, *, passphrase: str = PASSPHRASE, **claims: Any) -> str:
        """A login proof with any claims (``...`` drops one), for what the protocol won't build."""
        ch = self.challenge()
        key = user_key(passphrase, ch.eid)
        now = self.device.clock.now()
        payload = {"jti": ch.jti, "aud": ch.spk, "exp": now + 60, "iat": now, "iss": key.public.b64}
        payload |= claims
        payload = {k: v for k, v in payload.items() if v is not ...}
        return encode(payload, key.exchange(PublicKey.from_b64(ch.spk)))

    def login_response(self, scope: str | None = "auth:ext:pair", **kw: Any) -> httpx.Response:
        return self.post("/api/auth/token", {"auth": self.proof(scope, **kw)})

    def login(self, scope: str | None = "auth:ext:pair", **kw: Any) -> str:
        r = self.login_response(scope, **kw)
        assert r.status_code == 200, r.status_code
        token = r.json()["token"]
        assert isinstance(token, str)
        return token

    # ---------------------------------------------------------------- pairing

    def pairing_request(self, token: str, epk: KeyPair) -> PairingRequest:
        r = self.post("/api/auth/ext/init", {"epk": epk.public.b64}, token)
        assert r.status_code == 200, r.status_code
        return PairingRequest.parse(r.json()["request"])

    def pair(
        self,
        *,
        label: str = "Test desktop (Linux)",
        pid: str | None = None,
        token: str | None = None,
    ) -> Pairing:
        """A complete direct pairing: login, ext/init with our own epk, reply, validate, code."""
        token = token or self.login("auth:ext:pair")
        epk = KeyPair.generate()
        request = self.pairing_request(token, epk)
        request.verify_signature(epk)
        aid = KeyPair.generate()
        answer = answer_pairing(request, aid, label=label)
        pid = pid or new_pid()
        r = self.post("/api/auth/ext/validate", {"pid": pid, "reply": answer.reply}, token)
        assert r.status_code == 200, r.status_code
        result = ValidateResult.from_json(r.json())
        check_pairing_code(result.code, reply=answer.reply, epk=epk, eid=request.eid)
        keys = PairingKeys(aid=aid, eid=request.eid, pid=pid)
        return Pairing(keys=keys, kid=result.kid, code=result.code, reply=answer.reply)

    # ---------------------------------------------------------------- access

    def request(
        self, scope: str, pairing: Pairing | None = None, **extra: Any
    ) -> tuple[httpx.Response, KeyPair]:
        epk = KeyPair.generate()
        return self.post(
            "/api/auth/ext/request", {"epk": epk.public.b64, "scope": scope, **extra}
        ), epk

    def open(self, scope: str, pairing: Pairing, **extra: Any) -> Request:
        r, epk = self.request(scope, **extra)
        assert r.status_code == 200, r.status_code
        authreq = AuthReq.parse(r.json()["authreq"])
        authreq.verify_signature(epk)
        opened = open_authreq(authreq, pairing.keys, now=self.device.clock.now())
        return Request(authreq=authreq, epk=epk, scope=opened)

    def authreply(
        self,
        req: Request,
        pairing: Pairing,
        *,
        granted: str | None = None,
        period: Period = Period.MIN15,
    ) -> str:
        return build_authreply(
            pairing.keys,
            jti=req.authreq.jti,
            granted=req.scope if granted is None else granted,
            period=period,
            now=self.device.clock.now(),
        )

    def redeem(self, authreply: str) -> httpx.Response:
        return self.post("/api/auth/ext/token", {"authreply": authreply})

    def approve(self, scope: str, pairing: Pairing, **kw: Any) -> str:
        """Request → open → authreply → ext/token: the bearer token of an approval."""
        req = self.open(scope, pairing)
        r = self.redeem(self.authreply(req, pairing, **kw))
        assert r.status_code == 200, r.status_code
        token = r.json()["token"]
        assert isinstance(token, str)
        return token


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[RunningEmulator]:
    with serve_in_thread(hem_count=2) as running:
        yield running


@pytest.fixture
def emu(shared_emulator: RunningEmulator) -> Kit:
    """HEM 0 of the shared emulator, reset, with pacing off."""
    shared_emulator.emulator.reset()
    for device in shared_emulator.emulator.hems:
        device.set_pacing(0, 0)
    return Kit(shared_emulator)


@pytest.fixture
def now() -> int:
    return int(time.time())

"""A third-party HEM client, written from the HEM API documents alone, against the emulator over
HTTPS: version (and the hardware form it names), status, check-in, configuration, key management.

The client below deliberately shares no code with the app: it implements the passphrase KDF,
the ECDH-JWT and the check-in bounce from spec/hem-api.md §0–§4 with the standard library,
``cryptography`` and ``httpx``, the way an SDK author would (its KDF is first checked against the
documents' known-answer vector). It behaves like the SDKs: a new connection for every request
(the device closes after each answer), TLS verified against the certificate it was given, the
hardware form told from ``hwv`` ("PPA"/"EPA", anything else is unknown and its hardware checks
are off), ``blv`` read unconditionally, the inverted ``inited`` flag, ``ts`` only while the RTC
is set, and the check-in relayed to a backend it is configured with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread

PASSPHRASE = "demo"


# ---------------------------------------------------------------------------- the client


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    """Both alphabets, padding optional (what the device accepts and emits)."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def user_key(passphrase: str, eid: str) -> X25519PrivateKey:
    """§2: PBKDF2-HMAC-SHA256 over the passphrase, salted with the eid *text*, 600 000 rounds,
    used directly as the X25519 scalar (the library clamps it)."""
    seed = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), eid.encode(), 600_000, 32)
    return X25519PrivateKey.from_private_bytes(seed)


def ejwt(payload: dict[str, Any], secret: bytes) -> str:
    """§3: compact JWS, HS256 keyed with the raw X25519 shared secret, clients' header order."""
    header = {"ecdh": "x25519", "alg": "HS256", "typ": "JWT"}

    def part(obj: dict[str, Any]) -> str:
        return _b64url(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())

    signing_input = f"{part(header)}.{part(payload)}"
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def claims(jwt: str) -> dict[str, Any]:
    result = json.loads(_unb64(jwt.split(".")[1]))
    assert isinstance(result, dict)
    return result


class DocClient:
    """What an SDK written from the documents does, one method per documented call."""

    def __init__(self, url: str, *, backend: str, tls: ssl.SSLContext) -> None:
        self.url = url.rstrip("/")
        self.backend = backend.rstrip("/")
        self.tls = tls
        self._key: X25519PrivateKey | None = None

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: object = None,
        base: str | None = None,
    ) -> httpx.Response:
        headers = {"Connection": "close"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        # a fresh connection per request: the device closes after every answer
        with httpx.Client(verify=self.tls, timeout=15.0) as c:
            return c.request(
                method,
                (base or self.url) + path,
                headers=headers,
                json=body if method != "GET" else None,
            )

    def ok(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        r = self.call(method, path, **kw)
        assert r.status_code == 200, (method, path, r.status_code)
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert isinstance(body, dict)
        return body

    # -- open endpoints

    def version(self) -> dict[str, Any]:
        raw = self.ok("GET", "/api/system/version")
        return {
            "hwv": raw["hwv"],
            "fwv": raw["fwv"],
            "fws": raw["fws"],
            "blv": raw["blv"],
            "uis": raw.get("uis"),
        }

    def hardware(self) -> str:
        hwv = self.version()["hwv"]
        return "EPA" if "EPA" in hwv else "PPA" if "PPA" in hwv else "UNKNOWN"

    def status(self) -> dict[str, Any]:
        raw = self.ok("GET", "/api/system/status")
        ts = raw.get("ts")
        return {
            "initialized": "inited" not in raw,  # present only when NOT personalised
            "ts": None if ts is None else datetime.fromisoformat(ts.replace("Z", "+00:00")),
            "time": raw.get("time"),
            "fls_state": raw["fls_state"],
            "storage": raw.get("storage"),
        }

    def checkin(self) -> str:
        """The three-step bounce: HEM challenge → backend → HEM; returns the HEM's status."""
        challenge = self.ok("GET", "/api/system/checkin")
        answer = self.ok("POST", "/checkin", body=challenge, base=self.backend)
        return str(self.ok("POST", "/api/system/checkin", body=answer)["status"])

    # -- login

    def login(self, scope: str, lifetime: int = 3600) -> str:
        challenge = self.ok("GET", "/api/auth/token")
        for field in ("exp", "spk", "jti", "eid"):
            assert field in challenge
        if self._key is None:
            self._key = user_key(PASSPHRASE, challenge["eid"])
        spk = X25519PublicKey.from_public_bytes(_unb64(challenge["spk"]))
        now = int(time.time())
        proof = ejwt(
            {
                "jti": challenge["jti"],
                "aud": challenge["spk"],
                "exp": now + lifetime,
                "iat": now,
                "iss": _b64(_public(self._key)),
                "scope": scope,
            },
            self._key.exchange(spk),
        )
        token = self.ok("POST", "/api/auth/token", body={"auth": proof})["token"]
        assert isinstance(token, str)
        return token

    # -- bearer endpoints

    def config(self, token: str) -> dict[str, Any]:
        return self.ok("GET", "/api/system/config", token=token)

    def keys(self, token: str) -> list[dict[str, Any]]:
        found = self.ok("GET", "/api/keymgmt/list", token=token)["list"]
        assert isinstance(found, list)
        return found


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module", params=["ppa", "epa"])
def hem(request: pytest.FixtureRequest) -> Iterator[tuple[RunningEmulator, str]]:
    form = str(request.param)
    emulator = Emulator(hem_count=1, hardware=form, broker=False, demo=False)
    with serve_in_thread(emulator, https=True) as running:
        running.emulator.hems[0].set_pacing(0, 0)
        yield running, form


@pytest.fixture
def client(hem: tuple[RunningEmulator, str]) -> DocClient:
    running, _ = hem
    running.emulator.reset()
    running.emulator.hems[0].set_pacing(0, 0)
    assert running.cert_path is not None
    tls = ssl.create_default_context(cafile=str(running.cert_path))
    return DocClient(running.urls.hems[0], backend=running.urls.backend, tls=tls)


# ---------------------------------------------------------------------------- the flow


def test_the_clients_kdf_and_ejwt_match_the_documents_vector() -> None:
    """§2's known-answer vector: the client below is the documents' client."""
    key = user_key("correct horse battery staple", "d4ad81b06b1d493ab2b6f9b1a3e2c7f0")
    spk_text = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
    assert _b64(_public(key)) == "CdLq53eX780FeZR4/hOee5rTtcl7ajJdYwVwcjL5cxY="
    spk = X25519PublicKey.from_public_bytes(_unb64(spk_text))
    payload = {
        "jti": "0123456789abcdef",
        "aud": spk_text,
        "exp": 1700003600,
        "iat": 1700000000,
        "iss": _b64(_public(key)),
        "scope": "keymgmt:gen",
    }
    assert ejwt(payload, key.exchange(spk)).endswith(".oPm7pWzqB9VImg5OpTllCqbQAO-xkdgoRfdzyLj09qE")


def test_version_names_the_hardware_form(
    client: DocClient, hem: tuple[RunningEmulator, str]
) -> None:
    _, form = hem
    version = client.version()
    assert client.hardware() == form.upper()  # not "UNKNOWN": the client's hardware checks run
    assert version["fwv"].startswith("Encedo nGINE FW v1.2.2")
    assert version["blv"]
    assert len(_unb64(version["fws"])) == 64
    assert (version["uis"] is not None) == (form == "ppa")  # only a PPA hosts the Manager


def test_status(client: DocClient, hem: tuple[RunningEmulator, str]) -> None:
    _, form = hem
    status = client.status()
    assert status["initialized"] is True
    assert status["fls_state"] == 0
    assert status["ts"] is not None
    assert status["ts"].tzinfo == UTC
    assert abs(status["ts"].timestamp() - status["time"]) < 1
    if form == "ppa":  # sectors and mode per disk; both locked
        assert all(
            s.split(":")[0].isdigit() and s.split(":")[1] in ("rw", "ro", "-")
            for s in status["storage"]
        )
        assert len(status["storage"]) == 2
    else:
        assert status["storage"] is None


def test_check_in_sets_an_unset_or_drifted_clock(
    client: DocClient, hem: tuple[RunningEmulator, str]
) -> None:
    running, _ = hem
    device = running.emulator.hems[0]
    device.set_rtc(False)
    assert client.status()["ts"] is None  # RTC unset: no ts, no time
    assert (
        client.call(
            "POST", "/api/auth/ext/request", body={"epk": _b64(bytes(32)), "scope": "keymgmt:list"}
        ).status_code
        == 403
    )
    device.clock.set_skew(7000)  # and drifted, as a real RTC does between check-ins
    assert client.checkin() == "OK"
    status = client.status()
    assert status["ts"] is not None
    assert abs(status["time"] - time.time()) < 5
    # a check-in challenge is single use
    challenge = client.ok("GET", "/api/system/checkin")
    answer = client.ok("POST", "/checkin", body=challenge, base=client.backend)
    assert client.call("POST", "/api/system/checkin", body=answer).status_code == 200
    assert client.call("POST", "/api/system/checkin", body=answer).status_code == 401


def test_config(client: DocClient, hem: tuple[RunningEmulator, str]) -> None:
    _, form = hem
    token = client.login("system:config")
    config = client.config(token)
    for field in (
        "iat",
        "uts",
        "devid",
        "eid",
        "eid_sign",
        "user",
        "email",
        "hostname",
        "dnsd",
        "trusted_ts",
        "trusted_backend",
        "allow_keysearch",
        "origin",
        "ctx",
        "http_option_hsts",
        "http_option_dosprot_mode",
        "ip",
        "spk",
        "nonce",
    ):
        assert field in config, field
    assert abs(config["iat"] - time.time()) < 5
    ppa_only = {"genuine_id", "storage_mode", "storage_disk0size", "storage_capacity"}
    assert (ppa_only <= config.keys()) == (form == "ppa")
    assert not ppa_only & config.keys() or form == "ppa"
    # the bearer's claims as the documents describe them
    bearer = claims(token)
    assert list(bearer) == ["scope", "sub", "iat", "exp", "jti"]
    assert (bearer["scope"], bearer["sub"]) == ("system:config", "U")
    r = client.call("POST", "/api/system/config", token=token, body={"user": "Third Party"})
    assert (r.status_code, r.json()) == (200, {"updated": True})
    assert client.ok("GET", "/api/auth/token")["lbl"] == "Third Party"
    # a wrong scope is 403; a bad bearer is 401 even on an open endpoint
    assert (
        client.call("GET", "/api/system/config", token=client.login("keymgmt:list")).status_code
        == 403
    )
    assert client.call("GET", "/api/system/status", token=token[:-2] + "xx").status_code == 401


def test_key_management(client: DocClient) -> None:
    listed = client.keys(client.login("keymgmt:list"))
    assert {k["label"] for k in listed} >= {"PGP main", "Backup AES"}
    for key in listed:
        assert re.fullmatch(r"[0-9a-f]{32}", key["kid"])
    descr = b"third-party client"
    created = client.ok(
        "POST",
        "/api/keymgmt/create",
        token=client.login("keymgmt:gen"),
        body={"label": "SDK test", "type": "ED25519", "descr": _b64(descr)},
    )
    kid = created["kid"]
    details = client.ok("GET", f"/api/keymgmt/get/{kid}", token=client.login("keymgmt:get"))
    assert details["type"] == "ED25519"
    assert len(_unb64(details["pubkey"])) == 32
    # anonymous search: a ^-anchored needle of at least 6 bytes, allow_keysearch on
    found = client.ok("POST", "/api/keymgmt/search", body={"descr": "^" + _b64(descr[:9])})
    assert [k["kid"] for k in found["list"]] == [kid]
    assert (
        client.call("POST", "/api/keymgmt/search", body={"descr": "^" + _b64(b"thi")}).status_code
        == 401
    )
    # scopes are prefix matches: a list token cannot create or delete
    list_token = client.login("keymgmt:list")
    assert client.call("DELETE", f"/api/keymgmt/delete/{kid}", token=list_token).status_code == 403
    delete_token = client.login("keymgmt:del")
    assert (
        client.call("DELETE", f"/api/keymgmt/delete/{kid}", token=delete_token).status_code == 200
    )
    assert (
        client.call("GET", f"/api/keymgmt/get/{kid}", token=client.login("keymgmt:get")).status_code
        == 406
    )


def test_the_device_says_it_closes_every_connection(client: DocClient) -> None:
    """Why the client opens a new connection per request: every answer says ``close``."""
    for path in ("/api/system/version", "/api/system/status", "/api/system/checkin"):
        assert client.call("GET", path).headers["connection"] == "close"
    assert client.call("GET", "/api/no/such/thing").headers["connection"] == "close"

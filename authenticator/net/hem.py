"""``HemClient``: the HEM's HTTP API, one method per endpoint (spec/hem-api.md §4).

Every request carries ``Connection: close`` and never reuses a connection (the device closes
after each answer). TLS is verified against the system's authorities, or — for a HEM whose
certificate the person confirmed — against that pinned certificate only. The bearer token is
passed per call and never stored here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from authenticator.errors import BadResponseError, DecodeError
from authenticator.net.tls import pinned_context
from authenticator.net.transport import Transport
from authenticator.protocol.b64 import b64decode
from authenticator.protocol.jsonutil import get_str
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.login import LoginChallenge, build_login_proof, derive_user_key
from authenticator.protocol.pairing import ValidateResult
from authenticator.protocol.urls import check_url

__all__ = ["HemClient"]


class HemClient:
    """A HEM at ``base_url`` (an origin, optionally with a path prefix such as ``/hem/1``)."""

    def __init__(
        self,
        base_url: str,
        *,
        pinned_cert: str | None = None,
        timeout: float = 10.0,
        connect_timeout: float | None = None,
    ) -> None:
        self.base_url = check_url(base_url, what="HEM address").rstrip("/")
        verify = pinned_context(pinned_cert) if pinned_cert else True
        self._t = Transport(
            peer="the HEM",
            timeout=timeout,
            connect_timeout=connect_timeout,
            verify=verify,
            close_each=True,
        )

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> HemClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _get(self, path: str, token: str | None = None) -> dict[str, Any]:
        return self._t.json_object(self._t.request("GET", self._url(path), token=token))

    def _post(self, path: str, body: Mapping[str, Any], token: str | None = None) -> dict[str, Any]:
        answer = self._t.request("POST", self._url(path), body=body, token=token)
        return {} if answer.data is None else self._t.json_object(answer)

    def _field(self, obj: Mapping[str, Any], name: str) -> str:
        try:
            return get_str(obj, name, what="HEM answer")
        except DecodeError as exc:
            raise BadResponseError(f"The HEM's answer has no {name!r}.") from exc

    # ------------------------------------------------------------------ open endpoints

    def status(self) -> dict[str, Any]:
        return self._get("/api/system/status")

    def version(self) -> dict[str, Any]:
        return self._get("/api/system/version")

    def login_challenge(self) -> LoginChallenge:
        try:
            return LoginChallenge.from_json(self._get("/api/auth/token"))
        except DecodeError as exc:
            raise BadResponseError("The HEM's login challenge is malformed.") from exc

    def post_login(self, proof: str) -> str:
        return self._field(self._post("/api/auth/token", {"auth": proof}), "token")

    def login(self, passphrase: str, *, scope: str, now: int, lifetime: int = 3600) -> str:
        """Passphrase login (hem-api.md §2) → a bearer token with ``scope``.

        Runs PBKDF2 (600 000 rounds): call it off any UI thread. The derived key lives only for
        the length of this call.
        """
        challenge = self.login_challenge()
        key = derive_user_key(passphrase, challenge.eid)
        return self.login_with_key(
            key, scope=scope, now=now, lifetime=lifetime, challenge=challenge
        )

    def user_key(self, passphrase: str) -> KeyPair:
        """Derive the user key once (PBKDF2) for several logins with different scopes.

        The HEM checks scopes by prefix, so deleting a key found by a search needs two tokens.
        """
        return derive_user_key(passphrase, self.login_challenge().eid)

    def login_with_key(
        self,
        key: KeyPair,
        *,
        scope: str,
        now: int,
        lifetime: int = 3600,
        challenge: LoginChallenge | None = None,
    ) -> str:
        """A login with an already derived user key (a fresh single-use challenge each time)."""
        challenge = challenge or self.login_challenge()
        proof = build_login_proof(key, challenge, now=now, exp=now + lifetime, scope=scope)
        return self.post_login(proof)

    def init_challenge(self) -> dict[str, Any]:
        return self._get("/api/auth/init")

    def init(self, init_jwt: str) -> dict[str, Any]:
        return self._post("/api/auth/init", {"init": init_jwt})

    def checkin_challenge(self) -> str:
        return self._field(self._get("/api/system/checkin"), "check")

    def checkin(self, checked: str) -> dict[str, Any]:
        return self._post("/api/system/checkin", {"checked": checked})

    def ext_request(
        self, epk: str, scope: str, *, ctx: str | None = None, note: str | None = None
    ) -> tuple[str, str]:
        """``/api/auth/ext/request`` → (authreq, epk echoed)."""
        body: dict[str, Any] = {"epk": epk, "scope": scope}
        if ctx is not None:
            body["ctx"] = ctx
        if note is not None:
            body["note"] = note
        answer = self._post("/api/auth/ext/request", body)
        return self._field(answer, "authreq"), self._field(answer, "epk")

    def ext_token(self, authreply: str) -> str:
        """Redeem an approval at ``/api/auth/ext/token`` → the bearer token."""
        return self._field(self._post("/api/auth/ext/token", {"authreply": authreply}), "token")

    # ------------------------------------------------------------------ bearer endpoints

    def config(self, token: str) -> dict[str, Any]:
        return self._get("/api/system/config", token)

    def set_config(self, token: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self._post("/api/system/config", changes, token)

    def ext_init(self, token: str, epk: str) -> tuple[str, str]:
        """``/api/auth/ext/init`` → (pairing request JWT, eid)."""
        answer = self._post("/api/auth/ext/init", {"epk": epk}, token)
        return self._field(answer, "request"), self._field(answer, "eid")

    def ext_validate(self, token: str, pid: str, reply: str) -> ValidateResult:
        answer = self._post("/api/auth/ext/validate", {"pid": pid, "reply": reply}, token)
        try:
            return ValidateResult.from_json(answer)
        except DecodeError as exc:
            raise BadResponseError("The HEM's pairing confirmation is malformed.") from exc

    def ext_mac(self, token: str, epk: str) -> dict[str, Any]:
        answer = self._post("/api/auth/ext/mac", {"epk": epk}, token)
        for name in ("nonce", "mac", "eid"):
            self._field(answer, name)
        b64decode(answer["nonce"], what="HEM nonce")
        return answer

    def keymgmt_list(self, token: str) -> dict[str, Any]:
        return self._get("/api/keymgmt/list", token)

    def keymgmt_search(self, descr: str, token: str | None = None) -> dict[str, Any]:
        return self._post("/api/keymgmt/search", {"descr": descr}, token)

    def keymgmt_get(self, token: str, kid: str) -> dict[str, Any]:
        return self._get(f"/api/keymgmt/get/{quote(kid, safe='')}", token)

    def keymgmt_create(self, token: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._post("/api/keymgmt/create", body, token)

    def keymgmt_delete(self, token: str, kid: str) -> None:
        self._t.request(
            "DELETE", self._url(f"/api/keymgmt/delete/{quote(kid, safe='')}"), token=token
        )

"""The requesting client — the Encedo Manager's role — over real HTTP (spec/protocol.md §4–§5).

It talks only HTTP, through :mod:`authenticator.net`, so it works against any HEM and broker:
the built-in emulator, or a real device and the live notify service.

* **Pairing** (§4.1): user login for ``auth:ext:pair`` → ``GET config`` → ``POST
  /notify/session {eid}`` → ``ext/init {epk}`` → ``register/init`` → QR code
  ``{link, hash, user, email, hostname, url}``; :meth:`PairingSession.poll` then checks the
  registration, and once the authenticator accepted, has the HEM validate the reply and the
  broker finalise it.
* **Access** (§5.1): check in if the HEM's clock is unset → ``GET /notify/session`` →
  ``ext/request {epk, scope}`` → ``event/new``; :meth:`AccessSession.poll` checks the event and
  redeems an approval at ``ext/token``. The session gives up (and withdraws the event) after
  ``wait`` seconds, as the Manager does after 60 s.
* **Direct** (§5.9): :meth:`Requester.direct_authreq` asks the HEM with a key of our own (so the
  caller can verify the ``authreq``'s signature) and :meth:`Requester.redeem` trades the answer.

Everything blocks: call it from a worker thread. The clock is the ``now`` callable. The
passphrase and bearer tokens are kept in memory only and never logged.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from authenticator.errors import (
    AuthenticatorError,
    BadResponseError,
    Forbidden,
    Gone,
    HemFullError,
    NotAcceptable,
    NotFound,
    StateError,
    Unauthorized,
)
from authenticator.net.broker import BrokerClient
from authenticator.net.hem import HemClient
from authenticator.net.tls import pinned_context
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.jsonutil import compact_json
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.links import make_pair_link
from authenticator.protocol.pairing import QrPayload, request_hash

__all__ = [
    "PAIR_SCOPE",
    "AccessResult",
    "AccessSession",
    "AccessState",
    "HemInfo",
    "PairingSession",
    "PairingState",
    "Requester",
]

log = logging.getLogger(__name__)

PAIR_SCOPE = "auth:ext:pair"
"""The login scope for pairing: the HEM accepts it for ``config`` and ``ext/init|validate|mac``."""

DEFAULT_WAIT = 60
"""Seconds an access request waits for an answer before it is withdrawn (the Manager's 60 s)."""

_TOKEN_LIFETIME = 3600
_TOKEN_MARGIN = 60

PairingState = Literal["pending", "paired", "refused", "expired"]
AccessState = Literal["pending", "approved", "denied", "expired", "cancelled", "failed"]
Now = Callable[[], int]
_T = TypeVar("_T")


def _wall_clock() -> int:
    return int(time.time())


@dataclass(frozen=True, slots=True)
class HemInfo:
    """Who the HEM says it is (``GET /api/system/config``)."""

    user: str
    email: str
    hostname: str
    eid: str

    def to_json(self) -> dict[str, str]:
        return {"user": self.user, "email": self.email, "hostname": self.hostname, "eid": self.eid}


@dataclass(frozen=True, slots=True)
class AccessResult:
    """Where an access request stands. ``token`` and ``claims`` only once approved; ``error`` says
    why a ``failed`` request failed (the HEM refused to redeem the approval)."""

    state: AccessState
    token: str | None = field(default=None, repr=False)
    claims: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


def _text(config: Mapping[str, Any], name: str) -> str:
    value = config.get(name)
    return value if isinstance(value, str) else ""


class Requester:
    """The Manager role for one HEM (``hem_url``) and one broker (``broker_url``).

    ``backend_url`` is the check-in service (needed only while the HEM's clock is unset);
    ``passphrase`` is the HEM user's (needed for pairing and key look-ups, never for access
    requests); ``pinned_cert`` is the PEM certificate to trust for an ``https://`` emulator.
    """

    def __init__(
        self,
        hem_url: str,
        broker_url: str,
        *,
        backend_url: str | None = None,
        passphrase: str | None = None,
        pinned_cert: str | None = None,
        now: Now = _wall_clock,
        timeout: float = 10.0,
    ) -> None:
        self.hem_url = hem_url.rstrip("/")
        self.backend_url = backend_url
        self.now = now
        self._passphrase = passphrase
        self.hem = HemClient(self.hem_url, pinned_cert=pinned_cert, timeout=timeout)
        verify: Any = pinned_context(pinned_cert) if pinned_cert else True
        self.broker = BrokerClient(broker_url, timeout=timeout, verify=verify)
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, int]] = {}
        self._info: HemInfo | None = None

    def __repr__(self) -> str:
        return f"Requester(hem={self.hem_url!r}, broker={self.broker.origin!r})"

    def close(self) -> None:
        self.hem.close()
        self.broker.close()

    def __enter__(self) -> Requester:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ logins

    def _login(self, scope: str) -> str:
        """A user bearer token for ``scope``, reused while it is comfortably valid."""
        if self._passphrase is None:
            raise StateError("The HEM passphrase is needed for this; none was given.")
        now = self.now()
        with self._lock:
            cached = self._tokens.get(scope)
        if cached is not None and now < cached[1] - _TOKEN_MARGIN:
            return cached[0]
        token = self.hem.login(self._passphrase, scope=scope, now=now, lifetime=_TOKEN_LIFETIME)
        with self._lock:
            self._tokens[scope] = (token, now + _TOKEN_LIFETIME)
        log.info("Logged in to the HEM for %s.", scope)
        return token

    def _as_user(self, scope: str, call: Callable[[str], _T]) -> _T:
        """Run ``call(token)``; after a 401 (the HEM rebooted: tokens die) log in again once;
        after a 403 with the HEM's clock unset (trusted time refuses logins), check in first."""
        try:
            return call(self._login(scope))
        except Unauthorized:
            with self._lock:
                self._tokens.pop(scope, None)
            return call(self._login(scope))
        except Forbidden:
            if not self.check_in_if_needed():
                raise
            return call(self._login(scope))

    # ------------------------------------------------------------------ the HEM

    def check_in_if_needed(self, *, force: bool = False) -> bool:
        """Set the HEM's clock through the check-in service when it is unset (``ts`` absent
        from ``status``). Returns whether a check-in happened."""
        if not force and "ts" in self.hem.status():
            return False
        if self.backend_url is None:
            raise StateError("The HEM's clock is not set and no check-in service is configured.")
        check = self.hem.checkin_challenge()
        checked = BrokerClient.post_checkin(self.backend_url, check)
        self.hem.checkin(checked)
        log.info("Checked the HEM in (its clock is now set).")
        return True

    def hem_info(self, *, refresh: bool = False) -> HemInfo:
        """User, e-mail, hostname and eid from the HEM's configuration (cached)."""
        with self._lock:
            cached = self._info
        if cached is not None and not refresh:
            return cached
        config = self._as_user(PAIR_SCOPE, self.hem.config)
        info = HemInfo(
            user=_text(config, "user"),
            email=_text(config, "email"),
            hostname=_text(config, "hostname"),
            eid=_text(config, "eid"),
        )
        if not info.eid:
            raise BadResponseError("The HEM's configuration has no eid.")
        with self._lock:
            self._info = info
        return info

    def paired_count(self) -> int:
        """How many authenticators the broker knows for this HEM (``session {eid}``'s
        ``paired``)."""
        answer = self.broker.session_for_eid(self.hem_info().eid)
        paired = answer.get("paired")
        return paired if isinstance(paired, int) and not isinstance(paired, bool) else 0

    def list_keys(self) -> list[dict[str, Any]]:
        """The HEM's keys (``keymgmt/list`` with a user login), each a dict with at least
        ``kid`` and ``label``."""
        answer = self._as_user("keymgmt:list", self.hem.keymgmt_list)
        found = answer.get("list")
        if not isinstance(found, list):
            found = next((v for v in answer.values() if isinstance(v, list)), [])
        return [k for k in found if isinstance(k, dict) and isinstance(k.get("kid"), str)]

    def find_key(self, label: str) -> str | None:
        """The kid of the key labelled ``label``, if the HEM has one."""
        for key in self.list_keys():
            if key.get("label") == label:
                return str(key["kid"])
        return None

    # ------------------------------------------------------------------ pairing

    def start_pairing(self) -> PairingSession:
        """Ask the HEM for a pairing request, register it at the broker, make the QR code."""
        info = self.hem_info()
        epk = self.broker.session_for_eid(info.eid)["epk"]
        if not isinstance(epk, str):
            raise BadResponseError("The broker's session has no epk.")
        request, eid = self._as_user(PAIR_SCOPE, lambda token: self.hem.ext_init(token, epk))
        registered = self.broker.register_init(request, eid, epk)
        rid, link = registered.get("rid"), registered.get("link")
        if not isinstance(rid, str) or not isinstance(link, str):
            raise BadResponseError("The broker's registration has no rid or link.")
        qr = QrPayload(
            link=link,
            hash=request_hash(request),
            user=info.user,
            email=info.email,
            hostname=info.hostname,
            hem_url=self.hem_url,
        )
        log.info("Pairing registered at the broker; waiting for an authenticator.")
        return PairingSession(self, rid=rid, request=request, eid=eid, qr=qr)

    # ------------------------------------------------------------------ access

    def request_access(
        self,
        scope: str,
        *,
        ctx: str | None = None,
        note: str | None = None,
        wait: int = DEFAULT_WAIT,
    ) -> AccessSession:
        """Ask every paired authenticator, through the broker, to allow ``scope``.

        If the broker refuses the ``authreq`` (a HEM clock ahead of the broker's: 401), check
        in and ask once more, as spec/hem-api.md §6 advises.
        """
        self.check_in_if_needed()
        try:
            authreq, event_id = self._new_event(scope, ctx, note)
        except Unauthorized:
            log.info("The broker refused the request (HEM clock ahead?); checking in again.")
            self.check_in_if_needed(force=True)
            authreq, event_id = self._new_event(scope, ctx, note)
        return AccessSession(self, event_id=event_id, scope=scope, authreq=authreq, wait=wait)

    def _new_event(self, scope: str, ctx: str | None, note: str | None) -> tuple[str, str]:
        epk = self.broker.session()["epk"]
        if not isinstance(epk, str):
            raise BadResponseError("The broker's session has no epk.")
        authreq, epk_echo = self.hem.ext_request(epk, scope, ctx=ctx, note=note)
        created = self.broker.event_new(authreq, epk_echo)
        event_id = created.get("eventid")
        if not isinstance(event_id, str | int) or isinstance(event_id, bool):
            raise BadResponseError("The broker's answer has no event id.")
        return authreq, str(event_id)

    def direct_authreq(
        self, scope: str, *, ctx: str | None = None, note: str | None = None
    ) -> tuple[str, KeyPair]:
        """The direct path: an ``authreq`` for a key pair of our own (no broker). The caller can
        check it with ``AuthReq.parse(authreq).verify_signature(epk)``."""
        self.check_in_if_needed()
        epk = KeyPair.generate()
        authreq, _ = self.hem.ext_request(epk.public.b64, scope, ctx=ctx, note=note)
        return authreq, epk

    def redeem(self, authreply: str) -> str:
        """Trade an approval (``authreply``) for a bearer token at ``/api/auth/ext/token``."""
        return self.hem.ext_token(authreply)


class PairingSession:
    """One pairing in progress: the QR code to show, and :meth:`poll` to move it on."""

    def __init__(
        self, requester: Requester, *, rid: str, request: str, eid: str, qr: QrPayload
    ) -> None:
        self._r = requester
        self._lock = threading.Lock()
        self.rid = rid
        self.request = request
        self.eid = eid
        self.qr = qr
        self.state: PairingState = "pending"
        self.pid: str | None = None
        self.kid: str | None = None

    def __repr__(self) -> str:
        return f"PairingSession(state={self.state!r})"

    @property
    def qr_text(self) -> str:
        """The QR code's text, as the Manager writes it (plus our ``url``): compact JSON."""
        fields = {
            "link": self.qr.link,
            "hash": self.qr.hash,
            "user": self.qr.user,
            "email": self.qr.email,
            "hostname": self.qr.hostname,
            "url": self.qr.hem_url,
        }
        return compact_json(fields).decode("utf-8")

    @property
    def pair_link(self) -> str:
        """The same as an ``encedo-auth:pair?…`` link (a click opens the app's preview)."""
        return make_pair_link(self.qr)

    def poll(self) -> PairingState:
        """Check the registration once; on acceptance have the HEM validate the reply and the
        broker finalise the pairing. Returns the (possibly new) state."""
        with self._lock:
            if self.state != "pending":
                return self.state
            try:
                check = self._r.broker.register_check(self.rid)
            except NotFound:
                self.state = "expired"
                return self.state
            except Gone:
                self.state = "refused"
                return self.state
            if check is None:
                return self.state
            pid, reply = check.get("pid"), check.get("reply")
            if not isinstance(pid, str) or not isinstance(reply, str):
                raise BadResponseError("The broker's registration answer has no pid or reply.")
            try:
                result = self._r._as_user(
                    PAIR_SCOPE, lambda token: self._r.hem.ext_validate(token, pid, reply)
                )
            except NotAcceptable as exc:
                raise HemFullError() from exc
            self._r.broker.register_finalise(self.rid, result.kid, result.code)
            self.pid, self.kid = pid, result.kid
            self.state = "paired"
            log.info("Pairing finished: the HEM stored key %s.", result.kid)
            return self.state


class AccessSession:
    """One access request in flight: :meth:`poll` until it is no longer pending."""

    def __init__(
        self, requester: Requester, *, event_id: str, scope: str, authreq: str, wait: int
    ) -> None:
        self._r = requester
        self._lock = threading.Lock()
        self.event_id = event_id
        self.scope = scope
        self.authreq = authreq
        self.started = requester.now()
        self.deadline = self.started + wait
        self.result = AccessResult("pending")

    def __repr__(self) -> str:
        return f"AccessSession(event_id={self.event_id!r}, state={self.result.state!r})"

    @property
    def remaining(self) -> int:
        """Seconds left before the request is withdrawn."""
        return max(0, self.deadline - self._r.now())

    def poll(self) -> AccessResult:
        """Check the event once; redeem an approval. Past the deadline the event is withdrawn
        and the request reported ``expired``."""
        with self._lock:
            if self.result.state != "pending":
                return self.result
            try:
                check = self._r.broker.event_check(self.event_id)
            except NotFound:
                return self._finish(AccessResult("expired"))
            except Gone:  # 410 {"reason": "cancelled"} (or plain): withdrawn
                return self._finish(AccessResult("cancelled"))
            if check is None:
                if self._r.now() > self.deadline:
                    self._withdraw()
                    return self._finish(AccessResult("expired"))
                return self.result
            if check.get("deny") is True:
                return self._finish(AccessResult("denied"))
            authreply = check.get("authreply")
            if not isinstance(authreply, str):
                raise BadResponseError("The broker's answer has neither an approval nor a denial.")
            try:
                token = self._r.redeem(authreply)
                bearer = Bearer.parse(token)
            except AuthenticatorError as exc:
                log.info("The HEM did not redeem the approval: %s", exc.code)
                return self._finish(AccessResult("failed", error=str(exc)))
            claims = {
                "scope": bearer.scope,
                "sub": bearer.sub,
                "iat": bearer.iat,
                "exp": bearer.exp,
                "kid": bearer.kid,
            }
            return self._finish(AccessResult("approved", token=token, claims=claims))

    def cancel(self) -> AccessResult:
        """Withdraw the request (``DELETE /notify/event/<id>``) if it is still pending."""
        with self._lock:
            if self.result.state != "pending":
                return self.result
            try:
                self._r.broker.event_cancel(self.event_id)
            except NotFound:
                return self._finish(AccessResult("expired"))
            return self._finish(AccessResult("cancelled"))

    def _withdraw(self) -> None:
        with contextlib.suppress(NotFound):
            self._r.broker.event_cancel(self.event_id)

    def _finish(self, result: AccessResult) -> AccessResult:
        self.result = result
        log.info("Access request %s: %s.", self.event_id, result.state)
        return result

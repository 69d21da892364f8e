"""One emulated HEM: its state per boot, its knobs, and the checks every endpoint shares.

The operations of the HEM API live beside it, one module per area —
:mod:`~authenticator.emulator.hem.system` (status, version, check-in, configuration),
:mod:`~authenticator.emulator.hem.auth` (personalisation, login, pairing, access requests) and
:mod:`~authenticator.emulator.hem.keyops` (key management). Each takes the device and the parsed
request and returns the JSON answer, or raises :class:`Refusal` with the status the real device
answers (spec/hem-api.md §4). :mod:`~authenticator.emulator.hem.routes` adds HTTP and the §0 rules.

Per boot (forgotten by :meth:`HemDevice.reboot`): the session key pair (``spk``), the bearer
signing key (old tokens get 401), every pending challenge, pairing request, check-in nonce,
configuration nonce and issued ``authreq``, and the pacing counter; the RTC goes back to
``rtc_at_boot``. Persistent: :class:`~authenticator.emulator.hem.model.HemState`.

Thread safety: uvicorn serves on its own thread while tests and the admin API turn knobs from
others, so every operation runs under ``self.lock`` (re-entrant).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authenticator.emulator.clock import EmuClock
from authenticator.emulator.hem import crypto
from authenticator.emulator.hem.keymgmt import StoredKey
from authenticator.emulator.hem.model import HemConfig, HemState
from authenticator.emulator.hem.nonces import NoncePool
from authenticator.errors import DecodeError, ExpiredError, IntegrityError, ServerError
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.bearer import sub_to_kid
from authenticator.protocol.keys import KeyPair, PublicKey, Rng

__all__ = [
    "EIGHT_HOURS",
    "HARDWARE_FORMS",
    "HemDevice",
    "IssuedAuthReq",
    "Principal",
    "Refusal",
    "check_hardware",
    "key_field",
    "require",
    "text_field",
]

EIGHT_HOURS = 8 * 3600
FLS_LOCKED = 0x40
FLS_BRICKED = 0x80
HARDWARE_FORMS = ("ppa", "epa")
"""The hardware forms an emulated HEM can present: the portable PPA (default) or the EPA."""


def check_hardware(form: object) -> str:
    """``form`` in lower case if it names a hardware form, else ``DecodeError``."""
    if not isinstance(form, str) or form.lower() not in HARDWARE_FORMS:
        raise DecodeError("The hardware form is 'ppa' or 'epa'.")
    return form.lower()


class Refusal(ServerError):
    """The device refuses: it answers ``status`` with an empty body (or, rarely, ``body``)."""

    def __init__(self, status: int, why: str, *, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(why, status=status)
        self.body = body


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid bearer token speaks for: ``U`` (user), ``M`` (master) or ``ext`` (a paired
    authenticator's approval; ``kid`` names it)."""

    role: str
    scope: str
    kid: str | None = None

    def allows(self, prefixes: tuple[str, ...]) -> bool:
        """The device's scope check is a prefix match."""
        return any(self.scope.startswith(p) for p in prefixes)


@dataclass(frozen=True, slots=True)
class IssuedAuthReq:
    """What the device remembers of an ``authreq`` until it is redeemed or expires: the scope
    as it was sealed, and the pids it was addressed to."""

    scope: str
    pids: frozenset[bytes]


def require(
    who: Principal | None, scopes: tuple[str, ...], roles: tuple[str, ...] = ("U", "M", "ext")
) -> Principal:
    """The bearer check of a protected endpoint: 401 without a token, 403 when its role or its
    scope (a prefix match) does not fit."""
    if who is None:
        raise Refusal(401, "a bearer token is required")
    if who.role not in roles or not who.allows(scopes):
        raise Refusal(403, "the token's role or scope does not allow this")
    return who


def text_field(obj: Mapping[str, Any], name: str) -> str:
    """A required text field of a request body, or 400."""
    value = obj.get(name)
    if not isinstance(value, str):
        raise Refusal(400, f"{name} is missing")
    return value


def key_field(obj: Mapping[str, Any], name: str) -> PublicKey:
    """A 32-byte X25519 public key field, or 400."""
    try:
        return PublicKey.from_b64(obj.get(name), what=name)
    except DecodeError as exc:
        raise Refusal(400, f"{name} must be a base64 32-byte key") from exc


class HemDevice:
    """An emulated HEM (see the module docstring). Knobs are plain attributes or setters."""

    # per boot, set by reboot()
    session: KeyPair
    bearer_key: bytes
    rtc_set: bool
    failures: int

    def __init__(
        self,
        state: HemState,
        *,
        trusted_backend: PublicKey,
        index: int = 0,
        clock: EmuClock | None = None,
        rtc_at_boot: bool = True,
        https: bool = False,
        hardware: str = "ppa",
        rng: Rng = secrets.token_bytes,
        on_change: Callable[[HemDevice], None] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.index = index
        self.state = state
        self.clock = clock or EmuClock()
        self.default_hardware = check_hardware(hardware)
        self.default_rate = self.clock.rate
        self.trusted_backend = trusted_backend
        self.rtc_at_boot = rtc_at_boot
        self.https = https
        self.on_change = on_change
        self.rng = rng
        self.challenges: NoncePool[str] = NoncePool()
        self.pairing_requests: NoncePool[bool] = NoncePool()
        self.checkins: NoncePool[bool] = NoncePool()
        self.config_nonces: NoncePool[bool] = NoncePool()
        self.authreqs: NoncePool[IssuedAuthReq] = NoncePool()
        self.boot_count = 0
        self._default_knobs()
        self.reboot()

    # ------------------------------------------------------------------ knobs

    def reboot(self) -> None:
        """A new boot: new session and bearer keys, every pending nonce forgotten."""
        with self.lock:
            self.session = KeyPair.generate(self.rng)
            self.bearer_key = self.rng(32)
            for pool in (
                self.challenges,
                self.pairing_requests,
                self.checkins,
                self.config_nonces,
                self.authreqs,
            ):
                pool.clear()
            self.failures = 0
            self.rtc_set = self.rtc_at_boot
            self.fls_state &= FLS_LOCKED | FLS_BRICKED
            self.clock.restart()
            self.boot_count += 1

    def _default_knobs(self) -> None:
        """Pacing 0.5/1.5 s, no latched fault, no TLS requirement, only ``OK`` check-ins."""
        self.pacing_s = 0.5
        self.pacing_fail_s = 1.5
        self.fls_state = 0
        self.tls_required = False
        self.checkin_actions: frozenset[str] = frozenset({"OK"})
        self.hardware = self.default_hardware

    def reset_to(self, state: HemState) -> None:
        """Back to ``state`` with every knob at its default (skew 0, the clock at its default
        rate, the default hardware form), then a reboot."""
        with self.lock:
            self.state = state
            self._default_knobs()
            self.clock.set_skew(0)
            self.clock.set_rate(self.default_rate)
            self.reboot()

    def set_hardware(self, form: object) -> None:
        """Present itself as a PPA or an EPA (``DecodeError`` for anything else)."""
        with self.lock:
            self.hardware = check_hardware(form)

    def set_rtc(self, on: bool) -> None:
        with self.lock:
            self.rtc_set = on

    def set_pacing(self, pacing_s: float | None = None, pacing_fail_s: float | None = None) -> None:
        with self.lock:
            if pacing_s is not None:
                self.pacing_s = max(0.0, float(pacing_s))
            if pacing_fail_s is not None:
                self.pacing_fail_s = max(0.0, float(pacing_fail_s))

    @property
    def eid(self) -> PublicKey:
        return self.state.eid.public

    @property
    def config(self) -> HemConfig:
        return self.state.config

    def issue_token(
        self, scope: str, *, sub: str = "U", lifetime: int = EIGHT_HOURS, ctx: str | None = None
    ) -> str:
        """A bearer token as a login would mint it (a shortcut for tests and the demo)."""
        with self.lock:
            now = self.clock.now()
            return self.mint(scope=scope, sub=sub, exp=now + lifetime, ctx=ctx)

    def snapshot(self) -> dict[str, Any]:
        """The persistent state as JSON (what ``--state`` writes)."""
        with self.lock:
            return self.state.to_json()

    def summary(self) -> dict[str, Any]:
        """For the admin API: who this HEM is and how its knobs are set."""
        with self.lock:
            return {
                "index": self.index,
                "eid": self.eid.b64,
                "hostname": self.config.hostname,
                "user": self.config.user,
                "inited": self.state.inited,
                "pairings": len(self.state.keys.pairings()),
                "keys": len(self.state.keys),
                "rtc_set": self.rtc_set,
                "rtc_at_boot": self.rtc_at_boot,
                "skew": self.clock.skew,
                "clock_rate": self.clock.rate,
                "hardware": self.hardware,
                "fls_state": self.fls_state,
                "tls_required": self.tls_required,
                "pacing_s": self.pacing_s,
                "pacing_fail_s": self.pacing_fail_s,
                "checkin_actions": sorted(self.checkin_actions),
                "boot_count": self.boot_count,
            }

    def key(self, kid: str) -> StoredKey | None:
        """A stored key by id (for tests and the demo page)."""
        with self.lock:
            return self.state.keys.get(kid)

    def pairings(self) -> list[StoredKey]:
        """The stored pairings (``EXTAID`` keys)."""
        with self.lock:
            return self.state.keys.pairings()

    # ------------------------------------------------------------------ for the operations

    def changed(self) -> None:
        """Persistent state changed: hand it to whoever persists it (``--state``)."""
        if self.on_change is not None:
            self.on_change(self)

    def ecdh(self, peer: PublicKey) -> bytes:
        """X25519 of the identity key with ``peer`` (the :data:`~.crypto.Ecdh` of this device)."""
        try:
            return self.state.eid.exchange(peer)
        except IntegrityError as exc:
            raise Refusal(400, "unusable peer key") from exc

    def nonce(self) -> tuple[bytes, str]:
        """32 fresh random bytes and their base64 (the device's "time nonces")."""
        raw = self.rng(32)
        return raw, b64encode(raw)

    def genuine(self, now: int) -> str:
        """A stand-in attestation ``<b64>.<b64 ts>.<b64 sig>`` signed with ``eid_sign``."""
        head = b64encode(hashlib.sha256(self.eid.raw).digest()[:20])
        ts = b64encode(str(now).encode())
        sig = self.state.eid_sign.sign(f"{head}.{ts}".encode()).signature
        return f"{head}.{ts}.{b64encode(sig)}"

    def mint(self, *, scope: str, sub: str, exp: int, ctx: str | int | None = None) -> str:
        """A bearer token of this boot."""
        return crypto.mint_bearer(
            self.bearer_key,
            scope=scope,
            sub=sub,
            iat=self.clock.now(),
            exp=exp,
            jti=self.rng(32),
            ctx=ctx,
        )

    def need_rtc(self) -> None:
        if not self.rtc_set:
            raise Refusal(403, "the RTC is not set; check in first")

    def need_ready(self) -> None:
        if not self.state.inited:
            raise Refusal(409, "the device is not initialised")
        if self.fls_state:
            raise Refusal(409, "a self-test fault is latched")

    # ------------------------------------------------------------------ bearer tokens

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The §0 rule: no header → ``None`` (each endpoint decides); a header that is not a
        valid token of this boot → 401, whatever the endpoint."""
        if authorization is None:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refusal(401, "the Authorization header is not a bearer token")
        with self.lock:
            try:
                claims = crypto.verify_bearer(self.bearer_key, token.strip(), now=self.clock.now())
            except (DecodeError, IntegrityError, ExpiredError) as exc:
                raise Refusal(401, "the bearer token is not valid") from exc
            if claims.sub in ("U", "M"):
                return Principal(role=claims.sub, scope=claims.scope)
            try:
                kid = sub_to_kid(claims.sub)
            except DecodeError as exc:
                raise Refusal(401, "the bearer token names no known subject") from exc
            key = self.state.keys.get(kid)
            if key is None or key.pid is None:
                raise Refusal(401, "the approving authenticator is no longer paired")
            return Principal(role="ext", scope=claims.scope, kid=kid)

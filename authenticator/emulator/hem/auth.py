"""Authorisation endpoints of the emulated HEM: personalisation, passphrase login, pairing with an
external authenticator, access requests and their redemption (spec/hem-api.md §4).

Where the sources are silent, our choices (docs/emulator.md lists them all):

* ``/api/auth/ext/validate`` accepts a pid of any length like the device, but only pairings with
  a 32-byte pid are addressed by an ``authreq`` or may redeem an approval (the firmware reads a
  fixed 32 bytes), so such a pairing is stored yet never usable.
* ``/api/auth/ext/token`` accepts an approved scope that, with every ``:rw`` removed and any
  ``#meta`` ignored, equals the requested one; ``:rw`` may be added only to ``storage:disk``
  scopes (:func:`approved_scope_ok`). Anything else is 406.
* The login counter behind the pacing resets at the first success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from authenticator.emulator.hem import crypto
from authenticator.emulator.hem.device import (
    EIGHT_HOURS,
    HemDevice,
    IssuedAuthReq,
    Principal,
    Refusal,
    key_field,
    require,
    text_field,
)
from authenticator.emulator.hem.keymgmt import MAX_DESCR, check_label
from authenticator.emulator.hem.model import HemConfig, validate_config
from authenticator.errors import DecodeError, IntegrityError, StateError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.bearer import kid_to_sub
from authenticator.protocol.ejwt import Jwt
from authenticator.protocol.jsonutil import compact_json, get_int
from authenticator.protocol.keys import PublicKey

__all__ = [
    "approved_scope_ok",
    "ext_init",
    "ext_mac",
    "ext_request",
    "ext_token",
    "ext_validate",
    "init",
    "init_challenge",
    "login",
    "login_challenge",
    "login_delay",
]

CHALLENGE_TTL = 60
PAIRING_TTL = 24 * 3600
AUTHREQ_TTL = 3600
KEY_USE_TTL = 900
MAX_LOGIN_SCOPE = 127
MAX_REQUEST_SCOPE = 1023
PAIRING_SCOPES = ("auth:ext:pair", "system:config")

_KEY_USE = re.compile(r"keymgmt:use:([0-9a-fA-F]{32})")


def _optional_text(obj: Mapping[str, Any], name: str, limit: int) -> str | None:
    """ext/request's ``ctx`` and ``note``: kept when 1..limit characters, silently dropped else."""
    value = obj.get(name)
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def approved_scope_ok(requested: str, approved: str) -> bool:
    """Our rule at ``/api/auth/ext/token`` (the real device's is unknown): with every ``:rw``
    removed and any ``#meta`` ignored, the approved scope must equal the requested one; ``:rw``
    may be dropped anywhere but *added* only to a ``storage:disk`` scope."""
    req = requested.split("#", 1)[0]
    got = approved.split("#", 1)[0]
    if got.replace(":rw", "") != req.replace(":rw", ""):
        return False
    added_rw = ":rw" in got and ":rw" not in req
    return not added_rw or req.startswith("storage:disk")


# ------------------------------------------------------------------ personalisation


def init_challenge(dev: HemDevice) -> dict[str, Any]:
    """``GET /api/auth/init`` (only on a fresh device; needs the RTC whatever trusted_ts)."""
    with dev.lock:
        dev.need_rtc()
        if dev.state.inited:
            raise Refusal(406, "the device is already personalised")
        now = dev.clock.now()
        _, jti = dev.nonce()
        dev.challenges.put(jti, "init", exp=now + CHALLENGE_TTL, now=now)
        return {
            "exp": now + CHALLENGE_TTL,
            "spk": dev.session.public.b64,
            "jti": jti,
            "genuine": dev.genuine(now),
            "eid": dev.eid.b64,
        }


def init(dev: HemDevice, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /api/auth/init {init}``: personalise, signed with ``X25519(master, spk)``."""
    token = text_field(body, "init")
    with dev.lock:
        dev.need_rtc()
        if dev.state.inited:
            raise Refusal(406, "the device is already personalised")
        jwt, masterkey = _verify_session_jwt(dev, token)
        cfg = jwt.payload.get("cfg")
        required = ("user", "masterkey", "userkey", "hostname", "origin", "trusted_ts",
                    "trusted_backend", "allow_keysearch", "email")  # fmt: skip
        if not isinstance(cfg, Mapping) or any(name not in cfg for name in required):
            raise Refusal(400, "the personalisation lacks configuration fields")
        userkey = key_field(cfg, "userkey")
        if key_field(cfg, "masterkey") != masterkey:
            raise Refusal(401, "the personalisation is not signed by its master key")
        try:
            changes = validate_config(cfg, immutable_ok=True)
        except DecodeError as exc:
            raise Refusal(400, str(exc)) from exc
        now = dev.clock.now()
        _take_challenge(dev, jwt, "init", now)
        dev.state.personalise(
            HemConfig().updated(changes), userkey=userkey, masterkey=masterkey, now=now
        )
        dev.changed()
        return {
            "instanceid": dev.state.instanceid,
            "token": dev.mint(scope="system:config", sub="U", exp=now + EIGHT_HOURS),
            "genuine": dev.genuine(now),
        }


def _verify_session_jwt(dev: HemDevice, token: str) -> tuple[Jwt, PublicKey]:
    """An eJWT signed with ``X25519(iss, spk)`` and addressed to this boot's ``spk``."""
    try:
        jwt = Jwt.parse(token, what="proof")
        iss = PublicKey.from_b64(jwt.payload.get("iss"), what="iss")
        jwt.verify(dev.session.exchange(iss), what="proof")
        aud = jwt.payload.get("aud")
        if aud is not None and PublicKey.from_b64(aud, what="aud") != dev.session.public:
            raise IntegrityError("The proof is addressed to another session.")
    except (DecodeError, IntegrityError) as exc:
        raise Refusal(401, "the proof is not valid") from exc
    return jwt, iss


def _take_challenge(dev: HemDevice, jwt: Jwt, purpose: str, now: int) -> None:
    jti = jwt.payload.get("jti")
    if not isinstance(jti, str) or dev.challenges.peek(jti, now=now) != purpose:
        raise Refusal(401, "the challenge is unknown, used or expired")
    dev.challenges.take(jti, now=now)


# ------------------------------------------------------------------ login


def login_challenge(dev: HemDevice) -> dict[str, Any]:
    """``GET /api/auth/token``."""
    with dev.lock:
        _login_preconditions(dev)
        now = dev.clock.now()
        _, jti = dev.nonce()
        dev.challenges.put(jti, "login", exp=now + CHALLENGE_TTL, now=now)
        return {
            "exp": now + CHALLENGE_TTL,
            "spk": dev.session.public.b64,
            "jti": jti,
            "lbl": dev.config.user,
            "eid": dev.eid.b64,
        }


def _login_preconditions(dev: HemDevice) -> None:
    dev.need_ready()
    if dev.config.trusted_ts:
        dev.need_rtc()


def login_delay(dev: HemDevice) -> float:
    """Brute-force pacing: how long ``POST /api/auth/token`` takes at least, right now."""
    with dev.lock:
        return dev.pacing_fail_s if dev.failures >= 3 else dev.pacing_s


def login(dev: HemDevice, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /api/auth/token {auth}``; counts consecutive failures for the pacing."""
    with dev.lock:
        try:
            answer = _login(dev, body)
        except Refusal as refusal:
            if refusal.status == 401:
                dev.failures += 1
            raise
        dev.failures = 0
        return answer


def _login(dev: HemDevice, body: Mapping[str, Any]) -> dict[str, Any]:
    _login_preconditions(dev)
    token = text_field(body, "auth")
    jwt, iss = _verify_session_jwt(dev, token)
    is_user = dev.state.userkey is not None and iss == dev.state.userkey
    is_master = dev.state.masterkey is not None and iss == dev.state.masterkey
    if not (is_user or is_master):
        raise Refusal(401, "unknown key")
    p = jwt.payload
    try:
        exp = get_int(p, "exp", what="proof")
    except DecodeError as exc:
        raise Refusal(400, str(exc)) from exc
    scope = p.get("scope", "")
    ctx = p.get("ctx")
    if not isinstance(scope, str) or len(scope) > MAX_LOGIN_SCOPE:
        raise Refusal(400, "the scope must be text of at most 127 characters")
    if not (ctx is None or (isinstance(ctx, str) and len(ctx) < 64)
            or (isinstance(ctx, int) and not isinstance(ctx, bool))):  # fmt: skip
        raise Refusal(400, "ctx must be short text or a number")
    now = dev.clock.now()
    _take_challenge(dev, jwt, "login", now)
    exp = exp or now + EIGHT_HOURS
    if now > exp:
        raise Refusal(401, "the proof has expired")
    return {"token": dev.mint(scope=scope, sub="U" if is_user else "M", exp=exp, ctx=ctx)}


# ------------------------------------------------------------------ pairing


def ext_init(dev: HemDevice, who: Principal | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /api/auth/ext/init {epk}`` → ``{request, eid}`` (sub U only)."""
    with dev.lock:
        dev.need_ready()
        require(who, PAIRING_SCOPES, roles=("U",))
        epk = key_field(body, "epk")
        now = dev.clock.now()
        jti_raw, jti = dev.nonce()
        dev.pairing_requests.put(jti, True, exp=now + PAIRING_TTL, now=now)
        request = crypto.make_pairing_request(
            dev.ecdh, eid=dev.eid, epk=epk, jti=jti_raw, exp=now + PAIRING_TTL
        )
        return {"request": request, "eid": dev.eid.b64}


def ext_validate(dev: HemDevice, who: Principal | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /api/auth/ext/validate {pid, reply}`` → ``{kid, code}``.

    Like the device, a pid of another length than 32 bytes is stored, but such a pairing is
    never addressed by an ``authreq`` and cannot redeem an approval.
    """
    with dev.lock:
        dev.need_ready()
        require(who, PAIRING_SCOPES, roles=("U",))
        try:
            pid = b64decode(text_field(body, "pid"), what="pid")
        except DecodeError as exc:
            raise Refusal(400, "pid is not base64") from exc
        if not pid or len(pid) > MAX_DESCR - 6:
            raise Refusal(400, "pid has an impossible length")
        try:
            reply = crypto.check_pairing_reply(dev.ecdh, text_field(body, "reply"))
        except (DecodeError, IntegrityError) as exc:
            raise Refusal(401, "the pairing reply is not valid") from exc
        try:
            label = check_label(reply.label)
        except DecodeError as exc:
            raise Refusal(400, str(exc)) from exc
        now = dev.clock.now()
        if dev.pairing_requests.peek(reply.jti, now=now) is None:
            raise Refusal(401, "the pairing request is unknown, used or expired")
        try:
            key = dev.state.keys.import_pairing(reply.aid, pid=pid, label=label, now=now)
        except StateError as exc:
            raise Refusal(406, str(exc)) from exc
        dev.pairing_requests.take(reply.jti, now=now)
        dev.changed()
        return {"kid": key.kid, "code": crypto.pairing_code(dev.ecdh, reply)}


def ext_mac(dev: HemDevice, who: Principal | None, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /api/auth/ext/mac {epk}`` → ``{nonce, mac, eid}`` (stateless)."""
    with dev.lock:
        dev.need_ready()
        require(who, PAIRING_SCOPES, roles=("U",))
        epk = key_field(body, "epk")
        raw, nonce = dev.nonce()
        return {
            "nonce": nonce,
            "mac": crypto.ext_mac(dev.ecdh, epk, raw),
            "eid": dev.eid.b64,
        }


# ------------------------------------------------------------------ access requests


def _with_key_meta(dev: HemDevice, scope: str) -> tuple[str, int]:
    """``keymgmt:use:<kid>`` of an existing key gets ``#<b64 {"t","l"}>`` and 15 minutes."""
    m = _KEY_USE.fullmatch(scope)
    if m is None:
        return scope, AUTHREQ_TTL
    key = dev.state.keys.get(m.group(1))
    if key is not None:
        meta = compact_json({"t": key.meta_type, "l": key.label})
        scope = f"{scope}#{b64encode(meta)}"
    return scope, KEY_USE_TTL


def ext_request(dev: HemDevice, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /api/auth/ext/request {epk, scope[, ctx][, note]}`` (open) →
    ``{authreq, epk}``."""
    with dev.lock:
        dev.need_rtc()
        dev.need_ready()
        epk = key_field(body, "epk")
        scope = text_field(body, "scope")
        if not 0 < len(scope) <= MAX_REQUEST_SCOPE:
            raise Refusal(400, "the scope must be 1 to 1023 characters")
        sealed_scope, ttl = _with_key_meta(dev, scope)
        pairings = [
            (k.pid, PublicKey(k.pubkey))
            for k in dev.state.keys.pairings()
            if k.pid is not None and len(k.pid) == 32 and k.pubkey is not None
        ]
        now = dev.clock.now()
        jti_raw, jti = dev.nonce()
        authreq = crypto.make_authreq(
            dev.ecdh,
            eid=dev.eid,
            epk=epk,
            iat=now,
            exp=now + ttl,
            jti=jti_raw,
            scope=sealed_scope,
            pairings=pairings,
            ctx=_optional_text(body, "ctx", 64),
            note=_optional_text(body, "note", 128),
        )
        issued = IssuedAuthReq(sealed_scope, frozenset(pid for pid, _ in pairings))
        dev.authreqs.put(jti, issued, exp=now + ttl, now=now)
        return {"authreq": authreq, "epk": epk.b64}


def ext_token(dev: HemDevice, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /api/auth/ext/token {authreply}`` (open) → ``{token}``."""
    with dev.lock:
        dev.need_rtc()
        dev.need_ready()
        try:
            reply = crypto.AuthReply.parse(text_field(body, "authreply"))
        except DecodeError as exc:
            raise Refusal(401, "the approval is not a valid token") from exc
        pairing = dev.state.keys.pairing_by_pid(reply.pid) if len(reply.pid) == 32 else None
        if pairing is None or pairing.pubkey is None:
            raise Refusal(406, "no pairing has this pid")
        if PublicKey(pairing.pubkey) != reply.iss:
            raise Refusal(406, "the approval's issuer is not the paired key")
        try:
            crypto.verify_authreply(dev.ecdh, reply)
        except (DecodeError, IntegrityError) as exc:
            raise Refusal(401, "the approval's signature does not match") from exc
        now = dev.clock.now()
        issued = dev.authreqs.peek(reply.jti, now=now)
        if issued is None or reply.pid not in issued.pids:
            raise Refusal(401, "the approval answers no pending request of this HEM")
        exp = reply.exp or now + EIGHT_HOURS
        if now > exp:
            raise Refusal(401, "the approval has expired")
        if not reply.scope.startswith("A"):
            raise Refusal(406, "the approval uses an unknown sealing scheme")
        try:
            approved = crypto.open_authreply(dev.ecdh, reply)
        except (DecodeError, IntegrityError) as exc:
            raise Refusal(406, "the approved scope does not open") from exc
        if not approved_scope_ok(issued.scope, approved):
            raise Refusal(406, "the approved scope is not the requested one")
        dev.authreqs.take(reply.jti, now=now)
        token = dev.mint(
            scope=approved.split("#", 1)[0],
            sub=kid_to_sub(pairing.kid),
            exp=exp,
            ctx=reply.ctx,
        )
        return {"token": token}

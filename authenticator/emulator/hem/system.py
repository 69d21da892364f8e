"""System endpoints of the emulated HEM: status, version, check-in and configuration.

Check-in: ``GET /api/system/checkin`` hands out a ``check`` only the trusted backend can verify
(keyed ``X25519(session, backend)``); ``POST`` takes the backend's ``checked``, which sets the RTC
from its ``iat`` and carries an action in ``status`` (our encoding, see
:func:`~authenticator.emulator.hem.crypto.decode_checkin_status`). The device honours only the
actions in ``checkin_actions`` (``OK`` by default; the knob can add ``L`` lock, ``B`` brick,
``W`` wipe; ``R`` and ``U`` are acknowledged and do nothing), and none when ``trusted_backend``
is off.

Configuration: ``GET`` gives every required field plus ``spk`` and a fresh ``nonce`` for a
passphrase rotation; ``POST`` is a partial update, all or nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from authenticator.emulator.hem import crypto
from authenticator.emulator.hem.device import (
    FLS_BRICKED,
    FLS_LOCKED,
    HemDevice,
    Principal,
    Refusal,
    require,
    text_field,
)
from authenticator.emulator.hem.model import validate_config
from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.crypto import ct_equal, hmac_sha256
from authenticator.protocol.keys import PublicKey

__all__ = [
    "FIRMWARE",
    "HARDWARE",
    "checkin",
    "checkin_challenge",
    "get_config",
    "set_config",
    "status",
    "version",
]

CHECKIN_TTL = 600
CONFIG_NONCE_TTL = 600
CONFIG_READ_SCOPES = ("system:config", "logger:get", "auth:ext:pair")


def _blob(label: str, size: int) -> bytes:
    """A fixed stand-in for firmware hashes and signatures (the same on every emulated HEM)."""
    return hashlib.sha512(f"encedo-emulator {label}".encode()).digest()[:size]


HARDWARE = {"ppa": "PPA rev 2.2 (emulated)", "epa": "EPA rev 1.0 (emulated)"}
"""``hwv`` per hardware form: clients tell a PPA from an EPA by "PPA"/"EPA" in it."""

FIRMWARE = {
    "fwv": "Encedo nGINE FW v1.2.2 (emulated)",
    "fwk": b64encode(_blob("fwk", 32)),
    "fws": b64encode(_blob("fws", 64)),
    "blv": "Encedo nGINE BL v1.0 (emulated)",
    "blk": b64encode(_blob("blk", 32)),
    "bls": b64encode(_blob("bls", 64)),
}
"""The rest of ``/api/system/version``, the same on both forms (``blv`` always: the python
client needs it)."""

PPA_ONLY_VERSION = {"uis": b64encode(_blob("uis", 32))}
"""A PPA also reports the signature of the Manager it hosts (an EPA hosts none)."""

PPA_DISK0_SECTORS = 8388607
PPA_CAPACITY_SECTORS = 120979451
"""The PPA's microSD card as the docs' configuration sample describes it (in sectors)."""


def _rfc3339(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(dev: HemDevice, *, host: str | None) -> dict[str, Any]:
    """``GET /api/system/status``."""
    with dev.lock:
        cfg = dev.config
        out: dict[str, Any] = {}
        if not dev.state.inited:
            out["inited"] = False
        out["https"] = dev.https
        if host is not None and host.lower() != cfg.hostname.lower():
            out["hostname"] = cfg.hostname
        if not cfg.trusted_ts:
            out["tts"] = False
        out["ctx"] = cfg.ctx
        out["uptime"] = dev.clock.uptime()
        if dev.rtc_set:
            now = dev.clock.now()
            out["ts"] = _rfc3339(now)
            out["time"] = now
        out["temp"] = 36
        out["fls_state"] = dev.fls_state
        if dev.hardware == "ppa":
            disk1 = PPA_CAPACITY_SECTORS - PPA_DISK0_SECTORS
            out["storage"] = [f"{PPA_DISK0_SECTORS}:-", f"{disk1}:-"]
        return out


def version(dev: HemDevice) -> dict[str, Any]:
    """``GET /api/system/version``: ``hwv`` names the hardware form; a PPA adds ``uis``."""
    with dev.lock:
        out: dict[str, Any] = {"hwv": HARDWARE[dev.hardware], **FIRMWARE}
        if dev.hardware == "ppa":
            out |= PPA_ONLY_VERSION
        return out


def checkin_challenge(dev: HemDevice) -> dict[str, Any]:
    """``GET /api/system/checkin``: ``{check}`` for the trusted backend."""
    with dev.lock:
        now = dev.clock.now()
        jti_raw, jti = dev.nonce()
        dev.checkins.put(jti, True, exp=now + CHECKIN_TTL, now=now)
        check = crypto.make_checkin_challenge(
            dev.session,
            backend=dev.trusted_backend,
            jti=jti_raw,
            qid=dev.rng(32),
            fws=_blob("fws", 64),
            bls=_blob("bls", 64),
            uis=_blob("uis", 32),
            csn=hashlib.sha256(dev.state.devid.encode()).digest()[:16],
        )
        return {"check": check}


def checkin(dev: HemDevice, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /api/system/checkin {checked}``: sets the RTC from ``iat``, runs the action."""
    checked = text_field(body, "checked")
    with dev.lock:
        try:
            answer = crypto.check_checked(dev.session, checked, trusted=dev.trusted_backend)
        except (DecodeError, IntegrityError) as exc:
            raise Refusal(401, "the check-in answer is not valid") from exc
        if dev.checkins.take(answer.jti, now=dev.clock.now()) is None:
            raise Refusal(401, "the check-in answer is for an unknown or used challenge")
        dev.clock.set_time(answer.iat)
        dev.rtc_set = True
        dev.state.uts = answer.iat  # "last RTC update timestamp"
        dev.changed()
        action = answer.action
        if not dev.config.trusted_backend or action not in dev.checkin_actions:
            return {"status": "OK" if action != "???" else "???"}
        if action == "L":
            dev.state.userkey = None
            dev.fls_state |= FLS_LOCKED
            dev.changed()
        elif action == "B":
            dev.fls_state |= FLS_BRICKED
        elif action == "W":
            dev.state.wipe()
            dev.changed()
            dev.reboot()
        return {"status": action}


def get_config(dev: HemDevice, who: Principal | None) -> dict[str, Any]:
    """``GET /api/system/config`` (roles U, M and ext; scope system:config, logger:get or
    auth:ext:pair) with a fresh ``nonce`` for a passphrase rotation."""
    require(who, CONFIG_READ_SCOPES)
    with dev.lock:
        now = dev.clock.now()
        _, nonce = dev.nonce()
        dev.config_nonces.put(nonce, True, exp=now + CONFIG_NONCE_TTL, now=now)
        cfg, st = dev.config, dev.state
        out: dict[str, Any] = {"iat": now, "uts": st.uts, "devid": st.devid}
        if st.instanceid is not None:
            out["instanceid"] = st.instanceid
        out |= {
            "eid": dev.eid.b64,
            "eid_sign": b64encode(bytes(st.eid_sign.verify_key)),
            "user": cfg.user,
            "email": cfg.email,
            "hostname": cfg.hostname,
            "dnsd": cfg.dnsd,
            "trusted_ts": cfg.trusted_ts,
            "trusted_backend": cfg.trusted_backend,
            "allow_keysearch": cfg.allow_keysearch,
            "origin": cfg.origin,
            "ctx": cfg.ctx,
            "http_option_hsts": cfg.http_option_hsts,
            "http_option_dosprot_mode": cfg.http_option_dosprot_mode,
            "ip": cfg.ip,
        }
        if dev.hardware == "ppa":
            out |= {
                "genuine_id": "01" + hashlib.sha256(st.devid.encode()).hexdigest()[:16],
                "storage_mode": 81,
                "storage_disk0size": PPA_DISK0_SECTORS,
                "storage_capacity": PPA_CAPACITY_SECTORS,
            }
        out |= {"spk": dev.session.public.b64, "nonce": nonce}
        return out


def set_config(
    dev: HemDevice, who: Principal | None, body: Mapping[str, Any]
) -> dict[str, Any] | None:
    """``POST /api/system/config``: a partial update, all or nothing (400 with
    ``{"updated": false}`` when a field is invalid); ``None`` = 200 with an empty body
    (``wipeout``)."""
    who = require(who, ("system:config",), roles=("U", "M"))
    with dev.lock:
        dev.need_ready()
        if body.get("wipeout") is True:
            dev.state.wipe()
            dev.changed()
            dev.reboot()
            return None
        cfg = dev.config
        fields = {
            k: v for k, v in body.items() if not (k in ("hostname", "ip") and v == getattr(cfg, k))
        }
        try:
            changes = validate_config(fields, immutable_ok=False)
        except DecodeError as exc:
            raise Refusal(400, str(exc), body={"updated": False}) from exc
        new_userkey = _rotation(dev, who, body)
        updated = any(getattr(cfg, k) != v for k, v in changes.items())
        if changes:
            dev.state.config = cfg.updated(changes)
        if new_userkey is not None:
            updated = updated or new_userkey != dev.state.userkey
            dev.state.userkey = new_userkey
        if updated:
            dev.changed()
        return {"updated": updated}


def _rotation(dev: HemDevice, who: Principal, body: Mapping[str, Any]) -> PublicKey | None:
    names = ("userkey", "userkey_nonce", "userkey_hmac")
    present = [n for n in names if n in body]
    if not present:
        return None
    if len(present) != len(names):
        raise Refusal(400, "a rotation needs userkey, userkey_nonce and userkey_hmac",
                      body={"updated": False})  # fmt: skip
    try:
        userkey = PublicKey.from_b64(body["userkey"], what="userkey")
        nonce = b64decode(body["userkey_nonce"], size=32, what="userkey_nonce")
        proof = b64decode(body["userkey_hmac"], size=32, what="userkey_hmac")
    except DecodeError as exc:
        raise Refusal(400, str(exc), body={"updated": False}) from exc
    if who.role != "U":
        raise Refusal(406, "only the user may rotate the user key")
    if dev.config_nonces.take(b64encode(nonce), now=dev.clock.now()) is None:
        raise Refusal(406, "the rotation nonce is unknown or used")
    if not ct_equal(hmac_sha256(dev.session.exchange(userkey), nonce), proof):
        raise Refusal(406, "the rotation proof does not match")
    return userkey

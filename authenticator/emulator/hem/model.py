"""What an emulated HEM keeps across reboots: identity, configuration, user/master keys, keys.

Persistent (spec/hem-api.md §5): the identity ``eid`` (X25519, constant for the device's life —
it salts the passphrase KDF, so changing it would lock the owner out), the audit-log key
``eid_sign`` (Ed25519), ``devid``, the configuration, the user and master *public* keys and the
key repository (pairings included). Everything per-boot lives in
:class:`~authenticator.emulator.hem.device.HemDevice` instead.

A HEM is created either factory-fresh (``inited`` false: only ``/api/auth/init`` personalises it)
or already personalised with a passphrase: the user key is then derived exactly as every client
does (:func:`authenticator.protocol.login.derive_user_key`), the master key is random (its private
half is thrown away), and three demo keys are seeded.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nacl.signing import SigningKey

from authenticator.emulator.hem.keymgmt import KeyStore
from authenticator.errors import DecodeError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.jsonutil import get_int, get_str
from authenticator.protocol.keys import KeyPair, PrivateKey, PublicKey, Rng
from authenticator.protocol.login import derive_user_key

__all__ = ["DEMO_KEYS", "HemConfig", "HemState", "validate_config"]

DEMO_KEYS = (("PGP main", "ED25519"), ("Backup AES", "AES256"), ("Post-quantum signing", "MLDSA65"))
"""Seeded into a HEM created already personalised, so key-use requests have something to name."""

_HOSTNAME = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+")


@dataclass(slots=True)
class HemConfig:
    """The device configuration (``/api/system/config``); defaults are the factory's."""

    user: str = ""
    email: str = ""
    hostname: str = "my.ence.do"
    origin: str = "*"
    trusted_ts: bool = True
    trusted_backend: bool = True
    allow_keysearch: bool = True
    ctx: int = 0
    ip: str = "192.168.7.1/24"
    dnsd: bool = True
    http_option_hsts: bool = False
    http_option_dosprot_mode: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> HemConfig:
        config = cls()
        for name, value in validate_config(obj, immutable_ok=True).items():
            setattr(config, name, value)
        return config

    def updated(self, changes: Mapping[str, Any]) -> HemConfig:
        new = copy.copy(self)
        for name, value in changes.items():
            setattr(new, name, value)
        return new


_CONFIG_FIELDS = {f.name for f in fields(HemConfig)}
IMMUTABLE = frozenset({"hostname", "ip"})


def _check_field(name: str, value: object) -> object:
    """One configuration value, or ``DecodeError`` naming the field."""
    bad = DecodeError(f"The configuration field {name!r} is not valid.")
    default = getattr(HemConfig(), name)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad
        if name == "http_option_dosprot_mode" and value > 4:
            raise bad
        return value
    if not isinstance(value, str) or not value.isprintable():
        raise bad
    limits = {"user": 32, "email": 128, "origin": 256, "hostname": 253, "ip": 64}
    if len(value) > limits[name] or (name in {"hostname", "origin", "ip"} and not value):
        raise bad
    if name == "hostname" and not _HOSTNAME.fullmatch(value):
        raise bad
    if name == "ip":
        try:
            ipaddress.ip_interface(value)
        except ValueError as exc:
            raise bad from exc
    return value


def validate_config(obj: Mapping[str, Any], *, immutable_ok: bool) -> dict[str, Any]:
    """The known configuration fields of ``obj``, validated; unknown fields are ignored.

    ``hostname`` and ``ip`` are accepted only when ``immutable_ok`` (personalisation, loading),
    since the device cannot change them afterwards.
    """
    out: dict[str, Any] = {}
    for name in _CONFIG_FIELDS & obj.keys():
        if name in IMMUTABLE and not immutable_ok:
            raise DecodeError(f"The configuration field {name!r} cannot be changed.")
        out[name] = _check_field(name, obj[name])
    return out


def instance_id(eid: PublicKey, created: int) -> str:
    """A UUID-shaped instance id derived from the identity (the device derives it by HKDF)."""
    h = hashlib.sha256(b"encedo-emulator instanceid" + eid.raw + str(created).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


@dataclass(slots=True)
class HemState:
    """The persistent part of one emulated HEM."""

    eid: KeyPair
    eid_sign_seed: bytes = field(repr=False)
    devid: str
    created: int
    config: HemConfig = field(default_factory=HemConfig)
    keys: KeyStore = field(default_factory=KeyStore)
    inited: bool = False
    instanceid: str | None = None
    userkey: PublicKey | None = None
    masterkey: PublicKey | None = None
    uts: int = 0

    @property
    def eid_sign(self) -> SigningKey:
        return SigningKey(self.eid_sign_seed)

    @classmethod
    def create(
        cls,
        index: int,
        *,
        now: int,
        passphrase: str | None,
        rng: Rng = secrets.token_bytes,
    ) -> HemState:
        """A new device: fresh when ``passphrase`` is ``None``, else personalised with it."""
        state = cls(
            eid=KeyPair.generate(rng), eid_sign_seed=rng(32), devid=rng(8).hex(), created=now
        )
        if passphrase is not None:
            state.personalise(
                HemConfig(
                    user="Demo user" if index == 0 else f"Demo user {index}",
                    email="demo@example.com",
                    hostname=f"hem{index}.emulator.test",
                    ip="127.0.0.1/8",
                    dnsd=False,
                ),
                userkey=derive_user_key(passphrase, state.eid.public.b64).public,
                masterkey=KeyPair.generate(rng).public,
                now=now,
            )
            for label, type_name in DEMO_KEYS:
                state.keys.generate(type_name, label=label, now=now, rng=rng)
        return state

    def personalise(
        self, config: HemConfig, *, userkey: PublicKey, masterkey: PublicKey, now: int
    ) -> None:
        self.config = config
        self.userkey = userkey
        self.masterkey = masterkey
        self.inited = True
        self.instanceid = instance_id(self.eid.public, now)
        self.uts = now

    def wipe(self) -> None:
        """Back to the factory: the identity stays (it is the hardware's), everything else goes."""
        self.config = HemConfig()
        self.keys = KeyStore()
        self.inited = False
        self.instanceid = None
        self.userkey = None
        self.masterkey = None

    def to_json(self) -> dict[str, Any]:
        """Everything persistent, binary values in standard base64 (the private keys included:
        the state file is written 0600 and belongs to the emulator)."""
        return {
            "eid": b64encode(self.eid.private.raw),
            "eid_sign": b64encode(self.eid_sign_seed),
            "devid": self.devid,
            "created": self.created,
            "inited": self.inited,
            "instanceid": self.instanceid,
            "config": self.config.to_json(),
            "userkey": None if self.userkey is None else self.userkey.b64,
            "masterkey": None if self.masterkey is None else self.masterkey.b64,
            "uts": self.uts,
            "keys": self.keys.to_json(),
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> HemState:
        what = "emulator state"

        def key(name: str) -> PublicKey | None:
            value = obj.get(name)
            return None if value is None else PublicKey.from_b64(value, what=name)

        config = obj.get("config")
        if not isinstance(config, Mapping):
            raise DecodeError("The emulator state has no configuration.")
        inited = obj.get("inited")
        instanceid = obj.get("instanceid")
        if not isinstance(inited, bool) or not isinstance(instanceid, (str, type(None))):
            raise DecodeError("The emulator state is malformed.")
        devid = get_str(obj, "devid", what=what)
        if not re.fullmatch(r"[0-9a-f]{16}", devid):
            raise DecodeError("The emulator state has a malformed devid.")
        return cls(
            eid=KeyPair.from_private(PrivateKey.from_b64(get_str(obj, "eid", what=what))),
            eid_sign_seed=b64decode(get_str(obj, "eid_sign", what=what), size=32, what="eid_sign"),
            devid=devid,
            created=get_int(obj, "created", what=what),
            config=HemConfig.from_json(config),
            keys=KeyStore.from_json(obj.get("keys")),
            inited=inited,
            instanceid=instanceid,
            userkey=key("userkey"),
            masterkey=key("masterkey"),
            uts=get_int(obj, "uts", what=what),
        )

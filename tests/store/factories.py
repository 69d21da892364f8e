"""Builders of valid store values for tests."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from authenticator.store.records import PairingRecord


def b64_of(seed: str, size: int = 32) -> str:
    """Deterministic standard base64 of ``size`` bytes derived from ``seed``."""
    return base64.b64encode(hashlib.shake_256(seed.encode()).digest(size)).decode("ascii")


def private_key(seed: str) -> bytes:
    return hashlib.sha256(b"prv:" + seed.encode()).digest()


def make_record(name: str = "office-hem", **changes: Any) -> PairingRecord:
    """A valid broker pairing called ``name`` (its keys derived from the name)."""
    fields: dict[str, Any] = {
        "name": name,
        "eid": b64_of("eid:" + name),
        "pid": b64_of("pid:" + name),
        "aid": b64_of("aid:" + name),
        "aid_prv": private_key(name),
        "label": "workstation (Linux)",
        "hostname": "my.ence.do",
        "user": "Alice",
        "email": "alice@example.com",
        "source": "broker",
        "broker_url": "https://api.encedo.com",
        "hem_url": None,
        "cert_sha256": None,
        "kid": None,
        "paired_at": 1_700_000_000,
    }
    fields.update(changes)
    return PairingRecord(**fields)

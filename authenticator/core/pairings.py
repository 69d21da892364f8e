"""What the core derives from a stored pairing: its keys, its address, its pinned certificate.

Small pure helpers every service uses (requests, the direct path, pairing, unpair); they read a
:class:`~authenticator.store.records.PairingRecord` and never touch the network or the store.
"""

from __future__ import annotations

import platform
import socket

from authenticator.errors import StateError
from authenticator.protocol.access import PairingKeys
from authenticator.protocol.keys import KeyPair, PrivateKey, PublicKey
from authenticator.store.records import PairingRecord

__all__ = ["default_label", "hem_url_of", "keys_of", "pinned_cert_of"]


def default_label() -> str:
    """How this computer appears on the HEM by default: ``<hostname> (<OS>)``, ≤ 32 chars."""
    system = {"Darwin": "macOS"}.get(platform.system(), platform.system() or "Desktop")
    host = (socket.gethostname().split(".")[0] or "Desktop").strip()
    suffix = f" ({system})"
    return host[: 32 - len(suffix)] + suffix


def keys_of(rec: PairingRecord) -> PairingKeys:
    """The protocol's view of a pairing: our key pair, the HEM's identity, the pid."""
    return PairingKeys(
        aid=KeyPair.from_private(PrivateKey(rec.aid_prv)),
        eid=PublicKey.from_b64(rec.eid),
        pid=rec.pid,
    )


def hem_url_of(rec: PairingRecord) -> str:
    """Where to reach a paired HEM directly: its stored address, else ``https://<hostname>``."""
    if rec.hem_url:
        return rec.hem_url
    if rec.hostname:
        return f"https://{rec.hostname}"
    raise StateError(
        f"The address of {rec.name} is unknown; set it with its settings before asking it directly."
    )


def pinned_cert_of(rec: PairingRecord) -> str | None:
    """The certificate (PEM) the person pinned for this HEM when pairing directly, if any."""
    return rec.cert_pem

"""Forgery tests: helpers to alter what a peer sends, bit by bit and claim by claim.

A *malicious broker* is played with the emulator's fault knob that answers a path with a chosen
status and body: the app then reads the altered event (or pairing request, or HEM answer) over
real HTTP, through the same code as a genuine one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from authenticator.emulator.server import RunningEmulator
from authenticator.protocol.b64 import b64decode, b64encode, b64url_decode, b64url_encode, pidx

ANSWERS = (
    "POST /notify/event/data/{event_id}/{pidx}",
    "DELETE /notify/event/data/{event_id}/{pidx}",
)


def serve(emu: RunningEmulator, path: str, body: Any, *, method: str = "GET") -> None:
    """The next ``method`` request to ``path`` is answered 200 with ``body`` (the real endpoint
    never sees it)."""
    emu.emulator.faults.add(path, method=method, status=200, body=json.dumps(body), times=1)


def event_path(event_id: str, pid: str) -> str:
    return f"/notify/event/data/{event_id}/{pidx(pid)}"


def broker_answers(emu: RunningEmulator) -> int:
    """How many approvals and denials (POST/DELETE on an event) the broker has received."""
    broker = emu.emulator.broker
    assert broker is not None
    calls = broker.calls
    return sum(calls.get(name, 0) for name in ANSWERS)


def flip_sealed(sealed: str, bit: int) -> str:
    """A sealed scope (``"A" + base64``) with one bit of its raw bytes (ciphertext ‖ tag)
    flipped; the result is still well-formed base64."""
    raw = bytearray(b64decode(sealed[1:]))
    raw[bit // 8] ^= 1 << (bit % 8)
    return "A" + b64encode(bytes(raw))


def sealed_bits(sealed: str) -> int:
    return 8 * len(b64decode(sealed[1:]))


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    head, body, sig = token.split(".")
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(body)), b64url_decode(sig)


def with_payload(token: str, payload: dict[str, Any]) -> str:
    """``token`` with its payload replaced (the signature left as it was: now wrong)."""
    head, _, sig = token.split(".")
    body = b64url_encode(json.dumps(payload, separators=(",", ":")).encode())
    return f"{head}.{body}.{sig}"


def flip_signature(token: str, bit: int) -> str:
    head, body, sig = token.split(".")
    raw = bytearray(b64url_decode(sig))
    raw[bit // 8] ^= 1 << (bit % 8)
    return f"{head}.{body}.{b64url_encode(bytes(raw))}"


def altered_claims(payload: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each claim changed in turn to a plausible other value of the same type."""
    for name, value in payload.items():
        if isinstance(value, bool):
            new: Any = not value
        elif isinstance(value, int):
            new = value + 1
        elif isinstance(value, str):
            try:
                raw = b64decode(value)
            except ValueError:
                raw = b""
            if raw:
                flipped = bytearray(raw)
                flipped[0] ^= 1
                new = b64encode(bytes(flipped))
            else:
                new = value + "x"
        elif isinstance(value, dict):
            new = {k: v + "A" if isinstance(v, str) else v for k, v in value.items()}
        else:
            continue
        yield name, {**payload, name: new}


def other_flavour(b64: str) -> str:
    """The same bytes in URL-safe base64 without padding (a different string)."""
    return base64.urlsafe_b64encode(b64decode(b64)).decode().rstrip("=")

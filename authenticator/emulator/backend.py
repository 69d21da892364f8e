"""The emulated check-in backend (the role of ``POST https://api.encedo.com/checkin``).

A HEM hands out a ``check`` only its trusted backend can verify; the backend answers ``checked``,
which sets the HEM's clock (``iat``) and may order an action. The real backend's key and its
``status`` encoding are unknown, so the emulator has its own X25519 key pair (every emulated HEM
trusts it) and its own encoding: ``status`` = base64 of 32 bytes whose first byte is the action
letter — ``O`` (OK, nothing to do), ``L`` (lock), ``W`` (wipe), ``R`` (report), ``B`` (brick),
``U`` (upgrade) — followed by 31 random bytes (the documented samples are opaque base64 of 32
bytes). :attr:`CheckinBackend.action` is the knob choosing what the next answers ask for.

``POST /checkin {check}`` → ``{checked}``; a malformed check is 400, a check not signed for this
backend is 401 (both with a JSON ``{"error"}``: this is not the device, so no empty bodies).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.ejwt import HEM_HEADER, Jwt, encode
from authenticator.protocol.jsonutil import get_str, parse_object
from authenticator.protocol.keys import KeyPair, PublicKey, Rng

__all__ = ["ACTIONS", "Check", "CheckinBackend", "encode_status", "make_checked", "read_check"]

ACTIONS = ("OK", "L", "W", "R", "B", "U")


@dataclass(frozen=True, slots=True)
class Check:
    """A HEM's verified check-in challenge: its nonce and its session key (``iss`` = ``spk``)."""

    jti: str
    spk: PublicKey


def read_check(backend: KeyPair, check: object) -> Check:
    """Verify a ``check`` addressed to ``backend`` (HMAC key ``X25519(backend, iss)``).

    ``DecodeError`` when malformed, ``IntegrityError`` when addressed elsewhere or not signed.
    """
    jwt = Jwt.parse(check, what="check-in challenge")
    what = "check-in challenge"
    spk = PublicKey.from_b64(get_str(jwt.payload, "iss", what=what), what="session key (iss)")
    aud = PublicKey.from_b64(get_str(jwt.payload, "aud", what=what), what="backend key (aud)")
    if aud != backend.public:
        raise IntegrityError("The check-in challenge is addressed to another backend.")
    jwt.verify(backend.exchange(spk), what=what)
    jti = get_str(jwt.payload, "jti", what=what)
    b64decode(jti, what="check-in nonce")
    return Check(jti=jti, spk=spk)


def encode_status(action: str, rng: Rng = secrets.token_bytes) -> str:
    """Our ``status``: base64 of the action letter (``O`` for OK) and 31 random bytes."""
    if action not in ACTIONS:
        raise DecodeError(f"Unknown check-in action {action!r}.")
    return b64encode(action[0].encode("ascii") + rng(31))


def make_checked(backend: KeyPair, check: Check, *, iat: int, status: str) -> str:
    """The ``checked`` answer: claims ``jti, iat, iss, aud, status``, keyed ``X25519(backend,
    spk)``, with the HEM's header order."""
    payload = {
        "jti": check.jti,
        "iat": iat,
        "iss": backend.public.b64,
        "aud": check.spk.b64,
        "status": status,
    }
    return encode(payload, backend.exchange(check.spk), header=HEM_HEADER)


class CheckinBackend:
    """The backend with its own trusted key; thread-safe."""

    def __init__(
        self,
        key: KeyPair | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: Rng = secrets.token_bytes,
    ) -> None:
        self.key = key or KeyPair.generate(rng)
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._action = "OK"
        self.count = 0

    @property
    def public(self) -> PublicKey:
        return self.key.public

    @property
    def action(self) -> str:
        """What the next answers ask the HEM to do (``OK`` unless a test or the admin API says)."""
        with self._lock:
            return self._action

    def reset(self) -> None:
        """Answer ``OK`` again and count check-ins from zero."""
        with self._lock:
            self._action = "OK"
            self.count = 0

    def set_action(self, action: str) -> None:
        if action not in ACTIONS:
            raise DecodeError(f"A check-in action is one of {', '.join(ACTIONS)}.")
        with self._lock:
            self._action = action

    def answer(self, check: object) -> str:
        """``checked`` for a HEM's ``check``; ``iat`` is the backend's (real) time."""
        parsed = read_check(self.key, check)
        with self._lock:
            self.count += 1
            status = encode_status(self._action, self._rng)
        return make_checked(self.key, parsed, iat=int(self._clock()), status=status)

    async def _endpoint(self, request: Request) -> JSONResponse:
        try:
            body = parse_object(await request.body(), what="request body")
            return JSONResponse({"checked": self.answer(body.get("check"))})
        except DecodeError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except IntegrityError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)

    def routes(self) -> list[BaseRoute]:
        return [Route("/checkin", self._endpoint, methods=["POST"])]

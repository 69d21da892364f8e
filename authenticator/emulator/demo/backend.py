"""What the demo page's JSON endpoints do, without HTTP: a Manager for the emulator's first HEM.

One :class:`~authenticator.emulator.requester.Requester` (built lazily, once the emulator
listens, from ``emulator.urls``; rebuilt if those change) talks real HTTP to the emulator's own
HEM, broker and check-in service. Pairings and access requests in progress are kept by id (the
newest :data:`MAX_SESSIONS` of each). Every method blocks; the routes run them in a worker
thread. Nothing here logs the passphrase or a token.
"""

from __future__ import annotations

import base64
import io
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

import qrcode
import qrcode.constants

from authenticator.emulator.requester import AccessSession, HemInfo, PairingSession, Requester
from authenticator.emulator.urls import EmulatorUrls
from authenticator.errors import DecodeError, NoSuchRequestError, StateError
from authenticator.net.tls import fetch_certificate
from authenticator.protocol.scopes import describe

__all__ = [
    "DEFAULT_PASSPHRASE",
    "DEMO_WAIT",
    "MANAGER_LOGIN_SCOPE",
    "MAX_SESSIONS",
    "DemoBackend",
    "EmulatorLike",
    "actions",
    "clock_text",
    "qr_png_data_url",
    "short_eid",
]

DEFAULT_PASSPHRASE = "demo"  # noqa: S105 - the emulator's documented demo passphrase
DEMO_WAIT = 120
"""Seconds an access request from the page waits for an answer before it is withdrawn."""
MAX_SESSIONS = 50
INFO_TTL = 30
"""Seconds the HEM's identity and the demo key's id are reused before being asked again."""
PGP_LABEL = "PGP main"
MANAGER_LOGIN_SCOPE = "master"
"""What the Encedo Manager asks for when it logs in (spec/hem-api.md §1: its default login
scope)."""
_MAX_SCOPE = 1023

_S = TypeVar("_S")


class EmulatorLike(Protocol):
    """What the demo needs of the running emulator (``server.py``'s ``Emulator``)."""

    @property
    def urls(self) -> EmulatorUrls | None: ...


def _wall_clock() -> int:
    return int(time.time())


QUIET_ZONE = 4
"""Modules of white around the code (the QR standard's quiet zone)."""


def qr_png_data_url(text: str) -> tuple[str, int]:
    """The QR code of ``text`` as a ``data:image/png;base64,…`` URL, black on white, **one pixel
    per module** with a quiet zone of :data:`QUIET_ZONE` modules, and its side in modules.

    The page scales it by a whole number of device pixels per module with no smoothing
    (``app.js``): a picture scaled by a fraction, as the page once did, gets modules of uneven
    widths that a screen reader of QR codes cannot read."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=QUIET_ZONE
    )
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    side = code.modules_count + 2 * QUIET_ZONE
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), side


def actions(kid: str | None) -> list[dict[str, str]]:
    """The page's buttons. Each button's ``label`` *is* the title the authenticator shows for
    its scope (the scope catalogue's), so what the person clicked and what the app asks them
    to approve read the same; ``detail`` is the page's own line under it."""
    chosen: list[tuple[str, str, str]] = [
        ("manager", MANAGER_LOGIN_SCOPE, "What the Encedo Manager asks for at login"),
    ]
    if kid is not None:
        chosen.append(("pgp", f"keymgmt:use:{kid}", f"The key {PGP_LABEL}"))
    chosen += [
        ("disk", "storage:disk0:rw", "The regular drive, read and write"),
        ("list", "keymgmt:list", "Every key's name and type"),
    ]
    return [
        {
            "id": name,
            "label": describe(scope).title,
            "title": describe(scope).title,
            "detail": detail,
            "scope": scope,
        }
        for name, scope, detail in chosen
    ]


def clock_text(unix: int) -> str:
    """``14:05 (UTC+01:00)``: a time of day on this computer's clock, with its offset."""
    when = datetime.fromtimestamp(unix).astimezone()
    offset = when.strftime("%z") or "+0000"
    return f"{when:%H:%M} (UTC{offset[:3]}:{offset[3:5]})"


def short_eid(eid: str) -> str:
    """``AbCdEf…wxyz=``: enough to recognise an EncedoID at a glance."""
    return eid if len(eid) <= 16 else f"{eid[:8]}…{eid[-6:]}"


def _close_all(owned: list[Requester]) -> None:
    for requester in owned:
        requester.close()
    owned.clear()


class _Sessions(OrderedDict[str, _S]):
    """Sessions by id, forgetting the oldest beyond :data:`MAX_SESSIONS`."""

    def add(self, session: _S) -> str:
        key = secrets.token_urlsafe(9)
        self[key] = session
        while len(self) > MAX_SESSIONS:
            self.popitem(last=False)
        return key


class DemoBackend:
    """The Manager behind the demo page."""

    def __init__(
        self, emulator: EmulatorLike, *, now: Callable[[], int] = _wall_clock, wait: int = DEMO_WAIT
    ) -> None:
        self._emulator = emulator
        self._now = now
        self._wait = wait
        self._lock = threading.Lock()
        self._requester: Requester | None = None
        self._urls: EmulatorUrls | None = None
        # The requester keeps a pooled connection to the broker. The server has no shutdown hook
        # for us, so close it when this backend goes (or the interpreter exits): never leave a
        # socket for the garbage collector to find open.
        self._owned: list[Requester] = []
        self._finalizer = weakref.finalize(self, _close_all, self._owned)
        self._pairings: _Sessions[PairingSession] = _Sessions()
        self._requests: _Sessions[AccessSession] = _Sessions()
        self._codes: dict[str, int] = {}  # page id → the code the page shows for it
        self._info: tuple[HemInfo, str | None, int] | None = None

    # ------------------------------------------------------------------ the requester

    def requester(self) -> Requester:
        """The requester for the emulator's current URLs (``StateError`` until it listens)."""
        urls = self._emulator.urls
        if urls is None:
            raise StateError("The emulator is not listening yet; try again in a moment.")
        with self._lock:
            if self._requester is not None and self._urls == urls:
                return self._requester
            old = self._requester
            passphrase = getattr(self._emulator, "passphrase", None)
            pinned = None
            if urls.cert_sha256:
                cert = fetch_certificate(urls.hems[0])
                if cert.sha256 != urls.cert_sha256.lower().replace(":", ""):
                    raise StateError("The emulator's certificate changed; reload the page.")
                pinned = cert.pem
            self._requester = Requester(
                urls.hems[0],
                urls.broker,
                backend_url=urls.backend,
                passphrase=passphrase if isinstance(passphrase, str) else DEFAULT_PASSPHRASE,
                pinned_cert=pinned,
                now=self._now,
            )
            self._urls, self._info = urls, None
            self._owned[:] = [self._requester]
            current = self._requester
        if old is not None:
            old.close()
        return current

    def close(self) -> None:
        """Close the requester's connections (a later call opens new ones)."""
        with self._lock:
            self._requester = None
            self._urls = None
        _close_all(self._owned)

    # ------------------------------------------------------------------ the HEM

    def _identity(self, requester: Requester) -> tuple[HemInfo, str | None]:
        """The HEM's identity and the "PGP main" key's id, cached for :data:`INFO_TTL` s."""
        now = self._now()
        with self._lock:
            cached = self._info
        if cached is not None and now < cached[2] + INFO_TTL:
            return cached[0], cached[1]
        requester.check_in_if_needed()
        info = requester.hem_info(refresh=True)
        kid = requester.find_key(PGP_LABEL)
        with self._lock:
            self._info = (info, kid, now)
        return info, kid

    def hem(self) -> dict[str, Any]:
        """``GET /demo/api/hem``: who the HEM is, how many authenticators it has, the actions."""
        requester = self.requester()
        info, kid = self._identity(requester)
        return {
            **info.to_json(),
            "eid_short": short_eid(info.eid),
            "paired": requester.paired_count(),
            "hem_url": requester.hem_url,
            "broker_url": requester.broker.origin,
            "actions": actions(kid),
        }

    # ------------------------------------------------------------------ pairing

    def start_pairing(self) -> dict[str, Any]:
        """``POST /demo/api/pair``: a new pairing QR code."""
        session = self.requester().start_pairing()
        with self._lock:
            key = self._pairings.add(session)
        png, modules = qr_png_data_url(session.qr_text)
        return {
            "id": key,
            "state": session.state,
            "qr_text": session.qr_text,
            "pair_link": session.pair_link,
            "link": session.qr.link,
            "qr_png": png,
            "qr_modules": modules,
        }

    def pairing(self, key: str) -> dict[str, Any]:
        """``GET /demo/api/pair/<id>``: poll the pairing once."""
        with self._lock:
            session = self._pairings.get(key)
        if session is None:
            raise NoSuchRequestError("No such pairing on this page; start a new one.")
        state = session.poll()
        answer: dict[str, Any] = {"id": key, "state": state}
        if state == "paired":
            answer["kid"] = session.kid
        return answer

    # ------------------------------------------------------------------ access

    def request(self, scope: object) -> dict[str, Any]:
        """``POST /demo/api/request {scope}``: ask the paired authenticators through the broker."""
        if not isinstance(scope, str) or not 0 < len(scope) <= _MAX_SCOPE:
            raise DecodeError("Give the scope to ask for (1 to 1023 characters).")
        if not scope.isprintable():
            raise DecodeError("The scope must be printable text.")
        # A code to match in the app (code matching), and when this page stops waiting: both the
        # requester's words, carried in the note (core/codes.py reads "code:NN").
        code = 10 + secrets.randbelow(90)
        note = (
            f"Demo Manager page, code:{code}; it stops waiting at "
            f"{clock_text(self._now() + self._wait)}"
        )
        session = self.requester().request_access(scope, wait=self._wait, note=note)
        with self._lock:
            key = self._requests.add(session)
            self._codes = {k: v for k, v in self._codes.items() if k in self._requests}
            self._codes[key] = code
        return self._access(key, session)

    def access(self, key: str) -> dict[str, Any]:
        """``GET /demo/api/request/<id>``: poll the request once."""
        session = self.session(key)
        session.poll()
        return self._access(key, session)

    def cancel(self, key: str) -> dict[str, Any]:
        """``POST /demo/api/request/<id>/cancel``: withdraw it if still pending."""
        session = self.session(key)
        session.cancel()
        return self._access(key, session)

    def session(self, key: str) -> AccessSession:
        """The access request behind a page id (``NoSuchRequestError`` when unknown)."""
        with self._lock:
            session = self._requests.get(key)
        if session is None:
            raise NoSuchRequestError("No such request on this page; ask again.")
        return session

    def _access(self, key: str, session: AccessSession) -> dict[str, Any]:
        result = session.result
        answer: dict[str, Any] = {
            "id": key,
            "event_id": session.event_id,
            "scope": session.scope,
            "title": describe(session.scope).title,
            "state": result.state,
            "remaining": session.remaining,
            "wait": self._wait,
            "code": self._codes.get(key),
        }
        if result.state == "approved":
            answer["token"] = result.token
            answer["claims"] = dict(result.claims)
        if result.error:
            answer["error"] = result.error
        return answer

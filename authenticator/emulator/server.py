"""The emulator as one server: HEMs, broker, check-in backend, demo page and admin API.

One listener serves everything (docs/architecture.md, "The emulator's shape"): HEM 0 at
``/api/*``, HEM ``n`` at ``/hem/<n>/api/*``, the broker at ``/notify/*``, the check-in backend at
``/checkin``, the demo page at ``/demo/`` (``/`` redirects there), the admin API at
``/_emulator/``. :class:`~authenticator.emulator.faults.FaultMiddleware` stands in front of it all.

* :class:`Emulator` — the state: HEMs, broker, backend, faults; ``add_hem()``, ``reset()``.
* :func:`build_app` — the ASGI application for an :class:`Emulator`.
* :func:`serve_in_thread` → :class:`RunningEmulator` — uvicorn on its own thread and loop,
  returned once the socket listens; ``down()``/``up()`` stop and restart the listener on the same
  port (connection refused in between); optional HTTPS with a fresh self-signed certificate.
* :func:`main` — ``authenticator emulator [...]``; also ``python -m authenticator.emulator.server``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from authenticator.emulator.admin import admin_routes
from authenticator.emulator.backend import CheckinBackend
from authenticator.emulator.clock import EmuClock, MovableClock, check_rate
from authenticator.emulator.faults import TRANSPORT_KEY, FaultMiddleware, Faults
from authenticator.emulator.hem.device import HARDWARE_FORMS, HemDevice, check_hardware
from authenticator.emulator.hem.model import HemState
from authenticator.emulator.hem.routes import HemApp
from authenticator.emulator.state import StateFile
from authenticator.emulator.urls import EmulatorUrls
from authenticator.errors import AuthenticatorError, StateError
from authenticator.protocol.keys import Rng

if TYPE_CHECKING:
    from authenticator.emulator.broker.service import Broker

__all__ = ["Emulator", "RunningEmulator", "build_app", "main", "serve_in_thread"]

DEFAULT_PASSPHRASE = "demo"  # noqa: S105 - the documented demo passphrase, not a secret
START_TIMEOUT = 10.0
_LOOPBACK_FOR = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - names, not binds


class Emulator:
    """Everything the emulator serves, without the server.

    HEMs are created personalised with ``passphrase`` (or factory-fresh with ``fresh=True``);
    with ``state_file`` they are loaded from it when it exists and saved to it after every change.
    ``broker`` and ``demo`` switch those parts off (their routes are then absent).

    ``hardware`` (``"ppa"`` or ``"epa"``) is the form every HEM presents; ``clock_rate`` how fast
    their clocks run from their last check-in (a real HEM: about 1.08). ``clock`` is the host
    time of everything — HEM clocks, broker, check-in backend — ``time.time`` unless a test
    passes a :class:`~authenticator.emulator.clock.MovableClock` to run a day without waiting.
    """

    def __init__(
        self,
        *,
        hem_count: int = 1,
        passphrase: str = DEFAULT_PASSPHRASE,
        fresh: bool = False,
        rtc_set: bool = True,
        state_file: Path | str | None = None,
        broker: bool = True,
        demo: bool = True,
        rng: Rng = secrets.token_bytes,
        hardware: str = "ppa",
        clock_rate: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= hem_count <= 32:
            raise StateError("The emulator runs 1 to 32 HEMs.")
        self.passphrase: str | None = None if fresh else passphrase
        self.rtc_at_boot = rtc_set
        self.demo = demo
        self.hardware = check_hardware(hardware)
        self.clock_rate = check_rate(clock_rate)
        self.clock = clock
        self.backend = CheckinBackend(clock=clock, rng=rng)
        self.faults = Faults()
        self.hems: list[HemDevice] = []
        self.listener: RunningEmulator | None = None
        self._rng = rng
        self._lock = threading.RLock()
        self._origin: str | None = None
        self._cert_sha256: str | None = None
        self._state = StateFile(state_file) if state_file is not None else None
        states = self._state.load() if self._state is not None else []
        for index in range(len(states), hem_count):
            states.append(self._new_state(index))
        self._initial = [s.to_json() for s in states]
        for state in states:
            self._attach(state)
        self.broker: Broker | None = None
        if broker:
            from authenticator.emulator.broker.service import Broker

            self.broker = Broker(clock=clock)

    # ------------------------------------------------------------------ HEMs

    def _new_state(self, index: int, *, passphrase: str | None = None) -> HemState:
        return HemState.create(
            index,
            now=int(self.clock()),
            passphrase=passphrase if passphrase is not None else self.passphrase,
            rng=self._rng,
        )

    def _attach(self, state: HemState) -> HemDevice:
        with self._lock:
            device = HemDevice(
                state,
                trusted_backend=self.backend.public,
                index=len(self.hems),
                clock=EmuClock(self.clock, rate=self.clock_rate),
                rtc_at_boot=self.rtc_at_boot,
                https=self._origin is not None and self._origin.startswith("https:"),
                hardware=self.hardware,
                rng=self._rng,
                on_change=self._save if self._state is not None else None,
            )
            self.hems.append(device)
            self._save(device)
            return device

    def _save(self, device: HemDevice) -> None:
        if self._state is not None:
            self._state.save(device.index, device.snapshot())

    def add_hem(self, *, passphrase: str | None = None, fresh: bool = False) -> HemDevice:
        """One more HEM, served at ``/hem/<n>/api/*`` (personalised with ``passphrase`` or the
        emulator's, or factory-fresh)."""
        with self._lock:
            pw = None if fresh else (passphrase or self.passphrase or DEFAULT_PASSPHRASE)
            return self._attach(HemState.create(len(self.hems), now=int(self.clock()),
                                                passphrase=pw, rng=self._rng))  # fmt: skip

    def hem(self, index: int) -> HemDevice | None:
        """HEM ``index``, or ``None``."""
        with self._lock:
            return self.hems[index] if 0 <= index < len(self.hems) else None

    def reset(self) -> None:
        """Back to the start: the initial HEMs in their initial state with default knobs (extra
        HEMs removed), no faults, the backend answering OK (counting from zero), the broker
        emptied."""
        with self._lock:
            self.faults.clear()
            self.backend.reset()
            del self.hems[len(self._initial) :]
            if self._state is not None:
                self._state.forget(len(self._initial))
            for device, initial in zip(self.hems, self._initial, strict=True):
                device.rtc_at_boot = self.rtc_at_boot
                device.reset_to(HemState.from_json(initial))
                self._save(device)
            reset = getattr(self.broker, "reset", None)
            if callable(reset):
                reset()

    # ------------------------------------------------------------------ addresses

    def bind(self, origin: str, cert_sha256: str | None = None) -> None:
        """Where the emulator listens (set by :func:`serve_in_thread`)."""
        with self._lock:
            self._origin = origin.rstrip("/")
            self._cert_sha256 = cert_sha256
            for device in self.hems:
                device.https = self._origin.startswith("https:")

    @property
    def urls(self) -> EmulatorUrls | None:
        """The addresses of everything served; ``None`` until the emulator listens."""
        with self._lock:
            if self._origin is None:
                return None
            return EmulatorUrls.for_origin(self._origin, len(self.hems), self._cert_sha256)

    def summary(self) -> dict[str, Any]:
        """What ``GET /_emulator/`` shows."""
        with self._lock:
            hems = [device.summary() for device in self.hems]
            urls = self.urls
        for hem in hems:
            hem["url"] = None if urls is None else urls.hems[hem["index"]]
        broker_summary = getattr(self.broker, "summary", None)
        return {
            "hems": hems,
            "broker": broker_summary() if callable(broker_summary) else None,
            "backend": {
                "key": self.backend.public.b64,
                "action": self.backend.action,
                "checkins": self.backend.count,
            },
            "faults": self.faults.active(),
            "clock": {"host": self.clock(), "movable": isinstance(self.clock, MovableClock)},
            "urls": None if urls is None else urls.to_json(),
        }


# ---------------------------------------------------------------------- the application


async def _home(request: Request) -> RedirectResponse:
    demo = request.app.state.demo
    return RedirectResponse("/demo/" if demo else "/_emulator/", status_code=307)


def build_app(emulator: Emulator) -> Starlette:
    """The one ASGI application serving ``emulator`` (see the module docstring for the paths)."""
    routes: list[BaseRoute] = [
        Route("/", _home, methods=["GET"]),
        Route("/api/{rest:path}", HemApp(emulator.hem, 0)),
        Route("/hem/{n:int}/api/{rest:path}", HemApp(emulator.hem)),
        *emulator.backend.routes(),
        *admin_routes(emulator),
    ]
    if emulator.broker is not None:
        from authenticator.emulator.broker.routes import broker_routes

        routes += broker_routes(emulator.broker)
    if emulator.demo:
        from authenticator.emulator.demo.routes import demo_routes

        routes += demo_routes(emulator)
    app = Starlette(routes=routes, middleware=[Middleware(FaultMiddleware, faults=emulator.faults)])
    app.state.demo = emulator.demo
    return app


# ---------------------------------------------------------------------- serving


class _Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, which also hands each connection's transport to the app
    (in the scope's ``state``) so the fault middleware can drop a connection on purpose."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app_state = {**self.app_state, TRANSPORT_KEY: transport}


class _Server(uvicorn.Server):
    """A uvicorn server that says when it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and an
    # accepted socket inherits the listener's. Without it every keep-alive answer waited ~40 ms
    # (Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def make_certificate(directory: Path, host: str) -> tuple[Path, Path, str]:
    """A self-signed certificate for ``localhost``, 127.0.0.1 (and ``host`` if it is another
    address) → (cert file, key file, SHA-256 of the DER certificate in lowercase hex)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    addresses = {ipaddress.ip_address("127.0.0.1")}
    with contextlib.suppress(ValueError):
        addresses.add(ipaddress.ip_address(host))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    *(x509.IPAddress(a) for a in sorted(addresses, key=str)),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "emulator-cert.pem", directory / "emulator-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    return cert_path, key_path, fingerprint


class RunningEmulator:
    """A listening emulator (a context manager; :meth:`stop` when done)."""

    def __init__(self, emulator: Emulator, *, host: str, port: int, https: bool) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self.https = https
        self.cert_path: Path | None = None
        self.cert_sha256: str | None = None
        self._key_path: Path | None = None
        self._tmp: Path | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._app = build_app(emulator)
        if https:
            self._tmp = Path(tempfile.mkdtemp(prefix="encedo-emulator-"))
            self.cert_path, self._key_path, self.cert_sha256 = make_certificate(self._tmp, host)
        self._start()
        shown = _LOOPBACK_FOR.get(host, host)  # listening everywhere: advertise loopback
        netloc = f"[{shown}]" if ":" in shown else shown
        emulator.bind(f"{'https' if https else 'http'}://{netloc}:{self.port}", self.cert_sha256)
        emulator.listener = self

    @property
    def urls(self) -> EmulatorUrls:
        """Where it listens (the port stays the same across :meth:`down` and :meth:`up`)."""
        urls = self.emulator.urls
        if urls is None:
            raise StateError("The emulator is not listening.")
        return urls

    @property
    def is_up(self) -> bool:
        with self._lock:
            return self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            host=self.host,
            port=self.port,
            http=_Protocol,
            ws="none",
            lifespan="off",
            loop="asyncio",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=2,
            ssl_certfile=str(self.cert_path) if self.cert_path else None,
            ssl_keyfile=str(self._key_path) if self._key_path else None,
        )
        server = _Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="emulator", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.listening.wait(0.05):
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise StateError(f"The emulator could not listen on {self.host}:{self.port}.")
        with self._lock:
            self._server, self._thread = server, thread

    def down(self) -> None:
        """Stop listening (clients get "connection refused") until :meth:`up`."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(START_TIMEOUT)

    def up(self) -> None:
        """Listen again on the same port."""
        if not self.is_up:
            self._start()

    def stop(self) -> None:
        """Stop for good and remove the certificate's temporary directory."""
        self.down()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    emulator: Emulator | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    https: bool = False,
    hem_count: int = 1,
    passphrase: str = DEFAULT_PASSPHRASE,
    fresh: bool = False,
    state_file: Path | str | None = None,
    rtc_set: bool = True,
    hardware: str = "ppa",
    clock_rate: float = 1.0,
    clock: Callable[[], float] = time.time,
) -> RunningEmulator:
    """Serve ``emulator`` (or a new one built from the other arguments) on a daemon thread and
    return once it listens. ``port=0`` picks a free port (read it back from ``.urls``)."""
    if emulator is None:
        emulator = Emulator(hem_count=hem_count, passphrase=passphrase, fresh=fresh,
                            state_file=state_file, rtc_set=rtc_set, hardware=hardware,
                            clock_rate=clock_rate, clock=clock)  # fmt: skip
    return RunningEmulator(emulator, host=host, port=port, https=https)


# ---------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="authenticator emulator",
        description="Run the built-in Encedo HEM + broker emulator until Ctrl-C.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--https", action="store_true", help="serve HTTPS with a self-signed cert")
    p.add_argument("--state", metavar="FILE", help="keep the HEMs in FILE across restarts")
    p.add_argument("--passphrase", default=DEFAULT_PASSPHRASE, help="HEM passphrase (demo)")
    p.add_argument("--fresh", action="store_true", help="start the HEMs factory-fresh")
    p.add_argument("--hems", type=int, default=1, metavar="N", help="number of HEMs (default 1)")
    p.add_argument("--rtc-unset", action="store_true", help="HEM clocks unset until a check-in")
    p.add_argument(
        "--hardware",
        choices=HARDWARE_FORMS,
        default="ppa",
        help="hardware form the HEMs present: ppa (default) or epa",
    )
    p.add_argument(
        "--clock-rate",
        type=float,
        default=1.0,
        metavar="R",
        help="HEM clocks run R times as fast from their last check-in (a real HEM: about 1.08)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object with the URLs")
    return p


def _describe(running: RunningEmulator, passphrase: str | None) -> str:
    urls = running.urls
    rows = [(f"HEM {index}", url) for index, url in enumerate(urls.hems)]
    rows += [
        ("passphrase", passphrase if passphrase is not None else "none (fresh HEMs)"),
        ("broker", f"{urls.broker}/notify"),
        ("check-in", f"{urls.backend}/checkin"),
        ("demo page", urls.demo),
        ("admin API", f"{urls.admin}/"),
    ]
    if urls.cert_sha256:
        rows.append(("TLS SHA-256", urls.cert_sha256))
    lines = ["Encedo HEM emulator running.", *(f"  {k + ':':<13}{v}" for k, v in rows)]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``authenticator emulator``: serve until Ctrl-C or SIGTERM, then exit 0."""
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            running = serve_in_thread(
                host=args.host,
                port=args.port,
                https=args.https,
                hem_count=args.hems,
                passphrase=args.passphrase,
                fresh=args.fresh,
                state_file=args.state,
                rtc_set=not args.rtc_unset,
                hardware=args.hardware,
                clock_rate=args.clock_rate,
            )
        except (OSError, AuthenticatorError) as exc:
            print(f"The emulator could not start: {exc}", file=sys.stderr)
            return 1
        with running:
            passphrase = running.emulator.passphrase
            if args.json:
                print(json.dumps({**running.urls.to_json(), "passphrase": passphrase}), flush=True)
            else:
                print(_describe(running, passphrase), flush=True)
            stop.wait()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

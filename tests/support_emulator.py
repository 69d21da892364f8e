"""Shared fixtures: the real emulator over HTTP and the Manager's side (registered for every test
directory by tests/conftest.py).

One emulator (two HEMs) serves the whole session and is reset before every test. The Manager's
side is played by the emulator's own :class:`~authenticator.emulator.requester.Requester`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from authenticator.core.app import Core
from authenticator.core.model import HemView
from authenticator.core.netfactory import NetFactory
from authenticator.emulator.requester import AccessResult, AccessSession, Requester
from authenticator.emulator.server import RunningEmulator, serve_in_thread
from authenticator.store.keychain import SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.vault import KdfParams

PASSPHRASE = "correct horse battery staple"
HEM_PASSPHRASE = "demo"


@pytest.fixture(scope="session")
def running() -> Iterator[RunningEmulator]:
    with serve_in_thread(hem_count=2, passphrase=HEM_PASSPHRASE) as r:
        yield r


@pytest.fixture
def emu(running: RunningEmulator) -> RunningEmulator:
    running.up()
    running.emulator.reset()
    running.emulator.faults.clear()
    for hem in running.emulator.hems:
        hem.set_pacing(0, 0)
    return running


def make_core(home: Path, **kw: object) -> Core:
    return Core(
        AppPaths.for_home(home),
        keychain=SystemKeychain(timeout=0.5),
        # Generous: a loaded 2-core CI machine must not turn a slow answer into a failure.
        net=NetFactory(hem_timeout=15.0, broker_timeout=15.0),
        kdf=KdfParams.minimum(),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def core(tmp_path: Path, emu: RunningEmulator) -> Iterator[Core]:
    c = make_core(tmp_path / "home")
    c.create_store(passphrase=PASSPHRASE)
    yield c
    c.close()


@pytest.fixture
def requester(emu: RunningEmulator) -> Iterator[Requester]:
    with Requester(
        emu.urls.hems[0], emu.urls.broker, backend_url=emu.urls.backend, passphrase=HEM_PASSPHRASE
    ) as r:
        yield r


def requester_for(emu: RunningEmulator, hem: int) -> Requester:
    return Requester(
        emu.urls.hems[hem], emu.urls.broker, backend_url=emu.urls.backend, passphrase=HEM_PASSPHRASE
    )


def wait_for(check: Callable[[], object], timeout: float = 30.0, step: float = 0.02) -> object:
    """Poll ``check`` until it returns something truthy (the other side works over HTTP)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(step)


def pair_by_qr(core: Core, requester: Requester, **kw: str) -> HemView:
    """The whole QR pairing: Manager shows the code, the app accepts, the Manager finishes."""
    session = requester.start_pairing()
    preview = core.preview_qr(session.qr_text)
    hem = core.accept_pairing(preview, **kw)  # type: ignore[arg-type]
    assert session.poll() == "paired"
    return hem


def finished(session: AccessSession) -> AccessResult:
    result = wait_for(lambda: (r := session.poll()).state != "pending" and r)
    assert isinstance(result, AccessResult)
    return result


@dataclass
class Ask:
    """A broker request made by the Manager and seen by the app."""

    session: AccessSession
    request_id: str


def ask(core: Core, requester: Requester, scope: str, *, note: str | None = None) -> Ask:
    session = requester.request_access(scope, note=note)
    wait_for(lambda: session.event_id in [r.id for r in core.refresh()])
    return Ask(session, session.event_id)

"""Helpers of the fault tests: a core with short client timeouts and a recording listener."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from authenticator.core.app import Core
from authenticator.core.model import AccessRequest, ConnectionState, Outcome
from authenticator.core.netfactory import NetFactory
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.store.keychain import SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.vault import KdfParams
from tests.support_emulator import PASSPHRASE

APPROVALS = "POST /notify/event/data/{event_id}/{pidx}"
EVENT_DATA = "/notify/event/data/"
LISTING = "/notify/event/data/allbypid"


class Watcher:
    """A listener that records what a front end would show."""

    def __init__(self) -> None:
        self.added: list[AccessRequest] = []
        self.removed: list[tuple[str, Outcome, str]] = []
        self.states: list[ConnectionState] = []
        self.lock = threading.Lock()

    def request_added(self, request: AccessRequest) -> None:
        with self.lock:
            self.added.append(request)

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        with self.lock:
            self.removed.append((request.id, outcome, message))

    def connection_changed(self, state: ConnectionState) -> None:
        with self.lock:
            self.states.append(state)

    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...

    def offline_messages(self) -> set[str]:
        with self.lock:
            return {s.message for s in self.states if not s.online}

    def back_online(self) -> bool:
        with self.lock:
            seen_offline = False
            for state in self.states:
                seen_offline = seen_offline or not state.online
                if seen_offline and state.online:
                    return True
        return False


def fast_core(home: Path) -> Core:
    core = Core(
        AppPaths.for_home(home),
        keychain=SystemKeychain(timeout=0.5),
        net=NetFactory(hem_timeout=0.5, broker_timeout=0.5),
        kdf=KdfParams.minimum(),
    )
    core.create_store(passphrase=PASSPHRASE)
    return core


def approvals(emu: RunningEmulator) -> int:
    broker = emu.emulator.broker
    assert broker is not None
    return broker.calls.get(APPROVALS, 0)


def shown(app: Core, requester: Requester) -> str:
    """A broker request made by the Manager and now in the app's inbox."""
    session = requester.request_access("keymgmt:list")
    app.refresh()
    assert session.event_id in [r.id for r in app.pending()]
    return session.event_id


def pending_ids(app: Core) -> list[str]:
    return [r.id for r in app.pending()]


@pytest.fixture
def app(tmp_path: Path, emu: RunningEmulator) -> Iterator[Core]:
    """A core whose HEM and broker clients give up after 0.5 s."""
    core = fast_core(tmp_path / "home")
    yield core
    core.close()

"""The poller: one broker call per round for all pairings, backoff, recovery, nothing lost."""

from __future__ import annotations

import json
import threading

from authenticator.core.app import Core
from authenticator.core.model import AccessRequest, ConnectionState, Outcome
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from tests.core.conftest import PASSPHRASE, pair_by_qr, requester_for, wait_for


class Listener:
    def __init__(self) -> None:
        self.added: list[AccessRequest] = []
        self.removed: list[tuple[str, Outcome]] = []
        self.states: list[ConnectionState] = []
        self.waiting: list[int] = []
        self.event = threading.Event()

    def request_added(self, request: AccessRequest) -> None:
        self.added.append(request)
        self.event.set()

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None:
        self.removed.append((request.id, outcome))

    def connection_changed(self, state: ConnectionState) -> None:
        self.states.append(state)

    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...

    def locked_waiting(self, count: int) -> None:
        self.waiting.append(count)


def test_one_call_per_round_for_all_pairings(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    pair_by_qr(core, requester)
    with requester_for(emu, 1) as second:
        pair_by_qr(core, second)
    broker = emu.emulator.broker
    assert broker is not None
    before = broker.calls.get("POST /notify/event/data/allbypid", 0)
    core.refresh()
    core.refresh()
    assert broker.calls.get("POST /notify/event/data/allbypid", 0) - before == 2


def test_the_poller_shows_requests_by_itself(core: Core, requester: Requester) -> None:
    core.update_settings(poll_interval_s=1)
    pair_by_qr(core, requester)
    seen = Listener()
    core.add_listener(seen)
    core.start(agent=False)
    session = requester.request_access("keymgmt:list")
    wait_for(lambda: [r for r in seen.added if r.id == session.event_id])
    core.approve(session.event_id)
    assert wait_for(lambda: (r := session.poll()).state == "approved" and r)


def test_broker_faults_back_off_and_recover_without_losing_anything(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    core.update_settings(poll_interval_s=1)
    pair_by_qr(core, requester)
    seen = Listener()
    core.add_listener(seen)
    session = requester.request_access("keymgmt:list")
    emu.emulator.faults.add("/notify/event/data/allbypid", status=503, times=1)
    emu.emulator.faults.add("/notify/event/data/allbypid", garbage=True, times=1)
    core.start(agent=False)
    wait_for(lambda: [s for s in seen.states if not s.online], timeout=15)
    offline = next(s for s in seen.states if not s.online)
    assert "unavailable" in offline.message or "not JSON" in offline.message
    assert offline.retry_in >= 2
    wait_for(lambda: [r for r in seen.added if r.id == session.event_id], timeout=30)
    wait_for(lambda: seen.states[-1].online)  # reported once the round that showed it ends


def test_broker_down_then_back(core: Core, requester: Requester, emu: RunningEmulator) -> None:
    pair_by_qr(core, requester)
    session = requester.request_access("keymgmt:list")
    emu.down()
    try:
        import pytest

        from authenticator.errors import ConnectError

        with pytest.raises(ConnectError, match="Could not connect"):
            core.refresh()
    finally:
        emu.up()
    assert [r.id for r in core.refresh()] == [session.event_id]


def test_expiry_sweep_settles_requests_whose_time_is_up(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    session = requester.request_access("keymgmt:list")
    core.refresh()
    seen = Listener()
    core.add_listener(seen)

    class Later:
        def now(self) -> int:
            import time

            return int(time.time()) + 4000

    core.session.clock = Later()
    assert core.expire_due() == [session.event_id]
    assert seen.removed == [(session.event_id, Outcome.EXPIRED)]


def test_start_at_login_writes_and_removes_the_autostart_entry(
    core: Core, tmp_path: object, monkeypatch: object
) -> None:
    import pytest

    mp: pytest.MonkeyPatch = monkeypatch  # type: ignore[assignment]
    config = tmp_path / "config"  # type: ignore[operator]
    mp.setenv("XDG_CONFIG_HOME", str(config))
    entry = config / "autostart" / "com.encedo.Authenticator.desktop"
    core.update_settings(start_at_login=True)
    assert entry.exists()
    assert "Exec=" in entry.read_text()
    core.update_settings(start_at_login=False)
    assert not entry.exists()
    kinds = [e.kind for e in core.journal_entries()]
    assert kinds.count("settings.changed") == 2


def test_a_request_that_arrives_while_locked_is_announced_without_details(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    """Locked, the app cannot open a request, but it still learns that one waits (from the
    broker's listing, with the pairing ids kept outside the vault), so the owner is told to
    unlock; unlocking shows it."""
    hem = pair_by_qr(core, requester)
    core.update_settings(poll_interval_s=1)
    seen = Listener()
    core.add_listener(seen)
    pid = core.pairing(hem.name).pid
    core.lock()
    core.start(agent=False)
    session = requester.request_access("keymgmt:list")
    wait_for(lambda: seen.waiting and seen.waiting[-1] == 1)
    assert core.pending() == []  # nothing opened, nothing shown
    assert core.waiting_while_locked == 1
    # The file that made it possible holds the broker and the pid, nothing secret.
    kept = json.loads(core.paths.data_dir.joinpath("poll.json").read_text())
    assert kept["brokers"] == {hem.broker_url: [pid]}
    assert oct(core.paths.data_dir.joinpath("poll.json").stat().st_mode & 0o777) == "0o600"
    core.unlock(PASSPHRASE)
    wait_for(lambda: [r for r in seen.added if r.id == session.event_id])
    assert seen.waiting[-1] == 0
    assert core.waiting_while_locked == 0

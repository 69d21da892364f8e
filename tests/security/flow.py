"""One full flow of the app, used by the security tests: everything it writes is then inspected.

Pair through the broker (QR) with HEM 0 and directly with HEM 1, approve a broker request and a
direct request, hand a token to a program through the local agent, change a setting, then unpair
HEM 1 (at the broker and on the HEM). Logging goes to the home's log file at DEBUG.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.core.logs import setup_logging
from authenticator.core.model import AccessRequest, Outcome
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import AuthenticatorError
from tests.support_emulator import finished, pair_by_qr


def forms(secret: bytes | str) -> list[str]:
    """The ways a secret could appear in text."""
    if isinstance(secret, str):
        return [secret]
    return [
        base64.b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
        secret.hex(),
    ]


class Approver:
    """The owner: approves every local request as it appears (as a click would)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def request_added(self, request: AccessRequest) -> None:
        if request.source == "local":
            threading.Thread(target=self.core.approve, args=(request.id,)).start()

    def request_removed(self, request: AccessRequest, outcome: Outcome, message: str) -> None: ...
    def connection_changed(self, state: object) -> None: ...
    def lock_changed(self, locked: bool) -> None: ...
    def hems_changed(self) -> None: ...
    def journal_changed(self) -> None: ...


@dataclass
class FlowResult:
    log_file: Path
    socket_mode: int
    socket_dir_mode: int
    tokens: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    reprs: list[str] = field(default_factory=list)


def full_flow(core: Core, emu: RunningEmulator, hem_passphrase: str) -> FlowResult:
    log_file = setup_logging(core.paths, "DEBUG")
    logging.getLogger("authenticator").debug("security flow starts")
    result = FlowResult(log_file=log_file, socket_mode=0, socket_dir_mode=0)
    with Requester(
        emu.urls.hems[0], emu.urls.broker, backend_url=emu.urls.backend, passphrase=hem_passphrase
    ) as manager:
        broker_hem = pair_by_qr(core, manager)
        session = manager.request_access("keymgmt:list")
        core.refresh()
        grant = core.approve(session.event_id)
        broker_token = finished(session).token
        assert broker_token
        result.tokens.append(broker_token)
        result.reprs += [repr(grant), repr(session), repr(manager)]
    direct = core.pair_direct(core.preview_direct(emu.urls.hems[1]), hem_passphrase)
    entry = core.ask_hem("keymgmt:list", hem=direct.name)
    direct_grant = core.approve(entry.request.id)
    assert direct_grant.token
    result.tokens.append(direct_grant.token)
    result.reprs += [repr(direct_grant), repr(entry), repr(core.pending()), repr(core.hems())]
    # a program asks through the agent; the owner clicks Approve
    core.add_listener(Approver(core))
    server = AgentServer(
        core,
        core.paths.agent_socket,
        limiter=RateLimiter(concurrent=5, per_minute=50),
        read_deadline=1.0,
    )
    server.start()
    try:
        result.socket_mode = server.path.stat().st_mode & 0o777
        result.socket_dir_mode = server.path.parent.stat().st_mode & 0o777
        answer = AgentClient(server.path).token("keymgmt:list", hem=direct.name)
        result.tokens.append(answer.token)
        result.reprs.append(repr(answer))
    finally:
        server.stop()
    for bad in ("not the passphrase",):  # a failed login: its message must not echo anything
        try:
            core.pair_direct(core.preview_direct(emu.urls.hems[1]), bad)
        except AuthenticatorError as exc:
            result.messages.append(str(exc))
    core.update_settings(idle_lock_min=9)
    core.unpair(direct.name, hem_passphrase=hem_passphrase)
    result.reprs += [repr(core.vault), repr(core.journal()), repr(broker_hem)]
    logging.getLogger("authenticator").debug("security flow ends")
    return result

"""Exit codes of ``authenticator`` (stable: scripts rely on them; documented in docs/cli.md)."""

from __future__ import annotations

from authenticator.core.agent_client import AgentNotRunning, AgentTimeout
from authenticator.errors import (
    AuthenticatorError,
    DecodeError,
    ExpiredError,
    Gone,
    KeychainError,
    LockedError,
    NetTimeoutError,
    NotFound,
    TransportError,
    Unavailable,
    UserCancelled,
    WrongPassphraseError,
)

SUCCESS = 0
OTHER = 1
USAGE = 2
DENIED = 3
"""Denied, refused, expired, cancelled or answered elsewhere: no access was granted."""
LOCKED = 4
"""The store could not be opened: locked, wrong passphrase, no keychain and no passphrase."""
UNREACHABLE = 5
"""The HEM or the broker could not be reached (or did not answer in time)."""
NO_APP = 6
"""The desktop app is not running, and the command needs it (or there is no terminal to ask
on instead)."""
TIMEOUT = 7
"""Nobody answered within ``--timeout``: the request was withdrawn."""
PARTIAL = 8
"""Some scopes were granted, others not (each is reported by name)."""

TABLE = {
    SUCCESS: "success",
    OTHER: "any other failure",
    USAGE: "the command line is wrong (unknown option, bad period, unreadable QR code)",
    DENIED: "denied, refused, expired, cancelled or answered elsewhere",
    LOCKED: "locked: the store could not be opened",
    UNREACHABLE: "the HEM or the broker could not be reached",
    NO_APP: "the desktop app is not running (and there is no terminal to ask on)",
    TIMEOUT: "nobody answered within --timeout",
    PARTIAL: "some scopes were granted, others not",
}


def code_for(exc: AuthenticatorError) -> int:
    if isinstance(exc, AgentTimeout):
        return TIMEOUT
    if isinstance(exc, AgentNotRunning):
        return NO_APP
    if isinstance(exc, LockedError | WrongPassphraseError | KeychainError):
        return LOCKED
    if isinstance(exc, UserCancelled | ExpiredError | NotFound | Gone):
        return DENIED
    if isinstance(exc, TransportError | NetTimeoutError | Unavailable):
        return UNREACHABLE
    if isinstance(exc, DecodeError):
        return USAGE
    return OTHER

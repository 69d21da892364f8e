"""The one error tree of the authenticator.

Every failure the app can meet is one of these classes; nothing else (``KeyError``,
``binascii.Error``, ``httpx.ConnectError``…) crosses a package boundary. Messages are one sentence a
person can act on and never contain a secret (keys, tokens, passphrases, sealed scopes).

::

    AuthenticatorError
     ├── ProtocolError                  data from a peer is malformed or unacceptable
     │    ├── DecodeError (ValueError)   not decodable, wrong size, missing or mistyped claim
     │    ├── IntegrityError             a MAC, signature, tag or hash does not match: tampered
     │    ├── ExpiredError               past its ``exp``
     │    └── UnknownScopeError          a scope the catalogue does not know: never approvable
     ├── StoreError                     the local store
     │    ├── LockedError                the vault is locked; unlock first
     │    ├── WrongPassphraseError
     │    ├── CorruptStoreError          a file is damaged; never silently reset
     │    ├── KeychainError              the OS keychain is absent, locked or hung
     │    ├── StoreBusyError             another process holds the store for too long
     │    └── UnsafeFolderError          the agent's socket folder is not ours alone
     ├── NetError                       talking to the HEM or the broker failed
     │    ├── TransportError             no (complete) HTTP answer: e.g. dropped mid-answer
     │    │    ├── ConnectError          refused, unreachable, name not found
     │    │    ├── NetTimeoutError       no answer within the timeout
     │    │    └── TLSError              certificate invalid, or not the pinned one
     │    ├── BadResponseError           a 2xx answer we cannot understand
     │    └── ServerError(status)        a non-2xx answer
     │         ├── Unauthorized          401
     │         ├── Forbidden             403
     │         ├── NotFound              404 (the broker's "expired")
     │         ├── NotAcceptable         406
     │         ├── Conflict              409
     │         ├── Gone                  410
     │         │    ├── Cancelled         410 {"reason": "cancelled"}
     │         │    └── HandledElsewhere  410 otherwise
     │         ├── Unavailable           5xx
     │         └── Rejected              any other non-2xx
     ├── StateError                     the action does not fit the current state
     │    ├── AlreadyPairedError
     │    ├── HemFullError
     │    ├── NoSuchHemError
     │    ├── NoSuchRequestError
     │    ├── AlreadyAnsweredError
     │    ├── WrongHemPassphraseError    the HEM refused a login (not our store's passphrase)
     │    ├── RateLimitedError
     │    ├── HemClockError              the HEM's clock is off and could not be checked in
     │    ├── ProgramChangedError        a local program changed after it connected to the agent
     │    └── AgentUnavailableError
     │         └── ForeignAgentError     the agent's socket is served by another OS user
     └── UserCancelled                  the person said no (deny, refuse, Ctrl-C at a prompt)

Each class carries a stable machine ``code`` (used by ``--json`` output, the local agent and the
exit-code table) next to its human message.
"""

from __future__ import annotations

__all__ = [
    "AgentUnavailableError",
    "AlreadyAnsweredError",
    "AlreadyPairedError",
    "AuthenticatorError",
    "BadResponseError",
    "Cancelled",
    "Conflict",
    "ConnectError",
    "CorruptStoreError",
    "DecodeError",
    "ExpiredError",
    "Forbidden",
    "ForeignAgentError",
    "Gone",
    "HandledElsewhere",
    "HemClockError",
    "HemFullError",
    "IntegrityError",
    "KeychainError",
    "LockedError",
    "NetError",
    "NetTimeoutError",
    "NoSuchHemError",
    "NoSuchRequestError",
    "NotAcceptable",
    "NotFound",
    "ProgramChangedError",
    "ProtocolError",
    "RateLimitedError",
    "Rejected",
    "ServerError",
    "StateError",
    "StoreBusyError",
    "StoreError",
    "TLSError",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "UnknownScopeError",
    "UnsafeFolderError",
    "UserCancelled",
    "WrongHemPassphraseError",
    "WrongPassphraseError",
]


class AuthenticatorError(Exception):
    """Root of every error the authenticator raises on purpose."""

    code: str = "error"
    default_message: str = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------- protocol


class ProtocolError(AuthenticatorError):
    code = "protocol"
    default_message = "The data received does not follow the Encedo protocol."


class DecodeError(ProtocolError, ValueError):
    code = "protocol"
    default_message = "The data received could not be decoded."


class IntegrityError(ProtocolError):
    code = "bad_mac"
    default_message = (
        "The request failed its integrity check (it was altered or not made by your HEM); "
        "it was not answered."
    )


class ExpiredError(ProtocolError):
    code = "expired"
    default_message = "This request has expired; ask for a new one."


class UnknownScopeError(ProtocolError):
    code = "unknown_scope"
    default_message = "The HEM asked for an access this app does not know; it cannot be approved."


# ---------------------------------------------------------------------------- store


class StoreError(AuthenticatorError):
    code = "storage"
    default_message = "The local store could not be read or written."


class LockedError(StoreError):
    code = "locked"
    default_message = "The authenticator is locked; unlock it first."


class WrongPassphraseError(StoreError):
    code = "wrong_passphrase"
    default_message = "Wrong passphrase; try again."


class CorruptStoreError(StoreError):
    code = "corrupt"
    default_message = "A file of the local store is damaged."


class KeychainError(StoreError):
    code = "keychain"
    default_message = "The system keychain is not available; use a passphrase instead."


class StoreBusyError(StoreError):
    code = "busy"
    default_message = "Another authenticator process is using the store; try again in a moment."


class UnsafeFolderError(StoreError):
    """The folder of the agent's socket is not a private folder of this user (another user may
    have made it to stand in for the app): refused, never repaired."""

    code = "unsafe_folder"
    default_message = (
        "The folder of the authenticator's socket is not private to you; remove it and try again."
    )


# ---------------------------------------------------------------------------- network


class NetError(AuthenticatorError):
    code = "network"
    default_message = "The network request failed."


class TransportError(NetError):
    code = "network"
    default_message = "Could not reach the server."


class ConnectError(TransportError):
    code = "unreachable"
    default_message = "Could not connect; check that the device or service is reachable."


class NetTimeoutError(TransportError):
    code = "timeout"
    default_message = "The server did not answer in time; try again."


class TLSError(TransportError):
    code = "tls"
    default_message = "The server's certificate could not be trusted."


class BadResponseError(NetError):
    code = "bad_response"
    default_message = "The server answered with something this app cannot understand."


class ServerError(NetError):
    """A non-2xx HTTP answer. ``status`` is the HTTP status code."""

    code = "rejected"
    default_message = "The server refused the request."

    def __init__(self, message: str | None = None, *, status: int = 0) -> None:
        self.status = status
        super().__init__(message)


class Unauthorized(ServerError):
    code = "unauthorized"
    default_message = "The server did not accept our credentials."


class Forbidden(ServerError):
    code = "forbidden"
    default_message = "The server does not allow this action."


class NotFound(ServerError):
    code = "expired"
    default_message = "The server no longer knows this item; it has probably expired."


class NotAcceptable(ServerError):
    code = "not_acceptable"
    default_message = "The device refused the operation."


class Conflict(ServerError):
    code = "conflict"
    default_message = (
        "The device is not in a state to do this (not initialised, or a fault is latched)."
    )


class Gone(ServerError):
    code = "gone"
    default_message = "This request is gone."


class Cancelled(Gone):
    code = "cancelled"
    default_message = "The request was withdrawn by whoever asked for it."


class HandledElsewhere(Gone):
    code = "handled_elsewhere"
    default_message = "The request was already answered by another authenticator."


class Unavailable(ServerError):
    code = "unavailable"
    default_message = "The service is unavailable right now; the app will retry by itself."


class Rejected(ServerError):
    code = "rejected"
    default_message = "The server rejected the request."


# ---------------------------------------------------------------------------- state


class StateError(AuthenticatorError):
    code = "state"
    default_message = "This cannot be done right now."


class AlreadyPairedError(StateError):
    code = "already_paired"
    default_message = "This HEM is already paired with this computer."


class HemFullError(StateError):
    code = "hem_full"
    default_message = (
        "The HEM refused the pairing: it already holds 8 authenticators or this key; "
        "unpair one in the Encedo Manager first."
    )


class NoSuchHemError(StateError):
    code = "no_such_hem"
    default_message = "No paired HEM has that name; run 'authenticator hems' to list them."


class NoSuchRequestError(StateError):
    code = "no_such_request"
    default_message = "No pending request has that id; run 'authenticator requests' to list them."


class AlreadyAnsweredError(StateError):
    code = "already_answered"
    default_message = "This request was already answered."


class WrongHemPassphraseError(StateError):
    code = "wrong_hem_passphrase"
    default_message = "The HEM did not accept that passphrase; check it and try again."


class RateLimitedError(StateError):
    code = "busy"
    default_message = "Too many requests from this program; wait a moment and try again."


class HemClockError(StateError):
    """The HEM's clock is too far off to answer on, and a check-in could not correct it.

    ``reason`` is the short clause saying why the check-in failed (for composing sentences)."""

    code = "hem_clock"
    default_message = (
        "The HEM's clock is wrong and it could not be checked in; let the Encedo Manager check "
        "it in, then try again."
    )

    def __init__(self, message: str | None = None, *, reason: str = "") -> None:
        self.reason = reason
        super().__init__(message)


class ProgramChangedError(StateError):
    """The local program that connected to the agent exec'd another program, exited (handing its
    connection to another process) or its process id now belongs to another program."""

    code = "program_changed"
    default_message = (
        "The program changed after it connected (it started another program or exited); "
        "its request was refused. Run it again."
    )


class AgentUnavailableError(StateError):
    code = "agent_unavailable"
    default_message = "The authenticator app is not running."


class ForeignAgentError(AgentUnavailableError):
    """The agent's socket is served by a process of another OS user: never talked to."""

    code = "foreign_agent"
    default_message = (
        "The authenticator's socket is served by another user's program, not by your app; "
        "nothing was sent to it."
    )


class UserCancelled(AuthenticatorError):
    code = "denied"
    default_message = "Cancelled."

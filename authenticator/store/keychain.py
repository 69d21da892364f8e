"""The OS keychain, seen through a small interface that can neither hang the app nor leak.

The vault can keep its wrapping secret in the OS keychain (Secret Service, macOS Keychain, Windows
Credential Locker) through the ``keyring`` library. Keychains are slow or absent in ways a desktop
app must survive: no D-Bus session, a locked collection whose unlock prompt cannot be shown, a
prompt waiting forever for a display. So every ``keyring`` call made by ``SystemKeychain`` runs on
its own daemon thread (a pool worker stuck in a prompt made interpreter exit hang) and is waited
for at most ``timeout`` seconds; every failure, timeouts included, becomes ``KeychainError``,
whose message tells the user to use a passphrase instead.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import fail

from authenticator.errors import KeychainError

__all__ = ["SERVICE", "Keychain", "MemoryKeyring", "SystemKeychain"]

SERVICE = "com.encedo.Authenticator"

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


class Keychain(Protocol):
    """Where a vault in keychain mode keeps its wrapping secret, one item per account."""

    @property
    def name(self) -> str:
        """A description of the backend for display (never a secret)."""
        ...

    def get(self, account: str) -> bytes | None:
        """The secret stored for ``account``, or ``None`` when there is none."""
        ...

    def set(self, account: str, secret: bytes) -> None:
        """Store (or replace) the secret for ``account``."""
        ...

    def delete(self, account: str) -> None:
        """Remove the secret for ``account``; nothing happens when there is none."""
        ...


class SystemKeychain:
    """The ``keyring`` library's current backend, with a timeout on every call."""

    def __init__(self, service: str = SERVICE, timeout: float = 5.0) -> None:
        self._service = service
        self._timeout = timeout
        self._stuck: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"SystemKeychain(service={self._service!r}, timeout={self._timeout!r})"

    @property
    def name(self) -> str:
        try:
            return self._run(lambda backend: str(backend.name), "look up")
        except KeychainError:
            return "no system keychain"

    def available(self) -> bool:
        """Whether a real keychain backend is configured (no item is read, nothing prompts)."""
        try:
            return self._run(lambda backend: not isinstance(backend, fail.Keyring), "look up")
        except KeychainError:
            return False

    def get(self, account: str) -> bytes | None:
        stored = self._run(lambda b: b.get_password(self._service, account), "read")
        if stored is None:
            return None
        try:
            return base64.b64decode(stored, validate=True)
        except (binascii.Error, ValueError):
            raise KeychainError(
                "The item of this app in the system keychain is damaged; use a passphrase instead."
            ) from None

    def set(self, account: str, secret: bytes) -> None:
        encoded = base64.b64encode(secret).decode("ascii")
        self._run(lambda b: b.set_password(self._service, account, encoded), "write")

    def delete(self, account: str) -> None:
        def remove(backend: keyring.backend.KeyringBackend) -> None:
            # PasswordDeleteError is keyring's way of saying there is no such item
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                backend.delete_password(self._service, account)

        self._run(remove, "delete from")

    def _run(self, action: Callable[[keyring.backend.KeyringBackend], _T], verb: str) -> _T:
        """Run ``action`` on the current backend in a daemon thread, for at most the timeout."""
        if self._stuck is not None and self._stuck.is_alive():
            raise KeychainError(
                "The system keychain is still not answering an earlier request; "
                "use a passphrase instead."
            )
        done = threading.Event()
        results: list[_T] = []
        failures: list[Exception] = []

        def work() -> None:
            try:
                results.append(action(keyring.get_keyring()))
            except Exception as exc:  # noqa: BLE001 - any backend failure must become ours
                failures.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=work, name="keychain-call", daemon=True)
        worker.start()
        if not done.wait(self._timeout):
            self._stuck = worker
            _log.warning("system keychain did not answer within %.1f s", self._timeout)
            raise KeychainError(
                f"The system keychain did not answer within {self._timeout:g} s; "
                "use a passphrase instead."
            )
        if failures:
            exc = failures[0]
            _log.info("system keychain failed to %s: %s", verb, type(exc).__name__)
            raise _keychain_error(exc, verb) from exc
        return results[0]


def _keychain_error(exc: Exception, verb: str) -> KeychainError:
    if isinstance(exc, keyring.errors.NoKeyringError):
        return KeychainError("No system keychain is available; use a passphrase instead.")
    if isinstance(exc, keyring.errors.KeyringLocked):
        return KeychainError(
            "The system keychain is locked and could not be unlocked; unlock it or use a "
            "passphrase instead."
        )
    if isinstance(exc, keyring.errors.InitError):
        return KeychainError("The system keychain could not be started; use a passphrase instead.")
    return KeychainError(
        f"Could not {verb} the system keychain ({type(exc).__name__}); use a passphrase instead."
    )


class _InstancePriority:
    """``priority`` for ``MemoryKeyring``: set per instance; the class itself is never viable.

    ``keyring`` picks a backend automatically among every imported subclass whose class-level
    priority does not raise; a memory keyring chosen that way would silently lose the vault's
    secret at exit, so asking the class raises, as keyring's protocol for "not suitable" wants.
    """

    def __get__(self, instance: MemoryKeyring | None, owner: type | None = None) -> float:
        if instance is None:
            raise RuntimeError("MemoryKeyring is only used when installed with set_keyring().")
        return instance.chosen_priority


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-memory ``keyring`` backend for tests and throw-away demo homes.

    Install it with ``keyring.set_keyring(MemoryKeyring())`` so the real ``SystemKeychain`` code
    path runs against it. It is never selected by keyring's automatic detection.
    """

    priority = _InstancePriority()

    def __init__(self, priority: float = 1.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.chosen_priority = priority
        self._items: dict[tuple[str, str], str] = {}
        self._guard = threading.Lock()

    def __str__(self) -> str:
        return f"MemoryKeyring (priority: {self.chosen_priority:g}, items: {len(self._items)})"

    def get_password(self, service: str, username: str) -> str | None:
        with self._guard:
            return self._items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._guard:
            self._items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._guard:
            if self._items.pop((service, username), None) is None:
                raise keyring.errors.PasswordDeleteError("No such item.")

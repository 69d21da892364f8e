"""Misbehaving keyring backends, to drive ``SystemKeychain`` through its failure paths.

They derive from ``MemoryKeyring`` so that, like it, keyring's automatic detection never picks
them up in this process.
"""

from __future__ import annotations

import threading

from authenticator.store.keychain import MemoryKeyring


class HangingKeyring(MemoryKeyring):
    """Every read blocks until ``release`` is set (a prompt nobody can answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.entered.set()
        self.release.wait()
        return None


class FailingKeyring(MemoryKeyring):
    """Every call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


class ForgetfulKeyring(MemoryKeyring):
    """Accepts every secret and keeps none (a backend that silently drops writes)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None

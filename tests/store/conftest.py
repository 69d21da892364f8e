"""Fixtures for the store tests: a private home per test and an isolated keyring.

Every test starts and ends with keyring's *fail* backend installed, so no test can reach the real
keychain of whoever runs the suite; a test that wants a keychain installs ``MemoryKeyring`` (or
one of the misbehaving backends of ``fake_keyrings``) through the ``memory_keyring`` fixture or
``keyring.set_keyring``. The real Secret Service is only used by the desktop test, in a child
process with its own session bus.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from authenticator.store.keychain import MemoryKeyring, SystemKeychain
from authenticator.store.paths import AppPaths


@pytest.fixture(autouse=True)
def _isolated_keyring() -> Iterator[None]:
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(fail.Keyring())


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    """A fresh, created home (runtime dir inside it, whatever the environment says)."""
    home = AppPaths.for_home(tmp_path / "home", {})
    home.ensure()
    return home


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def keychain(memory_keyring: MemoryKeyring) -> SystemKeychain:
    """The real ``SystemKeychain`` code path, backed by an in-memory keyring."""
    return SystemKeychain(timeout=5.0)

"""No secret ever shows up in a repr, an error message or the log."""

from __future__ import annotations

import base64
import logging
import os

import keyring
import keyring.errors
import pytest

from authenticator.errors import AuthenticatorError
from authenticator.store.journal import Journal
from authenticator.store.keychain import MemoryKeyring, SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.vault import KdfParams, Vault
from tests.store.factories import make_record
from tests.store.fake_keyrings import FailingKeyring

OLD_PASSPHRASE = "old-passphrase-Zq8"
NEW_PASSPHRASE = "new-passphrase-Xk3"


class RecordingRng:
    """``os.urandom`` that remembers every value it produced (keys, salts, nonces)."""

    def __init__(self) -> None:
        self.outputs: list[bytes] = []

    def __call__(self, size: int) -> bytes:
        value = os.urandom(size)
        self.outputs.append(value)
        return value


def _spellings(secret: bytes) -> set[str]:
    return {
        secret.hex(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
        repr(secret)[2:-1],
    }


def test_no_secret_in_reprs_errors_or_logs(
    paths: AppPaths, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = RecordingRng()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    keychain = SystemKeychain()
    shown: list[str] = []

    def attempt(action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except AuthenticatorError as exc:
            shown.extend([str(exc), repr(exc)])

    record = make_record()
    vault = Vault.create(paths, passphrase=OLD_PASSPHRASE, kdf=KdfParams.minimum(), rng=rng)
    vault.put_pairing(record)
    state = vault._state
    assert state is not None
    data_key = bytes(state.data_key)
    shown += [repr(vault), str(vault), repr(record), str(record), repr(vault.pairings)]

    attempt(lambda: Vault.open(paths, passphrase=NEW_PASSPHRASE))
    attempt(lambda: vault.change_passphrase(NEW_PASSPHRASE, OLD_PASSPHRASE))
    vault.change_passphrase(OLD_PASSPHRASE, NEW_PASSPHRASE)
    vault.use_keychain(keychain)
    shown += [repr(keychain), str(memory), keychain.name]
    keyring.set_keyring(FailingKeyring(keyring.errors.KeyringLocked("locked")))
    attempt(lambda: Vault.open(paths, keychain=keychain))
    keyring.set_keyring(memory)
    vault.use_passphrase(OLD_PASSPHRASE, keychain, kdf=KdfParams.minimum())
    vault.lock()
    attempt(lambda: vault.pairings)
    vault.unlock(passphrase=OLD_PASSPHRASE)

    journal = Journal(paths, vault.journal_key)
    journal.append("pair.ok", ts=1, hem=record.name, fields={"aid": record.aid})
    shown += [repr(journal), repr(journal.entries()), repr(journal.verify())]

    damaged = bytearray(paths.vault.read_bytes())
    damaged[-5] ^= 0xFF
    paths.vault.write_bytes(bytes(damaged))
    attempt(lambda: Vault.open(paths, passphrase=OLD_PASSPHRASE))
    attempt(lambda: vault.put_pairing(make_record("other")))

    secrets = [record.aid_prv, data_key, vault.journal_key]
    secrets += [value for value in rng.outputs if len(value) == 32]
    haystack = "\n".join([*shown, caplog.text])
    assert caplog.records, "the operations above are expected to log something"
    assert len(shown) > 10
    for secret in secrets:
        for spelling in _spellings(secret):
            assert spelling not in haystack
    for passphrase in (OLD_PASSPHRASE, NEW_PASSPHRASE):
        assert passphrase not in haystack

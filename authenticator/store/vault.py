"""The encrypted vault (``vault.bin``): the pairings with their private keys, and the journal key.

A random 32-byte *data key* encrypts the content with XChaCha20-Poly1305. The data key itself is
stored wrapped, either by a random 32-byte secret kept in the OS keychain (mode ``keychain``) or by
a key derived from the user's passphrase with Argon2id (mode ``passphrase``). Switching between
the two, or changing the passphrase, re-wraps the same data key, so no pairing is ever lost on the
way. The byte format is in ``vaultfile``.

Several processes may share a vault (the tray app and CLI commands). Each mutation takes the store
lock, re-reads and decrypts the file with the data key held in memory (another process may have
changed the pairings or re-wrapped the key; the data key never changes), applies the change and
writes the file atomically. A damaged file is reported with ``CorruptStoreError`` naming it; it is
never reset or overwritten. No secret is ever logged or put in a message.
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authenticator.errors import (
    AlreadyPairedError,
    DecodeError,
    KeychainError,
    LockedError,
    NoSuchHemError,
    StateError,
    StoreError,
    WrongPassphraseError,
)
from authenticator.store.atomic import read_private, write_private_atomic
from authenticator.store.filelock import store_lock
from authenticator.store.keychain import Keychain
from authenticator.store.paths import AppPaths
from authenticator.store.records import PairingRecord
from authenticator.store.vaultfile import (
    KEY_BYTES,
    MAX_FILE,
    VAULT_ID_BYTES,
    Header,
    JsonValue,
    KdfParams,
    Mode,
    Payload,
    Rng,
    corrupt,
    decrypt_payload,
    encode_file,
    parse_file,
    unwrap_key,
)

__all__ = ["JsonValue", "KdfParams", "Mode", "Vault"]

_MAX_EXTRA_KEY = 64
_MAX_EXTRA_VALUE = 64 * 1024

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Open:
    """What an unlocked vault holds in memory."""

    data_key: bytearray = field(repr=False)
    header: Header
    payload: Payload

    def wipe(self) -> None:
        for index in range(len(self.data_key)):
            self.data_key[index] = 0


class Vault:
    """An open (or locked) vault file. Thread-safe; several processes may share the file."""

    def __init__(self, paths: AppPaths, state: _Open, rng: Rng) -> None:
        """Use ``Vault.create`` or ``Vault.open``."""
        self._paths = paths
        self._rng = rng
        self._guard = threading.RLock()
        self._mode: Mode = state.header.mode
        self._state: _Open | None = state

    def __repr__(self) -> str:
        with self._guard:
            if self._state is None:
                return f"Vault({str(self._paths.vault)!r}, mode={self._mode!r}, locked)"
            count = len(self._state.payload.pairings)
            return f"Vault({str(self._paths.vault)!r}, mode={self._mode!r}, pairings={count})"

    # ------------------------------------------------------------------ creating and opening

    @staticmethod
    def exists(paths: AppPaths) -> bool:
        """Whether this home already has a vault file."""
        return paths.vault.exists()

    @staticmethod
    def header_mode(paths: AppPaths) -> Mode:
        """How the vault is protected, read from its header without decrypting anything."""
        header, _, _ = parse_file(paths.vault, read_private(paths.vault, max_size=MAX_FILE))
        return header.mode

    @classmethod
    def create(
        cls,
        paths: AppPaths,
        *,
        passphrase: str | None = None,
        keychain: Keychain | None = None,
        kdf: KdfParams | None = None,
        rng: Rng = os.urandom,
    ) -> Vault:
        """Create an empty vault protected by exactly one of ``passphrase`` or ``keychain``.

        Refuses to replace an existing vault file. In keychain mode the secret is read back from
        the keychain before the file is written, so a keychain that silently drops items cannot
        make the vault unopenable.
        """
        _one_of(passphrase, keychain)
        if passphrase is not None:
            _check_passphrase(passphrase)
        paths.ensure()
        data_key = bytearray(rng(KEY_BYTES))
        vault_id = rng(VAULT_ID_BYTES).hex()
        payload = Payload(pairings=(), journal_key=rng(KEY_BYTES), extra={})
        with store_lock(paths.lockfile):
            if paths.vault.exists():
                raise StoreError(f"A vault already exists at {paths.vault}; open it instead.")
            if keychain is None:
                header = _passphrase_header(vault_id, data_key, passphrase or "", kdf, rng)
                _write(paths, header, payload, data_key, rng)
            else:
                header = _keychain_header(vault_id, data_key, keychain, rng)
                try:
                    _write(paths, header, payload, data_key, rng)
                except BaseException:
                    _forget_secret(keychain, header.account)
                    raise
        _log.info("vault created (mode %s)", header.mode)
        return cls(paths, _Open(data_key, header, payload), rng)

    @classmethod
    def open(
        cls,
        paths: AppPaths,
        *,
        passphrase: str | None = None,
        keychain: Keychain | None = None,
        rng: Rng = os.urandom,
    ) -> Vault:
        """Open the vault with its passphrase or with the keychain, whichever it uses.

        Raises ``WrongPassphraseError``, ``KeychainError`` (no secret, or no keychain), or
        ``CorruptStoreError`` naming the file when it is damaged.
        """
        state = _unlock(paths, passphrase, keychain)
        _log.info("vault opened (mode %s)", state.header.mode)
        return cls(paths, state, rng)

    # ------------------------------------------------------------------ locking

    @property
    def mode(self) -> Mode:
        """How the vault is protected, as last seen (``Vault.header_mode`` reads the file)."""
        with self._guard:
            return self._mode

    @property
    def is_locked(self) -> bool:
        with self._guard:
            return self._state is None

    def lock(self) -> None:
        """Forget the data key and the decrypted content; later access raises ``LockedError``."""
        with self._guard:
            if self._state is not None:
                self._state.wipe()
                self._state = None
                _log.info("vault locked")

    def unlock(self, passphrase: str | None = None, keychain: Keychain | None = None) -> None:
        """Open the current vault file again with its passphrase or the keychain."""
        state = _unlock(self._paths, passphrase, keychain)
        with self._guard:
            if self._state is not None:
                self._state.wipe()
            self._state = state
            self._mode = state.header.mode
        _log.info("vault unlocked (mode %s)", state.header.mode)

    def reload(self) -> None:
        """Pick up changes written by another process."""
        with self._guard:
            state = self._require()
            header, payload = self._read_current(state.data_key)
            state.header, state.payload = header, payload
            self._mode = header.mode

    # ------------------------------------------------------------------ content

    @property
    def pairings(self) -> tuple[PairingRecord, ...]:
        with self._guard:
            return self._require().payload.pairings

    def pairing(self, name: str) -> PairingRecord:
        """The pairing called ``name`` (``NoSuchHemError`` when there is none)."""
        with self._guard:
            return _find(self._require().payload.pairings, name)

    @property
    def journal_key(self) -> bytes:
        """The key of the journal's HMAC chain."""
        with self._guard:
            return self._require().payload.journal_key

    def get_extra(self, key: str) -> JsonValue:
        """A small JSON value the core keeps in the vault, or ``None``."""
        with self._guard:
            return copy.deepcopy(self._require().payload.extra.get(key))

    def set_extra(self, key: str, value: JsonValue) -> None:
        """Keep ``value`` under ``key`` (``None`` removes it). It must be small plain JSON."""
        if not isinstance(key, str) or not key or len(key) > _MAX_EXTRA_KEY:
            raise DecodeError("An extra vault key must be 1 to 64 characters.")
        try:
            encoded = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise DecodeError("Only plain JSON values can be kept in the vault.") from None
        if len(encoded) > _MAX_EXTRA_VALUE:
            raise DecodeError("This value is too large to keep in the vault.")
        stored: JsonValue = json.loads(encoded)  # a private copy, exactly as it will be read back

        def change(payload: Payload) -> Payload:
            extra = dict(payload.extra)
            if stored is None:
                extra.pop(key, None)
            else:
                extra[key] = stored
            return Payload(payload.pairings, payload.journal_key, extra)

        self._mutate(change)

    def put_pairing(self, record: PairingRecord) -> None:
        """Add ``record``, or replace (in place) the pairing of the same name.

        Raises ``AlreadyPairedError`` when the same HEM is already paired under another name.
        """

        def change(payload: Payload) -> Payload:
            for other in payload.pairings:
                if other.eid == record.eid and other.name != record.name:
                    raise AlreadyPairedError(f"This HEM is already paired as '{other.name}'.")
            if any(p.name == record.name for p in payload.pairings):
                pairings = tuple(record if p.name == record.name else p for p in payload.pairings)
            else:
                pairings = (*payload.pairings, record)
            return Payload(pairings, payload.journal_key, payload.extra)

        self._mutate(change)
        _log.debug("pairing stored")

    def remove_pairing(self, name: str) -> None:
        """Forget the pairing called ``name`` (``NoSuchHemError`` when there is none)."""

        def change(payload: Payload) -> Payload:
            _find(payload.pairings, name)
            kept = tuple(p for p in payload.pairings if p.name != name)
            return Payload(kept, payload.journal_key, payload.extra)

        self._mutate(change)
        _log.debug("pairing removed")

    def update_pairing(self, name: str, /, **changes: Any) -> PairingRecord:
        """Change fields of the pairing called ``name``; a new name must not be taken."""
        updated: list[PairingRecord] = []

        def change(payload: Payload) -> Payload:
            record = _find(payload.pairings, name).replace(**changes)
            for other in payload.pairings:
                if other.name == name:
                    continue
                if other.name == record.name:
                    raise StateError(
                        f"Another HEM is already called '{record.name}'; choose another name."
                    )
                if other.eid == record.eid:
                    raise AlreadyPairedError(f"This HEM is already paired as '{other.name}'.")
            pairings = tuple(record if p.name == name else p for p in payload.pairings)
            updated.append(record)
            return Payload(pairings, payload.journal_key, payload.extra)

        self._mutate(change)
        return updated[-1]

    # ------------------------------------------------------------------ protection

    def change_passphrase(self, old: str, new: str, kdf: KdfParams | None = None) -> None:
        """Re-wrap the data key under ``new``; ``old`` must be the current passphrase."""
        _check_passphrase(new)
        with self._guard:
            state = self._require()
            with store_lock(self._paths.lockfile):
                header, payload = self._read_current(state.data_key)
                if header.mode != "passphrase" or header.kdf is None or header.salt is None:
                    raise StoreError("This vault has no passphrase; it uses the system keychain.")
                opened = unwrap_key(header.kdf.derive(old, header.salt), header.wrap)
                if opened is None or not hmac.compare_digest(opened, bytes(state.data_key)):
                    raise WrongPassphraseError()
                params = kdf or header.kdf
                new_header = _passphrase_header(
                    header.vault_id, state.data_key, new, params, self._rng
                )
                self._commit(state, new_header, payload)
        _log.info("vault passphrase changed")

    def use_keychain(self, keychain: Keychain) -> None:
        """Switch from the passphrase to a secret kept in ``keychain``.

        Everything happens under the store lock: the keychain item (named after the vault id) is
        only written once the file is known to be in passphrase mode, and removed again if the
        new file cannot be written.
        """
        with self._guard:
            state = self._require()
            with store_lock(self._paths.lockfile):
                current, payload = self._read_current(state.data_key)
                if current.mode != "passphrase":
                    raise StoreError("This vault already uses the system keychain.")
                header = _keychain_header(current.vault_id, state.data_key, keychain, self._rng)
                try:
                    self._commit(state, header, payload)
                except BaseException:
                    _forget_secret(keychain, header.account)
                    raise
        _log.info("vault switched to the system keychain")

    def use_passphrase(
        self, passphrase: str, keychain: Keychain, kdf: KdfParams | None = None
    ) -> bool:
        """Switch from the keychain to ``passphrase``.

        The keychain item is deleted once the new file is safely written (still under the store
        lock, so it cannot remove an item another process has just made). Returns whether that
        deletion worked (``False``: the vault is switched, but a now useless item stays behind).
        """
        _check_passphrase(passphrase)
        with self._guard:
            state = self._require()
            with store_lock(self._paths.lockfile):
                current, payload = self._read_current(state.data_key)
                if current.mode != "keychain":
                    raise StoreError("This vault already uses a passphrase.")
                header = _passphrase_header(
                    current.vault_id, state.data_key, passphrase, kdf, self._rng
                )
                self._commit(state, header, payload)
                _log.info("vault switched to a passphrase")
                try:
                    keychain.delete(current.account)
                except KeychainError:
                    _log.warning("the vault's old keychain item could not be deleted")
                    return False
        return True

    # ------------------------------------------------------------------ internals

    def _require(self) -> _Open:
        if self._state is None:
            raise LockedError()
        return self._state

    def _read_current(self, data_key: bytearray) -> tuple[Header, Payload]:
        """The file as it is now, decrypted with the data key we hold."""
        path = self._paths.vault
        header, aad, sealed = parse_file(path, read_private(path, max_size=MAX_FILE))
        state = self._require()
        if header.vault_id != state.header.vault_id:
            raise StoreError(
                f"The vault {path} was replaced by another one; lock and unlock the app."
            )
        return header, decrypt_payload(path, bytes(data_key), sealed, aad)

    def _mutate(self, change: Callable[[Payload], Payload]) -> None:
        with self._guard:
            state = self._require()
            with store_lock(self._paths.lockfile):
                header, payload = self._read_current(state.data_key)
                self._commit(state, header, change(payload))

    def _commit(self, state: _Open, header: Header, payload: Payload) -> None:
        _write(self._paths, header, payload, state.data_key, self._rng)
        state.header, state.payload = header, payload
        self._mode = header.mode
        _log.debug("vault written (%d pairings)", len(payload.pairings))


# ---------------------------------------------------------------------- helpers


def _passphrase_header(
    vault_id: str, data_key: bytearray, passphrase: str, kdf: KdfParams | None, rng: Rng
) -> Header:
    _check_passphrase(passphrase)
    params = kdf or KdfParams.default()
    return Header.for_passphrase(vault_id, bytes(data_key), passphrase, params, rng)


def _keychain_header(vault_id: str, data_key: bytearray, keychain: Keychain, rng: Rng) -> Header:
    """Store a fresh wrapping secret in ``keychain`` (read back to be sure) and wrap with it."""
    secret = rng(KEY_BYTES)
    account = Header(mode="keychain", vault_id=vault_id, wrap=b"").account
    keychain.set(account, secret)
    kept = keychain.get(account)
    if kept is None or not hmac.compare_digest(kept, secret):
        _forget_secret(keychain, account)
        raise KeychainError(
            "The system keychain did not keep the vault's key; use a passphrase instead."
        )
    return Header.for_keychain(vault_id, bytes(data_key), secret, rng)


def _unlock(paths: AppPaths, passphrase: str | None, keychain: Keychain | None) -> _Open:
    _one_of(passphrase, keychain)
    path = paths.vault
    if not path.exists():
        raise StoreError(f"There is no vault at {path}; create one first.")
    header, aad, sealed = parse_file(path, read_private(path, max_size=MAX_FILE))
    if header.mode == "passphrase":
        if passphrase is None or header.kdf is None or header.salt is None:
            raise StoreError("This vault is protected by a passphrase; enter it to unlock.")
        data_key = unwrap_key(header.kdf.derive(passphrase, header.salt), header.wrap)
        if data_key is None:
            raise WrongPassphraseError()
    else:
        if keychain is None:
            raise StoreError("This vault is unlocked with the system keychain, not a passphrase.")
        secret = keychain.get(header.account)
        if secret is None:
            raise KeychainError(
                f"The system keychain has no key for the vault {path}; restore the keychain "
                "or a backup of the vault."
            )
        data_key = unwrap_key(secret, header.wrap)
        if data_key is None:
            raise corrupt(path, "the key in the system keychain does not open it")
    payload = decrypt_payload(path, data_key, sealed, aad)
    return _Open(bytearray(data_key), header, payload)


def _forget_secret(keychain: Keychain, account: str) -> None:
    """Best-effort removal of a keychain item that no vault file uses."""
    try:
        keychain.delete(account)
    except KeychainError:
        _log.warning("an unused vault key could not be removed from the system keychain")


def _write(
    paths: AppPaths, header: Header, payload: Payload, data_key: bytearray, rng: Rng
) -> None:
    write_private_atomic(paths.vault, encode_file(header, payload, bytes(data_key), rng))


def _one_of(passphrase: str | None, keychain: Keychain | None) -> None:
    if (passphrase is None) == (keychain is None):
        raise StoreError("Give either a passphrase or the system keychain, not both or neither.")


def _check_passphrase(passphrase: str) -> None:
    if not passphrase:
        raise StoreError("The passphrase must not be empty.")


def _find(pairings: tuple[PairingRecord, ...], name: str) -> PairingRecord:
    for record in pairings:
        if record.name == name:
            return record
    raise NoSuchHemError(
        f"No paired HEM is called '{name}'; run 'authenticator hems' to list them."
    )

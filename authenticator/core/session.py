"""``Session``: what every core service stands on — the store, the journal, settings, pairings.

One per process and home directory. It owns the store's life (create, unlock, lock), the
settings, the registry of pairings and the journal, plus the shared tools the services need (the
clock, randomness, the network factory, the listener hub, the memory of handled requests). The
services (requests, the direct path, pairing, unpair) receive a ``Session``; they never see the
:class:`~authenticator.core.app.Core` facade that composes them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable

from authenticator.core.autostart import Autostart, XdgAutostart
from authenticator.core.clock import Clock, SystemClock
from authenticator.core.grants import GrantRegistry
from authenticator.core.hemclock import ClockKeeper
from authenticator.core.journal_kinds import AppEvent, JournalRecord, Kind, Recorder, SettingChanged
from authenticator.core.keynames import KeyNames
from authenticator.core.listener import ListenerHub
from authenticator.core.netfactory import NetFactory
from authenticator.core.remember import Remembered
from authenticator.errors import (
    DecodeError,
    KeychainError,
    LockedError,
    NoSuchHemError,
    StateError,
    StoreError,
)
from authenticator.store.handled import HandledRequests
from authenticator.store.journal import Journal
from authenticator.store.keychain import Keychain, SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.polllist import PollList
from authenticator.store.records import PairingRecord
from authenticator.store.settings import Settings, SettingsStore, diff
from authenticator.store.vault import KdfParams, Vault

__all__ = ["Rng", "Session"]

log = logging.getLogger(__name__)

Rng = Callable[[int], bytes]


class Session:
    """The store, settings, pairings and journal of one home, and the tools services share."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        clock: Clock | None = None,
        keychain: Keychain | None = None,
        net: NetFactory | None = None,
        rng: Rng = os.urandom,
        kdf: KdfParams | None = None,
        autostart: Autostart | None = None,
    ) -> None:
        self.paths = paths
        self.autostart: Autostart = autostart or XdgAutostart()
        paths.ensure()
        self.clock: Clock = clock or SystemClock()
        self.keychain: Keychain = keychain if keychain is not None else SystemKeychain()
        self.net = net or NetFactory()
        self.rng = rng
        self.kdf = kdf
        self.hub = ListenerHub()
        self.handled = HandledRequests(paths)
        self.remembered = Remembered(on_change=self.hub.grants_changed)
        # Tokens in use outlive a lock (a HEM token cannot be revoked): see core/grants.py.
        self.grants = GrantRegistry(on_change=self.hub.grants_changed)
        self.key_names = KeyNames()
        self.poll_list = PollList(paths)
        self.clock_keeper = ClockKeeper(self.now)
        self._settings_store = SettingsStore(paths)
        self._settings = self._settings_store.load()
        self._vault: Vault | None = None
        self._record: Recorder | None = None
        self._lock = threading.RLock()

    def now(self) -> int:
        """This computer's time by the session's clock (tests may replace the clock)."""
        return self.clock.now()

    # ------------------------------------------------------------------ the store

    def has_store(self) -> bool:
        return Vault.exists(self.paths)

    def store_mode(self) -> str | None:
        """``"keychain"``, ``"passphrase"`` or ``None`` when there is no store yet."""
        return Vault.header_mode(self.paths) if self.has_store() else None

    def keychain_available(self) -> bool:
        available = getattr(self.keychain, "available", None)
        return bool(available()) if callable(available) else True

    def create_store(self, *, passphrase: str | None = None) -> None:
        """A new, empty store protected by ``passphrase``, or by the OS keychain when ``None``."""
        with self._lock:
            if self.has_store():
                raise StateError("A store already exists in this home directory.")
            if passphrase is None:
                if not self.keychain_available():
                    raise KeychainError(
                        "The system keychain is not available; choose a passphrase instead."
                    )
                vault = Vault.create(self.paths, keychain=self.keychain, rng=self.rng)
            else:
                kdf = self.kdf or KdfParams.default()
                vault = Vault.create(self.paths, passphrase=passphrase, kdf=kdf, rng=self.rng)
            self._opened(vault)
        self.record(AppEvent(Kind.STORE_CREATED, "A new store was created.", vault.mode))

    def unlock(self, passphrase: str | None = None) -> None:
        """Open the vault with ``passphrase``, or with the keychain in keychain mode."""
        with self._lock:
            if self._vault is not None and not self._vault.is_locked:
                return
            keychain = None if passphrase is not None else self.keychain
            if self._vault is None:
                vault = Vault.open(self.paths, passphrase=passphrase, keychain=keychain)
            else:
                self._vault.unlock(passphrase=passphrase, keychain=keychain)
                vault = self._vault
            self._opened(vault)
        self.record(AppEvent(Kind.UNLOCKED, "The authenticator was unlocked."))
        self._save_poll_list()
        self.hub.lock_changed(False)

    def _opened(self, vault: Vault) -> None:
        self._vault = vault
        journal = Journal(self.paths, vault.journal_key)
        self._record = Recorder(journal, self.clock, self.hub.journal_changed)

    def lock(self, reason: str, before: Callable[[], None] = lambda: None) -> bool:
        """Forget the keys: nothing is shown or approved until the next unlock. ``before`` runs
        (under the session's lock, vault still open) once the lock is journalled; ``False`` when
        the store was locked already."""
        with self._lock:
            if self._vault is None or self._vault.is_locked:
                return False
            self.record(AppEvent(Kind.LOCKED, reason or "The authenticator was locked."))
            before()
            self.remembered.forget_all()
            self.key_names.forget_all()
            self._vault.lock()
            self._record = None
        self.hub.lock_changed(True)
        return True

    @property
    def locked(self) -> bool:
        return self._vault is None or self._vault.is_locked

    @property
    def vault(self) -> Vault:
        vault = self._vault
        if vault is None or vault.is_locked:
            raise LockedError()
        return vault

    def change_passphrase(self, old: str, new: str) -> None:
        self.vault.change_passphrase(old, new, self.kdf)
        self.record(AppEvent(Kind.PROTECTION_CHANGED, "The passphrase was changed."))

    def use_keychain(self) -> None:
        self.vault.use_keychain(self.keychain)
        self.record(
            AppEvent(Kind.PROTECTION_CHANGED, "The store is now protected by the keychain.")
        )

    def use_passphrase(self, passphrase: str) -> None:
        self.vault.use_passphrase(passphrase, self.keychain, kdf=self.kdf)
        self.record(
            AppEvent(Kind.PROTECTION_CHANGED, "The store is now protected by a passphrase.")
        )

    # ------------------------------------------------------------------ the journal

    def record(self, record: JournalRecord) -> None:
        """Append to the journal (needs the vault's journal key; silently skipped when locked)."""
        recorder = self._record
        if recorder is not None:
            recorder(record)

    def journal(self) -> Journal:
        recorder = self._record
        if recorder is not None:
            return recorder.journal
        return Journal(self.paths, self.vault.journal_key)

    # ------------------------------------------------------------------ settings

    @property
    def settings(self) -> Settings:
        return self._settings

    def update_settings(self, **changes: object) -> Settings:
        """Validate, save and journal a settings change (only the keys that changed)."""
        with self._lock:
            unknown = set(changes) - set(self._settings.to_json())
            if unknown:
                raise StateError(f"There is no setting called {sorted(unknown)[0]!r}.")
            try:
                new = dataclasses.replace(self._settings, **changes)  # type: ignore[arg-type]
            except DecodeError as exc:
                raise StateError(str(exc)) from exc
            changed = diff(self._settings, new)
            if not changed:
                return self._settings
            if "start_at_login" in changed:
                # The desktop entry first: if the platform cannot do it, the setting stays.
                if new.start_at_login:
                    self.autostart.enable()
                else:
                    self.autostart.disable()
            self._settings_store.save(new)
            self._settings = new
        for key, value in changed.items():
            shown = value if isinstance(value, (str, int, bool)) else str(value)
            self.record(SettingChanged(key, shown))
        return new

    def reload_settings(self) -> Settings:
        self._settings = self._settings_store.load()
        return self._settings

    # ------------------------------------------------------------------ pairings

    def pairings(self) -> tuple[PairingRecord, ...]:
        return self.vault.pairings

    def pairing(self, name: str | None) -> PairingRecord:
        """The pairing named ``name``; with ``None``, the only one (or a clear error)."""
        pairings = self.vault.pairings
        if name is None:
            if len(pairings) == 1:
                return pairings[0]
            if not pairings:
                raise NoSuchHemError("No HEM is paired yet; pair one first.")
            names = ", ".join(sorted(p.name for p in pairings))
            raise NoSuchHemError(f"Several HEMs are paired ({names}); say which one.")
        for rec in pairings:
            if rec.name == name:
                return rec
        for rec in pairings:  # forgiving: case-insensitive, or the HEM's hostname
            if name.lower() in (rec.name.lower(), rec.hostname.lower()):
                return rec
        raise NoSuchHemError(f"No paired HEM is called {name!r}; 'authenticator hems' lists them.")

    def update_pairing(self, name: str, /, **changes: object) -> PairingRecord:
        """Change a stored pairing and tell the listeners."""
        updated = self.vault.update_pairing(name, **changes)
        self.pairings_changed()
        return updated

    def pairings_changed(self) -> None:
        """A pairing was added, changed or removed: keep the poll list true, tell the listeners."""
        self._save_poll_list()
        self.hub.hems_changed()

    def _save_poll_list(self) -> None:
        """What the poller may use while locked (brokers and pids only: store/polllist.py)."""
        brokers: dict[str, list[str]] = {}
        for rec in self.vault.pairings:
            if rec.broker_url:
                brokers.setdefault(rec.broker_url, []).append(rec.pid)
        try:
            self.poll_list.save(brokers)
        except StoreError as exc:
            log.warning("could not save the poll list: %s", exc)

    def touch(self, name: str) -> None:
        """Remember when a pairing was last used."""
        try:
            self.update_pairing(name, last_used=self.clock.now())
        except (LockedError, NoSuchHemError):
            return

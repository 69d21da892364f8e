"""``Core``: the Qt-free service the desktop app and the command line both drive.

It owns the store (vault, journal, handled-request memory, settings), the request inbox and the
network factory, and exposes every action as a plain blocking method: pair, list and answer
requests, ask a HEM for a token, unpair, lock. Front ends run these methods off their UI thread
and listen to :class:`~authenticator.core.listener.CoreListener` events.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import socket
import threading
from collections.abc import Callable

from authenticator.core.clock import Clock, SystemClock
from authenticator.core.inbox import Entry, Inbox
from authenticator.core.journal_kinds import Kind, Recorder
from authenticator.core.listener import CoreListener, ListenerHub
from authenticator.core.model import (
    AccessRequest,
    DirectPreview,
    Grant,
    HemView,
    Outcome,
    PairingPreview,
    Program,
)
from authenticator.core.netfactory import NetFactory
from authenticator.core.remember import Remembered
from authenticator.core.unpair import UnpairResult
from authenticator.errors import (
    DecodeError,
    KeychainError,
    LockedError,
    NoSuchHemError,
    StateError,
)
from authenticator.protocol.access import PairingKeys
from authenticator.protocol.keys import KeyPair, PrivateKey, PublicKey
from authenticator.protocol.periods import Period
from authenticator.store.handled import HandledRequests
from authenticator.store.journal import Journal, JournalEntry, VerifyReport
from authenticator.store.keychain import Keychain, SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.records import PairingRecord
from authenticator.store.settings import Settings, SettingsStore, diff
from authenticator.store.vault import KdfParams, Vault

__all__ = ["Core", "default_label", "hem_url_of", "keys_of"]

log = logging.getLogger(__name__)

Rng = Callable[[int], bytes]


def default_label() -> str:
    """How this computer appears on the HEM by default: ``<hostname> (<OS>)``, ≤ 32 chars."""
    system = {"Darwin": "macOS"}.get(platform.system(), platform.system() or "Desktop")
    host = (socket.gethostname().split(".")[0] or "Desktop").strip()
    suffix = f" ({system})"
    return host[: 32 - len(suffix)] + suffix


def keys_of(rec: PairingRecord) -> PairingKeys:
    """The protocol's view of a pairing: our key pair, the HEM's identity, the pid."""
    return PairingKeys(
        aid=KeyPair.from_private(PrivateKey(rec.aid_prv)),
        eid=PublicKey.from_b64(rec.eid),
        pid=rec.pid,
    )


def hem_url_of(rec: PairingRecord) -> str:
    """Where to reach a paired HEM directly: its stored address, else ``https://<hostname>``."""
    if rec.hem_url:
        return rec.hem_url
    if rec.hostname:
        return f"https://{rec.hostname}"
    raise StateError(
        f"The address of {rec.name} is unknown; set it with its settings before asking it directly."
    )


class Core:
    """The authenticator without a window. One per process and home directory."""

    def __init__(
        self,
        paths: AppPaths,
        *,
        clock: Clock | None = None,
        keychain: Keychain | None = None,
        net: NetFactory | None = None,
        rng: Rng = os.urandom,
        kdf: KdfParams | None = None,
    ) -> None:
        self.paths = paths
        paths.ensure()
        self.clock: Clock = clock or SystemClock()
        self.keychain: Keychain = keychain if keychain is not None else SystemKeychain()
        self.net = net or NetFactory()
        self.rng = rng
        self.kdf = kdf
        self.hub = ListenerHub()
        self.inbox = Inbox(self.hub)
        self.handled = HandledRequests(paths)
        self.remembered = Remembered()
        self._settings_store = SettingsStore(paths)
        self._settings = self._settings_store.load()
        self._vault: Vault | None = None
        self._record: Recorder | None = None
        self._lock = threading.RLock()
        from authenticator.core.requests import Requests

        self.requests = Requests(self)

    # ------------------------------------------------------------------ listeners

    def add_listener(self, listener: CoreListener) -> None:
        self.hub.add(listener)

    def remove_listener(self, listener: CoreListener) -> None:
        self.hub.remove(listener)

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
        self.record(Kind.STORE_CREATED, text="A new store was created.", protection=vault.mode)

    def unlock(self, passphrase: str | None = None) -> None:
        """Open the vault with ``passphrase``, or with the keychain in keychain mode."""
        with self._lock:
            if self._vault is not None and not self._vault.is_locked:
                return
            if self._vault is None:
                vault = Vault.open(
                    self.paths,
                    passphrase=passphrase,
                    keychain=None if passphrase is not None else self.keychain,
                )
            else:
                self._vault.unlock(
                    passphrase=passphrase,
                    keychain=None if passphrase is not None else self.keychain,
                )
                vault = self._vault
            self._opened(vault)
        self.record(Kind.UNLOCKED, text="The authenticator was unlocked.")
        self.hub.lock_changed(False)

    def _opened(self, vault: Vault) -> None:
        self._vault = vault
        journal = Journal(self.paths, vault.journal_key)
        self._record = Recorder(journal, self.clock, self.hub.journal_changed)

    def lock(self, reason: str = "") -> None:
        """Forget the keys: nothing is shown or approved until the next unlock."""
        with self._lock:
            if self._vault is None or self._vault.is_locked:
                return
            self.record(Kind.LOCKED, text=reason or "The authenticator was locked.")
            self.inbox.clear(Outcome.LOCKED, "The authenticator was locked.")
            self.remembered.forget_all()
            self._vault.lock()
            self._record = None
        self.hub.lock_changed(True)

    @property
    def locked(self) -> bool:
        return self._vault is None or self._vault.is_locked

    @property
    def vault(self) -> Vault:
        vault = self._vault
        if vault is None or vault.is_locked:
            raise LockedError()
        return vault

    def record(
        self,
        kind: str,
        *,
        hem: str | None = None,
        outcome: str | None = None,
        text: str = "",
        **fields: str | int | bool | None,
    ) -> None:
        """Append to the journal (needs the vault's journal key; silently skipped when locked)."""
        recorder = self._record
        if recorder is not None:
            recorder(kind, hem=hem, outcome=outcome, text=text, **fields)

    # ------------------------------------------------------------------ protection

    def change_passphrase(self, old: str, new: str) -> None:
        self.vault.change_passphrase(old, new, self.kdf)
        self.record(Kind.PROTECTION_CHANGED, text="The passphrase was changed.")

    def use_keychain(self) -> None:
        self.vault.use_keychain(self.keychain)
        self.record(Kind.PROTECTION_CHANGED, text="The store is now protected by the keychain.")

    def use_passphrase(self, passphrase: str) -> None:
        self.vault.use_passphrase(passphrase, self.keychain, kdf=self.kdf)
        self.record(Kind.PROTECTION_CHANGED, text="The store is now protected by a passphrase.")

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
                from authenticator.core import autostart

                # The desktop entry first: if the platform cannot do it, the setting stays.
                if new.start_at_login:
                    autostart.enable()
                else:
                    autostart.disable()
            self._settings_store.save(new)
            self._settings = new
        for key, value in changed.items():
            self.record(
                Kind.SETTINGS_CHANGED,
                text=f"{key} set to {value}.",
                setting=key,
                value=value if isinstance(value, (str, int, bool)) else str(value),
            )
        return new

    def reload_settings(self) -> Settings:
        self._settings = self._settings_store.load()
        return self._settings

    # ------------------------------------------------------------------ HEMs

    def hems(self) -> list[HemView]:
        return [HemView.of(r) for r in sorted(self.vault.pairings, key=lambda r: r.name.lower())]

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

    def rename_hem(self, name: str, new_name: str) -> HemView:
        rec = self.pairing(name)
        try:
            updated = self.vault.update_pairing(rec.name, name=new_name.strip())
        except DecodeError as exc:
            raise StateError(str(exc)) from exc
        self.record(Kind.RENAMED, hem=updated.name, text=f"{rec.name} renamed to {updated.name}.")
        self.hub.hems_changed()
        return HemView.of(updated)

    def set_hem_url(self, name: str, url: str | None) -> HemView:
        from authenticator.protocol.urls import check_url

        rec = self.pairing(name)
        clean = check_url(url, what="HEM address").rstrip("/") if url else None
        updated = self.vault.update_pairing(rec.name, hem_url=clean)
        self.hub.hems_changed()
        return HemView.of(updated)

    def touch(self, name: str) -> None:
        """Remember when a pairing was last used."""
        try:
            self.vault.update_pairing(name, last_used=self.clock.now())
        except (LockedError, NoSuchHemError):
            return
        self.hub.hems_changed()

    def unmute(self, name: str) -> None:
        self.vault.update_pairing(self.pairing(name).name, muted_until=None)
        self.hub.hems_changed()

    # ------------------------------------------------------------------ pairing

    def preview_qr(self, qr: str) -> PairingPreview:
        from authenticator.core.pairing import preview_qr

        return preview_qr(self, qr)

    def accept_pairing(
        self, preview: PairingPreview, *, name: str | None = None, label: str | None = None
    ) -> HemView:
        from authenticator.core.pairing import accept

        return accept(self, preview, name=name, label=label)

    def refuse_pairing(self, preview: PairingPreview) -> None:
        from authenticator.core.pairing import refuse

        refuse(self, preview)

    def preview_direct(self, url: str) -> DirectPreview:
        from authenticator.core.pairing import preview_direct

        return preview_direct(self, url)

    def pair_direct(
        self,
        preview: DirectPreview,
        passphrase: str,
        *,
        name: str | None = None,
        label: str | None = None,
    ) -> HemView:
        from authenticator.core.pairing import pair_direct

        return pair_direct(self, preview, passphrase, name=name, label=label)

    def unpair(
        self, name: str, *, local_only: bool = False, hem_passphrase: str | None = None
    ) -> UnpairResult:
        from authenticator.core.unpair import unpair

        return unpair(self, name, local_only=local_only, hem_passphrase=hem_passphrase)

    # ------------------------------------------------------------------ requests

    def pending(self) -> list[AccessRequest]:
        """The requests waiting for an answer (the inbox), oldest first."""
        return self.inbox.requests()

    def refresh(self) -> list[AccessRequest]:
        """One broker round now (the command line's ``requests``), then the pending list."""
        self.requests.sync()
        return self.pending()

    def approve(
        self,
        request_id: str,
        period: Period = Period.MIN15,
        write: bool = False,
        *,
        remember: bool = False,
    ) -> Grant:
        return self.requests.approve(request_id, period, write, remember=remember)

    def deny(self, request_id: str, *, report: bool = False) -> None:
        self.requests.deny(request_id, report=report)

    def ask_hem(
        self,
        scope: str,
        *,
        hem: str | None = None,
        period: Period = Period.MIN15,
        write: bool = False,
        program: Program | None = None,
        reason: str | None = None,
        quiet: bool = False,
    ) -> Entry:
        """Ask the HEM itself for a request (direct path); it waits in the inbox for an answer
        (``quiet``: not put in the inbox, for an approval the person said not to ask again)."""
        from authenticator.core.direct import ask_hem

        return ask_hem(
            self,
            scope=scope,
            hem=hem,
            period=period,
            write=write,
            program=program,
            reason=reason,
            quiet=quiet,
        )

    def open_pasted(self, text: str) -> AccessRequest | PairingPreview:
        from authenticator.core.direct import open_pasted

        return open_pasted(self, text)

    # ------------------------------------------------------------------ journal

    def journal(self) -> Journal:
        recorder = self._record
        if recorder is not None:
            return recorder.journal
        return Journal(self.paths, self.vault.journal_key)

    def journal_entries(self, limit: int | None = None) -> list[JournalEntry]:
        return self.journal().entries(limit=limit, newest_first=True)

    def verify_journal(self) -> VerifyReport:
        return self.journal().verify()

    # ------------------------------------------------------------------ shutdown

    def close(self) -> None:
        self.requests.stop()
        self.net.close()

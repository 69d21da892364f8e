from __future__ import annotations

import multiprocessing
import os
import stat
import threading
import unicodedata
from pathlib import Path

import keyring
import keyring.errors
import pytest

from authenticator.errors import (
    AlreadyPairedError,
    CorruptStoreError,
    DecodeError,
    KeychainError,
    LockedError,
    NoSuchHemError,
    StateError,
    StoreError,
    WrongPassphraseError,
)
from authenticator.store import vault as vault_module
from authenticator.store.keychain import SERVICE, MemoryKeyring, SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.vault import KdfParams, Vault
from tests.store.factories import b64_of, make_record
from tests.store.fake_keyrings import FailingKeyring, ForgetfulKeyring

FAST = KdfParams.minimum()
_FORK = multiprocessing.get_context("fork")


PASSPHRASE = "correct horse"


def _new(paths: AppPaths, passphrase: str = PASSPHRASE) -> Vault:
    return Vault.create(paths, passphrase=passphrase, kdf=FAST)


# ---------------------------------------------------------------------- create / open


def test_create_then_open_with_the_passphrase(paths: AppPaths) -> None:
    vault = _new(paths)
    assert Vault.exists(paths)
    assert stat.S_IMODE(os.stat(paths.vault).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(paths.data_dir).st_mode) == 0o700
    assert Vault.header_mode(paths) == "passphrase"
    again = Vault.open(paths, passphrase="correct horse")
    assert again.mode == "passphrase"
    assert again.pairings == ()
    assert len(again.journal_key) == 32
    assert again.journal_key == vault.journal_key


def test_create_makes_the_home_private(tmp_path: Path) -> None:
    paths = AppPaths.for_home(tmp_path / "fresh", {})
    _new(paths)
    assert stat.S_IMODE(os.stat(paths.data_dir).st_mode) == 0o700
    assert paths.log_dir.is_dir()


def test_create_refuses_to_replace_an_existing_vault(paths: AppPaths) -> None:
    _new(paths)
    before = paths.vault.read_bytes()
    with pytest.raises(StoreError, match="already exists"):
        _new(paths, "another")
    assert paths.vault.read_bytes() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"passphrase": ""}, "must not be empty"),
        ({}, "either a passphrase or"),
        ({"passphrase": "p", "keychain": SystemKeychain()}, "either a passphrase or"),
    ],
)
def test_create_needs_exactly_one_protection(
    paths: AppPaths, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        Vault.create(paths, kdf=FAST, **kwargs)  # type: ignore[arg-type]
    assert not Vault.exists(paths)


def test_wrong_passphrase(paths: AppPaths) -> None:
    _new(paths)
    with pytest.raises(WrongPassphraseError):
        Vault.open(paths, passphrase="Correct horse")


def test_passphrase_is_unicode_normalised(paths: AppPaths) -> None:
    composed = unicodedata.normalize("NFC", "zażółć")
    decomposed = unicodedata.normalize("NFD", "zażółć")
    assert composed != decomposed
    _new(paths, composed)
    Vault.open(paths, passphrase=decomposed)


def test_open_without_a_vault(paths: AppPaths) -> None:
    with pytest.raises(StoreError, match="no vault"):
        Vault.open(paths, passphrase="x")
    with pytest.raises(StoreError, match="does not exist"):
        Vault.header_mode(paths)


def test_opening_with_the_wrong_kind_of_credential(
    paths: AppPaths, keychain: SystemKeychain
) -> None:
    _new(paths)
    with pytest.raises(StoreError, match="protected by a passphrase"):
        Vault.open(paths, keychain=keychain)


def test_default_kdf_is_argon2id_3_passes_64_mib() -> None:
    assert KdfParams.default() == KdfParams(ops=3, mem=64 * 1024 * 1024)


# ---------------------------------------------------------------------- keychain mode


def test_keychain_mode_round_trip(paths: AppPaths, keychain: SystemKeychain) -> None:
    vault = Vault.create(paths, keychain=keychain)
    vault.put_pairing(make_record())
    assert Vault.header_mode(paths) == "keychain"
    again = Vault.open(paths, keychain=keychain)
    assert again.pairings == (make_record(),)
    with pytest.raises(StoreError, match="system keychain, not a passphrase"):
        Vault.open(paths, passphrase="anything")


def test_keychain_without_the_item(
    paths: AppPaths, keychain: SystemKeychain, memory_keyring: MemoryKeyring
) -> None:
    Vault.create(paths, keychain=keychain)
    keyring.set_keyring(MemoryKeyring())  # a reset keychain
    with pytest.raises(KeychainError, match=f"no key for the vault {paths.vault}"):
        Vault.open(paths, keychain=keychain)


def test_keychain_with_a_foreign_secret_is_a_corrupt_store(
    paths: AppPaths, keychain: SystemKeychain, memory_keyring: MemoryKeyring
) -> None:
    Vault.create(paths, keychain=keychain)
    ((service, account),) = memory_keyring._items
    keychain.set(account, b"\x07" * 32)
    with pytest.raises(CorruptStoreError, match=str(paths.vault)):
        Vault.open(paths, keychain=keychain)
    assert service == SERVICE


def test_no_keychain_means_keychain_error_and_no_file(paths: AppPaths) -> None:
    with pytest.raises(KeychainError, match="passphrase"):
        Vault.create(paths, keychain=SystemKeychain())
    assert not Vault.exists(paths)


def test_a_keychain_that_drops_secrets_is_refused_before_writing(paths: AppPaths) -> None:
    keyring.set_keyring(ForgetfulKeyring())
    with pytest.raises(KeychainError, match="did not keep"):
        Vault.create(paths, keychain=SystemKeychain())
    assert not Vault.exists(paths)


def test_keychain_item_is_removed_when_the_file_cannot_be_written(
    paths: AppPaths,
    keychain: SystemKeychain,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def disk_full(path: Path, data: bytes, mode: int = 0o600) -> None:
        raise StoreError("The disk is full; nothing was changed.")

    monkeypatch.setattr(vault_module, "write_private_atomic", disk_full)
    with pytest.raises(StoreError, match="disk is full"):
        Vault.create(paths, keychain=keychain)
    assert memory_keyring._items == {}


# ---------------------------------------------------------------------- lock / unlock


def test_lock_forgets_the_key_and_unlock_restores(paths: AppPaths) -> None:
    vault = _new(paths)
    vault.put_pairing(make_record())
    state = vault._state
    assert state is not None
    data_key = state.data_key
    assert any(data_key)
    vault.lock()
    assert vault.is_locked
    assert data_key == bytearray(32)  # overwritten in place
    assert "locked" in repr(vault)
    assert vault.mode == "passphrase"
    for access in (
        lambda: vault.pairings,
        lambda: vault.journal_key,
        lambda: vault.pairing("office-hem"),
        lambda: vault.put_pairing(make_record("x")),
        lambda: vault.get_extra("k"),
        vault.reload,
        lambda: vault.change_passphrase("correct horse", "new"),
    ):
        with pytest.raises(LockedError):
            access()
    with pytest.raises(WrongPassphraseError):
        vault.unlock(passphrase="nope")
    assert vault.is_locked
    vault.unlock(passphrase="correct horse")
    assert vault.pairings == (make_record(),)
    vault.lock()
    vault.lock()  # locking twice is harmless


# ---------------------------------------------------------------------- pairings


def test_put_replace_remove_pairings(paths: AppPaths) -> None:
    vault = _new(paths)
    first, second = make_record("a"), make_record("b")
    vault.put_pairing(first)
    vault.put_pairing(second)
    assert [p.name for p in vault.pairings] == ["a", "b"]
    relabelled = first.replace(label="new label")
    vault.put_pairing(relabelled)
    assert vault.pairings == (relabelled, second)  # replaced in place
    vault.remove_pairing("a")
    assert [p.name for p in Vault.open(paths, passphrase="correct horse").pairings] == ["b"]
    with pytest.raises(NoSuchHemError, match="'a'"):
        vault.remove_pairing("a")
    with pytest.raises(NoSuchHemError):
        vault.pairing("a")


def test_the_same_hem_cannot_be_paired_twice(paths: AppPaths) -> None:
    vault = _new(paths)
    vault.put_pairing(make_record("a"))
    with pytest.raises(AlreadyPairedError, match="already paired as 'a'"):
        vault.put_pairing(make_record("b", eid=make_record("a").eid))
    assert [p.name for p in vault.pairings] == ["a"]


def test_update_pairing(paths: AppPaths) -> None:
    vault = _new(paths)
    vault.put_pairing(make_record("a"))
    vault.put_pairing(make_record("b"))
    updated = vault.update_pairing("a", last_used=123, muted_until=456)
    assert updated.last_used == 123
    assert vault.pairing("a") == updated
    renamed = vault.update_pairing("a", name="c")
    assert renamed.name == "c"
    assert [p.name for p in vault.pairings] == ["c", "b"]
    with pytest.raises(StateError, match="already called 'b'"):
        vault.update_pairing("c", name="b")
    with pytest.raises(AlreadyPairedError):
        vault.update_pairing("c", eid=make_record("b").eid)
    with pytest.raises(DecodeError):
        vault.update_pairing("c", label="")
    with pytest.raises(NoSuchHemError):
        vault.update_pairing("zzz", label="x")
    assert vault.pairing("c") == renamed


def test_extra_values(paths: AppPaths) -> None:
    vault = _new(paths)
    assert vault.get_extra("k") is None
    vault.set_extra("t", (1, 2))
    assert vault.get_extra("t") == [1, 2]  # stored as JSON: what a reload would give
    value = {"list": [1, 2.5, "x", None, True]}
    vault.set_extra("k", value)
    value["list"].append("mutated after set")  # type: ignore[union-attr]
    assert Vault.open(paths, passphrase="correct horse").get_extra("k") == {
        "list": [1, 2.5, "x", None, True]
    }
    got = vault.get_extra("k")
    assert isinstance(got, dict)
    got["list"] = []
    assert vault.get_extra("k") != got
    vault.set_extra("k", None)
    assert vault.get_extra("k") is None
    with pytest.raises(DecodeError):
        vault.set_extra("k", {"bytes": b"x"})  # type: ignore[dict-item]
    with pytest.raises(DecodeError):
        vault.set_extra("k", float("nan"))
    with pytest.raises(DecodeError):
        vault.set_extra("", 1)
    with pytest.raises(DecodeError, match="too large"):
        vault.set_extra("k", "x" * 70_000)


# ---------------------------------------------------------------------- several processes


def test_two_openers_never_lose_an_update(paths: AppPaths) -> None:
    one = _new(paths)
    two = Vault.open(paths, passphrase="correct horse")
    one.put_pairing(make_record("from-one"))
    two.put_pairing(make_record("from-two"))  # re-reads the file first
    one.update_pairing("from-two", last_used=7)
    expected = {"from-one", "from-two"}
    assert {p.name for p in two.pairings} == expected
    one.reload()
    assert {p.name for p in one.pairings} == expected
    assert Vault.open(paths, passphrase="correct horse").pairing("from-two").last_used == 7


def _add_many(home: str, prefix: str, count: int) -> None:
    vault = Vault.open(AppPaths.for_home(Path(home), {}), passphrase="correct horse")
    for index in range(count):
        vault.put_pairing(make_record(f"{prefix}-{index}"))


def test_concurrent_processes_and_threads_keep_every_pairing(paths: AppPaths) -> None:
    _new(paths)
    workers: list[multiprocessing.process.BaseProcess | threading.Thread] = [
        _FORK.Process(target=_add_many, args=(str(paths.data_dir), f"proc{n}", 8)) for n in range(2)
    ]
    workers += [
        threading.Thread(target=_add_many, args=(str(paths.data_dir), f"thread{n}", 8))
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert all(getattr(w, "exitcode", 0) == 0 for w in workers)
    assert len(Vault.open(paths, passphrase="correct horse").pairings) == 32


def test_a_vault_replaced_by_another_is_not_written(paths: AppPaths) -> None:
    vault = _new(paths)
    paths.vault.unlink()
    _new(paths, "other")
    replaced = paths.vault.read_bytes()
    with pytest.raises(StoreError, match="replaced by another one"):
        vault.put_pairing(make_record())
    assert paths.vault.read_bytes() == replaced


def test_a_vanished_vault_is_a_store_error(paths: AppPaths) -> None:
    vault = _new(paths)
    paths.vault.unlink()
    with pytest.raises(StoreError, match="does not exist"):
        vault.put_pairing(make_record())
    assert not paths.vault.exists()


# ---------------------------------------------------------------------- re-wrapping


def test_change_passphrase_keeps_pairings(paths: AppPaths) -> None:
    vault = _new(paths)
    other = Vault.open(paths, passphrase="correct horse")
    vault.put_pairing(make_record("a"))
    before = paths.vault.read_bytes()
    with pytest.raises(WrongPassphraseError):
        vault.change_passphrase("wrong", "new one")
    assert paths.vault.read_bytes() == before
    with pytest.raises(StoreError, match="must not be empty"):
        vault.change_passphrase("correct horse", "")
    vault.change_passphrase("correct horse", "new one", kdf=KdfParams(ops=2, mem=16 * 1024))
    with pytest.raises(WrongPassphraseError):
        Vault.open(paths, passphrase="correct horse")
    # the other opener still holds the same data key and keeps the new wrapping
    other.put_pairing(make_record("b"))
    reopened = Vault.open(paths, passphrase="new one")
    assert [p.name for p in reopened.pairings] == ["a", "b"]
    assert reopened.journal_key == vault.journal_key


def test_switch_to_keychain_and_back_keeps_pairings(
    paths: AppPaths, keychain: SystemKeychain, memory_keyring: MemoryKeyring
) -> None:
    vault = _new(paths)
    vault.put_pairing(make_record("a"))
    journal_key = vault.journal_key
    vault.use_keychain(keychain)
    assert vault.mode == "keychain"
    assert Vault.header_mode(paths) == "keychain"
    with pytest.raises(StoreError, match="already uses the system keychain"):
        vault.use_keychain(keychain)
    with pytest.raises(StoreError, match="no passphrase"):
        vault.change_passphrase("correct horse", "x")
    assert Vault.open(paths, keychain=keychain).pairings == (make_record("a"),)
    vault.put_pairing(make_record("b"))
    assert len(memory_keyring._items) == 1

    assert vault.use_passphrase("second phrase", keychain, kdf=FAST) is True
    assert memory_keyring._items == {}
    with pytest.raises(StoreError, match="already uses a passphrase"):
        vault.use_passphrase("third", keychain)
    reopened = Vault.open(paths, passphrase="second phrase")
    assert [p.name for p in reopened.pairings] == ["a", "b"]
    assert reopened.journal_key == journal_key

    vault.use_keychain(keychain)
    vault.use_passphrase("third phrase", keychain, kdf=FAST)
    assert [p.name for p in Vault.open(paths, passphrase="third phrase").pairings] == ["a", "b"]


def test_switching_to_an_unavailable_keychain_changes_nothing(paths: AppPaths) -> None:
    vault = _new(paths)
    before = paths.vault.read_bytes()
    with pytest.raises(KeychainError):
        vault.use_keychain(SystemKeychain())
    assert paths.vault.read_bytes() == before
    assert vault.mode == "passphrase"


def test_failed_switch_to_keychain_removes_the_new_item(
    paths: AppPaths,
    keychain: SystemKeychain,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault = _new(paths)
    before = paths.vault.read_bytes()

    def disk_full(path: Path, data: bytes, mode: int = 0o600) -> None:
        raise StoreError("The disk is full; nothing was changed.")

    monkeypatch.setattr(vault_module, "write_private_atomic", disk_full)
    with pytest.raises(StoreError, match="disk is full"):
        vault.use_keychain(keychain)
    monkeypatch.undo()
    assert memory_keyring._items == {}
    assert paths.vault.read_bytes() == before
    assert vault.mode == "passphrase"
    vault.put_pairing(make_record())  # still fully usable


def test_switch_to_passphrase_reports_an_undeletable_item(
    paths: AppPaths, keychain: SystemKeychain, memory_keyring: MemoryKeyring
) -> None:
    vault = Vault.create(paths, keychain=keychain)
    secret = dict(memory_keyring._items)
    broken = FailingKeyring(keyring.errors.KeyringLocked("locked"))
    keyring.set_keyring(broken)
    assert vault.use_passphrase("phrase", keychain, kdf=FAST) is False
    assert Vault.open(paths, passphrase="phrase").mode == "passphrase"
    assert secret  # the item was there; it stayed behind in the (now locked) keyring


def test_header_is_bound_to_the_content(
    paths: AppPaths, keychain: SystemKeychain, memory_keyring: MemoryKeyring
) -> None:
    """Changing the vault id (keeping the secret reachable) is caught by the payload's AAD."""
    Vault.create(paths, keychain=keychain)
    ((_, account),) = memory_keyring._items
    secret = keychain.get(account)
    assert secret is not None
    data = paths.vault.read_bytes()
    old_id = account.removeprefix("vault-")
    new_id = ("0" if old_id[0] != "0" else "1") + old_id[1:]
    keychain.set(f"vault-{new_id}", secret)
    paths.vault.write_bytes(data.replace(old_id.encode(), new_id.encode()))
    with pytest.raises(CorruptStoreError, match="integrity"):
        Vault.open(paths, keychain=keychain)


def test_repr_is_short_and_redacted(paths: AppPaths) -> None:
    vault = _new(paths)
    vault.put_pairing(make_record())
    assert repr(vault) == f"Vault({str(paths.vault)!r}, mode='passphrase', pairings=1)"


def test_corrupt_pairings_inside_a_valid_vault(paths: AppPaths) -> None:
    """Content that decrypts but does not parse is reported, never dropped."""
    vault = _new(paths)
    vault.put_pairing(make_record("a"))
    state = vault._state
    assert state is not None
    bad = vault_module.Payload(
        pairings=(make_record("a"), make_record("b", eid=b64_of("eid:a"))),
        journal_key=state.payload.journal_key,
        extra={},
    )
    vault_module._write(paths, state.header, bad, state.data_key, os.urandom)
    with pytest.raises(CorruptStoreError, match="same name or the same HEM"):
        Vault.open(paths, passphrase="correct horse")

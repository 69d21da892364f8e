from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import keyring
import keyring.errors
import pytest

from authenticator.errors import KeychainError
from authenticator.store.keychain import SERVICE, MemoryKeyring, SystemKeychain
from tests.store.fake_keyrings import FailingKeyring, HangingKeyring


def test_round_trip_through_the_keyring_library(memory_keyring: MemoryKeyring) -> None:
    chain = SystemKeychain()
    assert chain.get("acct") is None
    chain.set("acct", b"\x00\xffsecret")
    assert chain.get("acct") == b"\x00\xffsecret"
    # stored base64-encoded as the keyring password, under our service name
    assert keyring.get_password(SERVICE, "acct") == "AP9zZWNyZXQ="
    chain.set("acct", b"other")
    assert chain.get("acct") == b"other"
    chain.delete("acct")
    assert chain.get("acct") is None
    chain.delete("acct")  # deleting what is not there is fine


def test_service_name_separates_items(memory_keyring: MemoryKeyring) -> None:
    SystemKeychain(service="one").set("acct", b"1")
    assert SystemKeychain(service="two").get("acct") is None


def test_available_and_name(memory_keyring: MemoryKeyring) -> None:
    chain = SystemKeychain()
    assert chain.available()
    assert "MemoryKeyring" in chain.name
    assert "timeout" in repr(chain)


def test_fail_backend_is_unavailable_and_every_call_is_a_keychain_error() -> None:
    chain = SystemKeychain()  # the autouse fixture installed keyring's fail backend
    assert not chain.available()
    assert chain.name == "fail Keyring"
    for call in (lambda: chain.get("a"), lambda: chain.set("a", b"x"), lambda: chain.delete("a")):
        with pytest.raises(
            KeychainError, match="No system keychain is available; use a passphrase"
        ):
            call()


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (keyring.errors.KeyringLocked("locked"), "locked"),
        (keyring.errors.InitError("no daemon"), "could not be started"),
        (keyring.errors.PasswordSetError("refused"), "PasswordSetError"),
        (RuntimeError("D-Bus exploded"), "RuntimeError"),
        (OSError("socket gone"), "OSError"),
    ],
)
def test_backend_errors_become_keychain_errors(error: Exception, message: str) -> None:
    keyring.set_keyring(FailingKeyring(error))
    chain = SystemKeychain()
    with pytest.raises(KeychainError, match=message) as caught:
        chain.get("acct")
    assert "passphrase" in str(caught.value)
    assert not isinstance(caught.value.__cause__, KeychainError)


def test_a_damaged_item_is_a_keychain_error(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password(SERVICE, "acct", "not base64 at all!")
    with pytest.raises(KeychainError, match="damaged"):
        SystemKeychain().get("acct")


@pytest.fixture
def hanging() -> Iterator[HangingKeyring]:
    backend = HangingKeyring()
    keyring.set_keyring(backend)
    yield backend
    backend.release.set()
    for thread in threading.enumerate():
        if thread.name == "keychain-call":
            thread.join(5)


def test_a_hanging_backend_times_out(hanging: HangingKeyring) -> None:
    chain = SystemKeychain(timeout=0.2)
    started = time.monotonic()
    with pytest.raises(KeychainError, match=r"did not answer within 0\.2 s; use a passphrase"):
        chain.get("acct")
    assert time.monotonic() - started < 3
    assert hanging.entered.is_set()


def test_after_a_hang_later_calls_fail_fast_without_piling_up_threads(
    hanging: HangingKeyring,
) -> None:
    chain = SystemKeychain(timeout=0.2)
    with pytest.raises(KeychainError):
        chain.get("acct")
    before = sum(t.name == "keychain-call" for t in threading.enumerate())
    with pytest.raises(KeychainError, match="still not answering"):
        chain.set("acct", b"x")
    assert not chain.available()  # reported as unavailable while the earlier call is stuck
    assert chain.name == "no system keychain"
    assert sum(t.name == "keychain-call" for t in threading.enumerate()) == before
    hanging.release.set()
    for thread in threading.enumerate():
        if thread.name == "keychain-call":
            thread.join(5)
    keyring.set_keyring(MemoryKeyring())
    chain.set("acct", b"x")  # the stuck call finished: the keychain is usable again
    assert chain.get("acct") == b"x"


def test_memory_keyring_is_never_chosen_automatically() -> None:
    assert MemoryKeyring.viable is False
    backend = MemoryKeyring(priority=7)
    assert backend.priority == 7
    assert "priority: 7" in str(backend)
    with pytest.raises(keyring.errors.PasswordDeleteError):
        backend.delete_password("s", "u")

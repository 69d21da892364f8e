"""Damaged store files: random bytes and bit-flipped real files only ever give typed errors.

* ``vault.bin``: opening raises ``CorruptStoreError`` (naming the file), ``WrongPassphraseError``
  or another ``StoreError`` — never anything else, and never opens a changed file.
* ``journal.jsonl`` / ``journal.head``: ``verify`` never raises, and reports any change to a
  complete line; ``entries`` and ``append`` raise only typed errors.
* ``handled.json``, ``settings.json``: a damaged file is ``CorruptStoreError`` and is never
  overwritten by the next write.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from authenticator.errors import (
    CorruptStoreError,
    KeychainError,
    StoreError,
    WrongPassphraseError,
)
from authenticator.store.handled import HandledRequests
from authenticator.store.journal import Journal
from authenticator.store.paths import AppPaths
from authenticator.store.settings import Settings, SettingsStore
from authenticator.store.vault import KdfParams, Vault
from tests.fuzz.support import (
    TEST_TIMEOUT,
    counted,
    deep_nesting,
    flipped,
    fuzz_settings,
    json_values,
    only_typed,
)
from tests.store.factories import make_record

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

PASSPHRASE = "fuzz passphrase"
KEY = bytes(range(32))


@pytest.fixture(scope="module")
def home() -> Iterator[AppPaths]:
    root = Path(tempfile.mkdtemp(prefix="eda-fuzz-"))
    paths = AppPaths.for_home(root / "home", {})
    paths.ensure()
    yield paths
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def vault_bytes(home: AppPaths) -> dict[str, bytes]:
    """A real vault in each mode (with two pairings), as bytes; the keychain one's secret lives
    in ``keychain_for_fuzz``."""
    out: dict[str, bytes] = {}
    vault = Vault.create(home, passphrase=PASSPHRASE, kdf=KdfParams.minimum())
    vault.put_pairing(make_record("office"))
    vault.put_pairing(make_record("lab"))
    out["passphrase"] = home.vault.read_bytes()
    home.vault.unlink()
    vault = Vault.create(home, keychain=KEYCHAIN)
    vault.put_pairing(make_record("office"))
    out["keychain"] = home.vault.read_bytes()
    home.vault.unlink()
    return out


class DictKeychain:
    """A keychain in a dict (the ``Keychain`` protocol), private to these tests."""

    name = "fuzz keychain"

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}

    def get(self, account: str) -> bytes | None:
        return self.items.get(account)

    def set(self, account: str, secret: bytes) -> None:
        self.items[account] = secret

    def delete(self, account: str) -> None:
        self.items.pop(account, None)


KEYCHAIN = DictKeychain()


def _open(paths: AppPaths, mode: str) -> object:
    if mode == "passphrase":
        return Vault.open(paths, passphrase=PASSPHRASE)
    return Vault.open(paths, keychain=KEYCHAIN)


@fuzz_settings(share=0.5)
@given(st.data())
@counted
def test_vault_bit_flips(
    home: AppPaths, vault_bytes: dict[str, bytes], data: st.DataObject
) -> None:
    mode = data.draw(st.sampled_from(sorted(vault_bytes)))
    original = vault_bytes[mode]
    damaged = data.draw(flipped(original))
    home.vault.write_bytes(damaged)
    result = only_typed(lambda: _open(home, mode))
    # A flip in the salt, KDF costs or wrapped key is a wrong passphrase (indistinguishable); one
    # in the vault id of a keychain vault names a keychain item that does not exist.
    allowed = CorruptStoreError | (WrongPassphraseError if mode == "passphrase" else KeychainError)
    assert isinstance(result, allowed), result
    if isinstance(result, CorruptStoreError):
        assert str(home.vault) in str(result)
    assert home.vault.read_bytes() == damaged  # never rewritten


@fuzz_settings(share=0.5)
@given(
    st.one_of(
        st.binary(max_size=600),
        st.binary(max_size=200).map(lambda b: b"EDAV\x01" + b),
        st.builds(
            lambda header, rest: (
                b"EDAV\x01" + len(header[:65535]).to_bytes(2, "big") + header[:65535] + rest
            ),
            st.one_of(
                st.binary(max_size=300),
                deep_nesting().map(str.encode),
                json_values.map(lambda v: repr(v).encode()),
            ),
            st.binary(min_size=0, max_size=120),
        ),
    )
)
@example(b"EDAV\x01" + (40000).to_bytes(2, "big") + b"[" * 40000 + bytes(60))
@counted
def test_vault_random_bytes(home: AppPaths, data: bytes) -> None:
    home.vault.write_bytes(data)
    for mode in ("passphrase", "keychain"):
        result = only_typed(lambda mode=mode: _open(home, mode))
        assert isinstance(result, StoreError), result
    only_typed(lambda: Vault.header_mode(home))
    assert home.vault.read_bytes() == data


# ---------------------------------------------------------------------------- the journal


@pytest.fixture(scope="module")
def journal_bytes(home: AppPaths) -> tuple[bytes, bytes]:
    journal = Journal(home, KEY)
    for n in range(6):
        journal.append(
            "fuzz.test",
            ts=1_700_000_000 + n,
            hem="office",
            outcome="ok",
            text=f"entry {n} ✓",
            fields={"n": n, "ok": True, "note": None},
        )
    data = home.journal.read_bytes(), home.journal_head.read_bytes()
    home.journal.unlink()
    home.journal_head.unlink()
    return data


def _complete_lines(data: bytes) -> bytes:
    return data[: data.rfind(b"\n") + 1]


@fuzz_settings(share=0.5)
@given(st.data())
@counted
def test_journal_damage_is_reported_never_raised(
    home: AppPaths, journal_bytes: tuple[bytes, bytes], data: st.DataObject
) -> None:
    original, head = journal_bytes
    lines = original.splitlines(keepends=True)
    how = data.draw(
        st.sampled_from(["flip", "replace", "insert", "cut", "garbage-tail", "nesting"])
    )
    if how == "flip":
        damaged = data.draw(flipped(original))
    elif how == "replace":
        i = data.draw(st.integers(0, len(lines) - 1))
        lines[i] = data.draw(st.binary(max_size=200)) + b"\n"
        damaged = b"".join(lines)
    elif how == "insert":
        i = data.draw(st.integers(0, len(lines)))
        lines.insert(i, data.draw(st.binary(max_size=200).filter(lambda b: b"\n" not in b)) + b"\n")
        damaged = b"".join(lines)
    elif how == "cut":
        damaged = original[: data.draw(st.integers(0, len(original) - 1))]
    elif how == "garbage-tail":
        damaged = original + data.draw(
            st.binary(min_size=1, max_size=100).filter(lambda b: b"\n" not in b)
        )
    else:
        damaged = original + data.draw(deep_nesting()).encode() + b"\n"
    home.journal.write_bytes(damaged)
    home.journal_head.write_bytes(head)
    journal = Journal(home, KEY)
    report = journal.verify()  # never raises
    if _complete_lines(damaged) != original:
        assert not report.ok, f"{how}: {report}"
    else:
        assert report.ok, f"{how}: {report}"
    only_typed(journal.entries)
    only_typed(lambda: journal.append("fuzz.after", ts=1_800_000_000, text="after"))
    report = journal.verify()
    assert report.ok == (_complete_lines(damaged) == original), report


@fuzz_settings(share=0.5)
@given(
    st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: repr(v).encode()),
        deep_nesting().map(str.encode),
    )
)
@example(b"[" * 4000)
@counted
def test_journal_head_damage(
    home: AppPaths, journal_bytes: tuple[bytes, bytes], head: bytes
) -> None:
    original, good_head = journal_bytes
    home.journal.write_bytes(original)
    home.journal_head.write_bytes(head)
    report = Journal(home, KEY).verify()
    assert report.ok == (head == good_head), report


# ---------------------------------------------------------------------------- handled, settings

_files = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: repr(v).encode()),
    st.builds(lambda v: ('{"format": 1, "handled": ' + repr(v) + "}").encode(), json_values),
    deep_nesting().map(str.encode),
)


@fuzz_settings(share=0.5)
@given(_files)
@example(b"[" * 5000)
@counted
def test_handled_file(home: AppPaths, data: bytes) -> None:
    home.handled.write_bytes(data)
    handled = HandledRequests(home)
    result = only_typed(lambda: "done|x|1" in handled)
    if isinstance(result, StoreError):
        assert isinstance(result, CorruptStoreError)
        written = only_typed(lambda: handled.add("done|x|2", 1))
        assert isinstance(written, CorruptStoreError)
        assert home.handled.read_bytes() == data  # a damaged file is never reset


@fuzz_settings(share=0.5)
@given(st.one_of(_files, json_values.map(lambda v: json.dumps(v).encode())))
@example(b'{"a":' * 3000)
@counted
def test_settings_file(home: AppPaths, data: bytes) -> None:
    home.settings.write_bytes(data)
    store = SettingsStore(home)
    result = only_typed(store.load)
    if isinstance(result, StoreError):
        assert isinstance(result, CorruptStoreError)
        assert str(home.settings) in str(result)
        written = only_typed(lambda: store.save(Settings()))
        assert isinstance(written, CorruptStoreError)
        assert home.settings.read_bytes() == data
    else:
        assert isinstance(result, Settings)


def test_journal_line_nested_deeper_than_the_recursion_limit(
    home: AppPaths, journal_bytes: tuple[bytes, bytes]
) -> None:
    """Regression (found by fuzzing): such a line made ``verify`` and ``entries`` raise
    ``RecursionError`` instead of reporting a damaged entry."""
    original, head = journal_bytes
    home.journal.write_bytes(original + b"[" * 3000 + b"\n")
    home.journal_head.write_bytes(head)
    journal = Journal(home, KEY)
    report = journal.verify()
    assert not report.ok
    assert report.first_broken == 7
    assert len(journal.entries()) == 6

"""The vault's byte format and how damage to it is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authenticator.errors import (
    AuthenticatorError,
    CorruptStoreError,
    DecodeError,
    StoreError,
    WrongPassphraseError,
)
from authenticator.store.keychain import SystemKeychain
from authenticator.store.paths import AppPaths
from authenticator.store.vault import KdfParams, Vault
from authenticator.store.vaultfile import MAGIC, Header, parse_file
from tests.store.factories import make_record

FAST = KdfParams.minimum()
PASSPHRASE = "correct horse"


def _passphrase_vault(paths: AppPaths) -> bytes:
    vault = Vault.create(paths, passphrase=PASSPHRASE, kdf=FAST)
    vault.put_pairing(make_record())
    return paths.vault.read_bytes()


def _split(data: bytes) -> tuple[bytes, dict[str, object], bytes]:
    length = int.from_bytes(data[5:7], "big")
    return data[:5], json.loads(data[7 : 7 + length]), data[7 + length :]


def _assert_corrupt_and_untouched(paths: AppPaths, damaged: bytes, **credentials: object) -> str:
    paths.vault.write_bytes(damaged)
    with pytest.raises(CorruptStoreError) as caught:
        Vault.open(paths, **credentials)  # type: ignore[arg-type]
    message = str(caught.value)
    assert str(paths.vault) in message
    assert paths.vault.read_bytes() == damaged  # never reset or overwritten
    return message


def test_layout(paths: AppPaths) -> None:
    data = _passphrase_vault(paths)
    prefix, header, body = _split(data)
    assert prefix == MAGIC + b"\x01"
    assert header["mode"] == "passphrase"
    assert set(header) == {"mode", "vault_id", "kdf", "wrap"}
    assert header["kdf"] == {
        "alg": "argon2id13",
        "ops": FAST.ops,
        "mem": FAST.mem,
        "salt": header["kdf"]["salt"],  # type: ignore[index]
    }
    assert len(body) > 24 + 16


def test_each_write_uses_a_fresh_nonce(paths: AppPaths) -> None:
    vault = Vault.create(paths, passphrase=PASSPHRASE, kdf=FAST)
    first = _split(paths.vault.read_bytes())[2]
    vault.set_extra("k", 1)
    vault.set_extra("k", None)
    assert _split(paths.vault.read_bytes())[2][:24] != first[:24]


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        (lambda d: b"", "empty"),
        (lambda d: d[:3], "truncated"),
        (lambda d: b"XDAV" + d[4:], "not an authenticator vault"),
        (lambda d: d[:4] + b"\x00" + d[5:], "format number 0 is invalid"),
        (lambda d: d[:-1], "integrity"),
        (lambda d: d[:60], "truncated"),
        (lambda d: d + b"\x00", "integrity"),
        (lambda d: d[:5] + b"\xff\xff" + d[7:], "truncated"),
        (lambda d: d[:7] + b" " + d[8:], "JSON"),
    ],
)
def test_damage_is_a_corrupt_store_error_with_a_recovery_hint(
    paths: AppPaths, damage: object, detail: str
) -> None:
    data = _passphrase_vault(paths)
    message = _assert_corrupt_and_untouched(paths, damage(data), passphrase=PASSPHRASE)  # type: ignore[operator]
    assert detail in message
    assert "keep a copy" in message
    assert "moving it away" in message


def test_a_newer_format_asks_for_an_update(paths: AppPaths) -> None:
    data = _passphrase_vault(paths)
    message = _assert_corrupt_and_untouched(paths, data[:4] + b"\x02" + data[5:], passphrase="x")
    assert "newer version" in message
    assert "update the app" in message


def test_header_must_be_canonical(paths: AppPaths) -> None:
    data = _passphrase_vault(paths)
    _, header, body = _split(data)
    spaced = json.dumps(header).encode()  # same content, other spacing
    damaged = data[:5] + len(spaced).to_bytes(2, "big") + spaced + body
    assert "canonical" in _assert_corrupt_and_untouched(paths, damaged, passphrase=PASSPHRASE)


def test_absurd_kdf_parameters_are_refused_without_running_them(paths: AppPaths) -> None:
    data = _passphrase_vault(paths)
    _, header, body = _split(data)
    header["kdf"]["mem"] = 1 << 40  # type: ignore[index]
    raw = json.dumps(header, separators=(",", ":")).encode()
    damaged = data[:5] + len(raw).to_bytes(2, "big") + raw + body
    assert "memory size" in _assert_corrupt_and_untouched(paths, damaged, passphrase=PASSPHRASE)


def test_every_single_bit_flip_is_detected_in_keychain_mode(
    paths: AppPaths, keychain: SystemKeychain
) -> None:
    vault = Vault.create(paths, keychain=keychain)
    vault.put_pairing(make_record())
    data = paths.vault.read_bytes()
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 1 << (position % 8)
        paths.vault.write_bytes(bytes(damaged))
        with pytest.raises(StoreError) as caught:
            Vault.open(paths, keychain=keychain)
        # a flip in the vault id names another (absent) keychain account
        assert isinstance(caught.value, CorruptStoreError) or "no key" in str(caught.value)


def test_every_bit_flip_in_passphrase_mode_is_refused(paths: AppPaths) -> None:
    """Payload damage is a CorruptStoreError; header damage may also look like a wrong passphrase
    (a changed salt or wrapped key derives another key), but never opens."""
    data = _passphrase_vault(paths)
    header_end = 7 + int.from_bytes(data[5:7], "big")
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 1 << (position % 8)
        paths.vault.write_bytes(bytes(damaged))
        expected = (
            CorruptStoreError
            if position >= header_end
            else (
                CorruptStoreError,
                WrongPassphraseError,
            )
        )
        with pytest.raises(expected):
            Vault.open(paths, passphrase=PASSPHRASE)


def test_header_round_trip() -> None:
    header = Header.for_keychain("ab" * 16, b"k" * 32, b"s" * 32, lambda n: b"\x01" * n)
    assert Header.from_bytes(header.to_bytes()) == header
    assert header.account == "vault-" + "ab" * 16
    assert "wrap" not in repr(header)


@pytest.mark.parametrize(
    ("ops", "mem"), [(0, 8192), (17, 8192), (1, 1024), (1, 1 << 31), (True, 8192), (1, "8192")]
)
def test_kdf_params_are_bounded(ops: object, mem: object) -> None:
    with pytest.raises(DecodeError):
        KdfParams(ops=ops, mem=mem)  # type: ignore[arg-type]


_fuzz = settings(
    max_examples=300,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_fuzz
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_corrupt_store_error(data: bytes) -> None:
    with pytest.raises(CorruptStoreError):
        parse_file(Path("vault.bin"), data)


@_fuzz
@given(st.binary(min_size=1, max_size=300))
def test_random_bytes_after_a_valid_prefix_only_raise_typed_errors(
    paths: AppPaths, tail: bytes
) -> None:
    prefix = MAGIC + b"\x01" + len(tail).to_bytes(2, "big")
    paths.vault.write_bytes(prefix + tail)
    with pytest.raises(AuthenticatorError):
        Vault.open(paths, passphrase=PASSPHRASE)


@_fuzz
@given(st.data())
def test_mutated_vaults_never_open_and_only_raise_typed_errors(
    paths: AppPaths, data: st.DataObject
) -> None:
    if not paths.vault.exists():
        _passphrase_vault(paths)
        paths.vault.with_suffix(".orig").write_bytes(paths.vault.read_bytes())
    original = paths.vault.with_suffix(".orig").read_bytes()
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    candidate = bytes(damaged[:cut])
    paths.vault.write_bytes(candidate)
    if candidate == original:
        assert Vault.open(paths, passphrase=PASSPHRASE).pairings == (make_record(),)
    else:
        with pytest.raises((CorruptStoreError, WrongPassphraseError)):
            Vault.open(paths, passphrase=PASSPHRASE)
